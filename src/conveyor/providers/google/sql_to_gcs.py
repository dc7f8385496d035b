"""Airflow's ``PostgresToGCSOperator``: a query's rows written to Cloud Storage as
newline-delimited JSON, CSV or Parquet (Parquet needs pyarrow installed).

As Airflow's ``BaseSQLToGCSOperator``: files of about ``approx_max_file_size_bytes`` each,
named ``filename.format(n)`` when ``filename`` holds ``{}``; a BigQuery schema of the
columns in ``schema_filename``; no file for an empty result unless ``write_on_empty``;
returns ``{"bucket", "total_row_count", "total_files", "files"}``. Values are written as
Airflow writes them: dates as ISO text, a timestamp with a zone as epoch seconds, one
without as ISO text, numerics as floats, JSON as text with ``stringify_dict`` (and in CSV).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import gzip as gz
import io
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.google.base_google import optional_library, refuse_impersonation
from conveyor.providers.google.gcs import GCSHook

#: PostgreSQL type oid -> BigQuery type, as Airflow's PostgresToGCSOperator maps them.
PG_TYPES: dict[int, str] = {
    1114: "DATETIME",
    1184: "TIMESTAMP",
    1082: "DATE",
    1083: "TIME",
    1005: "INTEGER",
    1007: "INTEGER",
    1016: "INTEGER",
    20: "INTEGER",
    21: "INTEGER",
    23: "INTEGER",
    16: "BOOLEAN",
    700: "FLOAT",
    701: "FLOAT",
    1700: "FLOAT",
}
#: Array oids: their column is REPEATED.
PG_ARRAYS = frozenset({1005, 1007, 1016})
MIME_TYPES = {"json": "application/json", "csv": "text/csv", "parquet": "application/octet-stream"}


def convert_type(value: Any, stringify_dict: bool = True) -> Any:
    """A PostgreSQL value as Airflow writes it into the file."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.timestamp()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return str(datetime.timedelta(hours=value.hour, minutes=value.minute, seconds=value.second))
    if stringify_dict and isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


class PostgresToGCSOperator(BaseOperator):
    """Run ``sql`` on ``postgres_conn_id`` and write its rows to ``bucket``/``filename``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "bucket",
        "filename",
        "schema_filename",
        "schema",
        "parameters",
        "impersonation_chain",
        "partition_columns",
        "gcp_conn_id",
        "postgres_conn_id",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}
    ui_color = "#a0e08c"

    sql: str
    bucket: str
    filename: str
    schema_filename: str | None
    approx_max_file_size_bytes: int
    stringify_dict: bool
    field_delimiter: str
    null_marker: str | None
    gzip: bool
    schema: str | list[dict[str, Any]] | None
    parameters: Any
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None
    upload_metadata: bool
    partition_columns: list[str] | None
    write_on_empty: bool
    parquet_row_group_size: int
    postgres_conn_id: str
    use_server_side_cursor: bool
    cursor_itersize: int

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        bucket: str,
        filename: str,
        schema_filename: str | None = None,
        approx_max_file_size_bytes: int = 1900000000,
        export_format: str = "json",
        stringify_dict: bool = False,
        field_delimiter: str = ",",
        null_marker: str | None = None,
        gzip: bool = False,
        schema: str | list[dict[str, Any]] | None = None,
        parameters: Any = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        upload_metadata: bool = False,
        exclude_columns: set[str] | None = None,
        partition_columns: list[str] | None = None,
        write_on_empty: bool = False,
        parquet_row_group_size: int = 100000,
        postgres_conn_id: str = "postgres_default",
        use_server_side_cursor: bool = False,
        cursor_itersize: int = 2000,
        **kwargs: Any,
    ) -> None:
        if partition_columns:  # refused when the task runs: the DAG file loads, as on Airflow
            self.refuse_when_run(
                f"task {task_id!r}: partition_columns is not supported by Conveyor's "
                "PostgresToGCSOperator; write one file per partition with a WHERE in sql"
            )
        super().__init__(task_id, **kwargs)
        keep_fields(self, PostgresToGCSOperator, locals())
        self.export_format = export_format.lower()
        if self.export_format not in MIME_TYPES:
            raise TaskError(
                f"task {task_id!r}: export_format={export_format!r}; give json, csv or parquet"
            )
        self.exclude_columns = set(exclude_columns or ())
        # The query's columns and those kept, once the rows are read (for schema_filename).
        self._columns: tuple[list[Any], list[int]] = ([], [])

    # -- the query -----------------------------------------------------------------------

    def _rows(self) -> Iterator[tuple[list[Any], Iterator[tuple[Any, ...]]]]:
        """Yields once: the query's columns and its rows, the connection open meanwhile."""
        from conveyor.providers.postgres import PostgresHook

        with contextlib.closing(
            PostgresHook(postgres_conn_id=self.postgres_conn_id).get_conn()
        ) as conn:
            name = f"{self.task_id}_cursor" if self.use_server_side_cursor else None
            cursor = conn.cursor(name=name) if name else conn.cursor()
            if name:
                cursor.itersize = self.cursor_itersize
            cursor.execute(self.sql, self.parameters)
            yield list(cursor.description or ()), iter(cursor)

    def _schema(self, description: list[Any], keep: list[int]) -> list[dict[str, Any]]:
        if isinstance(self.schema, list):
            return self.schema
        if isinstance(self.schema, str):
            found: list[dict[str, Any]] = json.loads(self.schema)
            return found
        return [
            {
                "name": description[i].name,
                "type": PG_TYPES.get(description[i].type_code, "STRING"),
                "mode": "REPEATED" if description[i].type_code in PG_ARRAYS else "NULLABLE",
            }
            for i in keep
        ]

    # -- the files -----------------------------------------------------------------------

    def _file_name(self, number: int) -> str:
        return self.filename.format(number) if "{}" in self.filename else self.filename

    def _files(self) -> Iterator[tuple[str, bytes, int]]:
        """(object name, bytes, row count) of each file the rows fill."""
        for description, rows in self._rows():
            yield from self._chunks(description, rows)

    def _chunks(
        self, description: list[Any], rows: Iterator[tuple[Any, ...]]
    ) -> Iterator[tuple[str, bytes, int]]:
        keep = [i for i, d in enumerate(description) if d.name not in self.exclude_columns]
        names = [description[i].name for i in keep]
        number, count, buffer, table = 0, 0, io.StringIO(), []
        writer = self._start(buffer, names)
        for row in rows:
            values = [
                convert_type(row[i], self.stringify_dict or self.export_format == "csv")
                for i in keep
            ]
            count += 1
            if self.export_format == "json":
                buffer.write(
                    json.dumps(
                        dict(zip(names, values, strict=True)), sort_keys=True, ensure_ascii=False
                    )
                    + "\n"
                )
            elif self.export_format == "csv":
                assert writer is not None
                marker = self.null_marker
                writer.writerow([marker if v is None and marker is not None else v for v in values])
            else:
                table.append(dict(zip(names, values, strict=True)))
            if self.export_format != "parquet" and buffer.tell() >= self.approx_max_file_size_bytes:
                yield self._file_name(number), buffer.getvalue().encode(), count
                number, count, buffer = number + 1, 0, io.StringIO()
                writer = self._start(buffer, names)
        if count or (number == 0 and self.write_on_empty):
            if self.export_format == "parquet":
                yield self._file_name(number), self._parquet(table, names), count
            else:
                yield self._file_name(number), buffer.getvalue().encode(), count
        self._columns = (description, keep)

    def _start(self, buffer: io.StringIO, names: list[str]) -> Any:
        if self.export_format != "csv":
            return None
        writer = csv.writer(buffer, delimiter=self.field_delimiter)
        writer.writerow(names)
        return writer

    def _parquet(self, rows: list[dict[str, Any]], names: list[str]) -> bytes:
        pa = optional_library("pyarrow", "PostgresToGCSOperator(export_format='parquet')")
        import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]

        table = pa.Table.from_pylist(rows) if rows else pa.table({n: [] for n in names})
        out = io.BytesIO()
        pq.write_table(table, out, row_group_size=self.parquet_row_group_size)
        return out.getvalue()

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        hook = GCSHook(gcp_conn_id=self.gcp_conn_id)
        files: list[dict[str, Any]] = []
        total = 0
        for name, data, count in self._files():
            mime = MIME_TYPES[self.export_format]
            hook.upload(
                self.bucket,
                name,
                data=gz.compress(data) if self.gzip else data,
                mime_type=mime,
                metadata={"row_count": count} if self.upload_metadata else None,
            )
            files.append({"file_name": name, "file_mime_type": mime, "file_row_count": count})
            total += count
        if self.schema_filename:
            description, keep = self._columns
            schema = json.dumps(self._schema(description, keep), sort_keys=True)
            hook.upload(
                self.bucket, self.schema_filename, data=schema, mime_type="application/json"
            )
            files.append(
                {
                    "file_name": self.schema_filename,
                    "file_mime_type": "application/json",
                    "file_row_count": 0,
                }
            )
        print(f"Uploaded {len(files)} files, {total} rows, to gs://{self.bucket}", flush=True)
        return {
            "bucket": self.bucket,
            "total_row_count": total,
            "total_files": len(files),
            "files": files,
        }
