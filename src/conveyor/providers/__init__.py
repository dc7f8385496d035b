"""Providers: hooks, operators and sensors that reach outside systems, as Airflow's do.

The SQL family shares one DB-API hook (``dbapi.py``) that owns ``run``, ``get_records``,
``insert_rows`` and the rest; ``postgres.py`` and ``mysql.py`` add only how to connect and
what their database does differently. ``sql_operators.py`` and ``sql_sensor.py`` work with
any of them, picked by the connection's type (``registry.py``). A provider whose driver is
an optional extra says which extra to install when it is imported (``_extras.py``).
``ssh/`` (``SSHHook``, ``SSHOperator``) and ``sftp/`` (``SFTPHook``, ``SFTPOperator``,
``SFTPSensor``) run on paramiko, the extra ``conveyor[ssh]``.

``http/`` (Airflow's http provider) and ``slack/`` (its slack provider) are packages of their
own; both send through one HTTP client, ``http/client.py``.

``amazon/`` is the S3 part of Airflow's amazon provider (hook, sensor, operators) on boto3.

DAG files written for Airflow reach these classes through the compat layer's table; the
classes keep Airflow's names, keywords and return shapes so those files run unchanged.
"""
