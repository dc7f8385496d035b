"""``DagBag``: a DAG folder loaded by Conveyor's loader, with Airflow's attributes.

Teams keep a ``tests/test_dag_integrity.py`` that builds
``DagBag(dag_folder=..., include_examples=False)`` and asserts on ``import_errors``,
``dags``, ``dag_ids``, ``get_dag()`` and ``size()``. The files are found and imported as
the DAG processor does (the same file filter, the DAG folder's root and the plugins folder
importable), in this process, so a test's fixtures reach them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from conveyor.airflow_compat.fallback import AirflowNotProvidedError
from conveyor.config import load_config
from conveyor.exceptions import ConveyorError
from conveyor.loading.processor import find_dag_files, load_file
from conveyor.model.dag import DAG

__all__ = ["DagBag"]


class DagBag:
    """The DAGs of a folder (or one file) and the files that failed to import."""

    def __init__(
        self,
        dag_folder: str | os.PathLike[str] | None = None,
        include_examples: bool | None = None,
        safe_mode: bool | None = None,
        read_dags_from_db: bool = False,
        collect_dags: bool = True,
        **_ignored: Any,  # load_op_links, bundle_path, bundle_name: nothing to do here
    ) -> None:
        if read_dags_from_db:
            raise AirflowNotProvidedError(
                "DagBag(read_dags_from_db=True): Conveyor's store is not Airflow's database; "
                "load the folder's files with DagBag(dag_folder=...) or read DAGs through "
                'the REST API (docs/airflow.md, "Airflow\'s database")'
            )
        settings = load_config().settings
        self.dag_folder = str(dag_folder if dag_folder is not None else settings.dags_path)
        self._plugins: Path | None = settings.plugins_path
        #: dag_id -> DAG, as Airflow's.
        self.dags: dict[str, DAG] = {}
        #: file -> the error that stopped its import, as Airflow's.
        self.import_errors: dict[str, str] = {}
        self.file_last_changed: dict[str, float] = {}
        if collect_dags:
            self.collect_dags(self.dag_folder)

    @property
    def dag_ids(self) -> list[str]:
        return list(self.dags)

    def size(self) -> int:
        """How many DAGs were loaded."""
        return len(self.dags)

    def get_dag(self, dag_id: str, session: Any = None) -> DAG | None:
        """The DAG, or None when no file of the folder defines it."""
        return self.dags.get(dag_id)

    def collect_dags(self, dag_folder: str | os.PathLike[str] | None = None, **_: Any) -> None:
        """Import every DAG file of the folder (or the one file) into the bag."""
        folder = Path(dag_folder if dag_folder is not None else self.dag_folder)
        for path in find_dag_files(folder):
            self.process_file(str(path), root=folder if folder.is_dir() else path.parent)

    def process_file(self, filepath: str, root: Path | None = None, **_: Any) -> list[DAG]:
        """Import one file; its DAGs join the bag, or its error joins ``import_errors``."""
        folder = root if root is not None else Path(self.dag_folder)
        try:
            found = [d for d in load_file(filepath, folder, self._plugins) if isinstance(d, DAG)]
        except ConveyorError as exc:  # DagImportError, a YAML file's errors
            self.import_errors[filepath] = getattr(exc, "message", None) or str(exc)
            return []
        with contextlib.suppress(OSError):
            self.file_last_changed[filepath] = os.path.getmtime(filepath)
        for dag in found:
            self.dags[dag.dag_id] = dag
        return found

    def __repr__(self) -> str:
        return f"<DagBag {self.dag_folder}: {self.size()} DAGs, {len(self.import_errors)} errors>"
