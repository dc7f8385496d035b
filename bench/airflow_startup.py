"""What ``conveyor_airflow.pth`` costs every interpreter of an environment: ``python -c pass``
with and without it, alternated, as a ratio (bench/README.md, "airflow_startup.py").

A throwaway venv of this interpreter gets what ``pip install -e .`` puts in site-packages
(Conveyor's ``src`` on the path, this environment's packages after it) and the ``.pth``;
each round starts the interpreter with the file present and with it renamed away. The
import of ``airflow`` itself is timed too, as the price paid only by processes that use it.

    .venv/bin/python bench/airflow_startup.py --rounds 40
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _venv(root: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    site = Path(purelib)
    (site / "_editable_impl_conveyor.pth").write_text(f"{SRC}\n")
    (site / "zz_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.copy(SRC / "conveyor_airflow.pth", site / "conveyor_airflow.pth")
    return python, site


def _time(python: Path, code: str, home: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(python), "-c", code], check=True, env={"CONVEYOR_HOME": str(home), "PATH": "/usr/bin"}
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="conveyor-startup-") as tmp:
        python, site = _venv(Path(tmp) / "venv")
        pth, away = site / "conveyor_airflow.pth", site / "conveyor_airflow.pth.off"
        home = Path(tmp) / "home"
        with_pth: list[float] = []
        without: list[float] = []
        for _ in range(rounds):
            with_pth.append(_time(python, "pass", home))
            pth.rename(away)
            without.append(_time(python, "pass", home))
            away.rename(pth)
        airflow = [_time(python, "import airflow", home) for _ in range(max(3, rounds // 4))]
    a, b = statistics.median(with_pth), statistics.median(without)
    print(
        f"python -c pass, median of {rounds}: with the .pth {a * 1000:.1f} ms, without "
        f"{b * 1000:.1f} ms, ratio {a / b:.3f}"
    )
    first_use = statistics.median(airflow) * 1000
    print(f"python -c 'import airflow' (the hook's first use): {first_use:.0f} ms")


if __name__ == "__main__":
    main()
