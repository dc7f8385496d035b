"""Airflow's amazon provider, its S3 part: ``AwsBaseHook``, ``S3Hook``, ``S3KeySensor`` and
the S3 operators, on boto3 (the extra ``conveyor[amazon]``).

``base_aws.py`` turns an ``aws`` connection into a boto3 session and clients and names the
connection when AWS cannot be reached or refuses it; ``s3.py`` is the hook DAG code calls;
``s3_sensor.py``, ``s3_operators.py`` and ``local_to_s3.py`` are built on that hook.
"""
