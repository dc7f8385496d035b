"""Run the suite's DAG files on a real Airflow and write what happened as expectations.

Run by ``scripts/record-airflow-behaviour`` with the Python of a throwaway venv holding
Airflow (3.3 or 2.10), never by the test suite: it imports Airflow. For each DAG of each
file it runs Airflow's own ``airflow dags test DAG_ID 2026-01-01`` (its command-line entry,
in this one process) and writes ``expected/<airflow version>/<dag_id>.json``: the run's
state, each task instance's state and tries, and the values the tasks recorded through
``dags/difrec.py``, grouped by task instance in the order they were written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LOGICAL = "2026-01-01T00:00:00+00:00"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spelling", action="append", required=True, help="af3 and/or af2")
    parser.add_argument("--only", action="append", default=[], help="DAG ids to record")
    parser.add_argument("--files-only", action="store_true", help="only which DAGs files define")
    parser.add_argument(
        "--s3fs",
        action="store_true",
        help="s3fs is on the path: record only the DAGs that need it (without: all others)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))

    import airflow
    import services
    from airflow.cli import cli_parser

    # The provider DAGs' services, and the connections to them, for every DAG of the run.
    running = services.start()
    os.environ.update(running.env)
    try:
        _record(args, airflow, cli_parser, running.unavailable)
    finally:
        running.stop()


def _record(args: Any, airflow: Any, cli_parser: Any, unavailable: dict[str, str]) -> None:
    import services

    major = airflow.__version__.split(".")[0]
    out_dir = HERE / "expected" / f"airflow-{airflow.__version__}"
    out_dir.mkdir(parents=True, exist_ok=True)
    records = Path(os.environ["DIFFSUITE_RECORDS"])
    database = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    files_path = out_dir / "_files.json"
    files = json.loads(files_path.read_text()) if files_path.exists() else {}
    for spelling in args.spelling:
        for file in sorted((HERE / "dags" / spelling).glob("*.py")):
            defined = _defined_dags(file)
            files[f"{spelling}/{file.name}"] = defined
            files_path.write_text(json.dumps(files, indent=1, sort_keys=True) + "\n")
            for dag_id in defined or []:
                if args.files_only or (args.only and dag_id not in args.only):
                    continue
                if (dag_id in services.NEEDS_S3FS) != args.s3fs:
                    continue
                if unavailable.get(services.needed_by(dag_id) or ""):
                    reason = unavailable[services.needed_by(dag_id) or ""]
                    print(f"{dag_id}: not recorded, {reason}", file=sys.stderr)
                    continue
                (records / f"{dag_id}.jsonl").unlink(missing_ok=True)
                if major == "3":
                    argv = ["dags", "test", dag_id, LOGICAL, "--dagfile-path", str(file)]
                else:
                    argv = ["dags", "test", dag_id, LOGICAL, "-S", str(file)]
                command = cli_parser.get_parser().parse_args(argv)
                outcome = "ok"
                log = io.StringIO()
                try:
                    with contextlib.redirect_stdout(log):
                        command.func(command)
                except SystemExit as ended:
                    outcome = f"exit: {ended.code}"
                except KeyboardInterrupt:
                    raise
                except BaseException as error:  # recorded as the outcome (Airflow 2.10's
                    # AirflowTaskTimeout is a BaseException and ends `dags test` itself)
                    outcome = f"error: {type(error).__name__}"
                result = {
                    "dag_id": dag_id,
                    "file": f"{spelling}/{file.name}",
                    "airflow": airflow.__version__,
                    "command": outcome,
                    "defined": defined,
                    **_run_of(database, dag_id),
                    "records": _records(records / f"{dag_id}.jsonl"),
                }
                path = out_dir / f"{dag_id}.json"
                path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
                print(f"{dag_id}: {result['run_state']} {outcome}", file=sys.stderr)
            if not defined:
                print(f"{file.name}: defines no DAG on this Airflow ({defined})", file=sys.stderr)


def _defined_dags(file: Path) -> list[str] | None:
    """The DAG ids Airflow finds in ``file`` (None when it fails to import)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    try:
        bag = DagBag(dag_folder=str(file), include_examples=False)
    except TypeError:  # Airflow 3 has no examples to leave out
        bag = DagBag(dag_folder=str(file))
    if bag.import_errors:
        return None
    return sorted(bag.dag_ids)


def _run_of(database: Path, dag_id: str) -> dict[str, Any]:
    """The newest run of ``dag_id`` in Airflow's metadata database: its state, run type
    and each task instance's state and tries."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        row = db.execute(
            "SELECT run_id, state, run_type FROM dag_run WHERE dag_id = ? ORDER BY id DESC",
            (dag_id,),
        ).fetchone()
        if row is None:
            return {"run_state": None, "run_type": None, "tasks": {}}
        run_id, state, run_type = row
        tasks: dict[str, Any] = {}
        for task_id, map_index, ti_state, tries in db.execute(
            "SELECT task_id, map_index, state, try_number FROM task_instance"
            " WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        ):
            key = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            tasks[key] = {"state": ti_state, "tries": tries}
    return {"run_state": state, "run_type": run_type, "tasks": tasks}


def _records(path: Path, run_id: str | None = None) -> dict[str, list[Any]]:
    """What the tasks recorded, by task instance, each in the order it was written (of the
    run ``run_id`` only, when given: a scheduler may make runs of its own too)."""
    grouped: dict[str, list[Any]] = {}
    if not path.exists():
        return grouped
    for line in path.read_text().splitlines():
        item = json.loads(line)
        if run_id is not None and item.get("run") != run_id:
            continue
        index = item["map_index"]
        key = item["task"] if index < 0 else f"{item['task']}[{index}]"
        grouped.setdefault(key, []).append([item["key"], item["value"]])
    return grouped


if __name__ == "__main__":
    main()
