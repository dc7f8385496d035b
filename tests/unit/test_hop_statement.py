"""The hop's one statement stays short enough for psycopg to keep its parsed form.

psycopg parses a statement's ``%(name)s`` placeholders again on every execution when its
text is longer than 4 kB or it has more than 50 parameters. The finish-and-read statement
runs on every hop of every run, while the run's lock is held: written with the table's full
name and the joins in each of its parts it was 5.6 kB, and its parse cost about 150 µs a hop.
"""

from __future__ import annotations

from psycopg import _queries
from sqlalchemy.dialects import postgresql

from conveyor.store.hop import steps

#: psycopg's limits (private names, so read with a fallback to the documented values).
LONGEST = getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 4096)
MOST_PARAMETERS = getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 50)
#: Task ids a hop's read names: the finished task's downstream and what its trigger rules
#: need of their upstream. A fan-out's task names none or its join, a chain's task one; a
#: hop that names many more is parsed again each time, as every hop was before.
NAMED = 4


def test_the_finish_and_read_statement_is_one_psycopg_keeps_parsed() -> None:
    compiled = steps._FINISH_AND_READ_HOP.compile(dialect=postgresql.psycopg.dialect())
    # Each named task id becomes a parameter of its own when the statement is executed.
    expanded = ", ".join(f"%(task_ids_1_{i})s::VARCHAR" for i in range(1, NAMED + 1))
    text = compiled.string.replace("__[POSTCOMPILE_task_ids]", expanded)
    parameters = len(compiled.binds) - 1 + NAMED
    assert len(text.encode()) <= LONGEST
    assert parameters <= MOST_PARAMETERS
