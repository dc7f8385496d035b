"""The try number people see, from the dispatches the store numbers.

``task_instance.try_number`` numbers every dispatch of a task instance: each move checks it,
so a late or duplicated message about an earlier dispatch moves nothing. A dispatch that
continues the try before it (a reschedule-mode sensor's next poke, a deferral's or an
answer's resumption) is counted in ``resumptions`` and grants itself its own dispatch in
``max_tries`` (``store/moves.py``). Airflow numbers tries, not dispatches: what the task, its
templates, the API, the UI and the CLI show is ``try_number - resumptions`` of ``max_tries -
resumptions``. Each ``task_try`` row (one a dispatch) keeps the instance's ``resumptions`` at
its start, so the rows of one try share that difference too. Timeline entries keep their
dispatch's number; :data:`EVENT_TRY` names the try each belongs to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Join, and_, func

from conveyor.store.tables import task_event, task_instance, task_try

_TI = task_instance.c

#: A task instance's try, and the tries it is allowed, as Airflow numbers them.
SHOWN_TRY: ColumnElement[int] = _TI.try_number - _TI.resumptions
SHOWN_MAX_TRIES: ColumnElement[int] = _TI.max_tries - _TI.resumptions
#: The try a ``task_try`` row (a dispatch) belongs to.
ROW_TRY: ColumnElement[int] = task_try.c.try_number - task_try.c.resumptions


def row_of_try(try_number: int) -> ColumnElement[bool]:
    """A ``task_try`` row of try ``try_number``, as people number it."""
    return task_try.c.try_number - task_try.c.resumptions == try_number


def instance_columns() -> list[ColumnElement[Any]]:
    """Every column of ``task_instance``, its try number and tries allowed as people see
    them (under their own names)."""
    shown = {
        "try_number": SHOWN_TRY.label("try_number"),
        "max_tries": SHOWN_MAX_TRIES.label("max_tries"),
    }
    return [shown.get(column.name, column) for column in task_instance.c]


def try_row_columns() -> list[ColumnElement[Any]]:
    """Every column of ``task_try``, its ``try_number`` the try the dispatch belongs to."""
    return [
        ROW_TRY.label("try_number") if column.name == "try_number" else column
        for column in task_try.c
    ]


def events_with_tries() -> Join:
    """``task_event`` with what :data:`EVENT_TRY` reads: its instance, and its dispatch's
    row when that dispatch started."""
    return task_event.join(task_instance, _TI.id == task_event.c.ti_id).outerjoin(
        task_try,
        and_(
            task_try.c.ti_id == task_event.c.ti_id,
            task_try.c.try_number == task_event.c.try_number,
        ),
    )


#: The try a timeline entry belongs to (read from :func:`events_with_tries`): a dispatch that
#: has not started counts the instance's resumptions, as the instance's own try does.
EVENT_TRY: ColumnElement[int] = task_event.c.try_number - func.coalesce(
    task_try.c.resumptions, _TI.resumptions
)
