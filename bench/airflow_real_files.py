"""Run real DAG files from many authors byte for byte with `conveyor run`.

    .venv/bin/python bench/airflow_real_files.py [--mirror DIR] [--only REPO/PATH ...]
        [--timeout SECONDS] [--jobs N] [--write]

Takes from the census (``bench/data/airflow_census.json``: repository, commit, path and the
Airflow imports of real DAG files) those whose imports are only Airflow's core and its
standard provider. For each, the file's repository is read from a local git mirror
(``--mirror``, one ``owner+name`` folder per repository holding a bare git directory;
otherwise it is cloned from GitHub into the temporary folder), the file's folder with its
neighbours (helper modules, SQL files, subfolders) is extracted into a temporary folder as it
is, and the file is run with ``conveyor run FILE`` in a fresh ``CONVEYOR_HOME`` under a time
limit. Nothing of the files is kept: ``--write`` stores only repository, path, outcome and
reason in ``bench/data/airflow_real_files.json``.

Whether a file ran "as intended" needs judgement, which lives in ``JUDGED`` below: a file
whose task calls a service that is not here (a database, an HTTP API, a cloud) is out of
scope, with the reason; a file written to fail must fail. Every other file is meant to
succeed. A benchmark, not a test: it needs the repositories and takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).parent
CENSUS = HERE / "data" / "airflow_census.json"
OUT = HERE / "data" / "airflow_real_files.json"
CONVEYOR = str(Path(sys.executable).parent / "conveyor")

#: Airflow modules of the core and the standard provider (Airflow 1.10, 2 and 3 paths).
#: A file importing anything else under ``airflow`` (another provider) is not selected.
CORE = re.compile(
    r"^airflow(\.("
    r"configuration|exceptions|datasets|decorators(\.\w+)?|sdk(\.[\w.]+)?"
    r"|models(\.\w+)?|utils(\.\w+)?|task\.trigger_rule|timetables(\.\w+)?"
    r"|hooks\.base|hooks\.base_hook"
    r"|operators(\.(bash|bash_operator|python|python_operator|empty|dummy|dummy_operator"
    r"|latest_only|latest_only_operator|trigger_dagrun|dagrun_operator|branch"
    r"|subdag_operator|sensors))?"
    r"|sensors\.(external_task|python|filesystem|time_delta|date_time|bash|weekday)"
    r"|contrib\.sensors\.file_sensor"
    r"|providers\.standard(\.[\w.]+)?"
    r"))?$"
)
MODULE = re.compile(r"^\s*(?:from|import)\s+([\w.]+)")

#: The judgement of files that are not meant to end all green: "repo:path" -> (intent,
#: reason). intent is "service" (needs something outside this machine: out of scope) or
#: "fail" (written to fail: it must).
JUDGED: dict[str, tuple[str, str]] = {}


@dataclass
class Result:
    repository: str
    path: str
    outcome: str  # success | failed task | import error | timeout | service | no file
    reason: str = ""
    intended: str = "success"  # success | fail | service
    as_intended: bool = False


def selected(census: dict) -> list[dict]:
    """The census files whose every Airflow import is of the core or the standard provider."""
    chosen = []
    for f in census["files"]:
        modules = [m.group(1) for i in f["imports"] if (m := MODULE.match(i))]
        if modules and all(CORE.match(m) for m in modules):
            chosen.append(f)
    return chosen


def git_dir(mirror: Path, repository: str, scratch: Path) -> Path:
    """The repository's bare git directory: the local mirror's, or a clone from GitHub."""
    local = mirror / repository.replace("/", "+") / "repo"
    if local.is_dir():
        return local
    clone = scratch / "clones" / repository.replace("/", "+")
    if not clone.exists():
        url = f"https://github.com/{repository}.git"
        subprocess.run(["git", "clone", "-q", "--bare", url, str(clone)], check=True)
    return clone


def folder_of(path: str) -> str:
    """What to bring with a file: from its ``dags`` folder down when it is under one (its
    helpers are imported from there), else its own folder; the whole tree for a file at
    the top."""
    parts = path.split("/")[:-1]
    lowered = [p.lower() for p in parts]
    if "dags" in lowered:
        return "/".join(parts[: lowered.index("dags") + 1])
    return "/".join(parts)


def extract(git: Path, commit: str, path: str, into: Path) -> Path | None:
    """Extract the file's folder as it is at ``commit`` (HEAD if the mirror lacks it)."""
    known = subprocess.run(
        ["git", "--git-dir", str(git), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    rev = commit if known.returncode == 0 else "HEAD"
    folder = folder_of(path)
    archive = subprocess.run(
        ["git", "--git-dir", str(git), "archive", "--format=tar", rev, *([folder] if folder else [])],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    target = into / path
    return target if target.is_file() else None


def first_error(text: str) -> str:
    """The line that says why: the last exception line, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    pattern = re.compile(r"^([\w.]+(Error|Exception|Exit)|[\w.]*Error:|error:)|Error: |failed")
    hits = [ln for ln in lines if pattern.search(ln)]
    return ((hits or lines or [""])[-1])[:240]


def run_file(entry: dict, mirror: Path, scratch: Path, timeout: float) -> Result:
    repository, path = entry["repository"], entry["path"]
    key = f"{repository}:{path}"
    intended, why = JUDGED.get(key, ("success", ""))
    result = Result(repository, path, "no file", intended=intended)
    work = scratch / "files" / repository.replace("/", "+") / str(abs(hash(path)))
    try:
        target = extract(git_dir(mirror, repository, scratch), entry["commit"], path, work / "src")
    except subprocess.CalledProcessError as exc:
        result.reason = f"repository not available: {exc}"
        return result
    if target is None:
        result.reason = "the file is not in the repository any more"
        return result
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(work / "home"),
        "PYTHONWARNINGS": "ignore",
        "NO_COLOR": "1",
    }
    env.pop("CONVEYOR_AIRFLOW_COMPAT", None)
    try:
        done = subprocess.run(
            [CONVEYOR, "run", "--no-retry-delay", str(target)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=str(target.parent),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        result.outcome, result.reason = "timeout", f"not done after {timeout:g}s; {first_error(out)}"
    else:
        text = done.stdout + "\n" + done.stderr
        if done.returncode == 0:
            result.outcome = "success"
        elif re.search(r"fails? to (load|import)|import error|DagImportError|no DAG", text, re.I):
            result.outcome, result.reason = "import error", first_error(text)
        else:
            result.outcome, result.reason = "failed task", first_error(text)
    if intended == "service":
        result.reason = f"needs {why}; {result.reason}".rstrip("; ")
    elif intended == "fail":
        result.as_intended = result.outcome in ("failed task", "import error")
        result.reason = f"written to fail: {why}; {result.reason}".rstrip("; ")
    else:
        result.as_intended = result.outcome == "success"
    return result


def summary(results: list[Result]) -> dict[str, object]:
    """The figures bench/README.md and docs/airflow.md quote."""
    judged = [r for r in results if r.intended != "service" and r.outcome != "no file"]
    succeed = [r for r in judged if r.intended == "success"]
    fail = [r for r in judged if r.intended == "fail"]
    return {
        "selected": len(results),
        "out_of_scope": sum(r.intended == "service" for r in results),
        "missing": sum(r.outcome == "no file" for r in results),
        "meant_to_succeed": len(succeed),
        "succeeded": sum(r.as_intended for r in succeed),
        "meant_to_fail": len(fail),
        "failed_as_meant": sum(r.as_intended for r in fail),
        "as_intended": sum(r.as_intended for r in judged),
        "judged": len(judged),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--only", nargs="*", help="repository:path of the files to run")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per file")
    parser.add_argument("--jobs", type=int, default=2, help="files run at once")
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(HERE.parent)}")
    args = parser.parse_args()
    entries = selected(json.loads(CENSUS.read_text()))
    if args.only:
        entries = [e for e in entries if f"{e['repository']}:{e['path']}" in args.only]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="conveyor-real-files-") as tmp:
        scratch = Path(tmp)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(lambda e: run_file(e, args.mirror, scratch, args.timeout), entries))
    elapsed = time.monotonic() - started
    for r in results:
        mark = "ok " if r.as_intended else ("-- " if r.intended == "service" else "NO ")
        print(f"{mark}{r.repository}:{r.path}  {r.outcome}  {r.reason}")
    figures = summary(results)
    print(json.dumps(figures), f"{elapsed:.0f}s")
    if args.write:
        OUT.write_text(
            json.dumps(
                {
                    "about": "Real DAG files (core and standard provider only) run byte for byte "
                    "with `conveyor run` by bench/airflow_real_files.py: repository, path, "
                    "outcome, reason. No file content is kept.",
                    "taken": time.strftime("%Y-%m-%d"),
                    "summary": figures,
                    "files": [asdict(r) for r in results],
                },
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
