"""The engine's policy: every rule of every move of a try, in one table (``engine.policy``).

Read a line as: *this rule (when it applies, what it does), at this entry point or every
entry point of this kind, for moves to these states*; ``m.`` names a rule over any try's
move (``engine.try_move``), ``own.`` one over a try's own report (``engine.own_report``).
Each entry point's list is the lines that serve it, in this order, drawn once here at
import; ``tests/unit/test_policy_table.py`` prints each list whole
(``tests/unit/policy_stories.txt``). Before its list, each entry point locks the run, makes
its reads under that lock and chooses the statement its move is made with (``tries``,
``deferral``, ``awaiting_input``, ``hand_back``): no line here is a lock, a read or a choice
of SQL.

Every rule after the move applies only when the move won (a timeout, a person or a fired
trigger may have moved the try first), unless it says otherwise.
"""

from __future__ import annotations

from conveyor.engine import own_report as own
from conveyor.engine import try_move as m
from conveyor.engine.policy import Rule, Table, always, line, point
from conveyor.lifecycle import FAILED_TRY, FINISH
from conveyor.lifecycle import HAND_BACK as HAND_BACK_MOVE
from conveyor.states import IN_FLIGHT, TaskState

# -- the kinds of entry point a line may serve -----------------------------------------------

#: Every entry point that ends a try (a rule for every end of a try is placed here).
ENDS_A_TRY = "ends a try"
#: The engine decides the try's outcome from what happened (and, for a failure, the tries
#: the row allows, read under the run's lock).
DECIDES = "decides the outcome"
#: The run is advanced at once, and what became ready is queued (the fast path).
QUEUES = "queues what became ready"
#: The run is planned; what became ready waits for the scheduler's dispatch.
PLANS = "plans the run"

_RUNNING = (TaskState.RUNNING,)

# -- the entry points: each makes a move of lifecycle.py, from the states it names ---------

TRY_ENDED_POINT = point("tries.try_ended", (ENDS_A_TRY, DECIDES, QUEUES), FINISH, _RUNNING)
#: A supervisor, or a deferral's timeout, fails the try (retries applying).
OUTSIDE_END_POINT = point(
    "tries.end_from_outside", (ENDS_A_TRY, DECIDES, QUEUES), FINISH, IN_FLIGHT, FAILED_TRY
)
DEFERRAL_POINT = point(
    "deferral.record_deferral", (ENDS_A_TRY, DECIDES), FINISH, _RUNNING, (TaskState.DEFERRED,)
)
DEFERRAL_TIMEOUT_POINT = point(
    "deferral.time_out", (ENDS_A_TRY, DECIDES, PLANS), FINISH, (TaskState.DEFERRED,), FAILED_TRY
)
AWAITING_INPUT_POINT = point(
    "awaiting_input.record_wait",
    (ENDS_A_TRY, DECIDES),
    FINISH,
    _RUNNING,
    (TaskState.AWAITING_INPUT,),
)
HAND_BACK_POINT = point("hand_back.hand_back", (ENDS_A_TRY,), HAND_BACK_MOVE, _RUNNING)

OWN = TRY_ENDED_POINT.name
SUCCESS = (TaskState.SUCCESS,)

TABLE = Table(
    line("decide the outcome", always, m.decide_outcome, DECIDES),
    line("make the move", always, m.make_the_move, ENDS_A_TRY),
    line("keep the return value", own.returned_a_value, own.keep_return_value, OWN, to=SUCCESS),
    line("record outlets", m.moved, own.record_outlets, OWN, to=SUCCESS),
    line("skip what was not chosen", own.branched, own.skip_unchosen, OWN, to=SUCCESS),
    line("store the trigger", m.moved, m.store_trigger, ENDS_A_TRY, to=(TaskState.DEFERRED,)),
    line("ask the person", m.moved, m.ask_the_person, ENDS_A_TRY, to=(TaskState.AWAITING_INPUT,)),
    line("remove the trigger", m.moved, m.remove_trigger, DEFERRAL_TIMEOUT_POINT.name),
    line("advance the run from its frontier", own.moved_on_frontier, own.advance_hop, OWN),
    line("advance the whole run", m.moved_whole, m.advance_whole, QUEUES),
    line("plan the whole run", m.moved, m.plan_whole, PLANS),
    line("hand off what the hop queued", m.moved, own.hand_off, OWN),
    line("keep rendered fields", own.rendered, own.keep_rendered_fields, OWN),
    line("keep the map index label", own.moved_with_label, own.keep_label, OWN),
)

# -- each entry point's list, drawn once -----------------------------------------------------

TRY_ENDED: tuple[Rule[own.Ending], ...] = TABLE.entry(TRY_ENDED_POINT)
OUTSIDE_END: tuple[Rule[m.Finishing], ...] = TABLE.entry(OUTSIDE_END_POINT)
DEFERRAL: tuple[Rule[m.Finishing], ...] = TABLE.entry(DEFERRAL_POINT)
DEFERRAL_TIMEOUT: tuple[Rule[m.TimingOut], ...] = TABLE.entry(DEFERRAL_TIMEOUT_POINT)
AWAITING_INPUT: tuple[Rule[m.Finishing], ...] = TABLE.entry(AWAITING_INPUT_POINT)
HAND_BACK: tuple[Rule[m.TryMove], ...] = TABLE.entry(HAND_BACK_POINT)
