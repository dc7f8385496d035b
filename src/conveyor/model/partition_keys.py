"""Reading a date back out of a partition key a temporal mapper wrote.

``strptime`` cannot read every key a mapper writes: ``{quarter}`` is no directive, and a
week's ``%V`` is ignored unless ``%G`` and ``%u`` come with it. So the output format is
read as a pattern instead: each numeric directive and ``{quarter}`` a named group, the
rest literal text, anchored at both ends so a key with more or less in it is refused.
"""

from __future__ import annotations

import re

#: The directives a key's date is read from, and the digits each stands for.
_DIGITS = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2, "V": 2, "U": 2, "W": 2}


def key_pattern(output_format: str) -> re.Pattern[str]:
    """The pattern of the keys ``output_format`` writes; ValueError when a directive or
    ``{quarter}`` appears twice (its value would be ambiguous)."""
    parts: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(output_format):
        name, width = _group_at(output_format, i)
        if name is None:
            parts.append(re.escape(output_format[i]))
            i += 1
            continue
        if name in seen:
            raise ValueError(f"output_format {output_format!r} has {name!r} twice")
        seen.add(name)
        parts.append(f"(?P<{name}>[1-4])" if name == "quarter" else rf"(?P<{name}>\d{{{width}}})")
        i += width if name == "quarter" else 2
    return re.compile("".join(parts) + r"\Z")


def _group_at(text: str, i: int) -> tuple[str | None, int]:
    if text.startswith("{quarter}", i):
        return "quarter", len("{quarter}")
    if text[i] == "%" and i + 1 < len(text) and text[i + 1] in _DIGITS:
        return text[i + 1], _DIGITS[text[i + 1]]
    return None, 0


def parse_key(key: str, output_format: str) -> dict[str, int]:
    """The numbers a key holds, by directive letter (``quarter`` for ``{quarter}``);
    ValueError when the key is not one ``output_format`` writes."""
    found = key_pattern(output_format).match(key)
    if found is None:
        raise ValueError(f"key {key!r} does not match output_format {output_format!r}")
    return {name: int(value) for name, value in found.groupdict().items()}
