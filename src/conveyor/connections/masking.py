"""Keep secrets out of task logs: values a try fetched are written as ``***``.

A connection's password (and extra values under secret-looking keys) and the value of a
variable whose key looks secret are registered when a try reads them, in every spelling
Conveyor writes them (percent-encoded in a URI, JSON-escaped: see ``encodings``), and for a
JSON value each string inside it. While the try runs,
``sys.stdout``/``sys.stderr`` are wrapped so that every write is masked, and log records are
masked as they are made (a record factory, so handlers created by the task are covered too).
Output that a task's own subprocesses write straight to the file descriptors is not seen
here; ``BashOperator`` copies its command's output through ``sys.stdout``, so it is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from conveyor import strict_json
from conveyor.connections.encodings import spellings, strings_in

MASK = "***"
#: Shorter values would mask ordinary words and numbers all over a log.
MIN_LENGTH = 4
#: Matched against a key in lower case with '-', '_', '.' and spaces taken out, so
#: ``private-key``, ``Private_Key`` and ``privatekey`` are alike. Anything else can be marked
#: secret explicitly (a variable's ``secret`` flag, a connection's ``secret_fields``).
SECRET_KEY_WORDS = re.compile(
    r"pass(word|wd|phrase|code)|pass$|pwd|pw$|^(key|pin)$|secret|token|credential|auth|dsn"
    r"|jwt|cookie|bearer|webhook|keyfile|keydata|serviceaccount|conn(ection)?str(ing)?"
    r"|(api|private|access|signing|ssh|client|encryption|master|account|hmac|storage|shared"
    r"|sas|app|deploy|license|gpg|pgp|tls|ssl|kms|crypt|cipher|wallet|recovery|secure)key"
    r"|privkey|sessionid|kubeconfig|salt$|otp$|mfa|passcode"
    # URLs and URIs of the kind that carry a login and password in them
    r"|(mongo(db)?|database|db|jdbc|odbc|proxy|redis|amqp|broker|sqlalchemy|sqlalchemyconn"
    r"|conn(ection)?|backend|resultbackend|dburi|mysql|postgres(ql)?|rabbitmq|smtp|ftp|sftp"
    r"|ldap|elastic(search)?|kafka|neo4j|cassandra)(url|uri)$|sqlalchemyconn$"
)
_SEPARATORS = re.compile(r"[-_.\s]")

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def looks_secret(key: str) -> bool:
    """Whether a variable or extra key names a secret (password, token, api_key, ...)."""
    return bool(SECRET_KEY_WORDS.search(_SEPARATORS.sub("", key.lower())))


def secrets_in(value: Any) -> list[Any]:
    """The values held under a secret-looking key anywhere inside a JSON-like value (a
    connection's extra, a variable's JSON): ``{"s3": {"aws_secret_access_key": "x"}}`` holds
    ``"x"``, and ``{"headers": [{"Authorization": "Bearer y"}]}`` holds ``"Bearer y"``.
    Walked without recursion, so no depth of nesting can exhaust the stack."""
    found: list[Any] = []
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if looks_secret(str(key)):
                    if inner not in (None, "", [], {}):
                        found.append(inner)
                elif isinstance(inner, dict | list | tuple):
                    pending.append(inner)
        elif isinstance(item, list | tuple):
            pending.extend(inner for inner in item if isinstance(inner, dict | list | tuple))
    return found


def mask_nested(value: Any) -> Any:
    """A copy of a JSON-like value with whatever sits under a secret-looking key, at any
    depth, written as ``***`` (the value itself when nothing inside is secret). Walked
    without recursion, as :func:`secrets_in` is."""
    if not isinstance(value, dict | list | tuple):
        return value
    root: list[Any] = [value]
    # Each pending entry: (container to fill, key or index in it, value to copy there).
    pending: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    while pending:
        parent, slot, item = pending.pop()
        if isinstance(item, dict):
            copy: Any = {}
            for key, inner in item.items():
                if looks_secret(str(key)) and inner not in (None, ""):
                    copy[key] = MASK
                else:
                    copy[key] = inner
                    pending.append((copy, key, inner))
        elif isinstance(item, list | tuple):
            copy = list(item)
            pending.extend((copy, index, inner) for index, inner in enumerate(item))
        else:
            continue
        parent[slot] = copy
    return root[0]


def mask_json_text(text: str) -> str:
    """A variable's text as it may be shown when its key is not secret: JSON text with
    secret-looking keys inside it has their values written as ``***``; any other text (and
    JSON with nothing secret inside) is returned as it is."""
    parsed = _json_container(text)
    if parsed is None:
        return text
    masked = mask_nested(parsed)
    return text if masked == parsed else json.dumps(masked)


def nested_secrets_of_text(text: str) -> list[Any]:
    """What sits under secret-looking keys inside JSON text (nothing for other text)."""
    parsed = _json_container(text)
    return [] if parsed is None else secrets_in(parsed)


def _json_container(text: str) -> Any:
    """``text`` parsed when it is a JSON object or array within the nesting rule, else None."""
    if text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return strict_json.loads(text)
    except ValueError:  # not JSON, or nested too deep to be worth reading
        return None


def register(value: Any) -> None:
    """Mask ``value`` in everything written from now on in this process: each line of it, each
    string inside it when it is JSON (a dict, a list, or text that parses as either), and
    each spelling of those that Conveyor writes (see ``encodings.spellings``)."""
    global _pattern
    found: set[str] = set()
    for text in _texts(value):
        for line in (text, *text.splitlines()):
            if len(line.strip()) >= MIN_LENGTH:
                found.update(spellings(line))
    if not found - _secrets:
        return
    with _lock:
        _secrets.update(found)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _texts(value: Any) -> list[str]:
    """The strings of a value worth masking: itself, and the strings inside its JSON."""
    if isinstance(value, dict | list | tuple):
        return [json.dumps(value), *strings_in(value)]
    if not isinstance(value, str):
        return []
    if value.lstrip()[:1] in ("{", "["):
        try:
            return [value, *strings_in(json.loads(value))]
        except ValueError:
            pass
    return [value]


def has_secrets() -> bool:
    """Whether any secret is registered (what this process's try read)."""
    return _pattern is not None


def redact(text: str) -> str:
    """``text`` with every registered secret written as ``***``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def redact_value(value: Any) -> Any:
    """A JSON-like value with every registered secret in its strings (keys too) masked."""
    if _pattern is None:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def reset() -> None:
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


class MaskingStream:
    """A text stream that masks registered secrets before writing to the stream it wraps."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, isatty, buffer...
        return getattr(self._inner, name)


@contextlib.contextmanager
def masked_output() -> Iterator[None]:
    """Mask secrets in this process's Python-level output and log records, then forget them."""
    saved_out, saved_err = sys.stdout, sys.stderr
    previous_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        if _pattern is not None:
            record.msg, record.args = redact(record.getMessage()), None
        return record

    sys.stdout = MaskingStream(saved_out)
    sys.stderr = MaskingStream(saved_err)
    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        logging.setLogRecordFactory(previous_factory)
        reset()
