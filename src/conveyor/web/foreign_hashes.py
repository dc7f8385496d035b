"""Password hashes an imported Airflow user brings: werkzeug's, as FAB stores them.

``pbkdf2:<digest>:<iterations>$<salt>$<hex>`` and ``scrypt:<n>:<r>:<p>$<salt>$<hex>`` are
checked here with hashlib (werkzeug itself is not needed); a user who signs in with one has
it replaced by Conveyor's argon2id hash at once (``web/login.py``). Any other form is no
match: a hash this module cannot read never opens an account.
"""

from __future__ import annotations

import hashlib
import hmac

_PREFIXES = ("pbkdf2:", "scrypt:")


def is_foreign(password_hash: str) -> bool:
    """Whether the hash is one of werkzeug's, which sign-in replaces with argon2id."""
    return password_hash.startswith(_PREFIXES)


def verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches a werkzeug hash."""
    try:
        method, salt, expected = password_hash.split("$", 2)
        derived = _derive(method, salt.encode(), password.encode())
    except (ValueError, TypeError, OverflowError, MemoryError):
        return False
    return derived is not None and hmac.compare_digest(derived, expected)


def _derive(method: str, salt: bytes, password: bytes) -> str | None:
    kind, *args = method.split(":")
    if kind == "pbkdf2" and len(args) == 2:
        digest, iterations = args[0], int(args[1])
        return hashlib.pbkdf2_hmac(digest, password, salt, iterations).hex()
    if kind == "scrypt" and len(args) == 3:
        n, r, p = (int(a) for a in args)
        # werkzeug's memory bound, so that every hash it made can be checked.
        maxmem = 132 * n * r * p
        return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem).hex()
    return None
