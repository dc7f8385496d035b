"""How long the CLI's read commands take, each a fresh process, against ``python -c pass``
in the same rounds, on SQLite and PostgreSQL (bench/README.md, "cli_reads.py").

A home is made with the example DAGs (examples/dags), listed once (which parses them) and
given a manual run of ``hello_bash``, a variable and a connection. Each round then times
``python -c pass`` and every read command once, in the same order, two ways: ``cold``, the
command run in the process started for it, and ``warm``, the console script's way, through
the command server a first command started (conveyor/cli/command_client.py; its CPU time
counts the server's child that ran the command). Each command's median over the rounds is
reported in ms and as a ratio of the round's floor. Then a new DAG file is written into the
folder and ``conveyor dags list`` is called in a loop until it shows the DAG: the time from
the file to the listing (the CLI parses a changed file itself; no scheduler runs).
``--compare SRC`` times another tree's Conveyor (its ``src`` folder, cold) in the same
rounds, alternating which goes first: before and after a change, on the same load.
The figures are wall time, CPU time (user and system) and the wall time's ratio to the floor.

    .venv/bin/python bench/cli_reads.py --rounds 15
    .venv/bin/python bench/cli_reads.py --stores sqlite --rounds 30
    .venv/bin/python bench/cli_reads.py --pg-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/cli_reads.py --compare /tmp/before/src   # git archive of the base
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import conveyor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "dags"

#: The console script's work, without depending on where it was installed: run here (cold)
#: and through the command server (warm, conveyor/cli/command_client.py).
COLD_ENTRY = "import sys; sys.argv[0] = 'conveyor'; from conveyor.cli.main import main; main()"
WARM_ENTRY = "import sys; sys.argv[0] = 'conveyor'; from conveyor.cli.entry import main; main()"

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


@dataclass(frozen=True)
class Variant:
    """One way of running the commands: a tree's Conveyor, cold or through its server."""

    src: Path | None  # another tree's src folder (--compare), or this one
    warm: bool = False

    @property
    def entry(self) -> str:
        return WARM_ENTRY if self.warm else COLD_ENTRY


def _env(home: Path, db_url: str | None, variant: Variant, runtime: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["CONVEYOR_HOME"] = str(home)
    env["CONVEYOR_COMMAND_SERVER"] = "on" if variant.warm else "off"
    env["TMPDIR"] = str(runtime)  # the command server's socket: this bench's own
    env.pop("XDG_RUNTIME_DIR", None)
    if db_url:
        env["CONVEYOR_DATABASE_URL"] = db_url
    if variant.src is not None:  # another tree's Conveyor (--compare)
        env["PYTHONPATH"] = str(variant.src)
    return env


def _server_pids(runtime: Path) -> list[int]:
    """The command servers of this bench's runtime folder."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if b"conveyor.cli.command_server" in argv and str(runtime).encode() in b" ".join(argv):
            found.append(int(entry.name))
    return found


def _servers_cpu(runtime: Path) -> float:
    """CPU seconds of the command servers and of the children they reaped: a warm command's
    own work is done in such a child, not in the process the bench started."""
    ticks = 0
    for pid in _server_pids(runtime):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _start_server(env: dict[str, str], runtime: Path) -> None:
    """A first command starts the server; wait until it answers."""
    _conveyor(["version"], env, WARM_ENTRY)
    deadline = time.monotonic() + 60
    while not list(runtime.glob("conveyor-*/cli-*.sock")) or not _server_pids(runtime):
        if time.monotonic() > deadline:
            raise SystemExit("the command server did not start in 60 s")
        time.sleep(0.1)
    time.sleep(2)  # its imports


def _conveyor(args: list[str], env: dict[str, str], entry: str = COLD_ENTRY) -> str:
    done = subprocess.run(
        [sys.executable, "-c", entry, *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"conveyor {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _timed(argv: list[str], env: dict[str, str], runtime: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user and system) of one process, with what a command
    server spent for it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    served_before = _servers_cpu(runtime)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = _servers_cpu(runtime) - served_before
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) + served


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


def _new_dag_delay(home: Path, env: dict[str, str], entry: str, tag: str) -> float:
    """Seconds from a new DAG file written to ``dags list`` showing its DAG."""
    dag_id = f"bench_new_{tag}"
    started = time.perf_counter()
    (home / "dags" / f"{dag_id}.py").write_text(NEW_DAG.format(dag_id=dag_id))
    while dag_id not in _conveyor(["dags", "list", "-o", "plain"], env, entry):
        if time.perf_counter() - started > 60:
            raise SystemExit(f"{dag_id} not listed after 60 s")
    return time.perf_counter() - started


def _bench(name: str, db_url: str | None, rounds: int, trees: dict[str, Variant]) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="conveyor-cli-reads-") as tmp,
        tempfile.TemporaryDirectory(prefix="ccr-", dir="/tmp") as short,  # a socket's path
    ):
        home, runtime = Path(tmp), Path(short)
        envs = {label: _env(home, db_url, variant, runtime) for label, variant in trees.items()}
        run_id = _prepare(home, envs["cold"])
        for label, variant in trees.items():
            if variant.warm:
                _start_server(envs[label], runtime)
        commands = [[run_id if a == "RUN" else a for a in args] for args in READS]
        labels = [" ".join(args) for args in READS]
        floors: list[float] = []
        walls: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in labels}
        cpus: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in labels}
        order = list(trees)
        try:
            for _ in range(rounds):
                floors.append(_timed([sys.executable, "-c", "pass"], envs["cold"], runtime)[0])
                for label, args in zip(labels, commands, strict=True):
                    for tree in order:
                        argv = [sys.executable, "-c", trees[tree].entry, *args]
                        wall, cpu = _timed(argv, envs[tree], runtime)
                        walls[tree, label].append(wall)
                        cpus[tree, label].append(cpu)
                order.reverse()  # what one run leaves behind does not always favour one tree
            # One new file a tree in turn, alternating which goes first, as the reads above.
            delays: dict[str, list[float]] = {tree: [] for tree in trees}
            for n in range(max(3, rounds // 3)):
                for tree in order:
                    found = _new_dag_delay(home, envs[tree], trees[tree].entry, f"{tree}_{n}")
                    delays[tree].append(found)
                order.reverse()
        finally:
            for pid in _server_pids(runtime):
                os.kill(pid, signal.SIGTERM)
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
    trees = {"cold": Variant(None), "warm": Variant(None, warm=True)}
    if options.compare is not None:
        trees["other"] = Variant(options.compare.resolve())
    for src in [Path(conveyor.__file__).parent, *(v.src for v in trees.values())]:
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
