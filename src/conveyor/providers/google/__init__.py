"""Airflow's google provider, its BigQuery and Cloud Storage part, on Google's own clients
(``google-cloud-bigquery``, ``google-cloud-storage``: the extra ``conveyor[google]``).

``base_google.py`` turns a ``google_cloud_platform`` connection into credentials and a
project; ``bigquery.py`` and ``gcs.py`` are the hooks DAG code calls; the operators, sensors
and transfers (``bigquery_operators.py``, ``gcs_operators.py``, ``sensors.py``,
``gcs_transfers.py``, ``bigquery_transfers.py``, ``sql_to_gcs.py``) are built on them.
"""
