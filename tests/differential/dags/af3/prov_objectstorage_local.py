"""ObjectStoragePath on the local scheme: joining and its parts, writing and reading, listing,
stat, copy and move, removal; the names only, as the folder is a new one each run."""

import shutil
import tempfile

from airflow.sdk import DAG, ObjectStoragePath, task
from difrec import START, rec

with DAG("prov_objectstorage_local", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        folder = tempfile.mkdtemp(prefix="diffsuite-osp-")
        try:
            base = ObjectStoragePath(f"file://{folder}")
            raw = base / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            data = raw / "data.csv"
            rec(context, "parts", [data.name, data.stem, data.suffix, data.parent.name])
            rec(context, "protocol", data.protocol)
            rec(context, "renamed", [data.with_suffix(".json").name, data.with_name("x.txt").name])
            rec(context, "wrote", data.write_text("a,b\n1,2\n"))
            rec(context, "read", data.read_text())
            (raw / "other.bin").write_bytes(b"\x00\x01")
            rec(context, "exists", [data.exists(), (raw / "none").exists(), raw.is_dir()])
            rec(context, "is_file", [data.is_file(), raw.is_file()])
            rec(context, "listed", sorted(p.name for p in raw.iterdir()))
            rec(context, "globbed", sorted(p.name for p in raw.glob("*.csv")))
            rec(context, "size", [data.stat().st_size, data.size()])
            with data.open("rb") as handle:
                rec(context, "opened", handle.read(3).decode())
            copy = base / "copy.csv"
            data.copy(copy)
            rec(context, "copied", [copy.exists(), copy.read_text() == data.read_text()])
            moved = base / "moved.csv"
            copy.move(moved)
            rec(context, "moved", [copy.exists(), moved.exists()])
            moved.unlink()
            moved.unlink(missing_ok=True)
            rec(context, "after_unlink", sorted(p.name for p in base.iterdir()))
            try:
                (base / "absent.txt").read_text()
                rec(context, "absent", "read")
            except Exception as exc:  # what reading a missing file raises
                rec(context, "absent", type(exc).__name__)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    use()
