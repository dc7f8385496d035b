# The variables and the connection the suite's DAG files read, the same on Airflow and on
# Conveyor (tests/differential/test_differential.py reads this file too).
export AIRFLOW_VAR_DIFFSUITE_GREETING='hello'
export AIRFLOW_VAR_DIFFSUITE_JSON='{"n": 7, "list": [1, 2]}'
export AIRFLOW_CONN_DIFFSUITE_PG='postgres://reader:s3cret@db.example.com:5432/sales?sslmode=require'
export AIRFLOW_CONN_DIFFSUITE_FS='{"conn_type": "fs", "extra": {"path": "/"}}'
