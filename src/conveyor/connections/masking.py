"""Keep secrets out of task logs: values a try fetched are written as ``***``.

A connection's password (and extra values under secret-looking keys) and the value of a
variable whose key looks secret are registered when a try reads them. While the try runs,
``sys.stdout``/``sys.stderr`` are wrapped so that every write is masked, and log records are
masked as they are made (a record factory, so handlers created by the task are covered too).
Output that a task's own subprocesses write straight to the file descriptors is not seen
here; ``BashOperator`` copies its command's output through ``sys.stdout``, so it is.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

MASK = "***"
#: Shorter values would mask ordinary words and numbers all over a log.
MIN_LENGTH = 4
#: Matched against a key in lower case with '-', '_', '.' and spaces taken out, so
#: ``private-key``, ``Private_Key`` and ``privatekey`` are alike. Anything else can be marked
#: secret explicitly (a variable's ``secret`` flag, a connection's ``secret_fields``).
SECRET_KEY_WORDS = re.compile(
    r"pass(word|wd|phrase)|pwd|secret|token|credential|auth|dsn"
    r"|(api|private|access|signing|ssh|client|encryption|master)key"
)
_SEPARATORS = re.compile(r"[-_.\s]")

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def looks_secret(key: str) -> bool:
    """Whether a variable or extra key names a secret (password, token, api_key, ...)."""
    return bool(SECRET_KEY_WORDS.search(_SEPARATORS.sub("", key.lower())))


def register(value: Any) -> None:
    """Mask ``value`` (and each line of it) in everything written from now on in this process."""
    global _pattern
    if not isinstance(value, str):
        return
    found = {v for v in (value, *value.splitlines()) if len(v.strip()) >= MIN_LENGTH}
    if not found - _secrets:
        return
    with _lock:
        _secrets.update(found)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


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
