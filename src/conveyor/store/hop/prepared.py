"""The hop's statements on SQLite, sent straight to the driver.

On SQLite a try's record holds the store's one write lock from its first statement to its
commit, and every other process that records a try waits for it. Executing a cached Core
statement through SQLAlchemy costs about four times what the driver then spends running it
(an execution context, the parameters processed by name, a result object): eight statements
a hop, a third of the time the lock was held. :func:`execute` compiles each statement once
per process, binds its parameters with the statement's own type processors and reads its
rows with its columns' result processors, and calls the driver itself. Rows are named
tuples, read by position or by column name as SQLAlchemy's are.

For statements built once (module constants, cached builders): each is compiled the first
time it is seen, and kept. Anywhere else, :func:`execute` is ``conn.execute``: PostgreSQL
(whose hop goes through a pipeline of its own, see ``pipeline``), a connection not yet in a
transaction, an engine with cursor listeners (tests count statements with them), an INSERT
with defaults computed in Python, a statement whose values are written into its text, and
one that is neither a SELECT nor DML.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import SelectBase


class Result(Protocol):
    """What callers of :func:`execute` read: a ``CursorResult`` has it too."""

    @property
    def rowcount(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def first(self) -> Any | None: ...

    def one(self) -> Any: ...

    def all(self) -> Sequence[Any]: ...

    def scalar_one(self) -> Any: ...

    def scalar(self) -> Any: ...


class Rows:
    """The rows of a statement :func:`execute` ran on the driver, all fetched."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        """The one row; raises as SQLAlchemy's result does (callers catch those)."""
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self._rows[0]

    def all(self) -> list[Any]:
        return list(self._rows)

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar(self) -> Any:
        """The first row's first value; None without rows."""
        return self._rows[0][0] if self._rows else None


@dataclass(frozen=True)
class _Expanded:
    """A statement's text for one number of values in each of its IN lists."""

    sql: str
    names: tuple[str, ...]
    expansion: dict[str, list[str]]  # each list's parameter -> the names of its values
    binds: dict[str, Any]


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for SQLite, with what binding and reading it need."""

    statement: Executable  # kept, so that the id it is found by stays its own
    compiled: SQLCompiler
    sql: str
    names: tuple[str, ...]  # the parameters, in their positions
    binds: dict[str, Any]  # processors by parameter name, where its type has one
    #: The IN lists' parameters: the text depends on how many values each has.
    lists: tuple[str, ...]
    row: type | None  # of the rows it returns; None: it returns none
    converting: tuple[tuple[int, Any], ...]  # the columns' result processors, where needed
    #: The IN lists whose values the statement holds (``in_([...])``), by parameter.
    held_lists: dict[str, Any] = field(default_factory=dict)
    #: The texts made for the IN lists, by their numbers of values (None: not reusable).
    shapes: dict[tuple[int, ...], _Expanded | None] = field(default_factory=dict)

    def arguments(self, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """The text to run and its positional values, from ``params`` (by name)."""
        if not self.lists:
            values = self.compiled.construct_params(params)
            return self.sql, _bound(values, self.names, self.binds)
        if self.held_lists:  # lists the statement holds itself, unless the call gives them
            params = {**self.held_lists, **params}
        expanded = self._expanded(params) if all(n in params for n in self.lists) else None
        if expanded is None:
            state = self.compiled.construct_expanded_state(params)
            binds = {**self.binds, **state.processors}
            return state.statement, _bound(state.parameters, state.positiontup or (), binds)
        values = dict(self.compiled.construct_params(params))
        for name, names in expanded.expansion.items():
            values.update(zip(names, values[name], strict=True))
        return expanded.sql, _bound(values, expanded.names, expanded.binds)

    def _expanded(self, params: Mapping[str, Any]) -> _Expanded | None:
        """The text for these lists' lengths, made once: it depends on nothing else, where
        each value of a list is one parameter (not a tuple's several)."""
        shape = tuple(len(params[name]) for name in self.lists)
        if shape in self.shapes:
            return self.shapes[shape]
        state = self.compiled.construct_expanded_state(params)
        expansion = {name: list(state.parameter_expansion.get(name, ())) for name in self.lists}
        one_each = all(len(expansion[name]) == len(params[name]) for name in self.lists)
        found = (
            _Expanded(
                state.statement,
                tuple(state.positiontup or ()),
                expansion,
                {**self.binds, **state.processors},
            )
            if one_each
            else None
        )
        self.shapes[shape] = found
        return found

    def read(self, cursor: sqlite3.Cursor) -> list[Any]:
        if self.row is None:
            return []
        make, converting = self.row, self.converting
        if not converting:
            return [make(*raw) for raw in cursor.fetchall()]
        rows = []
        for raw in cursor.fetchall():
            values = list(raw)
            for i, convert in converting:
                if values[i] is not None:
                    values[i] = convert(values[i])
            rows.append(make(*values))
        return rows


#: Per process: a statement's plan by its id (and for DML, the names of its values). The
#: statements are few and built once; past this many, something builds them per call, and
#: the plans start over rather than grow.
_PLANS: dict[tuple[int, tuple[str, ...] | None], _Prepared | None] = {}
_KEPT = 512
_UNSEEN = object()


def execute(
    conn: Connection, statement: Executable, params: Mapping[str, Any] | None = None
) -> Result:
    """``conn.execute(statement, params)``, on SQLite straight on the driver (see above)."""
    params = params or {}
    prepared = _prepared_for(conn, statement, params)
    if prepared is None:
        return conn.execute(statement, dict(params))
    sql, values = prepared.arguments(params)
    with _errors_as_sqlalchemy(conn, sql, values):
        cursor = _driver(conn).execute(sql, values)
        rows = prepared.read(cursor)
    return Rows(rows, cursor.rowcount)


def execute_many(
    conn: Connection, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """``conn.execute(statement, rows)`` for a statement that returns nothing (an INSERT of
    several rows), on SQLite straight on the driver when every row names the same columns."""
    same_columns = bool(rows) and all(row.keys() == rows[0].keys() for row in rows)
    prepared = _prepared_for(conn, statement, rows[0]) if same_columns else None
    if prepared is None or prepared.lists or prepared.row is not None:
        conn.execute(statement, [dict(row) for row in rows])
        return
    bound = [prepared.arguments(row)[1] for row in rows]
    with _errors_as_sqlalchemy(conn, prepared.sql, bound):
        _driver(conn).executemany(prepared.sql, bound)


def _bound(
    values: Mapping[str, Any], names: Sequence[str], binds: Mapping[str, Any]
) -> tuple[Any, ...]:
    """The values in their positions, each through its type's processor (None as it is)."""
    bound = []
    for name in names:
        value = values[name]
        bind = binds.get(name)
        bound.append(value if bind is None or value is None else bind(value))
    return tuple(bound)


def _prepared_for(
    conn: Connection, statement: Executable, params: Mapping[str, Any]
) -> _Prepared | None:
    if conn.dialect.name != "sqlite" or not conn.in_transaction() or cursor_listened(conn):
        return None
    # A DML statement's text depends on the columns it is given values for.
    keys = tuple(params) if isinstance(statement, UpdateBase) else None
    key = (id(statement), keys)
    found = _PLANS.get(key, _UNSEEN)
    if found is None or (isinstance(found, _Prepared) and found.statement is statement):
        return found
    if len(_PLANS) >= _KEPT:
        _PLANS.clear()
    prepared = _prepare(statement, conn.dialect, keys)
    _PLANS[key] = prepared
    return prepared


def cursor_listened(conn: Connection) -> bool:
    """Whether the engine has cursor listeners (tests count statements with them): then every
    statement goes through SQLAlchemy, where they see it."""
    dispatch = conn.engine.dispatch
    return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)


def _prepare(
    statement: Executable, dialect: Dialect, keys: tuple[str, ...] | None
) -> _Prepared | None:
    """The statement's plan; None where SQLAlchemy must run it (see the module's text)."""
    if not isinstance(statement, SelectBase | UpdateBase):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
        return None
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # defaults computed in Python, by SQLAlchemy's execution
    if compiled.has_out_parameters:
        return None
    binds: dict[str, Any] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
    if any(bind.literal_execute for bind in compiled.bind_names):
        return None  # values written into the text itself, anew for each execution
    lists = tuple(name for bind, name in compiled.bind_names.items() if bind.expanding)
    held_lists = {
        name: bind.value
        for bind, name in compiled.bind_names.items()
        if bind.expanding and not bind.required and isinstance(bind.value, list | tuple)
    }
    columns = _result_columns(statement)
    row: type | None = None
    converting = []
    if columns is not None:
        for i, column in enumerate(columns):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                converting.append((i, processor))
        names = [column.key or f"_{i}" for i, column in enumerate(columns)]
        row = namedtuple("Row", names, rename=True)  # type: ignore[misc,no-redef]
    return _Prepared(
        statement,
        compiled,
        compiled.string,
        tuple(compiled.positiontup),
        binds,
        lists,
        row,
        tuple(converting),
        held_lists,
    )


def _result_columns(statement: Executable) -> list[Any] | None:
    if isinstance(statement, SelectBase):
        return list(statement.selected_columns)
    assert isinstance(statement, UpdateBase)
    returning = list(statement.exported_columns)
    return returning or None


def _driver(conn: Connection) -> sqlite3.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


@contextmanager
def _errors_as_sqlalchemy(conn: Connection, sql: str, values: Any) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy raises them (``OperationalError`` for a
    locked store, ``IntegrityError`` for a broken constraint), so callers catch the same."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, values, exc, sqlite3.Error, dialect=conn.dialect) from exc
