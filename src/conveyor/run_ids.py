"""The one rule a run id follows, and the one way a run id becomes a folder name.

A run id is given by people (API, CLI, the trigger form), by DAG authors
(``TriggerDagRunOperator``, YAML) and by tests (``conveyor.testing``); every one of them is
checked here, so a run id that passes is safe to show, to put in a URL and to store. It also
names the run's log folder: :func:`folder_name` maps every run id to a different folder name
that stays inside the DAG's log folder (no ``..``, no ``/``), even for ids stored before the
rule existed.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata

from conveyor.exceptions import ConveyorError

MAX_LENGTH = 250  # the width of the run_id column
RULE = (
    f"a run id is 1 to {MAX_LENGTH} characters, with no control characters (NUL, newline, "
    "tab...), no line or paragraph separators (U+2028, U+2029), no invisible formatting "
    "characters (bidi controls such as U+202E, zero-width ones such as U+200B, the BOM "
    "U+FEFF, fillers such as U+3164...), no blank character but the space (U+00A0, U+2800...) "
    "and no '/', and is not '.' or '..'"
)
#: Unicode categories a run id may not hold, each with what it is called in a message. Such
#: a character is invisible or moves the text around it: an id that holds one can look like
#: another id, or break the line of a log or a terminal it is printed in.
_REFUSED = {
    "Cc": "the control character",
    "Cs": "the lone surrogate",
    "Cf": "the invisible formatting character",
    "Zl": "the line separator",
    "Zp": "the paragraph separator",
}
#: Characters that show nothing though their category is a letter, a mark or a symbol:
#: Unicode's default-ignorable code points (fillers, joiners, variation selectors, tags) and
#: the blank Braille pattern. An id holding one reads as another id.
_INVISIBLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
#: Bytes kept as they are in a folder name; every other byte becomes %XX.
_PLAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
#: Longer encoded names are cut and given a hash suffix: a file name holds at most 255 bytes.
_FOLDER_LIMIT = 200
_FOLDER_KEEP = 120


class InvalidRunId(ConveyorError, ValueError):
    """A run id breaks the rule; the message says which part and quotes the rule."""


def run_id_problem(run_id: object) -> str | None:
    """What is wrong with this run id, or None if it follows the rule."""
    if not isinstance(run_id, str):
        return f"a run id is text, not {type(run_id).__name__}"
    return _text_problem(run_id)


@functools.lru_cache(maxsize=1024)
def _text_problem(run_id: str) -> str | None:
    """:func:`run_id_problem` of a text; each try of a run asks it of the same id again."""
    if not run_id:
        return "it is empty"
    if len(run_id) > MAX_LENGTH:
        return f"it is {len(run_id)} characters long"
    if run_id in (".", ".."):
        return f"it is {run_id!r}"
    if "/" in run_id:
        return "it contains '/'"
    for position, char in enumerate(run_id):
        kind = _kind_refused(char)
        if kind is not None:
            return f"it contains {kind} U+{ord(char):04X} at position {position}"
    return None


def _kind_refused(char: str) -> str | None:
    """What ``char`` is called in a refusal, or None when a run id may hold it."""
    category = unicodedata.category(char)
    if category in _REFUSED:
        return _REFUSED[category]
    if category == "Zs" and char != " ":
        return "the blank character"
    code = ord(char)
    if any(low <= code <= high for low, high in _INVISIBLE):
        return "the invisible character"
    return None


def check_run_id(run_id: str) -> str:
    """The run id if it follows the rule; else InvalidRunId naming what is wrong."""
    problem = run_id_problem(run_id)
    if problem is not None:
        shown = repr(run_id[:60] + ("..." if len(run_id) > 60 else ""))
        raise InvalidRunId(f"bad run id {shown}: {problem}; {RULE}")
    return run_id


@functools.lru_cache(maxsize=1024)
def folder_name(run_id: str) -> str:
    """A file name for the run's log folder: different for every run id, never '.' or '..'.

    Each byte outside ``[A-Za-z0-9._-]`` is written ``%XX`` (so ``a:b+c`` and ``a_b_c``
    differ), and so is every byte of ``.`` and ``..`` (``%2E%2E``). A name too long for the
    file system keeps its first part and ends with ``~`` and a hash of the whole id (``~``
    never appears in an encoded name).
    """
    data = run_id.encode("utf-8", "surrogatepass")
    if not data:
        return "%"  # never an encoded name (those have two digits after every %)
    if data in (b".", b".."):
        return "%2E" * len(data)
    name = "".join(chr(b) if b in _PLAIN else f"%{b:02X}" for b in data)
    if len(name) <= _FOLDER_LIMIT:
        return name
    keep = name[:_FOLDER_KEEP]
    cut = keep.rfind("%", len(keep) - 2)  # never split a %XX
    if cut != -1:
        keep = keep[:cut]
    return f"{keep}~{hashlib.sha256(data).hexdigest()}"
