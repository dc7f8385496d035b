"""The one HTTP client of the providers: a request with httpx, and what goes wrong with it.

``HttpHook`` and the Slack hooks send through :func:`send`. A request that never got an
answer (no such host, refused, timed out) raises ``HttpConnectionError``; an answer of 4xx
or 5xx raises ``HttpStatusError`` when checked. Both messages name the connection and the
URL with every secret the try read masked (a webhook's URL is itself a secret).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conveyor.connections.masking import redact
from conveyor.exceptions import AirflowException, TaskError
from conveyor.providers._extras import require

require("httpx", "http", "http")
import httpx  # noqa: E402  (after the check, so that a missing httpx names the extra)


class HttpConnectionError(TaskError):
    """No answer from the server; names the connection and where it points."""


class HttpStatusError(TaskError, AirflowException):
    """The server answered 4xx or 5xx. The message starts with the status and the reason
    (``404:Not Found``), and ``except AirflowException`` catches it, as Airflow's, so code
    that reads it keeps working."""

    def __init__(self, message: str, response: HttpResponse) -> None:
        super().__init__(message)
        self.response = response


class ResponseCheckFailed(TaskError, AirflowException):
    """A ``response_check`` said no; ``except AirflowException`` catches it, as Airflow's."""


class HttpResponse:
    """An answer in the shape of ``requests.Response`` (what Airflow's hooks return), over
    httpx's: ``text``, ``json()``, ``status_code``, ``headers``, ``content``, ``reason``,
    ``ok``, ``url`` (text) and ``raise_for_status()``; the rest is httpx's."""

    def __init__(self, response: httpx.Response) -> None:
        self.raw = response

    @property
    def text(self) -> str:
        return str(self.raw.text)

    def json(self, **kwargs: Any) -> Any:
        return self.raw.json(**kwargs)

    @property
    def status_code(self) -> int:
        return int(self.raw.status_code)

    @property
    def headers(self) -> Any:
        return self.raw.headers

    @property
    def content(self) -> bytes:
        return bytes(self.raw.content)

    @property
    def reason(self) -> str:
        return str(self.raw.reason_phrase)

    @property
    def url(self) -> str:
        return str(self.raw.url)

    @property
    def ok(self) -> bool:
        """True below 400, as in ``requests`` (a redirect is not an error)."""
        return self.status_code < 400

    def raise_for_status(self) -> None:
        """Raise ``HttpStatusError`` for 4xx and 5xx (``requests``' rule: 3xx passes)."""
        if not self.ok:
            kind = "Client" if self.status_code < 500 else "Server"
            raise HttpStatusError(
                f"{self.status_code}:{self.reason} ({kind} Error for url: {redact(self.url)})",
                self,
            )

    def __getattr__(self, name: str) -> Any:  # elapsed, cookies, encoding, iter_bytes, ...
        return getattr(self.raw, name)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


def flag(value: Any) -> bool:
    """A flag from code (a bool) or from a connection's extra (text such as "false")."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)


def client_options(options: Mapping[str, Any] | None, url: str = "") -> dict[str, Any]:
    """httpx's client arguments for Airflow's ``extra_options``: ``timeout``, ``verify``
    (``verify_ssl``), ``cert``, ``proxy`` (``proxies``), ``allow_redirects``,
    ``max_redirects``, ``trust_env``; values from a connection's extra may be text."""
    given = dict(options or {})
    verify = given.get("verify", given.get("verify_ssl", True))
    found: dict[str, Any] = {
        # A CA bundle's path, or a flag.
        "verify": verify if isinstance(verify, str) and "/" in verify else flag(verify),
        "cert": given.get("cert"),
        "timeout": float(given["timeout"]) if given.get("timeout") not in (None, "") else None,
        "follow_redirects": flag(given.get("allow_redirects", True)),
        "trust_env": flag(given.get("trust_env", True)),
    }
    if given.get("max_redirects") not in (None, ""):
        found["max_redirects"] = int(given["max_redirects"])
    proxy = given.get("proxy", given.get("proxies"))
    if isinstance(proxy, Mapping):  # requests' {"https": url}: the URL of the request's scheme
        proxy = proxy.get(url.partition(":")[0]) or next(iter(proxy.values()), None)
    if proxy:
        found["proxy"] = proxy
    return found


def _same_origin_headers(url: str, given: Mapping[str, str]) -> Any:
    """A request hook that drops the connection's own headers (``X-Api-Key``,
    ``PRIVATE-TOKEN``, ...) from a redirect that leaves the first URL's origin: they are
    for that server alone. httpx itself drops only ``Authorization``."""
    origin = httpx.URL(url)

    def hook(request: httpx.Request) -> None:
        there = request.url
        if (there.scheme, there.host, there.port) != (origin.scheme, origin.host, origin.port):
            for name in given:
                request.headers.pop(name, None)

    return hook


def send(
    method: str,
    url: str,
    *,
    conn_id: str,
    options: Mapping[str, Any] | None = None,
    auth: Any = None,
    headers: Mapping[str, str] | None = None,
    **request: Any,
) -> HttpResponse:
    """One request; ``request`` holds httpx's ``params``, ``data``, ``content``, ``json``,
    ``options`` Airflow's ``extra_options`` (see :func:`client_options`)."""
    arguments = client_options(options, url)
    given = dict(headers or {})
    if request.get("json") is not None and not request.get("data") and not request.get("content"):
        # Written as requests writes it (", " and ": "), not httpx's compact form: a server
        # that signs or compares the body sees the bytes it saw under Airflow.
        request["content"] = json.dumps(request.pop("json"), allow_nan=False).encode()
        if not any(name.lower() == "content-type" for name in given):
            given["Content-Type"] = "application/json"
    hooks = {"request": [_same_origin_headers(url, given)]} if given else {}
    try:
        with httpx.Client(auth=auth, headers=given, event_hooks=hooks, **arguments) as client:
            return HttpResponse(client.request(method, url, **request))
    except httpx.TransportError as exc:
        detail = str(exc).strip() or type(exc).__name__
        raise HttpConnectionError(
            redact(f"connection {conn_id!r}: {method} {url} got no answer: {detail}")
        ) from None
