"""The Airflow providers Conveyor decided not to ship, each with why: a DAG file importing
one is refused at load (``conveyor dags validate`` and import) with the provider, its
package (``apache-airflow-providers-databricks``) and the reason. docs/airflow.md ("Providers
Conveyor does not ship") gives the same decisions.

The rule: Conveyor ships a provider only when its tests can run against the real service or
a faithful local stand-in of it. One tested only against a recording or a hand-made fake of
a cloud API would pass its tests while the service itself changed under it.
"""

from __future__ import annotations

#: Why each provider is not shipped. The cloud services have no stand-in that runs here.
_CLOUD = "a hosted service with no local stand-in for Conveyor's tests to run against"
NOT_SHIPPED: dict[str, str] = {
    "databricks": f"Databricks is {_CLOUD} (its Jobs and SQL APIs exist only in Databricks)",
    "snowflake": f"Snowflake is {_CLOUD}",
    "dbt.cloud": f"dbt Cloud is {_CLOUD}",
    "microsoft.mssql": "Conveyor's tests have no SQL Server to run against",
    "microsoft.azure": f"Azure is {_CLOUD}",
    "oracle": "Conveyor's tests have no Oracle Database to run against",
    "mongo": "Conveyor's tests have no MongoDB server to run against",
    "influxdb": "Conveyor's tests have no InfluxDB server to run against",
    "telegram": f"Telegram's Bot API is {_CLOUD}; a hand-made fake would only test itself",
    "apache.hive": "HiveServer2 needs a Hadoop installation Conveyor's tests do not have",
    "apache.hdfs": "HDFS needs a Hadoop installation Conveyor's tests do not have",
    "apache.beam": "Beam pipelines need a runner (Dataflow, Flink) Conveyor's tests do not have",
    "hashicorp": "Conveyor's tests have no Vault server to run against",
    "yandex": f"Yandex Cloud is {_CLOUD}",
    "airbyte": "Conveyor's tests have no Airbyte server to run against",
}

#: Airflow 1.10 modules (and ``airflow.hooks`` names) that were these providers'.
LEGACY: dict[str, str] = {
    "airflow.hooks.MsSqlHook": "microsoft.mssql",
    "airflow.hooks.mssql_hook": "microsoft.mssql",
    "airflow.operators.mssql_operator": "microsoft.mssql",
    "airflow.hooks.oracle_hook": "oracle",
    "airflow.operators.oracle_operator": "oracle",
    "airflow.hooks.hive_hooks": "apache.hive",
    "airflow.operators.hive_operator": "apache.hive",
    "airflow.hooks.webhdfs_hook": "apache.hdfs",
    "airflow.contrib.hooks.mongo_hook": "mongo",
    "airflow.contrib.hooks.databricks_hook": "databricks",
    "airflow.contrib.operators.databricks_operator": "databricks",
    "airflow.contrib.hooks.snowflake_hook": "snowflake",
    "airflow.contrib.operators.snowflake_operator": "snowflake",
}

#: Providers whose package name has two parts (``apache-airflow-providers-apache-hive``).
_TWO_PART = frozenset({"apache", "microsoft", "dbt", "common", "cncf"})


def refused_provider(what: str) -> str | None:
    """The provider a refused Airflow path belongs to, when it is one Conveyor decided not
    to ship."""
    for module, provider in LEGACY.items():
        if what == module or what.startswith(module + "."):
            return provider
    parts = what.split(".")
    if len(parts) < 3 or parts[:2] != ["airflow", "providers"]:
        return None
    name = ".".join(parts[2:4]) if parts[2] in _TWO_PART else parts[2]
    return name if name in NOT_SHIPPED else None


def package(provider: str) -> str:
    """Airflow's package of a provider: ``apache-airflow-providers-apache-hive``."""
    return "apache-airflow-providers-" + provider.replace(".", "-")


def refusal(what: str, provider: str) -> str:
    """The error text for ``what`` of a provider Conveyor does not ship."""
    return (
        f"{what} is not provided by Conveyor: the {provider!r} provider "
        f"({package(provider)}) is not shipped, because {NOT_SHIPPED[provider]}; "
        "Conveyor ships only providers it can test against the real service; "
        + install_hint(provider)
    )


def install_hint(provider: str) -> str:
    """How to use Airflow's own package of a provider Conveyor does not ship."""
    return (
        f"to use Airflow's own package, run `conveyor providers install {package(provider)}` "
        '(docs/airflow.md, "Providers Conveyor does not ship")'
    )
