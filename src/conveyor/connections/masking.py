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
    r"|sas|app|deploy|license|gpg|pgp)key|privkey|sessionid"
)
_SEPARATORS = re.compile(r"[-_.\s]")

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def looks_secret(key: str) -> bool:
    """Whether a variable or extra key names a secret (password, token, api_key, ...)."""
    return bool(SECRET_KEY_WORDS.search(_SEPARATORS.sub("", key.lower())))


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

    sys.stdout = MaskingStream(saved_out)  # type: ignore[assignment]
    sys.stderr = MaskingStream(saved_err)  # type: ignore[assignment]
    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        logging.setLogRecordFactory(previous_factory)
        reset()
