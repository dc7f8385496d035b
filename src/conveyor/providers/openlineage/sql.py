"""SQL statements as OpenLineage datasets: the tables a statement reads and writes, parsed
by ``openlineage-sql`` (the parser Airflow's provider uses), named as OpenLineage names a
database's tables: namespace ``<scheme>://<host>:<port>`` (``postgres://db.example.com:5432``),
name ``<database>.<schema>.<table>`` (PostgreSQL) or ``<schema>.<table>`` (MySQL, whose
databases are its schemas).

A hook describes its database through Airflow's three methods,
``get_openlineage_database_info``, ``get_openlineage_database_dialect`` and
``get_openlineage_default_schema``; ``lineage_of_sql`` is what the SQL operators call. With
the connection allowed, the tables' columns are read from ``information_schema`` and sent
as each dataset's ``schema`` facet; if that read fails, the parsed names go alone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from conveyor.providers._extras import load
from conveyor.providers.openlineage.operator_lineage import OperatorLineage

log = logging.getLogger(__name__)

#: information_schema.columns' columns Airflow reads, in its order: schema, table, column,
#: position, type (PostgreSQL's ``udt_name``; MySQL's is ``data_type``).
INFORMATION_SCHEMA_COLUMNS = (
    "table_schema",
    "table_name",
    "column_name",
    "ordinal_position",
    "udt_name",
)


@dataclasses.dataclass(frozen=True)
class DatabaseInfo:
    """What names a database's tables (Airflow's ``DatabaseInfo``, the fields Conveyor's
    hooks use): ``scheme`` and ``authority`` make the namespace; ``database``, when given,
    prefixes every table's name; ``information_schema_columns`` empty means the database
    has no ``information_schema`` to read columns from."""

    scheme: str
    authority: str | None = None
    database: str | None = None
    information_schema_columns: Sequence[str] = INFORMATION_SCHEMA_COLUMNS
    information_schema_table_name: str = "information_schema.columns"
    is_uppercase_names: bool = False
    normalize_name_method: Callable[[str], str] = str.lower


def authority_of(host: str | None, port: int | None, default_port: int | None) -> str | None:
    """``host:port`` of a connection (its default port when it names none)."""
    if not host:
        return None
    port = port or default_port
    return f"{host}:{port}" if port else host


class SQLParser:
    """Parse SQL for its tables (Airflow's ``SQLParser``: a dialect and the schema applied to
    a table named without one)."""

    def __init__(self, dialect: str | None = None, default_schema: str | None = None) -> None:
        self.dialect = dialect
        self.default_schema = default_schema

    def parse(self, sql: str | list[str]) -> Any:
        # The lineage extra's parser, loaded when used (named when missing).
        parser = load("openlineage_sql", "lineage", "openlineage")
        statements = self.split_sql_string(sql)
        return parser.parse(statements, dialect=self.dialect, default_schema=self.default_schema)

    @staticmethod
    def split_sql_string(sql: str | list[str]) -> list[str]:
        """One statement per item, comments and empty statements left out."""
        from conveyor.providers.dbapi import DbApiHook

        texts = [sql] if isinstance(sql, str) else list(sql)
        return [part for text in texts for part in DbApiHook.split_sql_string(text) if part]

    @classmethod
    def normalize_sql(cls, sql: str | list[str]) -> str:
        """The statements as one text, each ended by ``;`` and a new line but the last
        (the ``sql`` job facet's query, as Airflow writes it)."""
        return ";\n".join(s.rstrip(" ;\r\n") for s in cls.split_sql_string(sql))

    @staticmethod
    def create_namespace(database_info: DatabaseInfo) -> str:
        if database_info.authority:
            return f"{database_info.scheme}://{database_info.authority}"
        return database_info.scheme

    def generate_openlineage_metadata_from_sql(
        self,
        sql: str | list[str],
        hook: Any,
        database_info: DatabaseInfo,
        database: str | None = None,
        use_connection: bool = True,
        **_: Any,
    ) -> OperatorLineage:
        """The ``sql`` job facet, the tables read and written as datasets (with their
        columns when ``use_connection``), column lineage on the outputs, and the parser's
        errors as the ``extractionError`` run facet."""
        from openlineage.client.facet_v2 import extraction_error_run, sql_job

        job_facets: dict[str, Any] = {"sql": sql_job.SQLJobFacet(query=self.normalize_sql(sql))}
        parsed = self.parse(sql)
        if parsed is None:
            return OperatorLineage(job_facets=job_facets)
        run_facets: dict[str, Any] = {}
        if parsed.errors:
            run_facets["extractionError"] = extraction_error_run.ExtractionErrorRunFacet(
                totalTasks=len(sql) if isinstance(sql, list) else 1,
                failedTasks=len(parsed.errors),
                errors=[
                    extraction_error_run.Error(
                        errorMessage=e.message,
                        stackTrace=None,
                        task=e.origin_statement,
                        taskNumber=e.index,
                    )
                    for e in parsed.errors
                ],
            )
        namespace = self.create_namespace(database_info)
        database = database or database_info.database
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        if use_connection and database_info.information_schema_columns:
            try:
                columns = _columns(hook, database_info, [*parsed.in_tables, *parsed.out_tables])
            except Exception as exc:  # the parsed names alone, as Airflow falls back
                log.warning("OpenLineage could not read the tables' columns: %s", exc)
        inputs = [
            _dataset(t, database, namespace, database_info, columns) for t in parsed.in_tables
        ]
        outputs = [
            _dataset(t, database, namespace, database_info, columns) for t in parsed.out_tables
        ]
        _attach_column_lineage(outputs, database, self.default_schema, parsed)
        return OperatorLineage(
            inputs=inputs, outputs=outputs, run_facets=run_facets, job_facets=job_facets
        )


def _table_name(table: Any, database: str | None) -> str:
    if table.database:
        return str(table.qualified_name)
    if database:
        return f"{database}.{table.schema}.{table.name}"
    return f"{table.schema}.{table.name}"


def _dataset(
    table: Any,
    database: str | None,
    namespace: str,
    info: DatabaseInfo,
    columns: dict[tuple[str, str], list[tuple[str, str]]],
) -> Any:
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import schema_dataset

    name = _table_name(table, database)
    facets: dict[str, Any] = {}
    key = (info.normalize_name_method(table.schema or ""), info.normalize_name_method(table.name))
    if key in columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns[key]
            ]
        )
    return Dataset(
        namespace=namespace, name=name.upper() if info.is_uppercase_names else name, facets=facets
    )


def _columns(
    hook: Any, info: DatabaseInfo, tables: list[Any]
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] in the columns' order, from information_schema."""
    wanted = sorted(
        {
            (info.normalize_name_method(t.schema), info.normalize_name_method(t.name))
            for t in tables
            if t.schema
        }
    )
    if not wanted:
        return {}
    schema_col, table_col, column_col, position_col, type_col = info.information_schema_columns
    where = " OR ".join(f"({schema_col} = %s AND {table_col} = %s)" for _ in wanted)
    query = (
        f"SELECT {schema_col}, {table_col}, {column_col}, {position_col}, {type_col} "
        f"FROM {info.information_schema_table_name} WHERE {where}"
    )
    rows = hook.get_records(query, parameters=[part for pair in wanted for part in pair])
    found: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for schema, table, column, position, kind in rows:
        found.setdefault((str(schema), str(table)), []).append((int(position), column, str(kind)))
    return {key: [(c, k) for _, c, k in sorted(cols)] for key, cols in found.items()}


def _attach_column_lineage(
    outputs: list[Any], database: str | None, default_schema: str | None, parsed: Any
) -> None:
    """Which input columns each output column came from (the same for every output, as
    Airflow sends it until the parser says more)."""
    if not parsed.column_lineage:
        return
    from openlineage.client.facet_v2 import column_lineage_dataset as cl

    for dataset in outputs:
        fields = {}
        for lineage in parsed.column_lineage:
            sources = []
            for column in lineage.lineage:
                origin = column.origin
                name = ""
                if origin is not None:
                    parts = (
                        origin.database or database,
                        origin.schema or default_schema,
                        origin.name,
                    )
                    name = ".".join(p for p in parts if p)
                sources.append(
                    cl.InputField(namespace=dataset.namespace, name=name, field=column.name)
                )
            fields[lineage.descendant.name] = cl.Fields(
                inputFields=sources, transformationType="", transformationDescription=""
            )
        dataset.facets = {
            **(dataset.facets or {}),
            "columnLineage": cl.ColumnLineageDatasetFacet(fields=fields),
        }


def lineage_of_sql(
    hook: Any, sql: str | list[str], database: str | None = None, use_connection: bool = True
) -> OperatorLineage | None:
    """What SQL run through ``hook`` reads and writes, or None when the hook's database has
    no OpenLineage naming (Airflow's ``get_openlineage_facets_with_sql``)."""
    connection = hook.connection
    info = hook.get_openlineage_database_info(connection)
    if info is None:
        return None
    parser = SQLParser(
        dialect=hook.get_openlineage_database_dialect(connection),
        default_schema=hook.get_openlineage_default_schema(),
    )
    return parser.generate_openlineage_metadata_from_sql(
        sql, hook, info, database=database, use_connection=use_connection
    )
