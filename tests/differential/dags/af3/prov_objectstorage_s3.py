"""ObjectStoragePath on s3:// against moto's server: a bucket made by mkdir, the path's parts,
writing and reading, what exists and is a folder (a key prefix), listing and globbing, stat,
copy and move within the bucket and across to local disk and back, touch, removal, and what
reading a missing key raises."""

import shutil
import tempfile

from airflow.sdk import DAG, ObjectStoragePath, task
from difrec import START, rec

CONN = "diffsuite_aws"
BUCKET = "prov-osp"

with DAG("prov_objectstorage_s3", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        base = ObjectStoragePath(f"s3://{BUCKET}/run/", conn_id=CONN)
        base.mkdir(parents=True, exist_ok=True)
        for found in base.rglob("*"):  # what an earlier run left
            found.unlink(missing_ok=True)
        data = base / "raw" / "data.csv"
        rec(context, "str", [str(base), str(data)])
        rec(context, "names", [data.name, data.stem, data.suffix, data.parent.name])
        rec(context, "where", [data.bucket, data.key, data.protocol, data.namespace])
        rec(context, "wrote", data.write_text("a,b\n1,2\n"))
        rec(context, "read", data.read_text())
        (base / "raw" / "other.bin").write_bytes(b"\x00\x01\x02")
        (base / "top.txt").write_text("top")
        raw = base / "raw"
        rec(context, "exists", [data.exists(), (raw / "none").exists(), raw.exists()])
        rec(context, "is_dir", [raw.is_dir(), data.is_dir()])
        rec(context, "is_file", [data.is_file(), raw.is_file()])
        rec(context, "listed", sorted(p.name for p in base.iterdir()))
        rec(context, "listed_raw", sorted(str(p) for p in raw.iterdir()))
        rec(context, "globbed", sorted(p.name for p in raw.glob("*.csv")))
        rec(context, "rglobbed", sorted(p.key for p in base.rglob("*.bin")))
        rec(context, "size", [data.stat().st_size, data.size()])
        with data.open("rb") as handle:
            rec(context, "opened", handle.read(3).decode())
        copy = base / "copy.csv"
        data.copy(copy)
        rec(context, "copied", [copy.exists(), copy.read_text() == data.read_text()])
        moved = base / "moved.csv"
        copy.move(moved)
        rec(context, "moved", [copy.exists(), moved.read_text()])
        folder = tempfile.mkdtemp(prefix="diffsuite-osp-s3-")
        try:
            local = ObjectStoragePath(f"file://{folder}/down.csv")
            moved.copy(local)
            rec(context, "to_local", local.read_text())
            local.write_text("back up")
            local.copy(base / "up.csv")
            rec(context, "from_local", (base / "up.csv").read_text())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        empty = base / "empty.txt"
        empty.touch()
        rec(context, "touched", [empty.exists(), empty.size()])
        moved.unlink()
        moved.unlink(missing_ok=True)
        rec(context, "after_unlink", sorted(p.name for p in base.iterdir()))
        try:
            (base / "absent.txt").read_text()
            rec(context, "absent", "read")
        except Exception as exc:  # what reading a missing key raises
            rec(context, "absent", type(exc).__name__)
        try:
            (base / "absent.txt").unlink()
            rec(context, "absent_unlink", "removed")
        except Exception as exc:
            rec(context, "absent_unlink", type(exc).__name__)

    use()
