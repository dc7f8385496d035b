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
import contextlib
import json
import os
import re
import signal
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
NO_MODULE = re.compile(r"No module named '([\w.]+)'")
MODULE = re.compile(r"^\s*(?:from|import)\s+([\w.]+)")

#: The judgement of files that are not meant to end all green: "repo:path" -> (intent,
#: reason). intent is "service" (needs something outside this machine: out of scope) or
#: "fail" (written to fail: it must).
KEMOK = "the client's databases, through Airflow connections its helper modules read"
JUDGED: dict[str, tuple[str, str]] = {
    "AlekseyLoktev83/airflow-dags:EVO/evo_dispatcher.py": (
        "service",
        "the DAG it triggers, a neighbour file that needs the apache-hdfs and yandex providers",
    ),
    "HybridEcomPricePlatform/airflow-dags:dags/dbt_transform.py": (
        "service",
        "dbt on another host over ssh, and a DAG of a neighbour file that scrapes websites",
    ),
    "HybridEcomPricePlatform/airflow-dags:dags/jumia_ratings_enrichment.py": (
        "service",
        "a host reached over ssh running a scraper against MongoDB and Kafka",
    ),
    "Kemok-Repos/airflow-dags:dag-aquasistemas-extraccion-de-prueba.py": ("service", KEMOK),
    "Kemok-Repos/airflow-dags:dag-aquasistemas-extraccion-y-procesamiento-completo-para-"
    "actualizacion-de-tableros.py": ("service", KEMOK),
    "Kemok-Repos/airflow-dags:dag-aquasistemas-notificacion-por-correo-de-cuentas-por-cobrar.py": (
        "service",
        KEMOK,
    ),
    "Kemok-Repos/airflow-dags:dag-aquasistemas-notificacion-por-mensaje-de-texto-de-cuentas-"
    "por-cobrar.py": ("service", KEMOK),
    "LREN-CHUV/data-factory-airflow-dags:df_self_checks.py": (
        "service",
        "the lab's Airflow plugin packages (airflow_spm, airflow_freespace) and Matlab SPM",
    ),
    "LREN-CHUV/data-factory-airflow-dags:ehr_pipelines/ehr_daily_scan_input_folder.py": (
        "service",
        "the lab's Airflow plugin package airflow_scan_folder",
    ),
    "LREN-CHUV/data-factory-airflow-dags:ehr_pipelines/ehr_scan_input_folder.py": (
        "service",
        "the lab's Airflow plugin package airflow_scan_folder",
    ),
    "Saoudyahya/On-Premise-MLOps-Platform-airflow-dags:dags/ingest_dag.py": (
        "service",
        "a MinIO object store (http://minio...)",
    ),
    "homegrowns/airflow-dags:dags/dag_gold_to_neo4j.py": ("service", "S3 (boto3) and Neo4j"),
    "NMWDI/airflow-dags:cabq_sitemetadata_etl.py": (
        "service",
        "providers (airflow.contrib) through its own helper modules, and an HTTP API",
    ),
    "semio/gapminder-airflow-dags:dags/server-tmp-cleanup.py": (
        "service",
        "a system user named airflow (`find -user airflow`) and uv",
    ),
    "egival/Airflow-DAGs:Beginners_dags/checking_reading_file_dag.py": (
        "service",
        "the author's home folder /home/egidija1",
    ),
    "godfaza/airflow-dags:bulk_import.py": ("service", "Hadoop and a SQL Server bcp tool"),
    "kevin1010607/airflow-dags:dags/log-cleanup/airflow-log-cleanup-pwdless-ssh.py": (
        "service",
        "the Airflow workers reached over ssh",
    ),
    "lappis-unb/airflow-dags:dags/dbt/run_model__comments.py": ("service", "dbt and its warehouse"),
    "lappis-unb/airflow-dags:dags/dbt/run_model__participatory_processes.py": (
        "service",
        "dbt and its warehouse",
    ),
    "politicalwatch/airflow-dags:dags/airflow-cleanup.py": (
        "service",
        "the `airflow` command (`airflow db clean`)",
    ),
    "status-im/airflow-dags:dbt.py": ("service", "dbt and its project in /dbt"),
    "apendry/airflow-dags:src/dags/scala_calories_dag.py": (
        "service",
        "Spark (its spark-submit operator), flask_session, and its own module "
        "common/datasets/dataset.py, unfinished at this commit (a class without a body)",
    ),
    "apendry/airflow-dags:src/dags/seed_meta_dag.py": (
        "service",
        "Spark (its spark-submit operator), flask_session, and its own module "
        "common/datasets/dataset.py, unfinished at this commit (a class without a body)",
    ),
    "digital-land/airflow-dags:dags/dag_triggers.py": (
        "service",
        "a config.json its deployment writes beside the DAGs, and the dataset specification "
        "downloaded from GitHub while the file is parsed",
    ),
    "kyong0409/adip-airflow-dags:dags/demo_bash_ops.py": (
        "service",
        "an Airflow image (its preflight lists /opt/airflow/dags) and a KubernetesExecutor; "
        "its last task fails on purpose (no java on the workers)",
    ),
    "sp-202/airflow-dags:dags/master_data_dag.py": (
        "service",
        "the DAGs it triggers, neighbour files that need the Apache Spark provider",
    ),
    "superdao-inc/airflow-dags:common/dags_config.py": (
        "service",
        "not a DAG file: a helper module of the repository's DAGs, which defines no DAG",
    ),
    "toodullboi-akbo/akbo-airflow-dags:KBO_entire_situaion_daily_dag.py": (
        "service",
        "crawler scripts at /opt/airflow/dags/repo (its git-sync deployment) reading the KBO "
        "website",
    ),
    "toodullboi-akbo/akbo-airflow-dags:KBO_entire_team_crawl_dag.py": (
        "service",
        "crawler scripts at /opt/airflow/dags/repo (its git-sync deployment) reading the KBO "
        "website",
    ),
    "sortedstartup/datascience-airflow-dags:dags/500000tasks.py": (
        "service",
        "time: a stress test of 500,000 mapped tasks, beyond the per-file limit",
    ),
}


@dataclass
class Result:
    repository: str
    path: str
    outcome: str  # success | failed task | import error | timeout | service | no file
    reason: str = ""
    intended: str = "success"  # success | fail | service
    why: str = ""  # why a file is meant to fail, or what outside service it needs
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


def safe_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """Tar's ``data`` filter, leaving out what it refuses (a link to an absolute path)."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


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
        [
            "git",
            "--git-dir",
            str(git),
            "archive",
            "--format=tar",
            rev,
            *([folder] if folder else []),
        ],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter=safe_member)
    target = into / path
    return target if target.is_file() else None


def first_error(text: str) -> str:
    """The line that says why: the last exception line, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    pattern = re.compile(r"^([\w.]+(Error|Exception|Exit)|[\w.]*Error:|error:)|Error: |failed")
    hits = [ln for ln in lines if pattern.search(ln)]
    return ((hits or lines or [""])[-1])[:240]


def in_repository(git: Path, name: str) -> bool:
    """Whether the repository has a package or module ``name`` somewhere: its deployment
    puts that folder on the Python path, which a file's own folder does not give."""
    listed = subprocess.run(
        ["git", "--git-dir", str(git), "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return any(re.search(rf"(^|/){re.escape(name)}(/|\.py$)", p) for p in listed)


def missing_package(target: Path, env: dict[str, str]) -> str:
    """The ``No module named`` line importing the file gives for a package that is not
    Airflow's, or ``""``. Cheaper than a `conveyor run`, which would stop there too."""
    code = (
        "import sys\n"
        "from conveyor.loading.importer import import_dag_file\n"
        "from conveyor.exceptions import DagImportError\n"
        "try:\n"
        "    import_dag_file(sys.argv[1])\n"
        "except DagImportError as exc:\n"
        "    print(exc.message)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(target)],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(target.parent),
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ""
    lines = [ln.strip() for ln in done.stdout.splitlines() if NO_MODULE.search(ln)]
    if lines and not (NO_MODULE.search(lines[-1])[1] + ".").startswith("airflow."):  # type: ignore[index]
        return lines[-1][:240]
    return ""


def run_file(entry: dict, mirror: Path, scratch: Path, timeout: float) -> Result:
    repository, path = entry["repository"], entry["path"]
    result = Result(repository, path, "no file")
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
    missing = missing_package(target, env)
    if missing:  # a quick import first: `conveyor run` would stop at the same line
        result.outcome, result.reason = "import error", missing
        name = NO_MODULE.search(missing)[1].split(".")[0]  # type: ignore[index]
        if in_repository(git_dir(mirror, repository, scratch), name):
            result.reason = f"repository module {name!r} off the Python path; {missing}"
        return judge(result)
    try:
        done = _run(target, None, env, timeout)
        several = SEVERAL.search(done.stdout + done.stderr)
        if done.returncode != 0 and several:  # a file of several DAGs: run each, in order
            for dag_id in several[1].split(", "):
                done = _run(target, dag_id, env, timeout)
                if done.returncode != 0:
                    break
    except subprocess.TimeoutExpired as exc:
        out = (
            (exc.stdout or b"").decode(errors="replace")
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "")
        )
        result.outcome, result.reason = (
            "timeout",
            f"not done after {timeout:g}s; {first_error(out)}",
        )
    else:
        text = done.stdout + "\n" + done.stderr
        if done.returncode == 0:
            result.outcome = "success"
        elif re.search(r"fails? to (load|import)|import error|DagImportError|no DAG", text, re.I):
            result.outcome, result.reason = "import error", first_error(text)
        else:
            result.outcome, result.reason = "failed task", first_error(text)
    return judge(result)


#: What `conveyor run FILE` says of a file that defines several DAGs: their ids.
SEVERAL = re.compile(r"defines \d+ DAGs \(([^)]*)\); name one")


def _run(
    target: Path, dag_id: str | None, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """`conveyor run FILE [DAG_ID]` in the file's folder, under the time limit."""
    return run_in_group(
        [CONVEYOR, "run", "--no-retry-delay", str(target), *([dag_id] if dag_id else [])],
        env=env,
        timeout=timeout,
        cwd=str(target.parent),
    )


def run_in_group(
    command: list[str], *, env: dict[str, str], timeout: float, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a session of its own; on the time limit, kill the whole group:
    `conveyor run`'s fork server and a try blocked in user code would outlive it otherwise."""
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(command, timeout, output=out, stderr=err) from exc
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def placed(result: Result, mirror: Path) -> Result:
    """Name a missing module that is the repository's own (for outcomes stored before)."""
    missing = NO_MODULE.search(result.reason)
    git = mirror / result.repository.replace("/", "+") / "repo"
    if missing and not result.reason.startswith("repository module") and git.is_dir():
        name = missing[1].split(".")[0]
        if in_repository(git, name):
            result.reason = f"repository module {name!r} off the Python path; {result.reason}"
    return result


def judge(result: Result) -> Result:
    """Set what the file is meant to do (see JUDGED) and whether it did."""
    intended, why = JUDGED.get(f"{result.repository}:{result.path}", ("success", ""))
    missing = NO_MODULE.search(result.reason)
    if intended == "success" and result.reason.startswith("repository module"):
        intended, why = "service", "its repository's own modules on the Python path"
    elif intended == "success" and missing and not (missing[1] + ".").startswith("airflow."):
        # A package the file imports that is neither Airflow's nor a module of the
        # repository: the file needs it installed, which is outside this bench.
        intended, why = "service", f"the Python package {missing[1]!r}"
    result.intended, result.why = intended, why
    if intended == "fail":
        result.as_intended = result.outcome in ("failed task", "import error")
    else:
        result.as_intended = intended == "success" and result.outcome == "success"
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


def show(r: Result) -> Result:
    mark = "ok " if r.as_intended else ("-- " if r.intended == "service" else "NO ")
    print(f"{mark}{r.repository}:{r.path}  {r.outcome}  {r.reason}", flush=True)
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--only", nargs="*", help="repository:path of the files to run")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per file")
    parser.add_argument(
        "--rejudge", action="store_true", help="judge the stored outcomes again, run nothing"
    )
    parser.add_argument("--jobs", type=int, default=2, help="files run at once")
    parser.add_argument(
        "--write", action="store_true", help=f"write {OUT.relative_to(HERE.parent)}"
    )
    args = parser.parse_args()
    entries = selected(json.loads(CENSUS.read_text()))
    if args.only:
        entries = [e for e in entries if f"{e['repository']}:{e['path']}" in args.only]
    started = time.monotonic()
    if args.rejudge:
        stored = json.loads(OUT.read_text())["files"]
        results = [judge(placed(Result(**{**r, "why": ""}), args.mirror)) for r in stored]
        return report(results, args.write, 0.0)
    with tempfile.TemporaryDirectory(prefix="conveyor-real-files-") as tmp:
        scratch = Path(tmp)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(
                pool.map(lambda e: show(run_file(e, args.mirror, scratch, args.timeout)), entries)
            )
    if args.only and args.write:  # keep the stored outcomes of the files not run again
        again = {(r.repository, r.path) for r in results}
        stored = json.loads(OUT.read_text())["files"]
        kept = [
            Result(**{**r, "why": ""}) for r in stored if (r["repository"], r["path"]) not in again
        ]
        results = sorted([*map(judge, kept), *results], key=lambda r: (r.repository, r.path))
    return report(results, args.write, time.monotonic() - started)


def report(results: list[Result], write: bool, elapsed: float) -> int:
    figures = summary(results)
    print(json.dumps(figures), f"{elapsed:.0f}s")
    if write:
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
