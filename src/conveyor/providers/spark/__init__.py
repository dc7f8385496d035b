"""Airflow's apache.spark provider: ``SparkSubmitHook`` (``hook.py``) and
``SparkSubmitOperator`` (``operator.py``), running Spark's own ``spark-submit``."""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_SPARK_SUBMIT_HOOK = same_names("conveyor.providers.spark.hook", "SparkSubmitHook")
_SPARK_SUBMIT_OPERATOR = same_names("conveyor.providers.spark.operator", "SparkSubmitOperator")

PROVIDER = Provider(
    name="apache.spark",
    extra="spark",  # pyspark's spark-submit
    connection_types=(
        ConnectionType(
            "spark",
            "conveyor.providers.spark.hook:SparkSubmitHook",
            "Spark",
            fields=(
                FormField("host", "Master", "spark://spark.example.com"),
                FormField("port", "Port", "7077"),
            ),
            hidden=("login", "password", "schema"),
            extras=(
                FormField("queue", "YARN queue", "default"),
                FormField("namespace", "Kubernetes namespace", "spark"),
            ),
        ),
    ),
    airflow_modules={
        "airflow.providers.apache.spark.hooks.spark_submit": _SPARK_SUBMIT_HOOK,
        "airflow.providers.apache.spark.operators.spark_submit": _SPARK_SUBMIT_OPERATOR,
        "airflow.contrib.hooks.spark_submit_hook": _SPARK_SUBMIT_HOOK,
        "airflow.contrib.operators.spark_submit_operator": _SPARK_SUBMIT_OPERATOR,
    },
)
