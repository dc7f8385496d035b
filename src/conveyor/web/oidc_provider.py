"""Talking to an OpenID Connect provider: discovery, the code exchange, ID token checks.

The provider's metadata comes from ``<issuer>/.well-known/openid-configuration`` and its
keys from the ``jwks_uri`` it names, both read once per process (the keys again when a
token is signed with a key id not seen yet: the provider rotated them). The authorization
code is exchanged with the PKCE verifier (Authlib's client); the ID token is trusted only
after :func:`verify_id_token` checked its signature against those keys, with an algorithm
``auth_oidc_id_token_algorithms`` allows (never what the discovery document lists: a
provider listing ``none`` does not make unsigned tokens good), and its issuer, audience,
expiry and nonce (joserfc, Authlib's JOSE library).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from conveyor.auth_settings import SAFE_ID_TOKEN_ALGORITHMS
from conveyor.config import Settings
from conveyor.exceptions import ConveyorError
from conveyor.install_hint import pip_install

_LOCK = threading.Lock()
LEEWAY_SECONDS = 60  # clocks of the provider and of this host may differ a little


class ProviderError(ConveyorError):
    """The provider could not be reached, or answered something unusable."""


class InvalidIdTokenError(ConveyorError):
    """The ID token is not one this app may trust: the message says which check failed."""


@dataclass
class Provider:
    """A provider's endpoints and keys, as discovery found them."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    algorithms: list[str] | None
    jwks: dict[str, Any]


_providers: dict[str, Provider] = {}


def _httpx() -> Any:
    try:
        import httpx2  # what Authlib's HTTP client is built on
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ProviderError(
            f"auth_type = 'oidc' needs Authlib and httpx2: {pip_install('oidc')}"
        ) from exc
    return httpx2


def provider(settings: Settings, *, refresh_keys: bool = False) -> Provider:
    """The provider of ``auth_oidc_issuer``, discovered once per process."""
    issuer = settings.auth_oidc_issuer
    assert issuer is not None
    with _LOCK:
        found = _providers.get(issuer)
    if found is not None and not refresh_keys:
        return found
    if found is None:
        found = _discover(settings, issuer)
    else:
        found.jwks = _get_json(settings, found.jwks_uri)
    with _LOCK:
        _providers[issuer] = found
    return found


def _discover(settings: Settings, issuer: str) -> Provider:
    meta = _get_json(settings, f"{issuer}/.well-known/openid-configuration")
    if meta.get("issuer", "").rstrip("/") != issuer:
        raise ProviderError(
            f"{issuer}/.well-known/openid-configuration names issuer {meta.get('issuer')!r}; "
            "auth_oidc_issuer must be exactly the provider's issuer"
        )
    try:
        jwks_uri = meta["jwks_uri"]
        return Provider(
            issuer=meta["issuer"],
            authorization_endpoint=meta["authorization_endpoint"],
            token_endpoint=meta["token_endpoint"],
            jwks_uri=jwks_uri,
            end_session_endpoint=meta.get("end_session_endpoint"),
            algorithms=meta.get("id_token_signing_alg_values_supported"),
            jwks=_get_json(settings, jwks_uri),
        )
    except KeyError as exc:
        raise ProviderError(f"{issuer}: the discovery document lacks {exc.args[0]!r}") from None


def _get_json(settings: Settings, url: str) -> dict[str, Any]:
    httpx = _httpx()
    try:
        response = httpx.get(url, timeout=settings.auth_oidc_timeout_seconds)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"{url}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProviderError(f"{url}: expected a JSON object")
    return data


def _client(settings: Settings) -> Any:
    from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=settings.auth_oidc_client_id,
        client_secret=settings.auth_oidc_client_secret,
        scope=settings.auth_oidc_scopes,
        code_challenge_method="S256",
        token_endpoint_auth_method=(
            "client_secret_basic" if settings.auth_oidc_client_secret else "none"
        ),
        timeout=settings.auth_oidc_timeout_seconds,
    )


def authorization_url(
    settings: Settings, redirect_uri: str, state: str, nonce: str, code_verifier: str
) -> str:
    """Where to send the browser: the provider's sign-in, with state, nonce and PKCE."""
    found = provider(settings)
    with _client(settings) as client:
        url, _ = client.create_authorization_url(
            found.authorization_endpoint,
            redirect_uri=redirect_uri,
            state=state,
            nonce=nonce,
            code_verifier=code_verifier,
        )
    return str(url)


def exchange_code(settings: Settings, code: str, redirect_uri: str, code_verifier: str) -> str:
    """The ID token the provider gives for ``code`` (not yet verified)."""
    from authlib.integrations.base_client.errors import OAuthError

    found = provider(settings)
    httpx = _httpx()
    try:
        with _client(settings) as client:
            token = client.fetch_token(
                found.token_endpoint,
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
    except (OAuthError, httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"the token endpoint {found.token_endpoint}: {exc}") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise ProviderError("the provider answered without an ID token: is 'openid' a scope?")
    return id_token


def verify_id_token(
    id_token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: list[str] | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (against ``jwks``, with one of
    ``algorithms``: none given, the asymmetric ones), issuer, audience, expiry and nonce
    check out; :class:`InvalidIdTokenError` otherwise."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        allowed = [a for a in algorithms or SAFE_ID_TOKEN_ALGORITHMS if a.lower() != "none"]
        token = jwt.decode(id_token, keys, algorithms=allowed)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise InvalidIdTokenError(f"ID token refused: {type(exc).__name__}: {exc}") from exc
    claims = dict(token.claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise InvalidIdTokenError("ID token refused: several audiences and azp is not ours")
    return claims


def verified_claims(settings: Settings, id_token: str, nonce: str) -> dict[str, Any]:
    """:func:`verify_id_token` with the provider's keys, fetched again once when the token
    names a key they lack (the provider rotated its keys)."""
    from joserfc.errors import InvalidKeyIdError

    assert settings.auth_oidc_client_id is not None
    found = provider(settings)
    for refresh in (False, True):
        if refresh:
            found = provider(settings, refresh_keys=True)
        try:
            return verify_id_token(
                id_token,
                found.jwks,
                issuer=found.issuer,
                client_id=settings.auth_oidc_client_id,
                nonce=nonce,
                # The setting, never what discovery lists: a provider (or whoever answers
                # for it) listing "none" or a shared-secret one must not open a way in.
                algorithms=list(settings.auth_oidc_id_token_algorithms),
            )
        except InvalidIdTokenError as exc:
            if refresh or not isinstance(exc.__cause__, InvalidKeyIdError):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def end_session_url(settings: Settings) -> str | None:
    """The provider's sign-out page, which comes back to the login page; None without one."""
    found = provider(settings)
    if not found.end_session_endpoint:
        return None
    query = urlencode(
        {
            "client_id": settings.auth_oidc_client_id,
            "post_logout_redirect_uri": settings.public_web_url + "/login",
        }
    )
    separator = "&" if "?" in found.end_session_endpoint else "?"
    return found.end_session_endpoint + separator + query
