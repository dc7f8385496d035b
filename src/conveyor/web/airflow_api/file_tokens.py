"""``file_token``: a DAG file's path, signed, as the DAG answers carry it and
``PUT /parseDagFile/{file_token}`` takes it back.

The token is the path (URL-safe base64) and an HMAC of it under a key derived from the web
server's secret key, so a caller can only name a file the server itself told them of, and
a token of one installation means nothing to another. The derivation's label keeps it apart
from the session cookie's and the JWTs' keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from conveyor.config import Settings
from conveyor.web.security import secret_key

_LABEL = b"conveyor api v2 file token"
_SEPARATOR = "."


class BadFileToken(ValueError):
    """Not a token this server signed."""


def _key(settings: Settings) -> bytes:
    return hmac.new(secret_key(settings).encode(), _LABEL, hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, fileloc: str) -> bytes:
    return hmac.new(_key(settings), fileloc.encode(), hashlib.sha256).digest()


def sign(settings: Settings, fileloc: str) -> str:
    """The token of the DAG file at ``fileloc``."""
    return _encode(fileloc.encode()) + _SEPARATOR + _encode(_mac(settings, fileloc))


def read(settings: Settings, token: str) -> str:
    """The path a token of ours names; :class:`BadFileToken` for anything else."""
    path_part, separator, mac_part = token.partition(_SEPARATOR)
    if not separator or not path_part or not mac_part:
        raise BadFileToken("not a file token: it has no signature")
    try:
        fileloc = _decode(path_part).decode()
        given = _decode(mac_part)
    except (binascii.Error, ValueError):
        raise BadFileToken("not a file token: it is not URL-safe base64") from None
    if not hmac.compare_digest(given, _mac(settings, fileloc)):
        raise BadFileToken("the file token's signature does not match")
    return fileloc
