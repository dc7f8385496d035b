"""Load real teams' DAG folders whole, on Conveyor and beside a real Airflow, folder by folder.

    .venv/bin/python bench/folder_measure.py [--mirror DIR] [--airflow-python PATH]
        [--only OWNER/NAME ...] [--write]
    .venv/bin/python bench/folder_measure.py --table   # docs/airflow.md's table from the data

The folders are listed in ``bench/data/folder_measure_list.json`` (repository, commit, the
DAG folder and the plugins folder inside it, and the folders its deployment puts on
``PYTHONPATH``, such as a package of its own at the repository's root). Each repository is
read from a local git mirror (``--mirror``: one ``owner+name`` folder holding a bare git
directory ``repo``; otherwise it is cloned from GitHub into a temporary folder) and
extracted at its commit into a temporary folder, never into this repository. Then, per folder:

- ``conveyor dags reserialize`` in a fresh ``CONVEYOR_HOME`` with the folder as
  ``dags_folder`` (and its plugins folder): the DAGs it loads and its import errors, grouped
  by cause (the error's first line with paths and quoted names kept);
- with ``--airflow-python`` (the interpreter of a venv with ``apache-airflow`` installed),
  Airflow's own ``DagBag`` of the same folder with the same plugins folder, in a fresh
  ``AIRFLOW_HOME``: its DAGs and import errors the same way;
- a census of the third-party modules the folder's Python files import that Airflow's core
  installs (``AIRFLOW_CORE_MODULES``): what ``conveyor[airflow]`` should bring.

``--write`` stores the numbers (no file of the folders) in ``bench/data/folder_measure.json``.
A benchmark, not a test: it needs the repositories and takes minutes.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
LIST = HERE / "data" / "folder_measure_list.json"
RESULT = HERE / "data" / "folder_measure.json"
CONVEYOR = str(Path(sys.executable).parent / "conveyor")

#: Import name -> distribution, for the libraries Airflow 3.3.2's core requires (read from
#: the wheel's METADATA) that DAG code could import directly.
AIRFLOW_CORE_MODULES = {
    "slugify": "python-slugify",
    "pendulum": "pendulum",
    "dateutil": "python-dateutil",
    "requests": "requests",
    "tabulate": "tabulate",
    "tenacity": "tenacity",
    "attrs": "attrs",
    "attr": "attrs",
    "deprecated": "deprecated",
    "psutil": "psutil",
    "httpx": "httpx",
    "jinja2": "jinja2",
    "yaml": "pyyaml",
    "croniter": "croniter",
    "sqlalchemy": "sqlalchemy",
    "pydantic": "pydantic",
    "cryptography": "cryptography",
    "jsonschema": "jsonschema",
    "dill": "dill",
    "termcolor": "termcolor",
    "natsort": "natsort",
    "cachetools": "cachetools",
    "lazy_object_proxy": "lazy-object-proxy",
    "structlog": "structlog",
    "rich": "rich",
    "packaging": "packaging",
    "pathspec": "pathspec",
    "psycopg2": "psycopg2-binary (common-sql's postgres extra)",
    "jwt": "pyjwt",
    "fsspec": "fsspec",
    "upath": "universal-pathlib",
    "msgspec": "msgspec",
    "uuid6": "uuid6",
    "colorlog": "colorlog",
    "itsdangerous": "itsdangerous",
    "pygments": "pygments",
    "methodtools": "methodtools",
}

AIRFLOW_LOAD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 2
bag = DagBag(sys.argv[1])
import airflow
print(json.dumps({"version": airflow.__version__, "dags": sorted(bag.dag_ids),
                  "errors": {k: v.strip().splitlines()[-1] if v.strip() else ""
                             for k, v in bag.import_errors.items()}}))
"""


def extract(entry: dict[str, str], mirror: Path | None, into: Path) -> Path:
    repo, commit = entry["repo"], entry["commit"]
    git_dir = mirror / repo.replace("/", "+") / "repo" if mirror else None
    if git_dir is not None and (git_dir / ".git").is_dir():  # a mirror with a work tree
        git_dir = git_dir / ".git"
    if git_dir is None or not git_dir.exists():
        git_dir = into / "clone"
        subprocess.run(
            ["git", "clone", "--bare", "-q", f"https://github.com/{repo}", str(git_dir)],
            check=True,
        )
    archive = into / "tree.tar"
    excluded: list[str] = []  # large files a snapshot mirror lists but does not hold
    while True:
        with archive.open("wb") as out:
            done = subprocess.run(
                ["git", f"--git-dir={git_dir}", "archive", commit, "--", ".", *excluded],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
            )
        missing = re.search(r"invalid object \w+ \w+ for '([^']+)'", done.stderr)
        if done.returncode == 0 or missing is None or len(excluded) > 50:
            break
        excluded.append(f":(exclude){missing.group(1)}")
    if done.returncode != 0:
        raise RuntimeError(f"git archive of {repo}@{commit} failed: {done.stderr.strip()}")
    root = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root


def cause(message: str) -> str:
    """An error's kind: its exception type and the module or name it is about."""
    line = message.strip().splitlines()[-1] if message.strip() else message
    found = re.match(r"(\w+(?:Error|Exception|Warning)?):\s*(.*)", line)
    if not found:
        return line[:120]
    kind, text = found.groups()
    quoted = re.search(r"'([\w.]+)'", text)
    return f"{kind}: {quoted.group(1)}" if quoted else f"{kind}: {text[:80]}"


def with_path(env: dict[str, str], extra: list[Path]) -> dict[str, str]:
    """``env`` with the repository's own folders its deployment puts on ``PYTHONPATH``."""
    if not extra:
        return env
    paths = [str(p) for p in extra] + [p for p in [env.get("PYTHONPATH", "")] if p]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def conveyor_load(dags: Path, plugins: Path, home: Path, extra: list[Path]) -> dict[str, Any]:
    env = {
        **with_path(dict(os.environ), extra),
        "CONVEYOR_HOME": str(home),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_PLUGINS_FOLDER": str(plugins),
    }
    subprocess.run([CONVEYOR, "dags", "reserialize"], env=env, capture_output=True, timeout=900)
    listed = subprocess.run(
        [CONVEYOR, "dags", "list", "-o", "json"], env=env, capture_output=True, text=True
    )
    errors = subprocess.run(
        [CONVEYOR, "dags", "errors", "-o", "json"], env=env, capture_output=True, text=True
    )
    dag_ids = sorted(d["dag_id"] for d in json.loads(listed.stdout or "{}").get("dags", []))
    found = json.loads(errors.stdout or "{}").get("import_errors", [])
    return {"dags": dag_ids, "errors": {str(e["file"]): str(e["message"]) for e in found}}


def airflow_load(
    python: str, dags: Path, plugins: Path, home: Path, extra: list[Path]
) -> dict[str, Any]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    env = with_path(env, extra)
    done = subprocess.run(
        [python, "-c", AIRFLOW_LOAD, str(dags)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=home,
    )
    if done.returncode != 0:
        return {"dags": [], "errors": {"(airflow itself)": done.stderr.strip()[-300:]}}
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def census(dags: Path) -> Counter[str]:
    """Per library of Airflow's core, the number of files of the folder importing it."""
    counts: Counter[str] = Counter()
    for path in dags.rglob("*.py"):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        counts.update(AIRFLOW_CORE_MODULES[n] for n in names if n in AIRFLOW_CORE_MODULES)
    return counts


def summary(loaded: dict[str, Any]) -> dict[str, Any]:
    return {
        "dags": len(loaded["dags"]),
        "files_failing": len(loaded["errors"]),
        "errors_by_cause": dict(Counter(cause(m) for m in loaded["errors"].values())),
    }


def measure(
    entry: dict[str, str], mirror: Path | None, airflow: str | None, conveyor_path: list[Path]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="folder-measure-") as tmp:
        root = extract(entry, mirror, Path(tmp))
        dags = root / entry["folder"]
        plugins = root / entry.get("plugins", "plugins")
        extra = [root / p for p in entry.get("pythonpath", [])]
        result: dict[str, Any] = {**entry, "python_files": len(list(dags.rglob("*.py")))}
        result["imports_of_airflow_core_libraries"] = dict(census(root))
        home = Path(tmp) / "conveyor-home"
        on_conveyor = conveyor_load(dags, plugins, home, extra + conveyor_path)
        result["conveyor"] = summary(on_conveyor)
        if airflow:
            (Path(tmp) / "airflow-home").mkdir()
            on_airflow = airflow_load(airflow, dags, plugins, Path(tmp) / "airflow-home", extra)
            result["airflow"] = summary(on_airflow)
            result["airflow_version"] = on_airflow.get("version")
            both = set(on_conveyor["dags"]) & set(on_airflow["dags"])
            result["dags_loaded_by_both"] = len(both)
            result["dags_only_airflow_loads"] = len(set(on_airflow["dags"]) - both)
    return result


def table(results: list[dict[str, Any]]) -> str:
    """The per-folder table of docs/airflow.md: DAGs and failing files on each side, and the
    causes of Conveyor's failures that are not a missing third-party module."""
    versions = sorted({str(r.get("airflow_version")) for r in results})
    rows = [
        f"| repository (folder) | .py files | DAGs: Airflow {'/'.join(versions)} / Conveyor / both "
        "| files failing: Airflow / Conveyor | Conveyor's own causes |",
        "|---|---:|---|---|---|",
    ]
    for r in results:
        airflow = r.get("airflow", {"dags": "-", "files_failing": "-"})
        own = {
            k: n
            for k, n in r["conveyor"]["errors_by_cause"].items()
            if not k.startswith("ModuleNotFoundError")
            or k.startswith("ModuleNotFoundError: airflow")
        }
        causes = "; ".join(f"{k[:70]} ({n})" for k, n in sorted(own.items())) or "none"
        rows.append(
            f"| `{r['repo']}` (`{r['folder']}`) | {r['python_files']} "
            f"| {airflow['dags']} / {r['conveyor']['dags']} / {r.get('dags_loaded_by_both', '-')} "
            f"| {airflow['files_failing']} / {r['conveyor']['files_failing']} | {causes} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--airflow-python", help="the python of a venv with apache-airflow")
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument(
        "--conveyor-path",
        type=Path,
        action="append",
        default=[],
        help="a folder of libraries for Conveyor's side (pip install --target), such as what "
        "conveyor[airflow,postgres] installs when the running venv lacks it",
    )
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--result", type=Path, default=RESULT, help="where --write writes")
    parser.add_argument("--table", action="store_true", help="print the docs' table and stop")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.result.read_text())))
        return
    entries = json.loads(LIST.read_text())
    if args.only:
        entries = [e for e in entries if e["repo"] in args.only]
    results = []
    for entry in entries:
        result = measure(entry, args.mirror, args.airflow_python, args.conveyor_path)
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.write:  # a run of some folders (--only) replaces theirs and keeps the others
        result = args.result
        kept = {r["repo"]: r for r in json.loads(result.read_text())} if result.exists() else {}
        kept.update({r["repo"]: r for r in results})
        order = [e["repo"] for e in json.loads(LIST.read_text())]
        merged = sorted(kept.values(), key=lambda r: order.index(r["repo"]))
        result.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
