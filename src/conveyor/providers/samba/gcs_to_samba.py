"""Airflow's ``GCSToSambaOperator``: copy (or move) Cloud Storage objects to an SMB share
(both the samba and the google extras: ``GCSHook`` reads, ``SambaHook`` writes)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from conveyor.exceptions import AirflowException
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields

if TYPE_CHECKING:
    from conveyor.providers.google.gcs import GCSHook
    from conveyor.providers.samba.hook import SambaHook

WILDCARD = "*"


class GCSToSambaOperator(BaseOperator):
    """Copy ``gs://source_bucket/source_object`` to ``destination_path`` on the share.

    ``source_object`` may hold one ``*``: every object from the text before it up to the
    first occurrence of the text after it. ``keep_directory_structure`` writes each object
    under its whole name; without it, under its name past the wildcard's folder (or its base
    name). ``move_object`` deletes each object once it is on the share. Returns nothing,
    as Airflow's operator."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "source_bucket",
        "source_object",
        "destination_path",
        "impersonation_chain",
        "gcp_conn_id",
        "samba_conn_id",
    )
    ui_color = "#f0eee4"

    source_bucket: str
    source_object: str
    destination_path: str
    keep_directory_structure: bool
    move_object: bool
    gcp_conn_id: str
    samba_conn_id: str
    impersonation_chain: str | Sequence[str] | None
    buffer_size: int | None

    def __init__(
        self,
        task_id: str,
        *,
        source_bucket: str,
        source_object: str,
        destination_path: str,
        keep_directory_structure: bool = True,
        move_object: bool = False,
        gcp_conn_id: str = "google_cloud_default",
        samba_conn_id: str = "samba_default",
        impersonation_chain: str | Sequence[str] | None = None,
        buffer_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSToSambaOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        from conveyor.providers.google.base_google import refuse_impersonation
        from conveyor.providers.google.gcs import GCSHook
        from conveyor.providers.samba.hook import SambaHook

        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        gcs = GCSHook(gcp_conn_id=self.gcp_conn_id)
        with SambaHook(samba_conn_id=self.samba_conn_id) as samba:
            if WILDCARD not in self.source_object:
                target = self._destination(self.source_object)
                self._copy(gcs, samba, self.source_object, target)
                print(f"Done. Uploaded {self.source_object!r} file to {target}", flush=True)
                return
            count = self.source_object.count(WILDCARD)
            if count > 1:
                raise AirflowException(
                    f"task {self.task_id!r}: only one wildcard '*' is allowed in "
                    f"source_object; found {count} in {self.source_object!r}"
                )
            prefix, delimiter = self.source_object.split(WILDCARD, 1)
            names = gcs.list(self.source_bucket, prefix=prefix, delimiter=delimiter or None)
            for name in names:
                target = self._destination(name, os.path.dirname(prefix))
                self._copy(gcs, samba, name, target)
            print(f"Done. Uploaded {len(names)} files to {self.destination_path}", flush=True)

    def _destination(self, name: str, prefix: str | None = None) -> str:
        """Where object ``name`` goes on the share; never outside ``destination_path``."""
        if not self.keep_directory_structure:
            name = os.path.relpath(name, start=prefix) if prefix else os.path.basename(name)
        base = os.path.normpath(self.destination_path)
        resolved = os.path.normpath(os.path.join(self.destination_path, name))
        if resolved != base and not resolved.startswith(base + os.sep):
            raise ValueError(
                f"task {self.task_id!r}: object {name!r} would be written to {resolved!r}, "
                f"outside destination_path {base!r}; refusing to write there"
            )
        return resolved

    def _copy(self, gcs: GCSHook, samba: SambaHook, name: str, target: str) -> None:
        print(f"Executing copy of gs://{self.source_bucket}/{name} to {target}", flush=True)
        folder = os.path.dirname(target)
        if folder:
            samba.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile() as local:
            gcs.download(bucket_name=self.source_bucket, object_name=name, filename=local.name)
            samba.push_from_local(target, local.name, buffer_size=self.buffer_size)
        if self.move_object:
            print(f"Executing delete of gs://{self.source_bucket}/{name}", flush=True)
            gcs.delete(self.source_bucket, name)
