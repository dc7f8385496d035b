"""Secrets of the web app: password hashes (argon2id), API tokens, the session signing key.

Passwords are hashed with argon2id (memory-hard, salted, parameters stored in the hash).
API tokens are long random strings, so a plain SHA-256 of them is enough to store: there is
nothing to guess, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from conveyor.config import Settings

TOKEN_PREFIX = "cvy_"
SECRET_KEY_FILE = "secret_key"

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated on first use and kept in ``$home/secret_key``.

    Keeping it in a file means sessions survive a restart and every web process of one home
    signs cookies alike.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.home) / SECRET_KEY_FILE
    if path.is_file():
        text = path.read_text().strip()
        if text:
            return text
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two processes starting at once agree on the first key written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
