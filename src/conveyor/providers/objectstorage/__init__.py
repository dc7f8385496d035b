"""Airflow's object storage API, ``ObjectStoragePath`` (``airflow.io.path``, Airflow 3's
``airflow.sdk``), on fsspec filesystems: ``path.py`` is the path, ``filesystems.py`` the one
place that says which filesystem serves each scheme."""

from __future__ import annotations

from conveyor.providers.declaration import Provider, same_names

_OBJECT_STORAGE_PATH = same_names("conveyor.providers.objectstorage.path", "ObjectStoragePath")

# Part of Airflow's core, not a provider package there: its paths are in the compat table,
# but it is not listed among the providers.
PROVIDER = Provider(
    name="objectstorage",
    listed=False,
    airflow_modules={
        module: _OBJECT_STORAGE_PATH
        for module in ("airflow.io.path", "airflow.sdk", "airflow.sdk.io", "airflow.sdk.io.path")
    },
)
