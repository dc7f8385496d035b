"""Every move a person makes goes through the engine: the three moves that set a task
instance or a run from whatever state it is in (``transitions.set_by_hand``,
``transitions.override``, ``transitions.move_run``) are called only under ``engine/``
(and inside ``store/transitions.py`` itself).

import-linter speaks of modules, not of functions (``store/transitions.py`` is imported by
the store's own modules for other moves), so this reads the source: each call of those
names, however the module or the function was imported, is found and named by file:line.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import conveyor

#: The moves from any state: a person's, the run timeout's, fail-fast's.
GUARDED = frozenset({"set_by_hand", "override", "move_run"})
MODULE = "conveyor.store.transitions"


def _names(tree: ast.AST) -> tuple[set[str], dict[str, str]]:
    """The names :data:`MODULE` is known by in ``tree``, and each local name of one of its
    :data:`GUARDED` functions with the function it is."""
    modules = {MODULE}
    functions: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.asname for a in node.names if a.name == MODULE and a.asname)
        elif isinstance(node, ast.ImportFrom) and node.module == "conveyor.store":
            modules.update(a.asname or a.name for a in node.names if a.name == "transitions")
        elif isinstance(node, ast.ImportFrom) and node.module == MODULE:
            functions.update((a.asname or a.name, a.name) for a in node.names if a.name in GUARDED)
    return modules, functions


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of each call of a :data:`GUARDED` function of :data:`MODULE`."""
    modules, functions = _names(tree)
    found = []
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in GUARDED:
            if ast.unparse(func.value) in modules:
                found.append((node.lineno, func.attr))
        elif isinstance(func, ast.Name) and func.id in functions:
            found.append((node.lineno, functions[func.id]))
    return sorted(found)


def _allowed(relative: str) -> bool:
    return relative.startswith("engine/") or relative == "store/transitions.py"


def test_only_the_engine_moves_by_hand() -> None:
    source = Path(inspect.getfile(conveyor)).parent
    outside = [
        f"src/conveyor/{relative}:{line}: transitions.{name}"
        for path in sorted(source.rglob("*.py"))
        if not _allowed(relative := path.relative_to(source).as_posix())
        for line, name in _calls(ast.parse(path.read_text(), str(path)))
    ]
    assert not outside, "called outside engine/:\n" + "\n".join(outside)


def test_the_engine_does_call_them() -> None:
    """The search finds the calls where they are (so an empty answer above means none)."""
    engine = Path(inspect.getfile(conveyor)).parent / "engine"
    names = {
        name for path in engine.rglob("*.py") for _, name in _calls(ast.parse(path.read_text()))
    }
    assert names == GUARDED


def test_each_way_of_naming_the_move_is_found() -> None:
    source = textwrap.dedent(
        """
        import conveyor.store.transitions as t
        from conveyor.store import transitions
        from conveyor.store import transitions as moves
        from conveyor.store.transitions import move_run as mr, override

        transitions.set_by_hand(conn, 1, to, actor, retries=0)
        moves.override(conn, 1, to, actor, retries=0, kind="k", why="w")
        t.move_run(conn, 1, expected=[], to=to)
        conveyor.store.transitions.set_by_hand(conn, 1, to, actor, retries=0)
        mr(conn, 1, expected=[], to=to)
        override(conn, 1, to, actor, retries=0, kind="k", why="w")
        task.override(task_id="other")  # a task's override, no move
        transitions.finish(conn, run, 1, 1, outcome, actor)  # a guarded move
        """
    )
    assert _calls(ast.parse(source)) == [
        (7, "set_by_hand"),
        (8, "override"),
        (9, "move_run"),
        (10, "set_by_hand"),
        (11, "move_run"),
        (12, "override"),
    ]
