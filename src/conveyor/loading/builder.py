"""The one place a command builds its DAG file processor from the settings.

Every command that parses DAG files (the scheduler, ``dags reserialize``, ``dags list`` and
the other readers, ``conveyor run``, ``dags test``) gets the same processor: the plugins folder
and the DAG folder's root importable, as on Airflow, so that a DAG importing a plugin module
or a helper package at the folder's root loads the same whichever command parsed it.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store

__all__ = ["processor_for"]


def processor_for(
    config: Settings,
    store: Store,
    *,
    target: Path | None = None,
    only: Path | None = None,
    throwaway: bool = False,
    one_off: bool = False,
) -> DagFileProcessor:
    """The processor of ``config``'s DAG folder on ``store``.

    ``target``: a file or folder to parse instead of the whole DAG folder. A file inside the
    DAG folder is parsed as the folder's own (its root stays importable); any other file or
    folder is its own root. ``only``: parse that one file of the DAG folder. ``throwaway``:
    the store of one command's run (``conveyor run``, ``dags test``), where nothing starts
    paused and the folder is scanned again every second. ``one_off``: for a command that
    parses what changed and goes on (``sync``), forking its parses from itself
    (``DagFileProcessor``'s ``one_off``).
    """
    folder = config.dags_path
    if target is not None:
        resolved = target.resolve()
        if resolved.is_file() and folder.resolve() in resolved.parents:
            only = resolved
        elif resolved != folder.resolve():
            folder = resolved
    return DagFileProcessor(
        store,
        folder,
        timeout=config.parse_timeout_seconds,
        scan_every=1.0 if throwaway else config.dag_scan_seconds,
        max_parallel=config.dag_parse_processes,
        files_per_child=config.dag_parse_files_per_process,
        loop_budget=config.dag_parse_loop_seconds,
        paused_at_creation=None if throwaway else config.dags_are_paused_at_creation,
        reparse_every=config.min_file_process_interval,
        stats_every=config.dag_processor_stats_seconds,
        plugins_folder=config.plugins_path,
        only=only,
        one_off=one_off,
    )
