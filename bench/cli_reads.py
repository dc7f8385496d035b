"""How long the CLI's read commands take, each a fresh process, against ``python -c pass``
in the same rounds, on SQLite and PostgreSQL (bench/README.md, "cli_reads.py").

A home is made with the example DAGs (examples/dags), listed once (which parses them) and
given a manual run of ``hello_bash``, a variable and a connection. Each round then times
``python -c pass`` and every read command once, in the same order; each command's median
over the rounds is reported in ms and as a ratio of the round's floor. Then a new DAG file
is written into the folder and ``conveyor dags list`` is called in a loop until it shows the
DAG: the time from the file to the listing (the CLI parses a changed file itself; no
scheduler runs). ``--compare SRC`` times another tree's Conveyor (its ``src`` folder) in the
same rounds, alternating which goes first: before and after a change, on the same load.
The figures are wall time, CPU time (user and system) and the wall time's ratio to the floor.

    .venv/bin/python bench/cli_reads.py --rounds 15
    .venv/bin/python bench/cli_reads.py --stores sqlite --rounds 30
    .venv/bin/python bench/cli_reads.py --pg-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/cli_reads.py --compare /tmp/before/src   # git archive of the base
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import conveyor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "dags"

#: The console script's work, without depending on where it was installed.
ENTRY = "import sys; sys.argv[0] = 'conveyor'; from conveyor.cli.main import main; main()"

#: Each read command timed, as typed after ``conveyor``.
READS: list[list[str]] = [
    ["version"],
    ["dags", "list"],
    ["dags", "show", "hello_bash"],
    ["dags", "details", "hello_bash"],
    ["dags", "list-runs", "hello_bash"],
    ["dags", "errors"],
    ["runs", "list"],
    ["runs", "show", "hello_bash", "latest"],
    ["tasks", "list", "hello_bash"],
    ["tasks", "list", "hello_bash", "latest"],
    ["tasks", "state", "hello_bash", "hello", "RUN"],
    ["tasks", "why", "hello_bash", "latest", "hello"],
    ["pools", "list"],
    ["variables", "list"],
    ["variables", "get", "bench_variable"],
    ["connections", "list"],
    ["config", "get-value", "core", "dags_folder"],
]

NEW_DAG = """\
from conveyor import DAG, task

with DAG("{dag_id}", schedule=None):

    @task
    def only() -> None:
        pass

    only()
"""


def _env(home: Path, db_url: str | None, src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["CONVEYOR_HOME"] = str(home)
    if db_url:
        env["CONVEYOR_DATABASE_URL"] = db_url
    if src is not None:  # another tree's Conveyor (--compare)
        env["PYTHONPATH"] = str(src)
    return env


def _conveyor(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"conveyor {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user and system) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _prepare(home: Path, env: dict[str, str]) -> str:
    """The home's DAGs parsed, a queued run of hello_bash; its run id."""
    shutil.copytree(EXAMPLES, home / "dags")
    _conveyor(["db", "reset", "--yes"] if "CONVEYOR_DATABASE_URL" in env else ["version"], env)
    _conveyor(["dags", "list"], env)
    _conveyor(["dags", "trigger", "hello_bash"], env)
    _conveyor(["variables", "set", "bench_variable", "a value"], env)
    _conveyor(["connections", "add", "bench_db", "--conn-type", "postgres"], env)
    listed = _conveyor(["dags", "list-runs", "hello_bash", "-o", "plain"], env)
    return listed.splitlines()[1].split("\t")[1]


def _new_dag_delay(home: Path, env: dict[str, str], tries: int, tag: str) -> list[float]:
    """Seconds from a new DAG file written to ``dags list`` showing its DAG, ``tries`` times."""
    delays = []
    for n in range(tries):
        dag_id = f"bench_new_{tag}_{n}"
        started = time.perf_counter()
        (home / "dags" / f"{dag_id}.py").write_text(NEW_DAG.format(dag_id=dag_id))
        while dag_id not in _conveyor(["dags", "list", "-o", "plain"], env):
            if time.perf_counter() - started > 60:
                raise SystemExit(f"{dag_id} not listed after 60 s")
        delays.append(time.perf_counter() - started)
    return delays


def _bench(name: str, db_url: str | None, rounds: int, trees: dict[str, Path | None]) -> None:
    with tempfile.TemporaryDirectory(prefix="conveyor-cli-reads-") as tmp:
        home = Path(tmp)
        envs = {label: _env(home, db_url, src) for label, src in trees.items()}
        run_id = _prepare(home, next(iter(envs.values())))
        commands = [[run_id if a == "RUN" else a for a in args] for args in READS]
        labels = [" ".join(args) for args in READS]
        floors: list[float] = []
        walls: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in labels}
        cpus: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in labels}
        order = list(trees)
        for _ in range(rounds):
            floors.append(_timed([sys.executable, "-c", "pass"], next(iter(envs.values())))[0])
            for label, args in zip(labels, commands, strict=True):
                for tree in order:
                    wall, cpu = _timed([sys.executable, "-c", ENTRY, *args], envs[tree])
                    walls[tree, label].append(wall)
                    cpus[tree, label].append(cpu)
            order.reverse()  # what one run leaves behind does not always favour the same tree
        # One new file a tree in turn, alternating which goes first, as the reads above.
        delays: dict[str, list[float]] = {tree: [] for tree in trees}
        for n in range(max(3, rounds // 3)):
            for tree in order:
                delays[tree] += _new_dag_delay(home, envs[tree], 1, f"{tree}_{n}")
            order.reverse()
    floor = statistics.median(floors)
    print(f"\n{name}: python -c pass {floor * 1000:.1f} ms (median of {rounds} rounds)")
    heading = "".join(f" {t + ' wall':>14} {'cpu':>7} {'x floor':>7}" for t in trees)
    print(f"{'command':<48}{heading}")
    for label in labels:
        cells = ""
        for tree in trees:
            ratios = [w / f for w, f in zip(walls[tree, label], floors, strict=True)]
            wall = statistics.median(walls[tree, label]) * 1000
            cpu = statistics.median(cpus[tree, label]) * 1000
            cells += f" {wall:11.0f} ms {cpu:4.0f} ms {statistics.median(ratios):7.1f}"
        print(f"conveyor {label:<39}{cells}")
    for tree, found in delays.items():
        shown = ", ".join(f"{d:.2f}" for d in found)
        median = statistics.median(found)
        print(f"{tree}: new DAG file -> `dags list` shows it: median {median:.2f} s ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="SRC",
        help="another tree's src folder, timed alternately with this one (before and after)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CONVEYOR_TEST_PG_URL"),
        help="an empty PostgreSQL database the bench may reset (default: CONVEYOR_TEST_PG_URL)",
    )
    options = parser.parse_args()
    trees: dict[str, Path | None] = {"this": None}
    if options.compare is not None:
        trees["other"] = options.compare.resolve()
    for src in [Path(conveyor.__file__).parent, *(trees.values())]:
        if src is not None:  # without bytecode, every process would compile Conveyor first
            compileall.compile_dir(src, quiet=1)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    for store in options.stores.split(","):
        if store == "sqlite":
            _bench("SQLite", None, options.rounds, trees)
        elif options.pg_url:
            _bench("PostgreSQL", options.pg_url, options.rounds, trees)
        else:
            print("PostgreSQL skipped: no --pg-url and no CONVEYOR_TEST_PG_URL")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
