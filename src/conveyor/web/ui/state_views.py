"""The states as the pages show them, read from :mod:`conveyor.lifecycle`.

Nothing in the stylesheets, the scripts or the templates lists the states: ``base.html``
carries the CSS of their colours (one ``--st-<state>`` custom property each, its dark theme's
where it differs, and the rules that paint a badge, a legend square, a grid cell, a run's
bar, a graph node and a timeline entry's dot with it, and pulse a state under way) and
a JSON of their order, labels and the order in which a group shows its most telling state,
which ``js/core.js`` reads. The templates loop over :func:`task_states` and
:func:`run_states`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from conveyor import lifecycle
from conveyor.lifecycle import Display
from conveyor.states import FINISHED, RUN_FINISHED

#: The elements a state's colour fills: its badge, its legend square, a grid cell, a run bar.
_FILLED = (".state", ".sq", ".cell", ".run-bar")


def _displays() -> dict[str, Display]:
    """Each state's display by its value; a run state shares the task state's of its name."""
    shown: dict[str, Display] = {
        state.value: shown for state, shown in lifecycle.TASK_DISPLAY.items()
    }
    for state, display in lifecycle.RUN_DISPLAY.items():
        shown.setdefault(state.value, display)
    return shown


#: How a square, a grid cell and a graph node's bar show work under way.
_PULSE = "animation: pulse 1.6s ease-in-out infinite;"


def _rules(state: str, display: Display) -> Iterable[str]:
    var = f"var(--st-{state})"
    yield ", ".join(f"{element}.st-{state}" for element in _FILLED) + f" {{ background: {var}; }}"
    if display.framed:
        yield f".state.st-{state} {{ color: {display.ink}; }}"
        width = 2.5 if display.heavy else 2
        yield f"svg.graph .node.st-{state} rect.box {{ stroke: {var}; stroke-width: {width}; }}"
    else:  # coloured as the page is: an outline shows the badge
        yield f".state.st-{state} {{ color: var(--muted); border: 1px solid var(--line-strong); }}"
    yield f"svg.graph .node.st-{state} rect.bar {{ fill: {var}; }}"
    if display.pulse:
        pulsing = f".sq.st-{state}, .cell.st-{state}, svg.graph .node.st-{state} rect.bar"
        yield f"{pulsing} {{ {_PULSE} }}"


def _timeline_rules(shown: Mapping[str, Display]) -> Iterable[str]:
    """The dot of a timeline entry: the colour of the state it reached or tells of (a state
    coloured as the page is keeps the plain dot)."""
    kinds = {state: state for state, display in shown.items() if display.framed} | {
        kind: state.value for kind, state in lifecycle.TIMELINE_KINDS.items()
    }
    for kind, state in kinds.items():
        yield f".timeline li.k-{kind}::before {{ background: var(--st-{state}); }}"


@cache
def state_css() -> str:
    """The stylesheet of the states' colours, for a ``<style>`` element of ``base.html``."""
    shown = _displays()
    colours = " ".join(f"--st-{state}: {display.colour};" for state, display in shown.items())
    dark = " ".join(f"--st-{s}: {d.dark};" for s, d in shown.items() if d.dark is not None)
    rules = [rule for state, display in shown.items() for rule in _rules(state, display)]
    return "\n".join(
        [
            f":root {{ {colours} }}",
            f':root[data-theme="dark"] {{ {dark} }}',
            *rules,
            *_timeline_rules(shown),
        ]
    )


def _listed(displays: Mapping[Any, Display]) -> list[dict[str, str]]:
    return [{"state": state.value, "label": shown.label} for state, shown in displays.items()]


@cache
def state_json() -> dict[str, Any]:
    """What ``js/core.js`` reads of the states: their order and labels, task and run, the
    order in which a collapsed group shows its most telling state, and the named sets."""
    return {
        "task": _listed(lifecycle.TASK_DISPLAY),
        "run": _listed(lifecycle.RUN_DISPLAY),
        "telling": [state.value for state in lifecycle.TELLING],
        "finished": sorted(state.value for state in FINISHED),
        "unfinished": sorted(state.value for state in lifecycle.UNFINISHED),
        "tried": [state.value for state in lifecycle.TRY_STATES],
        "run_finished": sorted(state.value for state in RUN_FINISHED),
    }


def task_states() -> list[tuple[str, str]]:
    """``(state, label)`` of every task state, in the order the pages list them."""
    return [(state.value, shown.label) for state, shown in lifecycle.TASK_DISPLAY.items()]


def run_states() -> list[tuple[str, str]]:
    """``(state, label)`` of every run state, in the order the pages list them."""
    return [(state.value, shown.label) for state, shown in lifecycle.RUN_DISPLAY.items()]


def day_states() -> list[tuple[str, str]]:
    """``(state, label)`` of the run states a calendar's day shows, the most telling first."""
    return [(state.value, lifecycle.RUN_DISPLAY[state].label) for state in lifecycle.DAY_TELLING]


def state_label(state: str | None) -> str:
    """The label of a task or run state (its value if it is none of them)."""
    shown = _displays().get(state or lifecycle.S.NONE.value)
    return shown.label if shown else str(state)
