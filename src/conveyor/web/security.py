"""Secrets of the web app: password hashes (argon2id), API tokens, the session signing key.

Passwords are hashed with argon2id (memory-hard, salted, parameters stored in the hash).
API tokens are long random strings, so a plain SHA-256 of them is enough to store: there is
nothing to guess, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.keyfiles import create_key_file
from conveyor.web import foreign_hashes

TOKEN_PREFIX = "cvy_"
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_BYTES = 32
MIN_SECRET_KEY_KINDS = 8

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches: Conveyor's argon2id hash, or a werkzeug hash an
    imported Airflow user brought (sign-in then replaces it)."""
    if foreign_hashes.is_foreign(password_hash):
        return foreign_hashes.verify(password_hash, password)
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
    signs cookies alike. A key shorter than :data:`MIN_SECRET_KEY_BYTES` is refused, never
    used: an empty file would otherwise sign every session with "".
    """
    if settings.secret_key:
        return _long_enough(settings.secret_key, "the setting secret_key")
    path = Path(settings.home) / SECRET_KEY_FILE
    if not path.exists():
        create_key_file(path, secrets.token_hex(32) + "\n")
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the session key file {path}: {exc}") from None
    return _long_enough(text, f"the session key file {path}")


def _long_enough(key: str, where: str) -> str:
    """``key``, unless it is too short or too plain to sign with: whitespace does not count
    (a key of 40 spaces is no key), and a key of fewer than :data:`MIN_SECRET_KEY_KINDS`
    different characters ("aaaa...", "1212...") can be guessed."""
    counted = "".join(key.split())
    size = len(counted.encode())
    if size < MIN_SECRET_KEY_BYTES or len(set(counted)) < MIN_SECRET_KEY_KINDS:
        what = (
            f"a key of {size} bytes besides whitespace"
            if size < MIN_SECRET_KEY_BYTES
            else f"a key of only {len(set(counted))} different characters"
        )
        raise ConfigError(
            f"{where} holds {what}; session keys need at least {MIN_SECRET_KEY_BYTES} bytes "
            f"of at least {MIN_SECRET_KEY_KINDS} different characters: put a long random "
            "string there (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`), or delete the file "
            "to have one generated"
        )
    return key
