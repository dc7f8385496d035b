"""The tree drawn in ``exceptions.py``'s docstring names every ConveyorError, under its
parent, with the module of those defined beside the code that raises them: the one place a
reader finds them all, kept true by this test rather than by care."""

from __future__ import annotations

import re
from pathlib import Path

import conveyor
from conveyor import exceptions

PACKAGE = Path(conveyor.__file__).parent


#: A class statement: its name and its bases (read as text: parsing every module costs
#: seconds, and a class statement's shape is all this needs).
_CLASS = re.compile(r"^[ \t]*class (\w+)\(([^)]*)\)", re.MULTILINE)


def declared_errors() -> dict[str, tuple[str, str]]:
    """Every class under src/conveyor that descends from ConveyorError -> (its first base
    that does, its module)."""
    classes: list[tuple[str, list[str], str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        for name, bases in _CLASS.findall(path.read_text()):
            names = [base.strip().rsplit(".", 1)[-1] for base in bases.split(",")]
            classes.append((name, names, module))
    found: dict[str, tuple[str, str]] = {"ConveyorError": ("", "exceptions.py")}
    grew = True
    while grew:
        grew = False
        for name, bases, module in classes:
            ours = [base for base in bases if base in found]
            if name not in found and ours:
                found[name] = (ours[0], module)
                grew = True
    return found


def drawn_tree(doc: str) -> dict[str, tuple[str, str]]:
    """The docstring's tree: each name -> (its parent, the module it gives or exceptions.py)."""
    drawn: dict[str, tuple[str, str]] = {}
    parents = ["ConveyorError"]
    for line in doc.splitlines():
        match = re.match(r"^ {4}((?:│   | {4})*)[├└]── (\w+)(?:\s+\(([\w/.]+)\))?", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4
        parents[depth + 1 :] = [match.group(2)]
        drawn[match.group(2)] = (parents[depth], match.group(3) or "exceptions.py")
    return drawn


def test_the_tree_reads_names_parents_and_modules() -> None:
    doc = "    ConveyorError\n    ├── A\n    │   └── B  (x/y.py)\n    └── C  (z.py): why\n"
    assert drawn_tree(doc) == {
        "A": ("ConveyorError", "exceptions.py"),
        "B": ("A", "x/y.py"),
        "C": ("ConveyorError", "z.py"),
    }


def test_the_docstring_draws_every_error_under_its_parent() -> None:
    declared = declared_errors()
    del declared["ConveyorError"]
    assert exceptions.__doc__ is not None
    assert drawn_tree(exceptions.__doc__) == declared
