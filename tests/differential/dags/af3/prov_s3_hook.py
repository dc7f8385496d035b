"""S3Hook and the S3 operators against moto's S3: a bucket of the DAG's own, made and
removed in the run."""

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.s3 import (
    S3CreateBucketOperator,
    S3CreateObjectOperator,
    S3DeleteBucketOperator,
    S3ListOperator,
)
from airflow.sdk import DAG, task
from difrec import START, attempt, rec

BUCKET = "prov-s3-hook"

with DAG("prov_s3_hook", schedule=None, start_date=START, catchup=False):
    make = S3CreateBucketOperator(task_id="make", bucket_name=BUCKET, aws_conn_id="diffsuite_aws")
    put = S3CreateObjectOperator(
        task_id="put",
        aws_conn_id="diffsuite_aws",
        s3_bucket=BUCKET,
        s3_key="data/{{ ds }}.txt",
        data="written on {{ ds }}",
    )

    @task
    def use(**context):
        hook = S3Hook(aws_conn_id="diffsuite_aws")
        hook.load_string("two", key="data/b.txt", bucket_name=BUCKET)
        hook.load_bytes(b"three", key="other/c.bin", bucket_name=BUCKET)
        rec(context, "read", hook.read_key("data/2026-01-01.txt", bucket_name=BUCKET))
        rec(context, "keys", hook.list_keys(bucket_name=BUCKET))
        rec(context, "prefix", hook.list_keys(bucket_name=BUCKET, prefix="data/"))
        rec(context, "prefixes", hook.list_prefixes(bucket_name=BUCKET, delimiter="/"))
        rec(context, "exists", hook.check_for_key("data/b.txt", bucket_name=BUCKET))
        rec(context, "missing", hook.check_for_key("nope.txt", bucket_name=BUCKET))
        rec(context, "bucket", hook.check_for_bucket(BUCKET))
        rec(context, "url_key", hook.check_for_key(f"s3://{BUCKET}/other/c.bin"))
        attempt(context, "read_missing", lambda: hook.read_key("nope.txt", bucket_name=BUCKET))

    listed = S3ListOperator(
        task_id="listed", aws_conn_id="diffsuite_aws", bucket=BUCKET, prefix="data/"
    )

    @task
    def look(**context):
        rec(context, "listed", context["ti"].xcom_pull(task_ids="listed"))

    drop = S3DeleteBucketOperator(
        task_id="drop",
        aws_conn_id="diffsuite_aws",
        bucket_name=BUCKET,
        force_delete=True,
        trigger_rule="all_done",
    )
    make >> put >> use() >> listed >> look() >> drop
