"""The spellings of a secret that Conveyor itself writes, so that masking finds each of them.

A password with ``@ : / + = %`` is not written as itself in a connection's URI: ``get_uri()``
and ``sqlalchemy_url()`` percent-encode it, an extra value is ``quote_plus``-ed into the
query, ``__extra__`` is JSON inside ``quote_plus``, SQLAlchemy's own URLs quote with
``safe=" +"``, JSON logs and reprs escape quotes, backslashes and non-ASCII characters. A
masker that knew only the raw value would let every one of those through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

#: The ``safe`` sets of the ``quote`` calls that put a secret into a URI: Conveyor's
#: password (""), login ("*") and schema ("/"), and SQLAlchemy's (" +", " +/").
_QUOTE_SAFE = ("", "/", "*", " +", " +/")


def spellings(value: str) -> set[str]:
    """``value`` and every encoding of it that Conveyor or the libraries it uses may write."""
    found = {value}
    for safe in _QUOTE_SAFE:
        found.add(quote(value, safe=safe))
    found.add(quote_plus(value))
    for ascii_only in (True, False):
        escaped = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        found.update((escaped, quote_plus(escaped)))
    found.add(repr(value)[1:-1])
    return found


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (dict values, list items), the value itself if
    it is one; numbers and booleans are not secrets worth masking everywhere."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)
