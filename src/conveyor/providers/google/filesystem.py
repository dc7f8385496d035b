"""``gs://`` paths of ``ObjectStoragePath``: gcsfs (the Cloud Storage filesystem Airflow's
object storage uses) on a ``google_cloud_platform`` connection's credentials and project, or
with no credentials against an emulator (``STORAGE_EMULATOR_HOST``, which gcsfs reads too)
or a connection marked ``is_anonymous``. gcsfs's JSON-API filesystem is used: every Cloud
Storage endpoint speaks it (an emulator too), where gcsfs's default first asks a gRPC
service about the bucket's layout."""

from __future__ import annotations

import os
from typing import Any

from conveyor.providers._extras import require
from conveyor.providers.google.gcs import GCSHook

require("gcsfs", "google", "ObjectStoragePath on gs://")
from gcsfs.core import GCSFileSystem  # noqa: E402 - the extra is checked above


class BucketMakingFileSystem(GCSFileSystem):  # type: ignore[misc]
    """gcsfs's filesystem whose ``makedirs`` makes a missing bucket, as ``mkdir`` does:
    folders are key prefixes, so the bucket is all there is to make."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        bucket, _, key = path.strip("/").partition("/")
        if not self.exists(bucket):
            self.mkdir(bucket)
        elif not key and not exist_ok:
            raise FileExistsError(f"gs://{bucket}")


def gcs_filesystem(conn_id: str | None, storage_options: dict[str, Any]) -> Any:
    """The Cloud Storage filesystem on connection ``conn_id`` (None: ``google_cloud_default``,
    else Google's default credentials, as the hooks do)."""
    hook = GCSHook(gcp_conn_id=conn_id or "google_cloud_default")
    options = dict(storage_options)
    if hook.anonymous:
        options.setdefault("token", "anon")
        emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        if emulator:
            scheme = "" if "://" in emulator else "http://"
            options.setdefault("endpoint_url", f"{scheme}{emulator}")
    else:
        options.setdefault("token", hook.get_credentials())
    options.setdefault("project", hook.project_id)
    return BucketMakingFileSystem(**options)
