"""Airflow's apache.spark provider: ``SparkSubmitHook`` (``hook.py``) and
``SparkSubmitOperator`` (``operator.py``), running Spark's own ``spark-submit``."""
