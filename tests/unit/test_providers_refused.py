"""Providers Conveyor decided not to ship are refused at load, by name, package and reason:
both by ``conveyor dags validate``'s source pass and by the import hook."""

from __future__ import annotations

import importlib

import pytest

from conveyor.airflow_compat import AirflowNameError
from conveyor.airflow_compat.lint import check_source
from conveyor.airflow_compat.providers_refused import NOT_SHIPPED, package

SOURCE = """
from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator
from airflow.providers.microsoft.mssql.hooks.mssql import MsSqlHook
from airflow.providers.dbt.cloud.operators.dbt import DbtCloudRunJobOperator
from airflow.hooks.oracle_hook import OracleHook
from airflow.hooks import MsSqlHook as OldMsSqlHook
from airflow.providers.amazon.aws.operators.sqs import SqsPublishOperator
"""


def test_the_source_pass_names_the_provider_its_package_and_why() -> None:
    findings = [f.message for f in check_source(SOURCE)]
    assert len(findings) == 5, findings  # the SQS operator is shipped
    expected = ["databricks", "microsoft.mssql", "dbt.cloud", "oracle", "microsoft.mssql"]
    for message, provider in zip(findings, expected, strict=True):
        assert f"the {provider!r} provider ({package(provider)}) is not shipped" in message
        assert NOT_SHIPPED[provider] in message
    assert "apache-airflow-providers-microsoft-mssql" in findings[1]


def test_the_import_hook_refuses_them_the_same_way(airflow_hook: None) -> None:
    with pytest.raises(AirflowNameError) as caught:
        importlib.import_module("airflow.providers.snowflake.operators.snowflake")
    assert "apache-airflow-providers-snowflake" in str(caught.value)
    assert NOT_SHIPPED["snowflake"] in str(caught.value)
