"""``HttpHook``: requests to the service an ``http`` connection names, as Airflow's.

The base URL is ``<scheme>://<host>:<port>/<path>``: the scheme is the connection's schema
when that is ``http`` or ``https`` (how Airflow's form stores it), else its type; any other
schema is a base path (``http://api.local:8080/v2`` as a URI). A host that already holds
``://`` is the base URL itself. Login and password are basic auth; the connection's extra
sets request options (``timeout``, ``verify``, ``check_response``, ...) and every other key
is a header, as in Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from conveyor.connections import Connection
from conveyor.exceptions import TaskError
from conveyor.providers._hook import HookNames, ProviderHook
from conveyor.providers.http.client import (
    HttpResponse,
    HttpStatusError,
    client_options,
    flag,
    httpx,
    send,
)

#: Extra keys that are request options, not headers (Airflow's list).
OPTION_KEYS = frozenset(
    {
        "stream",
        "cert",
        "proxies",
        "proxy",
        "timeout",
        "verify",
        "verify_ssl",
        "allow_redirects",
        "max_redirects",
        "trust_env",
        "check_response",
        "srv_lookup",
        "auth_kwargs",
        "base_url",
    }
)


def url_from_endpoint(base_url: str, endpoint: str | None) -> str:
    """Airflow's join: one ``/`` between the base and an endpoint that lacks it."""
    if base_url and not base_url.endswith("/") and endpoint and not endpoint.startswith("/"):
        return f"{base_url}/{endpoint}"
    return base_url + (endpoint or "")


def base_url(conn: Connection, *, default_host: str = "", default_scheme: str = "http") -> str:
    """The URL a connection names (the module docstring says how); ``default_host`` when it
    has no host, ``default_scheme`` when neither its type nor its schema is a scheme."""
    host, path = conn.host or default_host, ""
    if "://" in host:
        base = host
    else:
        kind = conn.conn_type.lower()
        scheme, path = (kind if kind in ("http", "https") else default_scheme), conn.schema or ""
        if path.lower() in ("http", "https"):
            scheme, path = path.lower(), ""
        base = f"{scheme}://{host}"
    if conn.port:
        base += f":{conn.port}"
    return base + ("/" + path.strip("/") if path.strip("/") else "")


def of_type(conn: Connection, conn_types: tuple[str, ...], reads: str) -> Connection:
    """``conn``, when its type is one of ``conn_types``; else an error naming it and saying
    what the hook ``reads``."""
    if conn.conn_type.lower() not in conn_types:
        raise TaskError(f"connection {conn.conn_id!r} has type {conn.conn_type!r}; {reads}")
    return conn


class HttpHook(ProviderHook):
    """``HttpHook(method="POST", http_conn_id="http_default")``; ``run`` sends one request."""

    names = HookNames("http_conn_id", "http_default", "http", "HTTP")
    #: The connection types this hook reads; another fails with the connection's id.
    conn_types: ClassVar[tuple[str, ...]] = ("http", "https")

    def __init__(
        self,
        method: str = "POST",
        http_conn_id: str = names.default_conn_name,
        auth_type: Any = None,
        tcp_keep_alive: bool = True,
        **kwargs: Any,  # Airflow's keep-alive tuning and adapter: httpx keeps its own pool
    ) -> None:
        self.method = method.upper()
        self.http_conn_id = http_conn_id
        self.auth_type = auth_type
        self.base_url = ""

    def _connection(self) -> Connection:
        reads = f"{type(self).__name__} reads {' or '.join(self.conn_types)} connections"
        return of_type(self.get_connection(self.http_conn_id), self.conn_types, reads)

    def _set_base_url(self, conn: Connection) -> None:
        self.base_url = base_url(conn)

    def url_from_endpoint(self, endpoint: str | None) -> str:
        if not self.base_url:
            self._set_base_url(self._connection())
        return url_from_endpoint(self.base_url, endpoint)

    def _auth(self, conn: Connection) -> Any:
        if not (conn.login or conn.password):
            return None
        login, password = conn.login or "", conn.password or ""
        # requests' classes, which Airflow files pass, stand for httpx's of the same scheme.
        name = getattr(self.auth_type, "__name__", None)
        if self.auth_type is None or name == "HTTPBasicAuth":
            return httpx.BasicAuth(login, password)
        if name == "HTTPDigestAuth":
            return httpx.DigestAuth(login, password)
        return self.auth_type(login, password)

    def _split_extra(
        self, conn: Connection, extra_options: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """The connection's extra as headers and options; ``extra_options`` win."""
        headers = {str(k): str(v) for k, v in conn.extra_dejson.items() if k not in OPTION_KEYS}
        options = {k: v for k, v in conn.extra_dejson.items() if k in OPTION_KEYS}
        return headers, {**options, **extra_options}

    def get_conn(
        self,
        headers: Mapping[str, Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
    ) -> httpx.Client:
        """An httpx client on the base URL with the connection's auth, headers and options:
        what Airflow's ``requests.Session`` is to code that sends its own requests
        (``client.get("items")``). The caller closes it."""
        conn = self._connection()
        self._set_base_url(conn)
        conn_headers, options = self._split_extra(conn, dict(extra_options or {}))
        return httpx.Client(
            base_url=self.base_url,
            auth=self._auth(conn),
            headers={**conn_headers, **{str(k): str(v) for k, v in (headers or {}).items()}},
            **client_options(options, self.base_url),
        )

    def run(
        self,
        endpoint: str | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: Mapping[str, Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        **request_kwargs: Any,
    ) -> HttpResponse:
        """Send ``method`` to the base URL joined with ``endpoint``. ``data`` is the query of
        a GET, nothing for HEAD, else the body (a dict is form-encoded; ``json=`` sends
        JSON). A 4xx or 5xx raises unless ``extra_options={"check_response": False}``."""
        conn = self._connection()
        self._set_base_url(conn)
        conn_headers, options = self._split_extra(conn, dict(extra_options or {}))
        url = url_from_endpoint(self.base_url, endpoint)
        request = dict(request_kwargs)
        if self.method == "GET":
            if data:
                request["params"] = data
        elif self.method != "HEAD" and data is not None and data != {}:
            request["content" if isinstance(data, str | bytes) else "data"] = data
        self.log.info("Sending '%s' to url: %s", self.method, url)
        response = send(
            self.method,
            url,
            conn_id=conn.conn_id,
            options=options,
            auth=self._auth(conn),
            headers={**conn_headers, **{str(k): str(v) for k, v in (headers or {}).items()}},
            **request,
        )
        if flag(options.get("check_response", True)):
            self.check_response(response)
        return response

    def check_response(self, response: HttpResponse) -> None:
        """Raise ``HttpStatusError`` (``"<status>:<reason> ..."``) for 4xx and 5xx."""
        try:
            response.raise_for_status()
        except HttpStatusError as exc:
            self.log.error("HTTP error: %s", response.reason)
            self.log.error(response.text)
            raise HttpStatusError(
                f"{exc} from connection {self.http_conn_id!r}", response
            ) from None

    def run_and_check(self, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.run(*args, **kwargs)

    def run_with_advanced_retry(
        self, _retry_args: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``run`` retried as tenacity's ``Retrying(**_retry_args)`` says (the DAG file builds
        those arguments with tenacity, so it is installed where this is called)."""
        import tenacity

        return tenacity.Retrying(**_retry_args)(self.run, *args, **kwargs)

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.run()
        except TaskError as exc:
            return False, str(exc)
        return True, "Connection successfully tested"
