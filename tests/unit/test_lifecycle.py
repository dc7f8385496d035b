"""Every declared state has its display and every view reads it; no view keeps a list of its own.

A state added to ``states.py`` without its rows in ``lifecycle.py`` fails here, and so does a
state list written again by hand in a stylesheet, a script or a Python module.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import get_args

import pytest

import conveyor
from conveyor import lifecycle, metrics
from conveyor.airflow_compat.shims import State
from conveyor.states import (
    FAILED_LIKE,
    FINISHED,
    IN_FLIGHT,
    RUN_FINISHED,
    MarkStateName,
    RunPatchStateName,
    RunState,
    RunStateName,
    TaskState,
)
from conveyor.web.ui import state_views

UI = Path(state_views.__file__).parent
PACKAGE = Path(conveyor.__file__).parent
#: The modules that name the states and their sets; every other module reads them.
STATE_HOMES = {PACKAGE / "states.py", PACKAGE / "lifecycle.py"}
STATIC = UI / "static"


def test_every_task_and_run_state_has_its_display() -> None:
    assert list(lifecycle.TASK_DISPLAY) and set(lifecycle.TASK_DISPLAY) == set(TaskState)
    assert set(lifecycle.RUN_DISPLAY) == set(RunState)
    labels = [display.label for display in lifecycle.TASK_DISPLAY.values()]
    assert len(set(labels)) == len(labels)
    for display in [*lifecycle.TASK_DISPLAY.values(), *lifecycle.RUN_DISPLAY.values()]:
        assert re.fullmatch(r"#[0-9a-f]{6}", display.colour), display
        assert re.fullmatch(r"#[0-9a-f]{6}", display.ink), display


def test_the_named_sets_split_the_states() -> None:
    assert set(TaskState) == lifecycle.UNFINISHED | FINISHED
    assert not lifecycle.UNFINISHED & FINISHED
    assert lifecycle.SUCCEEDED_LIKE | FAILED_LIKE == FINISHED
    assert set(lifecycle.TELLING) <= lifecycle.UNFINISHED | FAILED_LIKE
    assert len(set(lifecycle.TELLING)) == len(lifecycle.TELLING)
    assert lifecycle.TELLING[: len(lifecycle.WORST_FIRST)] == lifecycle.WORST_FIRST
    assert set(lifecycle.DAY_TELLING) == set(RunState)
    assert lifecycle.DAY_TELLING[0] is RunState.FAILED
    assert set(lifecycle.WORST_FIRST) == FAILED_LIKE
    assert lifecycle.WAITING_FOR_TIME <= lifecycle.UNFINISHED - IN_FLIGHT
    assert IN_FLIGHT < lifecycle.POOLED and IN_FLIGHT < lifecycle.ACTIVE
    assert not lifecycle.POOLED & FINISHED and not lifecycle.ACTIVE & FINISHED
    assert lifecycle.MARK_TARGETS <= FINISHED
    assert set(lifecycle.TRY_STATES) - lifecycle.SUCCEEDED_LIKE >= lifecycle.FAILED_TRY
    assert not lifecycle.RUN_UNFINISHED & RUN_FINISHED
    assert set(RunState) == lifecycle.RUN_UNFINISHED | RUN_FINISHED


@pytest.mark.parametrize("state", list(TaskState))
def test_every_task_state_is_reached_and_left_by_a_declared_move(state: TaskState) -> None:
    """A state no move reaches is dead; one no move leaves (and not finished) is a trap.
    A person's clear and mark go from any state, so finished states may be left by hand only."""
    reached = {to for _, to in lifecycle.TASK_MOVES} | lifecycle.MANUAL_TARGETS
    left = {start for start, _ in lifecycle.TASK_MOVES}
    assert state in reached
    assert state in left or state in FINISHED


def test_the_try_states_are_running_and_what_a_move_from_running_reaches() -> None:
    assert lifecycle.TRY_STATES[0] is TaskState.RUNNING
    assert set(lifecycle.TRY_STATES[1:]) == {
        to for start, to in lifecycle.TASK_MOVES if start is TaskState.RUNNING
    }
    assert tuple(state.value for state in lifecycle.TRY_STATES) == metrics.TRY_STATES


def test_an_undeclared_step_is_refused() -> None:
    with pytest.raises(lifecycle.IllegalMove):
        lifecycle.check_step([TaskState.SUCCESS], TaskState.RUNNING)
    with pytest.raises(lifecycle.IllegalMove):
        lifecycle.FINISH.target(TaskState.SCHEDULED)
    with pytest.raises(lifecycle.IllegalMove):
        lifecycle.FINISH.check([TaskState.QUEUED], TaskState.SUCCESS)
    with pytest.raises(lifecycle.IllegalMove):
        lifecycle.check_run_step([RunState.SUCCESS], RunState.RUNNING)
    lifecycle.FINISH.check([TaskState.RUNNING, TaskState.DEFERRED], TaskState.FAILED)


@pytest.mark.parametrize("state", [*TaskState, *RunState], ids=str)
def test_every_state_has_its_colour_rules_and_its_label_on_the_page(state: str) -> None:
    css = state_views.state_css()
    assert f"--st-{state}: " in css
    for element in (".state", ".sq", ".cell", ".run-bar"):
        assert f"{element}.st-{state}" in css
    assert f"svg.graph .node.st-{state} rect.bar" in css
    assert (f".timeline li.k-{state}::before" in css) is (state is not TaskState.NONE)
    page = state_views.state_json()
    kind = "task" if isinstance(state, TaskState) else "run"
    assert {"state": state.value, "label": state_views.state_label(state)} in page[kind]


def test_the_pages_json_carries_the_named_sets() -> None:
    page = json.loads(json.dumps(state_views.state_json()))
    assert set(page["finished"]) == {state.value for state in FINISHED}
    assert set(page["run_finished"]) == {state.value for state in RUN_FINISHED}
    assert set(page["unfinished"]) == {state.value for state in lifecycle.UNFINISHED}
    assert page["telling"] == [state.value for state in lifecycle.TELLING]


def test_airflows_state_names_come_from_the_lifecycle() -> None:
    for state in TaskState:
        expected = None if state is TaskState.NONE else state.value
        assert getattr(State, state.name) == expected
    assert State.finished == {state.value for state in FINISHED}
    assert "success" in State.finished and "running" not in State.finished
    assert None in State.unfinished and "running" in State.unfinished
    assert State.failed_states == {state.value for state in FAILED_LIKE}
    assert State.color("failed") == lifecycle.TASK_DISPLAY[TaskState.FAILED].colour
    assert State.color("no such state") == "white"


def _state_lists(text: str) -> list[str]:
    """The literal lists in ``text`` ([...] or (...)) of three or more quoted state names."""
    names = {state.value for state in TaskState}
    found = []
    for items in re.findall(r"[\[(]([^\[\]()]*)[\])]", text):
        quoted = re.findall(r"""["']([a-z_]+)["']""", items)
        if len(quoted) >= 3 and set(quoted) <= names:
            found.append(items.strip())
    return found


@pytest.mark.parametrize("path", sorted(STATIC.glob("js/*.js")), ids=lambda path: path.name)
def test_no_script_keeps_a_list_of_states(path: Path) -> None:
    """The order, labels and named sets come from the lifecycle (``core.js`` reads them)."""
    assert _state_lists(path.read_text()) == []


@pytest.mark.parametrize(
    "path", sorted((UI / "templates").glob("*.html")), ids=lambda path: path.name
)
def test_no_template_keeps_the_states_or_their_labels(path: Path) -> None:
    """A legend may show a chart's few states, by name; their labels, and the full lists of
    the legends and filters, come from the lifecycle (``task_states``, ``run_states``)."""
    text = path.read_text()
    assert all(len(found.split(",")) < len(TaskState) // 2 for found in _state_lists(text))
    for legend in re.findall(r"legend\((.*?)\) }}", text):
        for state, label in re.findall(r"\('([a-z_]+)', '([^']*)'\)", legend):
            assert label != state_views.state_label(state), (state, label)


def test_the_stylesheets_paint_no_state_by_hand() -> None:
    """Each state's colour is defined, and its classes painted, only from the lifecycle
    (state_css); a stylesheet may borrow a colour (``var(--st-success)``), nothing more."""
    names = "|".join(sorted({*(state.value for state in TaskState), *lifecycle.TIMELINE_KINDS}))
    for path in STATIC.glob("*.css"):
        text = path.read_text()
        defined = set(re.findall(r"--st-([a-z_]+)\s*:", text))
        assert defined <= {"paused"}, path  # a dag's pause switch: no state
        assert not re.findall(rf"\.(?:st|k)-(?:{names})\b", text), path


def test_the_page_pulses_and_darkens_the_states_the_lifecycle_says() -> None:
    css = state_views.state_css()
    for state, display in lifecycle.TASK_DISPLAY.items():
        assert (f".cell.st-{state}, svg.graph" in css) is display.pulse, state
        if display.dark is not None:
            assert f'data-theme="dark"] {{ --st-{state}: {display.dark};' in css
    for kind, state in lifecycle.TIMELINE_KINDS.items():
        assert f".timeline li.k-{kind}::before {{ background: var(--st-{state}); }}" in css


def test_the_cli_colours_every_state_as_the_ui_does() -> None:
    from rich.style import Style

    from conveyor.cli.common import STATE_STYLES

    assert set(STATE_STYLES) == {state.value for state in [*TaskState, *RunState]}
    for state, style in STATE_STYLES.items():
        assert Style.parse(style).color is not None, state
    assert STATE_STYLES["failed"] == lifecycle.TASK_DISPLAY[TaskState.FAILED].colour


def _state_aliases(tree: ast.Module) -> set[str]:
    """The names a module calls the state enums by (``S = TaskState`` included)."""
    names = {"TaskState", "RunState"}
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign) else None
        if isinstance(node, ast.Assign) and isinstance(value, ast.Name) and value.id in names:
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _is_state(node: ast.expr, enums: set[str]) -> bool:
    """``TaskState.X`` or ``TaskState.X.value`` (or a run state's, or an alias's)."""
    if isinstance(node, ast.Attribute) and node.attr == "value":
        node = node.value
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in enums
        and node.attr.isupper()
    )


def python_state_sets(source: str) -> list[str]:
    """The tuples, lists and sets in ``source`` that spell out two or more states. A mapping
    keyed by state (a callback's name, a reason per state) is a table, not a set: allowed."""
    tree = ast.parse(source)
    enums = _state_aliases(tree)
    return [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set))
        and sum(_is_state(item, enums) for item in node.elts) >= 2
    ]


def test_the_python_check_finds_a_set_spelled_out() -> None:
    assert python_state_sets("x in (TaskState.QUEUED, TaskState.RUNNING)")
    assert python_state_sets("S = TaskState\nW = frozenset({S.FAILED, S.SKIPPED})")
    assert python_state_sets("q.in_([RunState.QUEUED.value, RunState.RUNNING.value])")
    assert not python_state_sets("x in IN_FLIGHT or x is TaskState.NONE")
    assert not python_state_sets("HOOKS = {TaskState.SUCCESS: 'a', TaskState.FAILED: 'b'}")


def test_no_python_module_spells_out_a_set_of_states() -> None:
    """A set of states has one name, in ``states.py`` or ``lifecycle.py`` (``IN_FLIGHT``,
    ``WAITING_FOR_TIME``, ``MARK_TARGETS`` ...), so what it means is said and changed once."""
    # A module that names no state enum spells out none of its members: not parsed.
    texts = {path: path.read_text() for path in sorted(set(PACKAGE.rglob("*.py")) - STATE_HOMES)}
    found = {
        str(path.relative_to(PACKAGE)): spelled
        for path, text in texts.items()
        if ("TaskState" in text or "RunState" in text) and (spelled := python_state_sets(text))
    }
    assert found == {}, "name these sets in lifecycle.py"


#: Every state's name, as the store, the API and a request's body spell it.
STATE_NAMES = {s.value for s in TaskState} | {s.value for s in RunState}
#: Modules that spell out another system's states: an Airflow database's, read from its rows.
AIRFLOWS_OWN_STATES = {
    PACKAGE / "airflow_import" / "unfinished.py",
    PACKAGE / "store" / "airflow_import" / "try_numbers.py",
}


def python_state_names(source: str) -> list[str]:
    """The tuples, lists, sets and ``Literal[...]`` in ``source`` made of two or more state
    names as strings (and perhaps None) and nothing else: a list of columns or of options
    that holds a state's name among other words is not one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("Literal"):
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            elts = node.elts
        else:
            continue
        values = [e.value if isinstance(e, ast.Constant) else e for e in elts]
        words = [v for v in values if isinstance(v, str)]
        others = [v for v in values if not isinstance(v, str)]
        if len(words) >= 2 and set(words) <= STATE_NAMES and all(v is None for v in others):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_state_names_spelled_out() -> None:
    assert python_state_names('x in ("failed", "up_for_retry")')
    assert python_state_names('state: Literal["success", "failed"]')
    assert python_state_names('S = frozenset({None, "none", "queued"})')
    assert not python_state_names('COLUMNS = ["pool", "queued", "running"]')
    assert not python_state_names('REPROCESS = ("none", "failed", "completed")')
    assert not python_state_names('x = Literal[RunStateName, "paused"]')


def test_no_python_module_spells_out_state_names() -> None:
    """Where a type must spell the names (a body's ``Literal``), states.py names the alias
    (``RunStateName``, ``MarkStateName`` ...); a check at run time reads the enum's sets."""
    paths = sorted(set(PACKAGE.rglob("*.py")) - STATE_HOMES - AIRFLOWS_OWN_STATES)
    found = {
        str(path.relative_to(PACKAGE)): spelled
        for path in paths
        if (spelled := python_state_names(path.read_text()))
    }
    assert found == {}, "name these in states.py or lifecycle.py"


def test_the_name_aliases_are_the_enums_sets() -> None:
    assert set(get_args(RunStateName)) == {s.value for s in RunState}
    assert set(get_args(MarkStateName)) == {s.value for s in lifecycle.MARK_TARGETS}
    assert set(get_args(MarkStateName)) == {s.value for s in RUN_FINISHED}
    assert set(get_args(RunPatchStateName)) == {*get_args(MarkStateName), RunState.QUEUED.value}
