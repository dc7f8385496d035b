"""``SqlSensor``: waits until a query returns a row whose first value is truthy."""

from __future__ import annotations

from typing import Any, ClassVar

from conveyor.connections import get_connection
from conveyor.exceptions import DagDefinitionError
from conveyor.sensors.base import BaseSensor


class SqlSensor(BaseSensor):
    """Done when ``sql`` returns at least one row and the first cell of the first row is
    truthy. The database is a connection id (``conn_id``) or a SQLAlchemy URL (``url``);
    ``parameters`` are bound (``:name`` in the query)."""

    template_fields: ClassVar[tuple[str, ...]] = ("sql", "parameters")

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        conn_id: str | None = None,
        url: str | None = None,
        parameters: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if (conn_id is None) == (url is None):
            raise DagDefinitionError(f"task {self.task_id!r}: give one of conn_id or url")
        self.sql = sql
        self.conn_id = conn_id
        self.url = url
        self.parameters = dict(parameters or {})

    def _url(self) -> str:
        if self.url:
            return self.url
        assert self.conn_id is not None
        url = get_connection(self.conn_id).sqlalchemy_url()
        # A plain postgresql:// URL means psycopg 3 here, the driver Conveyor ships with.
        return url.replace("postgresql://", "postgresql+psycopg://", 1)

    def poke(self, context: dict[str, Any]) -> Any:
        row = context["ti"].first_row(self._url(), self.sql, self.parameters)
        print(f"[conveyor] {self.task_id}: query returned {row!r}", flush=True)
        return bool(row and row[0])
