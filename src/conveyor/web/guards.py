"""What every response and request passes through: security headers, redirects that never
name a host, a body size cap, and the ``Secure`` flag on cookies sent over HTTPS.

Pure ASGI middlewares (no buffering of responses), added once in ``create_app``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse

from conveyor import strict_json

#: The UI's pages load scripts, styles and images from the app only and fetch only its API.
#: Inline ``style=""`` attributes are allowed (the templates use a few for layout); inline
#: scripts are not (the pages' data travels in ``<script type="application/json">``, which a
#: browser never runs).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
EXTERNAL_REDIRECT = "conveyor_external_redirect"  # request state: the one Location kept
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def security_headers(form_targets: Sequence[str] = ()) -> list[tuple[bytes, bytes]]:
    """:data:`SECURITY_HEADERS`, with ``form_targets`` (origins such as
    ``https://login.example.com``) allowed as the end of a form's redirects: the logout
    form of a user signed in through an OpenID Connect provider ends on its sign-out page."""
    if not form_targets:
        return SECURITY_HEADERS
    policy = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", " ".join(["form-action 'self'", *form_targets])
    )
    return [(b"content-security-policy", policy.encode()), *SECURITY_HEADERS[1:]]


class HttpMiddleware:
    """An ASGI middleware around ``app`` that acts on HTTP requests only (:meth:`http`);
    anything else (lifespan, websocket) passes straight through."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Any, receive: Any, send: Any) -> None:
        raise NotImplementedError


class SecurityHeaders(HttpMiddleware):
    """Adds :data:`SECURITY_HEADERS` to every response that does not set them itself, and
    makes every redirect's ``Location`` a path on this site.

    With ``always_secure`` (the ``secure_cookies`` setting), or when the request came over
    HTTPS (directly, or as a trusted proxy's ``X-Forwarded-Proto`` that uvicorn honours),
    every ``Set-Cookie`` gets the ``Secure`` flag.
    """

    def __init__(
        self, app: Any, *, always_secure: bool = False, form_targets: Sequence[str] = ()
    ) -> None:
        super().__init__(app)
        self.always_secure = always_secure
        self.headers = security_headers(form_targets)

    async def http(self, scope: Any, receive: Any, send: Any) -> None:
        secure = self.always_secure or scope.get("scheme") == "https"

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.headers if n not in present]
                allowed = (scope.get("state") or {}).get(EXTERNAL_REDIRECT)
                headers = [_relative_location(name, value, allowed) for name, value in headers]
                if secure:
                    headers = [_secure_cookie(name, value) for name, value in headers]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def external_redirect(request: Request, url: str) -> RedirectResponse:
    """A redirect to another site that the handler chose (an OpenID Connect provider's
    sign-in or sign-out page), which :class:`SecurityHeaders` leaves as it is."""
    response = RedirectResponse(url, status_code=303)
    request.scope.setdefault("state", {})[EXTERNAL_REDIRECT] = response.headers["location"]
    return response


def _relative_location(
    name: bytes, value: bytes, allowed: str | None = None
) -> tuple[bytes, bytes]:
    """A redirect's target as a path on this site. The app redirects to itself, but the
    framework's trailing-slash redirects name the request's ``Host`` header, which the
    client chose: ``Host: evil.example`` would send a browser (or a cache) elsewhere. The
    one exception is the target a handler named with :func:`external_redirect`."""
    if name.lower() != b"location" or (allowed and value.decode("latin-1") == allowed):
        return name, value
    parts = urlsplit(value.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return name, value
    path = "/" + parts.path.lstrip("/")  # never "//host/...": a browser reads that as a site
    relative = urlunsplit(("", "", path, parts.query, parts.fragment))
    return name, relative.encode("latin-1")


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"; secure" not in value.lower():
        return name, value + b"; Secure"
    return name, value


class BodyLimit(HttpMiddleware):
    """Refuses a request body over ``max_bytes`` with 413, before a handler reads it whole.

    A declared ``Content-Length`` over the cap is refused at once; a body sent in chunks is
    counted as it arrives and refused (an HTTPException the app's handler renders) when it
    passes the cap.
    """

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Any, receive: Any, send: Any) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._reason())
            return message

        await self.app(scope, counting_receive, send)

    def _reason(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes (max_request_bytes)"

    async def _refuse(self, send: Any) -> None:
        await send_problem(send, 413, self._reason())


#: The nesting a JSON body may have: the strict-JSON rule's, and room for the request's own
#: envelope (``{"conf": ...}``), so that each field is then checked by the rule itself and
#: refused naming the field.
MAX_BODY_DEPTH = strict_json.MAX_DEPTH + 2


class JsonDepthLimit(HttpMiddleware):
    """Refuses a JSON request body nested deeper than the strict-JSON rule allows with 422,
    before anything parses it: the parsers on the way (the framework's, the audit trail's)
    recurse, and a body a thousand levels deep would end in a 500. The body, already capped
    by :class:`BodyLimit` outside this, is read whole and handed on unchanged."""

    async def http(self, scope: Any, receive: Any, send: Any) -> None:
        kind = dict(scope.get("headers", [])).get(b"content-type", b"")
        if not _is_json(kind):
            await self.app(scope, receive, send)
            return
        messages: list[Any] = []
        body = bytearray()
        while True:
            try:
                message = await receive()
            except HTTPException as refused:  # the body cap outside, counting as it comes
                await send_problem(send, refused.status_code, str(refused.detail))
                return
            messages.append(message)
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if strict_json.text_depth(bytes(body), MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
            await send_problem(send, 422, f"{strict_json.too_deep('the request body')}")
            return
        pending = iter(messages)

        async def replay() -> Any:
            return next(pending, None) or await receive()

        await self.app(scope, replay, send)


def _is_json(content_type: bytes) -> bool:
    """``application/json``, the ``+json`` types (``application/merge-patch+json``), and no
    type at all, which the framework reads as JSON too."""
    kind = content_type.split(b";")[0].strip().lower()
    return kind in (b"", b"application/json") or kind.endswith(b"+json")


async def send_problem(
    send: Any, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer ``{"detail": detail}`` with ``status`` (and ``headers``) through ASGI ``send``:
    for a middleware that refuses a request before the app sees it."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
