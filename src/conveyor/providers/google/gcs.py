"""Airflow's ``GCSHook``: Cloud Storage objects and buckets through ``google-cloud-storage``.

``get_conn()`` is the library's ``storage.Client`` on the connection's credentials and
project (``STORAGE_EMULATOR_HOST`` points it at an emulator, without credentials). The
methods keep Airflow's names, keywords and answers: ``list`` gives object names (the
prefixes instead when a ``delimiter`` groups them), ``download`` the bytes or the file name,
``exists`` a bool; a missing object or bucket raises the library's ``NotFound``, which code
written for Airflow catches.
"""

from __future__ import annotations

import gzip as gz
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames
from conveyor.providers.google.base_google import GoogleBaseHook

storage = load("google.cloud.storage", "google", "google")
from google.api_core import exceptions as api_errors  # noqa: E402


def parse_gcs_url(url: str) -> tuple[str, str]:
    """``gs://bucket/some/object`` -> ``("bucket", "some/object")``."""
    if not url.startswith("gs://") or not url[5:].split("/", 1)[0]:
        raise ValueError(f"Please provide a bucket name: {url!r} is not a gs://bucket/... URL")
    bucket, _, blob = url[5:].partition("/")
    return bucket, blob


class GCSHook(GoogleBaseHook):
    """Airflow's ``GCSHook(gcp_conn_id="google_cloud_default")``."""

    names = HookNames(
        "gcp_conn_id", "google_cloud_default", "google_cloud_platform", "Google Cloud Storage"
    )
    emulator_env = "STORAGE_EMULATOR_HOST"

    def __init__(
        self,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        self._client: Any = None

    def get_conn(self) -> Any:
        """The ``google.cloud.storage.Client``, made once."""
        if self._client is None:
            credentials, project = self.get_credentials_and_project_id()
            self._client = storage.Client(project=project, credentials=credentials)
        return self._client

    # -- objects -------------------------------------------------------------------------

    def upload(
        self,
        bucket_name: str,
        object_name: str,
        filename: str | None = None,
        data: str | bytes | None = None,
        mime_type: str | None = None,
        gzip: bool = False,
        encoding: str = "utf-8",
        chunk_size: int | None = None,
        timeout: int | None = 60,
        num_max_attempts: int = 1,
        metadata: dict[str, Any] | None = None,
        cache_control: str | None = None,
        user_project: str | None = None,
    ) -> None:
        """Upload ``filename`` or ``data`` (exactly one) as ``object_name``; ``gzip``
        compresses it on the way (the object holds the gzip bytes, as in Airflow)."""
        if (filename is None) == (data is None):
            raise ValueError(
                "'filename' and 'data' parameter provided. Please specify a single parameter, "
                "either 'filename' for local file uploads or 'data' for file content uploads."
                if filename is not None
                else "'filename' and 'data' parameter missing. One is required to upload to gcs."
            )
        bucket = self.get_conn().bucket(bucket_name, user_project=user_project)
        blob = bucket.blob(object_name, chunk_size=chunk_size)
        if metadata:
            blob.metadata = metadata
        if cache_control:
            blob.cache_control = cache_control
        if data is not None:
            raw = data.encode(encoding) if isinstance(data, str) else data
            blob.upload_from_string(
                gz.compress(raw) if gzip else raw,
                content_type=mime_type or "text/plain",
                timeout=timeout,
            )
        else:
            assert filename is not None
            if gzip:
                with (
                    tempfile.NamedTemporaryFile(suffix=".gz", delete=False) as packed,
                    open(filename, "rb") as source,
                    gz.GzipFile(fileobj=packed, mode="wb") as z,
                ):
                    shutil.copyfileobj(source, z)
                try:
                    blob.upload_from_filename(packed.name, content_type=mime_type, timeout=timeout)
                finally:
                    os.unlink(packed.name)
            else:
                blob.upload_from_filename(filename, content_type=mime_type, timeout=timeout)
        self.log.info("uploaded gs://%s/%s", bucket_name, object_name)

    def download(
        self,
        bucket_name: str,
        object_name: str,
        filename: str | None = None,
        chunk_size: int | None = None,
        timeout: int | None = 60,
        num_max_attempts: int | None = 1,
        user_project: str | None = None,
    ) -> str | bytes:
        """The object's bytes, or with ``filename`` the object written there and the name."""
        bucket = self.get_conn().bucket(bucket_name, user_project=user_project)
        blob = bucket.blob(blob_name=object_name, chunk_size=chunk_size)
        if filename:
            blob.download_to_filename(filename, timeout=timeout)
            return filename
        content: bytes = blob.download_as_bytes(timeout=timeout)
        return content

    def exists(
        self, bucket_name: str, object_name: str, retry: Any = None, user_project: str | None = None
    ) -> bool:
        bucket = self.get_conn().bucket(bucket_name, user_project=user_project)
        return bool(bucket.blob(blob_name=object_name).exists())

    def get_size(self, bucket_name: str, object_name: str) -> int:
        blob = self.get_conn().bucket(bucket_name).get_blob(blob_name=object_name)
        if blob is None:
            raise api_errors.NotFound(f"gs://{bucket_name}/{object_name} does not exist")
        return int(blob.size)

    def list(
        self,
        bucket_name: str,
        versions: bool | None = None,
        max_results: int | None = None,
        prefix: str | list[str] | None = None,
        delimiter: str | None = None,
        match_glob: str | None = None,
        user_project: str | None = None,
    ) -> list[str]:
        """Object names under ``prefix`` (or each of a list of prefixes); with a
        ``delimiter``, the prefixes it groups them into when there are any."""
        prefixes = prefix if isinstance(prefix, list) else [prefix]
        found: list[str] = []
        for one in prefixes:
            found.extend(
                self._list(
                    bucket_name, versions, max_results, one, delimiter, match_glob, user_project
                )
            )
        return found

    def _list(
        self,
        bucket_name: str,
        versions: bool | None,
        max_results: int | None,
        prefix: str | None,
        delimiter: str | None,
        match_glob: str | None,
        user_project: str | None,
    ) -> Iterator[str]:
        bucket = self.get_conn().bucket(bucket_name, user_project=user_project)
        pages = bucket.list_blobs(
            max_results=max_results,
            prefix=prefix,
            delimiter=delimiter,
            versions=versions,
            match_glob=match_glob,
        ).pages
        for page in pages:
            names = [blob.name for blob in page]
            yield from (sorted(page.prefixes) if page.prefixes else names)

    def delete(self, bucket_name: str, object_name: str) -> None:
        """Delete the object; a missing one raises ``NotFound``."""
        self.get_conn().bucket(bucket_name).blob(blob_name=object_name).delete()
        self.log.info("deleted gs://%s/%s", bucket_name, object_name)

    def copy(
        self,
        source_bucket: str,
        source_object: str,
        destination_bucket: str | None = None,
        destination_object: str | None = None,
    ) -> None:
        """Copy an object, to another bucket or name (not both omitted)."""
        destination_bucket = destination_bucket or source_bucket
        destination_object = destination_object or source_object
        if source_bucket == destination_bucket and source_object == destination_object:
            raise ValueError(
                "Either source/destination bucket or source/destination object must be "
                f"different, not both the same: bucket={source_bucket}, object={source_object}"
            )
        if not source_bucket or not source_object:
            raise ValueError("source_bucket and source_object cannot be empty.")
        client = self.get_conn()
        source = client.bucket(source_bucket)
        source.copy_blob(
            blob=source.blob(source_object),
            destination_bucket=client.bucket(destination_bucket),
            new_name=destination_object,
        )

    # -- buckets -------------------------------------------------------------------------

    def create_bucket(
        self,
        bucket_name: str,
        resource: dict[str, Any] | None = None,
        storage_class: str = "MULTI_REGIONAL",
        location: str = "US",
        project_id: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> str:
        """Create the bucket; its id."""
        client = self.get_conn()
        bucket = client.bucket(bucket_name)
        for key, value in (resource or {}).items():
            if key != "name":  # the bucket's name is the argument's, as in Airflow
                bucket._patch_property(key, value)
        bucket.storage_class = storage_class
        if labels:
            bucket.labels = labels
        bucket.create(project=project_id or self.project_id, location=location)
        return str(bucket.id)

    def delete_bucket(
        self, bucket_name: str, force: bool = False, user_project: str | None = None
    ) -> None:
        """Delete the bucket; ``force`` deletes its objects first. A missing bucket is logged."""
        bucket = self.get_conn().bucket(bucket_name, user_project=user_project)
        try:
            bucket.delete(force=force)
        except api_errors.NotFound:
            self.log.info("bucket %s not exist", bucket_name)
