"""Access tokens of the Airflow-compatible API: JWTs signed with Conveyor's secret key.

``POST /auth/token`` hands one out for a user name and password, as Airflow 3's auth
managers do; callers send it as ``Authorization: Bearer <token>``. The token names the user
only: the role is read from the store on each request, so a new role applies at once. It
carries a fingerprint of the password hash too, so a new password ends every token issued
before it. The signing key is derived from the secret key rather than being it, so a token
and a session cookie can never stand in for each other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from conveyor.config import Settings
from conveyor.web.security import secret_key

ALGORITHM = "HS512"
AUDIENCE = "conveyor:api"
ISSUER = "conveyor"
PASSWORD_CLAIM = "pw"


@dataclass(frozen=True)
class TokenClaims:
    username: str
    password_fingerprint: str


class BadToken(Exception):
    """The token is not one of ours, or has expired; the message says which."""


def signing_key(settings: Settings) -> bytes:
    return hmac.new(secret_key(settings).encode(), b"conveyor api v2 jwt", hashlib.sha512).digest()


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def issue(settings: Settings, username: str, password_fingerprint: str) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": username,
        PASSWORD_CLAIM: password_fingerprint,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=settings.api_jwt_expiry_seconds),
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM)


def verify(settings: Settings, token: str) -> TokenClaims:
    """The claims of a valid, unexpired token of ours; :class:`BadToken` otherwise."""
    try:
        claims = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iat"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise BadToken(
            "the access token has expired: get a new one from POST /auth/token"
        ) from None
    except jwt.InvalidTokenError as exc:
        raise BadToken(f"invalid access token: {exc}") from None
    username, fingerprint = claims.get("sub"), claims.get(PASSWORD_CLAIM)
    if not isinstance(username, str) or not isinstance(fingerprint, str):
        raise BadToken("invalid access token: no user in it")
    return TokenClaims(username, fingerprint)
