"""Airflow's object storage API, ``ObjectStoragePath`` (``airflow.io.path``, Airflow 3's
``airflow.sdk``), on fsspec filesystems: ``path.py`` is the path, ``filesystems.py`` the one
place that says which filesystem serves each scheme."""
