"""Signing in through an OpenID Connect provider: the authorization code flow with PKCE.

``/login/oidc`` keeps a fresh state, nonce and PKCE verifier in the session and sends the
browser to the provider; the provider sends it back to ``/login/oidc/callback`` with a code.
The callback takes the state only once and only when it equals the session's (so another
site cannot complete a sign-in in this browser), exchanges the code with the verifier,
verifies the ID token (``conveyor.web.oidc_provider``) and signs the user in with the
groups its ``auth_oidc_groups_claim`` lists. The user is the one bound to the token's
issuer and ``sub`` (``conveyor.web.directory_users``); the name claim only names a new one,
and an ``email`` stands in for it only when ``email_verified`` is true. Every refusal is
written to the audit log; those before anyone is known (a forged or replayed callback, a
token refused) are counted and sampled (``conveyor.web.audit_sampling``).
The provider is told where to send the browser back by ``web_url`` (never by the request's
Host header, which the client chooses), so ``web_url`` must be the address people open.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from conveyor.config import Settings
from conveyor.store import audit
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.web import audit_sampling, auth, directory_users, oidc_provider
from conveyor.web.deps import get_settings, get_store, prefixed
from conveyor.web.guards import external_redirect
from conveyor.web.login import render_login

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SESSION_FLOW = "oidc_flow"  # state, nonce, verifier and next of the sign-in under way
CALLBACK_PATH = "/login/oidc/callback"


def oidc_form_targets(settings: Settings) -> list[str]:
    """The provider's origin, where the logout form's redirect ends (its sign-out page)."""
    if settings.auth_type != "oidc" or not settings.auth_oidc_issuer:
        return []
    parts = urlsplit(settings.auth_oidc_issuer)
    return [f"{parts.scheme}://{parts.netloc}"]


def redirect_uri(settings: Settings) -> str:
    return settings.public_web_url + CALLBACK_PATH


@router.get("/login/oidc")
def oidc_start(request: Request, next: str = "/") -> Response:
    settings = get_settings(request)
    if settings.auth_type != "oidc":
        return RedirectResponse(prefixed(request, "/login"), status_code=303)
    flow = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(48),
        "next": auth.safe_next(next),
    }
    try:
        url = oidc_provider.authorization_url(
            settings, redirect_uri(settings), flow["state"], flow["nonce"], flow["verifier"]
        )
    except oidc_provider.ProviderError as exc:
        log.error("OpenID Connect sign-in: %s", exc)
        return _failed(request, "The sign-in provider could not be reached: try again later.", 503)
    request.session[SESSION_FLOW] = flow
    return external_redirect(request, url)


@router.get(CALLBACK_PATH)
async def oidc_callback(request: Request) -> Response:
    settings = get_settings(request)
    flow = request.session.pop(SESSION_FLOW, None)
    params = request.query_params
    address = request.client.host if request.client else None
    store = get_store(request)
    app_state = request.app.state
    if not isinstance(flow, dict) or not hmac.compare_digest(
        str(flow.get("state", "")), params.get("state", "")
    ):
        await run_in_threadpool(
            _refused, store, "?", address, "state missing or not this browser's", app_state
        )
        return _failed(request, "The sign-in expired or did not start here: try again.", 400)
    if "error" in params or "code" not in params:
        reason = f"provider answered {params.get('error', 'no code')}"
        await run_in_threadpool(_refused, store, "?", address, reason, app_state)
        return _failed(request, "The sign-in provider did not sign you in.", 401)
    try:
        claims = await run_in_threadpool(_verified, settings, params["code"], flow)
    except oidc_provider.InvalidIdTokenError as exc:
        await run_in_threadpool(_refused, store, "?", address, str(exc), app_state)
        return _failed(request, "The sign-in provider's answer was refused.", 401)
    except oidc_provider.ProviderError as exc:
        log.error("OpenID Connect sign-in: %s", exc)
        await run_in_threadpool(_refused, store, "?", address, str(exc), app_state)
        return _failed(request, "The sign-in provider could not be reached: try again later.", 503)
    identity = identity_from_claims(settings, claims)
    if identity is None:
        await run_in_threadpool(_refused, store, str(claims.get("sub")), address, "no user name")
        return _failed(request, "The sign-in provider gave no usable user name.", 401)
    try:
        row = await run_in_threadpool(directory_users.sign_in, store, settings, identity, address)
    except directory_users.NameTaken as exc:
        return _failed(request, f"Sign-in refused: {exc}.", 403)
    except directory_users.SignInRefused:
        return _failed(
            request, "Your directory account has no role in Conveyor: ask an admin.", 403
        )
    auth.start_session(request, row)
    return RedirectResponse(prefixed(request, str(flow.get("next") or "/")), status_code=303)


def _verified(settings: Settings, code: str, flow: dict[str, Any]) -> dict[str, Any]:
    id_token = oidc_provider.exchange_code(
        settings, code, redirect_uri(settings), str(flow["verifier"])
    )
    return oidc_provider.verified_claims(settings, id_token, str(flow["nonce"]))


def identity_from_claims(
    settings: Settings, claims: dict[str, Any]
) -> directory_users.DirectoryIdentity | None:
    """The user name (the configured claim, else a verified email, else sub), groups and
    subject (the issuer and ``sub``, which key the user) of a token."""
    keys = [settings.auth_oidc_username_claim, "sub"]
    if claims.get("email_verified") is True:  # an unverified address is anyone's to type
        keys.insert(1, "email")
    name = next(
        (claims[key] for key in keys if isinstance(claims.get(key), str) and claims[key]),
        None,
    )
    subject, issuer = claims.get("sub"), claims.get("iss")
    if name is None or not isinstance(subject, str) or not isinstance(issuer, str):
        return None
    groups = claims.get(settings.auth_oidc_groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    return directory_users.DirectoryIdentity(
        name,
        "oidc",
        tuple(str(g) for g in groups if isinstance(g, str | int)),
        subject=user_rows.subject_key(issuer, subject),
    )


def _refused(
    store: Store, who: str, address: str | None, reason: str, state: object | None = None
) -> None:
    """A refused callback in the audit log; ``state`` (the app's): counted and sampled, as
    anyone can send a forged callback (``web.audit_sampling``)."""
    details: dict[str, object] = {"method": "oidc", "reason": reason}
    if state is not None:
        unrecorded = audit_sampling.sampler(state).admit("login.failed:oidc", address)
        if unrecorded is None:
            return
        if unrecorded:
            details["unrecorded"] = unrecorded
    with store.write() as conn:
        audit.record(conn, who, "login.failed", None, details, via="oidc", address=address)


def _failed(request: Request, message: str, status: int) -> Response:
    return render_login(request, message, status)
