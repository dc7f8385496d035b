"""The pure parts of the check operators and the jdbc, samba, apache.spark and S3-to-SQL
providers: every Airflow path gives Conveyor's class, the templated fields are Airflow's,
bad check mappings are refused as Airflow refuses them, and spark-submit's command is
built as Airflow builds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.airflow_compat.table_providers import EXTRAS, provider_of
from conveyor.exceptions import TaskError
from conveyor.providers import jdbc, sql_checks, sqlite
from conveyor.providers.amazon import s3_to_sql
from conveyor.providers.samba import gcs_to_samba
from conveyor.providers.samba import hook as samba
from conveyor.providers.spark import hook as spark_hook
from conveyor.providers.spark import operator as spark_operator

CHECKS = {
    name: getattr(sql_checks, name)
    for name in (
        "SQLCheckOperator",
        "SQLValueCheckOperator",
        "SQLIntervalCheckOperator",
        "SQLThresholdCheckOperator",
        "SQLColumnCheckOperator",
        "SQLTableCheckOperator",
    )
}
PATHS = {
    "airflow.providers.common.sql.operators.sql": CHECKS,
    "airflow.operators.sql": CHECKS,
    "airflow.operators.check_operator": {
        "CheckOperator": sql_checks.SQLCheckOperator,
        "ValueCheckOperator": sql_checks.SQLValueCheckOperator,
        "IntervalCheckOperator": sql_checks.SQLIntervalCheckOperator,
        "ThresholdCheckOperator": sql_checks.SQLThresholdCheckOperator,
        "SQLCheckOperator": sql_checks.SQLCheckOperator,
    },
    "airflow.providers.sqlite.hooks.sqlite": {"SqliteHook": sqlite.SqliteHook},
    "airflow.operators.sqlite_operator": {"SqliteOperator": sqlite.SqliteOperator},
    "airflow.providers.jdbc.hooks.jdbc": {"JdbcHook": jdbc.JdbcHook},
    "airflow.providers.jdbc.operators.jdbc": {"JdbcOperator": jdbc.JdbcOperator},
    "airflow.hooks.jdbc_hook": {"JdbcHook": jdbc.JdbcHook},
    "airflow.operators.jdbc_operator": {"JdbcOperator": jdbc.JdbcOperator},
    "airflow.providers.samba.hooks.samba": {"SambaHook": samba.SambaHook},
    "airflow.hooks.samba_hook": {"SambaHook": samba.SambaHook},
    "airflow.providers.samba.transfers.gcs_to_samba": {
        "GCSToSambaOperator": gcs_to_samba.GCSToSambaOperator
    },
    "airflow.providers.apache.spark.hooks.spark_submit": {
        "SparkSubmitHook": spark_hook.SparkSubmitHook
    },
    "airflow.providers.apache.spark.operators.spark_submit": {
        "SparkSubmitOperator": spark_operator.SparkSubmitOperator
    },
    "airflow.contrib.operators.spark_submit_operator": {
        "SparkSubmitOperator": spark_operator.SparkSubmitOperator
    },
    "airflow.providers.amazon.aws.transfers.s3_to_sql": {
        "S3ToSqlOperator": s3_to_sql.S3ToSqlOperator
    },
}


def test_every_path_gives_conveyors_class(airflow_hook: None) -> None:
    assert_paths_give(PATHS)
    assert provider_of("airflow.providers.apache.spark.hooks.spark_submit") == "apache.spark"
    assert (EXTRAS["jdbc"], EXTRAS["samba"], EXTRAS["apache.spark"]) == ("jdbc", "samba", "spark")


def test_templated_fields_are_airflows() -> None:
    base = ("conn_id", "database", "hook_params")
    assert sql_checks.SQLValueCheckOperator.template_fields == ("sql", "pass_value", *base)
    assert sql_checks.SQLIntervalCheckOperator.template_fields == ("sql1", "sql2", *base)
    assert sql_checks.SQLColumnCheckOperator.template_fields == (
        "table",
        "partition_clause",
        "sql",
        *base,
    )
    assert spark_operator.SparkSubmitOperator.template_fields[:4] == (
        "application",
        "conf",
        "files",
        "py_files",
    )
    assert "application_args" in spark_operator.SparkSubmitOperator.template_fields
    assert s3_to_sql.S3ToSqlOperator.template_fields == (
        "s3_bucket",
        "s3_key",
        "schema",
        "table",
        "column_list",
        "sql_conn_id",
        "aws_conn_id",
    )
    assert gcs_to_samba.GCSToSambaOperator.template_fields == (
        "source_bucket",
        "source_object",
        "destination_path",
        "impersonation_chain",
        "gcp_conn_id",
        "samba_conn_id",
    )


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"c": {"mean": {"equal_to": 1}}}, "Invalid column check: mean"),
        ({"c": {"min": {"tolerance": 1}}}, "Please provide one or more of"),
        ({"c": {"min": {"greater_than": 5, "less_than": 5}}}, "greater_than should be less"),
        ({"c": {"min": {"geq_to": 1, "equal_to": 2}}}, "equal_to cannot be passed"),
        ({"c": {"min": {"geq_to": 1, "greater_than": 0}}}, "Only supply one"),
    ],
)
def test_bad_column_checks_are_refused_when_the_dag_loads(
    mapping: dict[str, dict[str, dict[str, int]]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sql_checks.SQLColumnCheckOperator(task_id="c", table="t", column_mapping=mapping)


def test_check_sql_is_written_as_airflow_writes_it() -> None:
    column = sql_checks.SQLColumnCheckOperator(
        task_id="c",
        table="t",
        partition_clause="ds = '1'",
        column_mapping={"a": {"null_check": {"equal_to": 0, "partition_clause": "b > 0"}}},
    )
    assert "SUM(CASE WHEN a IS NULL THEN 1 ELSE 0 END) AS a_null_check" in column.sql
    assert "FROM t WHERE ds = '1' AND b > 0" in column.sql
    with pytest.raises(ValueError, match="semicolons"):
        sql_checks.SQLTableCheckOperator(
            task_id="t", table="t", checks={}, partition_clause="1=1; DROP TABLE t"
        )
    interval = sql_checks.SQLIntervalCheckOperator(
        task_id="i", table="t", metrics_thresholds={"b": 2, "a": 1}, days_back=7
    )
    assert interval.sql2 == "SELECT a, b FROM t WHERE ds='{{ macros.ds_add(ds, -7) }}'"
    with pytest.raises(ValueError, match="Invalid diff_method"):
        sql_checks.SQLIntervalCheckOperator(
            task_id="i", table="t", metrics_thresholds={}, ratio_formula="ratio"
        )


def test_spark_submit_command_is_airflows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPARK_HOME", str(tmp_path))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "spark3-submit").write_text("")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_YARN",
        json.dumps(
            {
                "conn_type": "spark",
                "host": "yarn",
                "extra": {
                    "deploy-mode": "cluster",
                    "queue": "etl",
                    "spark-binary": "spark3-submit",
                },
            }
        ),
    )
    hook = spark_hook.SparkSubmitHook(
        conn_id="spark_yarn",
        conf={"spark.x": "1"},
        env_vars={"STAGE": "prod"},
        jars="a.jar",
        executor_memory="2g",
        name="job",
        java_class="org.Main",
        application_args=["--day", 5],
        verbose=True,
    )
    assert hook._build_spark_submit_command("app.jar") == [
        str(tmp_path / "bin" / "spark3-submit"),
        "--master",
        "yarn",
        "--conf",
        "spark.x=1",
        "--conf",
        "spark.yarn.appMasterEnv.STAGE=prod",
        "--jars",
        "a.jar",
        "--executor-memory",
        "2g",
        "--name",
        "job",
        "--class",
        "org.Main",
        "--verbose",
        "--queue",
        "etl",
        "--deploy-mode",
        "cluster",
        "app.jar",
        "--day",
        "5",
    ]
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_BAD",
        json.dumps({"conn_type": "spark", "host": "local", "extra": {"spark-binary": "sh"}}),
    )
    with pytest.raises(ValueError, match="spark-binary"):
        spark_hook.SparkSubmitHook(conn_id="spark_bad")
    # Refused when the task runs (its DAG file loads); the hook, made to be used, at once.
    injecting = spark_operator.SparkSubmitOperator(
        task_id="s", application="a.py", openlineage_inject_parent_job_info=True
    )
    assert "OpenLineage" in (injecting.refused_when_run or "")
    with pytest.raises(TaskError, match="OpenLineage"):
        spark_hook.SparkSubmitHook(openlineage_inject_parent_job_info=True)
    assert spark_hook.mask_secrets("--conf db.password=abc x") == "--conf db.password=****** x"


def test_airflows_jdbc_settings_read_conveyors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from conveyor.airflow_compat.configuration import conf

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    for name in ("PATH", "CLASS"):
        monkeypatch.delenv(f"CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_{name}_IN_EXTRA", raising=False)
        monkeypatch.delenv(f"AIRFLOW__PROVIDERS_JDBC__ALLOW_DRIVER_{name}_IN_EXTRA", raising=False)
    assert conf.getboolean("providers.jdbc", "allow_driver_path_in_extra") is False
    monkeypatch.setenv("CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_PATH_IN_EXTRA", "true")
    assert conf.getboolean("providers.jdbc", "allow_driver_path_in_extra") is True
    # Airflow's variable (a dotted section's dots become underscores) wins, as in Airflow.
    monkeypatch.setenv("AIRFLOW__PROVIDERS_JDBC__ALLOW_DRIVER_PATH_IN_EXTRA", "false")
    assert conf.getboolean("providers.jdbc", "allow_driver_path_in_extra") is False
