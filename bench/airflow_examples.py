"""Run the example DAGs of the released Airflow wheels unchanged with `conveyor run`.

    .venv/bin/python bench/airflow_examples.py [--only NAME ...] [--timeout SECONDS]

Downloads `apache-airflow-core` and `apache-airflow-providers-standard` (``pip download
--no-deps``) into a temporary folder, extracts their ``example_dags`` folders there (nothing
of them is kept or copied into this repository), and for each example that needs no outside
service: loads it (``conveyor dags validate``), runs each of its DAGs once with ``conveyor run``
in a temporary ``CONVEYOR_HOME``, and prints a table: file, DAG, loaded, ran, the task states,
and whether they match the outcome the example is written to have. Examples that need an
outside service (Kubernetes, a Python package Conveyor does not ship, an HTTP API) are listed
as skipped with the reason. A benchmark, not a test: it needs the network and takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from airflow_real_files import run_in_group

WHEELS = ("apache-airflow-core", "apache-airflow-providers-standard")
CONVEYOR = str(Path(sys.executable).parent / "conveyor")
STATES = (
    "success|failed|skipped|upstream_failed|up_for_retry|up_for_reschedule|running|queued"
    "|scheduled|none"
)
ROW = re.compile(rf"^\s*(\S+)\s+({STATES})\s+\d+/\d+")

#: Examples that need something outside Conveyor and this machine, and what.
OUTSIDE = {
    "example_kubernetes_executor.py": "a Kubernetes cluster",
    "example_local_kubernetes_executor.py": "a Kubernetes cluster",
    "tutorial_objectstorage.py": "an HTTP API and object storage (requests, pandas, duckdb)",
    "example_asset_with_watchers.py": "an asset watcher on a message queue",
    "example_hitl_operator.py": "it waits for a person to answer on the Required actions page",
    "tutorial_taskflow_api_virtualenv.py": "pandas installed in a virtualenv from PyPI",
    "example_dag_decorator.py": "an HTTP API (httpx)",
}

#: Examples that trigger a DAG of an example of the other wheel. A DAG folder holds both;
#: here the other one is copied beside it, where `conveyor run FILE` finds it.
COMPANIONS = {"example_trigger_controller_dag.py": ["example_trigger_target_dag.py"]}

#: Examples with a param that is required and has no default: a person answers Airflow's
#: trigger form; the bench gives the answer with ``--conf``, as a person would.
CONF: dict[str, dict[str, object]] = {
    "example_params_ui_tutorial.py": {"required_field": "given by the bench"},
}

#: Examples written to end other than all-green: file -> {task_id: state} they must show.
EXPECTED: dict[str, dict[str, str]] = {
    "example_failed_dag.py": {"fail_task": "failed"},
    # Written to be run with `airflow tasks test ... -t '{"foo": "bar"}'`: without it the
    # template {{ params.foo }} fails, in Airflow too (StrictUndefined).
    "example_passing_params_via_test_command.py": {
        "run_this": "success",
        "also_run_this": "failed",
    },
}


@dataclass
class Row:
    file: str
    dag_id: str = "-"
    loaded: str = "no"
    ran: str = "-"
    states: dict[str, str] = field(default_factory=dict)
    matches: str = "-"
    note: str = ""


def download(into: Path) -> list[Path]:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), *WHEELS],
        check=True,
    )
    return sorted(into.glob("*.whl"))


def extract_examples(wheels: list[Path], into: Path) -> list[Path]:
    """The example folders of the wheels, extracted under ``into``."""
    folders = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if "/example_dags/" in name:
                    archive.extract(name, into)
                    folders.append(into / name.split("/example_dags/")[0] / "example_dags")
    return sorted(set(folders))


def place_companions(folders: list[Path]) -> None:
    """Copy each example's companions (see COMPANIONS) into the example's folder."""
    every = {p.name: p for folder in folders for p in folder.glob("*.py")}
    for name, companions in COMPANIONS.items():
        if name not in every:
            continue
        for companion in companions:
            beside = every[name].parent / companion
            if companion in every and not beside.exists():
                beside.write_text(every[companion].read_text())


def dag_ids(path: Path, env: dict[str, str]) -> tuple[list[str], str]:
    """The DAG ids a file defines, or the error importing it gives."""
    code = (
        "import json, sys\n"
        "from conveyor.loading.importer import import_dag_file\n"
        "from conveyor.exceptions import DagImportError\n"
        "try:\n"
        "    print(json.dumps([d.dag_id for d in import_dag_file(sys.argv[1])]))\n"
        "except DagImportError as exc:\n"
        "    print(json.dumps(exc.message.splitlines()[-1]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return [], (done.stderr.strip().splitlines() or ["no output"])[-1]
    return (found, "") if isinstance(found, list) else ([], found)


def last_error(home: Path, dag_id: str) -> str:
    """The last error line in the try logs of a DAG (why a run that timed out was stuck)."""
    lines: list[str] = []
    logs = sorted((home / "logs" / dag_id).glob("*/*/try-*.log"), key=lambda p: p.stat().st_mtime)
    for log in logs:
        lines += [ln for ln in log.read_text(errors="replace").splitlines() if "Error" in ln]
    return lines[-1].strip() if lines else ""


def run_one(path: Path, dag_id: str, env: dict[str, str], timeout: float) -> Row:
    row = Row(path.name, dag_id, loaded="yes")
    # The DAGs an example triggers or waits for are in other files of its folder, which
    # `conveyor run FILE` finds there.
    command = [CONVEYOR, "run", str(path), dag_id]
    if path.name in CONF:
        command += ["--conf", json.dumps(CONF[path.name])]
    try:
        done = run_in_group(command, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        stuck = last_error(Path(env["CONVEYOR_HOME"]), dag_id)
        row.ran, row.note = "timeout", f"not done after {timeout:g}s; {stuck}".strip("; ")
        row.matches = "no"
        return row
    row.ran = "success" if done.returncode == 0 else "failed"
    row.states = {m[1]: m[2] for line in done.stdout.splitlines() if (m := ROW.match(line))}
    if done.returncode != 0:
        tail = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
        errors = [ln for ln in tail if "Error" in ln or "error" in ln]
        row.note = (errors or tail or [""])[-1].strip()[:160]
    expected = EXPECTED.get(path.name)
    if expected is None:  # all green: the run succeeded and no task failed
        failed = {"failed", "upstream_failed"} & set(row.states.values())
        row.matches = "yes" if row.ran == "success" and not failed else "no"
    else:
        row.matches = "yes" if all(row.states.get(t) == s for t, s in expected.items()) else "no"
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="example file names to run (default: all)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per DAG run")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="conveyor-airflow-bench-") as tmp:
        root = Path(tmp)
        folders = extract_examples(download(root / "wheels"), root / "extracted")
        originals = {folder: sorted(folder.glob("*.py")) for folder in folders}
        place_companions(folders)
        env = {**os.environ, "CONVEYOR_HOME": str(root / "home"), "PYTHONWARNINGS": "ignore"}
        env.pop("CONVEYOR_AIRFLOW_COMPAT", None)
        started = time.monotonic()
        for folder in folders:
            for path in originals[folder]:  # a companion copy is not an example twice
                if path.name.startswith("_") or (args.only and path.name not in args.only):
                    continue
                if path.name in OUTSIDE:
                    rows.append(Row(path.name, ran="skipped", note=f"needs {OUTSIDE[path.name]}"))
                    continue
                ids, error = dag_ids(path, env)
                if not ids:
                    rows.append(Row(path.name, note=error[:160]))
                    continue
                rows.extend(run_one(path, d, env, args.timeout) for d in ids)
        elapsed = time.monotonic() - started
    print_table(rows, elapsed)
    return 0


def print_table(rows: list[Row], elapsed: float) -> None:
    print("| file | DAG | loaded | ran | matches expected | task states / note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        counts: dict[str, int] = {}
        for state in r.states.values():
            counts[state] = counts.get(state, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        detail = "; ".join(x for x in (states, r.note.replace("|", "/")) if x)
        print(f"| {r.file} | {r.dag_id} | {r.loaded} | {r.ran} | {r.matches} | {detail} |")
    print("\n" + summary(rows, elapsed))


def summary(rows: list[Row], elapsed: float) -> str:
    """The counts docs/airflow.md quotes. A row is a DAG of a file that loads, or a file
    that does not (or is skipped); the loaded and matching counts are of the rows not
    skipped, which is the denominator printed."""
    runnable = [r for r in rows if r.ran != "skipped"]
    return (
        f"{len(rows)} files and DAGs: {len(rows) - len(runnable)} skipped (outside services); "
        f"of the other {len(runnable)}, {sum(r.loaded == 'yes' for r in runnable)} load and "
        f"{sum(r.matches == 'yes' for r in runnable)} run as expected; {elapsed:.0f}s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
