"""Airflow's openlineage provider, the part DAG code and operators import: the
``OperatorLineage`` an operator's ``get_openlineage_facets_on_start`` / ``_complete`` /
``_failure`` returns, the SQL parsing the SQL operators describe their tables with, and
``enable_lineage`` / ``disable_lineage`` for ``selective_enable``.

The events themselves (the listener, the client, the queue) are ``conveyor.lineage``'s, a
layer above: an operator only says what it read and wrote. The ``lineage`` extra brings the
OpenLineage client and SQL parser; without it, operators still import and run, and no event
is sent.
"""

from __future__ import annotations

from conveyor.providers.declaration import Provider, same_names

_O = "conveyor.providers.openlineage"
_LINEAGE = same_names(f"{_O}.operator_lineage", "OperatorLineage")
_SELECTIVE = same_names(f"{_O}.selective", "enable_lineage", "disable_lineage")
_SQL = same_names(f"{_O}.sql", "DatabaseInfo", "SQLParser")

PROVIDER = Provider(
    name="openlineage",
    extra="lineage",
    operators=tuple(sorted({*_LINEAGE.values(), *_SELECTIVE.values()})),
    airflow_modules={
        "airflow.providers.openlineage.extractors": _LINEAGE,
        "airflow.providers.openlineage.extractors.base": _LINEAGE,
        "airflow.providers.openlineage.utils.selective_enable": _SELECTIVE,
        "airflow.providers.openlineage.sqlparser": _SQL,
    },
)
