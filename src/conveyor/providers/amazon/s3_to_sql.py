"""Airflow's ``S3ToSqlOperator``: an S3 object, turned into rows by ``parser``, inserted into
a table of any SQL connection (its type picks the hook, as ``conn.get_hook()`` does)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers import registry
from conveyor.providers._fields import keep_fields
from conveyor.providers.amazon.s3 import S3Hook


class S3ToSqlOperator(BaseOperator):
    """Download ``s3_key`` from ``s3_bucket`` to a temporary file, call ``parser(path)`` for
    its rows and ``insert_rows`` them into ``table`` on ``sql_conn_id`` (``column_list`` the
    columns, ``commit_every`` rows a transaction, 0: one). ``schema`` is handed to
    ``insert_rows`` as Airflow hands it, where the SQL hooks do not read it: write
    ``schema.table`` as ``table`` to name another schema."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "s3_bucket",
        "s3_key",
        "schema",
        "table",
        "column_list",
        "sql_conn_id",
        "aws_conn_id",
    )
    ui_color = "#f4a460"

    s3_key: str
    s3_bucket: str
    table: str
    parser: Callable[[str], Iterable[Iterable[Any]]]
    column_list: list[str] | None
    commit_every: int
    schema: str | None
    sql_conn_id: str
    sql_hook_params: dict[str, Any] | None
    aws_conn_id: str | None

    def __init__(
        self,
        task_id: str,
        *,
        s3_key: str,
        s3_bucket: str,
        table: str,
        parser: Callable[[str], Iterable[Iterable[Any]]],
        column_list: list[str] | None = None,
        commit_every: int = 1000,
        schema: str | None = None,
        sql_conn_id: str = "sql_default",
        sql_hook_params: dict[str, Any] | None = None,
        aws_conn_id: str | None = "aws_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3ToSqlOperator, locals())

    @cached_property
    def db_hook(self) -> Any:
        hook = registry.any_hook(self.sql_conn_id, self.sql_hook_params)
        if not callable(getattr(hook, "insert_rows", None)):
            raise TaskError(
                f"connection {self.sql_conn_id!r}: This hook is not supported. The hook class "
                "must have an `insert_rows` method."
            )
        return hook

    def execute(self, context: dict[str, Any]) -> None:
        print(f"Loading {self.s3_key} to SQL table {self.table}...", flush=True)
        s3_object = S3Hook(aws_conn_id=self.aws_conn_id).get_key(
            key=self.s3_key, bucket_name=self.s3_bucket
        )
        with tempfile.NamedTemporaryFile() as local:
            s3_object.download_fileobj(local)
            local.flush()
            local.seek(0)
            self.db_hook.insert_rows(
                table=self.table,
                schema=self.schema,
                target_fields=self.column_list,
                rows=self.parser(local.name),
                commit_every=self.commit_every,
            )
