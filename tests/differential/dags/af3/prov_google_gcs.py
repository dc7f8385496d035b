"""Cloud Storage against gcp-storage-emulator: a bucket made, a local file uploaded, the
sensors on an object and a prefix, what listing pushes, GCSHook's reads, writes and copy,
a download to a file and to an XCom, what a missing object raises, objects and the bucket
removed."""

import os
import tempfile

from airflow.providers.google.cloud.hooks.gcs import GCSHook
from airflow.providers.google.cloud.operators.gcs import (
    GCSCreateBucketOperator,
    GCSDeleteBucketOperator,
    GCSDeleteObjectsOperator,
    GCSListObjectsOperator,
)
from airflow.providers.google.cloud.sensors.gcs import (
    GCSObjectExistenceSensor,
    GCSObjectsWithPrefixExistenceSensor,
)
from airflow.providers.google.cloud.transfers.gcs_to_local import GCSToLocalFilesystemOperator
from airflow.providers.google.cloud.transfers.local_to_gcs import LocalFilesystemToGCSOperator
from airflow.sdk import DAG, task
from difrec import START, rec

CONN = "diffsuite_gcp"
BUCKET = "prov-google-gcs"
FOLDER = os.path.join(tempfile.gettempdir(), "diffsuite-prov-google-gcs")

with DAG("prov_google_gcs", schedule=None, start_date=START, catchup=False):

    @task
    def prepare(**context):
        os.makedirs(FOLDER, exist_ok=True)
        with open(os.path.join(FOLDER, "data.csv"), "w") as out:
            out.write("a,b\n1,2\n")
        rec(context, "folder", os.path.basename(FOLDER))

    bucket = GCSCreateBucketOperator(
        task_id="bucket", gcp_conn_id=CONN, bucket_name=BUCKET, project_id="diffsuite"
    )

    upload = LocalFilesystemToGCSOperator(
        task_id="upload",
        gcp_conn_id=CONN,
        src=os.path.join(FOLDER, "data.csv"),
        dst="in/{{ ds }}/data.csv",
        bucket=BUCKET,
    )

    exists = GCSObjectExistenceSensor(
        task_id="exists",
        google_cloud_conn_id=CONN,
        bucket=BUCKET,
        object="in/{{ ds }}/data.csv",
        poke_interval=1,
        timeout=30,
    )

    @task
    def write(**context):
        hook = GCSHook(gcp_conn_id=CONN)
        hook.upload(BUCKET, "in/2026-01-01/notes.txt", data="some notes")
        hook.upload(BUCKET, "other/x.json", data='{"x": 1}')
        hook.copy(BUCKET, "in/2026-01-01/data.csv", BUCKET, "copied/data.csv")
        rec(context, "download", hook.download(BUCKET, "in/2026-01-01/data.csv"))
        rec(context, "exists", [hook.exists(BUCKET, "copied/data.csv"), hook.exists(BUCKET, "no")])
        rec(context, "size", hook.get_size(BUCKET, "in/2026-01-01/notes.txt"))
        rec(context, "list", hook.list(BUCKET))
        rec(context, "list_prefix", hook.list(BUCKET, prefix="in/"))
        rec(context, "list_delimiter", hook.list(BUCKET, prefix="in/2026-01-01/", delimiter=".txt"))
        rec(context, "list_glob", hook.list(BUCKET, match_glob="**/*.csv"))
        try:
            hook.download(BUCKET, "absent.txt")
            rec(context, "absent", "read")
        except Exception as exc:  # the client library's class, which DAGs catch
            rec(context, "absent", [type(exc).__name__, type(exc).__module__])

    prefixed = GCSObjectsWithPrefixExistenceSensor(
        task_id="prefixed",
        google_cloud_conn_id=CONN,
        bucket=BUCKET,
        prefix="in/{{ ds }}/",
        poke_interval=1,
        timeout=30,
    )

    listed = GCSListObjectsOperator(
        task_id="listed", gcp_conn_id=CONN, bucket=BUCKET, prefix="in/", match_glob="**/*.txt"
    )

    to_file = GCSToLocalFilesystemOperator(
        task_id="to_file",
        gcp_conn_id=CONN,
        bucket=BUCKET,
        object_name="copied/data.csv",
        filename=os.path.join(FOLDER, "back.csv"),
    )

    to_xcom = GCSToLocalFilesystemOperator(
        task_id="to_xcom",
        gcp_conn_id=CONN,
        bucket=BUCKET,
        object_name="in/2026-01-01/notes.txt",
        store_to_xcom_key="notes",
    )

    remove = GCSDeleteObjectsOperator(
        task_id="remove", gcp_conn_id=CONN, bucket_name=BUCKET, prefix="other/"
    )

    @task
    def read(**context):
        ti = context["ti"]
        rec(context, "prefixed", ti.xcom_pull(task_ids="prefixed"))
        rec(context, "listed", ti.xcom_pull(task_ids="listed"))
        with open(os.path.join(FOLDER, "back.csv")) as back:
            rec(context, "to_file", back.read())
        rec(context, "to_file_xcom", ti.xcom_pull(task_ids="to_file"))
        rec(context, "to_xcom", ti.xcom_pull(task_ids="to_xcom", key="notes"))
        rec(context, "after_remove", GCSHook(gcp_conn_id=CONN).list(BUCKET))

    drop = GCSDeleteBucketOperator(
        task_id="drop", gcp_conn_id=CONN, bucket_name=BUCKET, force=True, trigger_rule="all_done"
    )

    @task(trigger_rule="all_done")
    def gone(**context):
        rec(context, "bucket_left", GCSHook(gcp_conn_id=CONN).exists(BUCKET, "copied/data.csv"))

    (
        prepare()
        >> bucket
        >> upload
        >> exists
        >> write()
        >> prefixed
        >> listed
        >> to_file
        >> to_xcom
        >> remove
        >> read()
        >> drop
        >> gone()
    )
