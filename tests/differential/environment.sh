# The variables and the connection the suite's DAG files read, the same on Airflow and on
# Conveyor (tests/differential/test_differential.py reads this file too).
export AIRFLOW_VAR_DIFFSUITE_GREETING='hello'
export AIRFLOW_VAR_DIFFSUITE_JSON='{"n": 7, "list": [1, 2]}'
export AIRFLOW_CONN_DIFFSUITE_PG='postgres://reader:s3cret@db.example.com:5432/sales?sslmode=require'
export AIRFLOW_CONN_DIFFSUITE_FS='{"conn_type": "fs", "extra": {"path": "/"}}'
# Provider connections that only name a server (their type and URI are compared). Those that
# reach a real one (diffsuite_sql, diffsuite_mysql, diffsuite_sqlite, diffsuite_http) are set
# by services.py, which picks their ports and databases when it starts the servers.
export AIRFLOW_CONN_DIFFSUITE_MYSQL_SHAPE='mysql://app:pw@db.example.com:3306/shop?charset=utf8mb4'
export AIRFLOW_CONN_DIFFSUITE_HTTP_SHAPE='https://robot:p%40ss@api.example.com:8443/v2?timeout=5'
export AIRFLOW_CONN_DIFFSUITE_SQLITE_SHAPE='sqlite://%2Fdata%2Fapp.db'
export AIRFLOW_CONN_DIFFSUITE_JDBC_SHAPE='{"conn_type": "jdbc", "host": "db.example.com", "port": 5432, "schema": "sales", "login": "app user", "password": "p@ss", "extra": {"sqlalchemy_scheme": "postgresql", "sqlalchemy_driver": "psycopg", "sqlalchemy_query": {"sslmode": "require"}, "driver_class": "org.example.Driver", "driver_path": "/opt/example.jar"}}'
export AIRFLOW_CONN_DIFFSUITE_SPARK='{"conn_type": "spark", "host": "local[2]"}'
export AIRFLOW_CONN_DIFFSUITE_SPARK_URI='spark://spark.example.com:7077?deploy-mode=client&spark-binary=spark3-submit'
export AIRFLOW_CONN_DIFFSUITE_SPARK_YARN='{"conn_type": "spark", "host": "yarn", "extra": {"queue": "etl", "deploy-mode": "client"}}'
