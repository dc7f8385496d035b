"""Sign-in names as a directory compares them, and names fit to be stored.

An LDAP directory matches the name typed with the uid attribute's matching rule
(caseIgnoreMatch): case, compatibility forms (full-width letters) and blanks around and
within the name do not count. So ``bob``, ``BoB``, `` bob`` and a full-width ``bob`` are one person,
and whatever is counted per person (failed sign-ins) is counted under
:func:`matching_key`. The name a directory user is stored under is the entry's own, as the
directory returns it; :func:`unfit_name` says why a name from a directory is not stored.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 200
#: Characters a stored user name never holds: markup, whatever a page or a log could
#: misread, and control characters (checked apart).
_MARKUP = frozenset("<>&\"'`\\")


def matching_key(name: str) -> str:
    """``name`` as the directory compares it: NFKC, case folded, blanks collapsed."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(folded.split())


def unfit_name(name: str) -> str | None:
    """Why ``name`` cannot be a stored user name (None: it can)."""
    if not name.strip():
        return "an empty name"
    if len(name) > MAX_NAME:
        return f"a name longer than {MAX_NAME} characters"
    if name != name.strip():
        return "a name with blanks around it"
    for char in name:
        if unicodedata.category(char).startswith("C"):
            return f"a name with the control character U+{ord(char):04X}"
        if char in _MARKUP:
            return f"a name with {char!r}, which markup could misread"
    return None
