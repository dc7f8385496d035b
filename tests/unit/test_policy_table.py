"""Each entry point's list, as drawn from the one policy table, printed whole: a reader sees
every story of a try's move on one screen (``tests/unit/policy_stories.txt``).

A rule added, removed or moved in ``engine/policy_table.py`` (or an entry point added) fails
this test until the stories are written again with ``CONVEYOR_WRITE_POLICY_STORIES=1``; check
with ``git diff`` that only the story you meant changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conveyor.engine import (
    awaiting_input,
    bulk_manual,
    deferral,
    hand_back,
    manual,
    policy,
    policy_table,
    progress,
    tries,
)
from conveyor.engine.policy import Point, Rule, Table, always, follow, line, register
from conveyor.lifecycle import Outcome
from conveyor.states import ExitKind, TaskState

STORIES = Path(__file__).with_name("policy_stories.txt")

#: The modules whose entry points are drawn or registered at import: a module that registers
#: a new entry point is added here, and its story then shows in the recorded file.
ENTRY_MODULES = (
    tries,
    deferral,
    awaiting_input,
    hand_back,
    progress,
    policy_table,
    manual,
    bulk_manual,
)


def _stories() -> str:
    assert ENTRY_MODULES  # imported above: their points are registered
    drawn = policy.registered()
    names = sorted(name for name in drawn if not name.startswith("test."))  # this file's own
    return "\n\n".join(policy.story(drawn[name]) for name in names) + "\n"


def test_every_entry_points_story_is_the_recorded_one() -> None:
    stories = _stories()
    if os.environ.get("CONVEYOR_WRITE_POLICY_STORIES") == "1":
        STORIES.write_text(stories)
    assert stories == STORIES.read_text(), (
        "an entry point's rules changed: write tests/unit/policy_stories.txt again with "
        "CONVEYOR_WRITE_POLICY_STORIES=1 and check its diff"
    )


def test_each_list_is_drawn_once_and_followed_as_drawn() -> None:
    """The lists the entry points follow are the registered ones (no list drawn per call)."""
    drawn = policy.registered()
    assert drawn["tries.try_ended"].rules is policy_table.TRY_ENDED
    assert drawn["tries.end_from_outside"].rules is policy_table.OUTSIDE_END
    assert drawn["deferral.record_deferral"].rules is policy_table.DEFERRAL
    assert drawn["deferral.time_out"].rules is policy_table.DEFERRAL_TIMEOUT
    assert drawn["awaiting_input.record_wait"].rules is policy_table.AWAITING_INPUT
    assert drawn["hand_back.hand_back"].rules is policy_table.HAND_BACK
    assert drawn["progress.plan_whole"].rules is progress.PLAN_WHOLE


@dataclass
class _Move:
    outcome: Outcome | None = None
    done: list[str] = field(default_factory=list)


def _note(name: str) -> policy.Line:
    return line(name, always, lambda move: move.done.append(name), "ends")


def test_a_line_at_a_kind_serves_every_point_of_that_kind_in_the_tables_order() -> None:
    table = Table(
        _note("first"),
        line("only b", always, lambda move: move.done.append("only b"), "b"),
        _note("last"),
    )
    a = table.draw(Point("a", ("ends",))).rules
    b = table.draw(Point("b", ("ends",))).rules
    assert follow(a, _Move()).done == ["first", "last"]
    assert follow(b, _Move()).done == ["first", "only b", "last"]


def test_a_lines_states_are_checked_once_where_the_point_tells_and_else_as_followed() -> None:
    succeeded = line(
        "kept", always, lambda m: m.done.append("kept"), "ends", to=(TaskState.SUCCESS,)
    )
    table = Table(succeeded)
    failing = Point("failing", ("ends",), moves_to=(TaskState.FAILED,))
    succeeding = Point("succeeding", ("ends",), moves_to=(TaskState.SUCCESS,))
    either = Point("either", ("ends",))
    assert table.draw(failing).rules == ()  # never to success: not in its list at all
    assert table.draw(succeeding).rules == (succeeded.rule,)  # always to success: no check
    (checked,) = table.draw(either).rules
    assert follow((checked,), _Move(Outcome(TaskState.FAILED, ExitKind.EXCEPTION))).done == []
    assert follow((checked,), _Move(Outcome(TaskState.SUCCESS, ExitKind.RETURN))).done == ["kept"]


def test_a_line_placed_from_a_state_serves_only_points_that_move_from_it() -> None:
    from_deferred = line("x", always, always, "ends", moves_from=(TaskState.DEFERRED,))
    table = Table(from_deferred)
    assert table.draw(Point("r", ("ends",), moves_from=(TaskState.RUNNING,))).rules == ()
    assert len(table.draw(Point("d", ("ends",), moves_from=(TaskState.DEFERRED,))).rules) == 1


def test_a_list_written_beside_its_entry_point_is_registered_as_is() -> None:
    rules: tuple[Rule[_Move], ...] = (Rule("mark", always, lambda m: m.done.append("mark")),)
    point = Point("test.written_beside", ("a person's move",))
    assert register(point, rules) == rules
    assert "1. mark" in policy.story(policy.registered()[point.name])
    with pytest.raises(ValueError, match="two entry points"):
        register(Point("test.written_beside"), rules)


def test_a_rule_for_every_end_of_a_try_is_one_line() -> None:
    """One line at the kind "ends a try" reaches every entry point that ends one."""
    everywhere = line("note the end", always, always, policy_table.ENDS_A_TRY)
    table = Table(*policy_table.TABLE.lines, everywhere)
    ending = [
        drawn.point
        for drawn in policy.registered().values()
        if policy_table.ENDS_A_TRY in drawn.point.kinds
    ]
    assert len(ending) == 6
    for point in ending:
        assert table.draw(point).rules[-1] is everywhere.rule, point.name
