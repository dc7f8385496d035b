"""The layer contracts of docs/architecture.md hold, and each one catches what it forbids.

``scripts/test`` runs ``lint-imports`` on the tree; these tests copy the package, add one
forbidden import at a time and check that the contract that names it fails, so a contract
that silently stopped checking anything would be noticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")

#: (contract id, module, a line added to it): each line is forbidden by that contract.
VIOLATIONS = [
    ("layers", "conveyor/store/_upward.py", "import conveyor.scheduler.loop\n"),
    ("layers", "conveyor/worker/_upward.py", "from conveyor.executors import base\n"),
    ("layers", "conveyor/engine/_upward.py", "import conveyor.worker.runner\n"),
    ("layers", "conveyor/engine/_backfill.py", "from conveyor import backfill\n"),
    ("sql-in-store", "conveyor/web/_sql.py", "from sqlalchemy import select\n"),
    ("sql-in-store", "conveyor/engine/_sql.py", "import sqlalchemy\n"),
    ("ti-handle", "conveyor/sensors/_store.py", "from conveyor.store import tables\n"),
    ("store-face", "conveyor/web/_tables.py", "from conveyor.store import tables\n"),
    ("store-face", "conveyor/cli/_sqlite.py", "import sqlite3\n"),
    ("store-face", "conveyor/scheduler/_pg.py", "import psycopg\n"),
    ("store-face", "conveyor/worker/_moves.py", "from conveyor.store.moves import RESUME\n"),
    ("store-face", "conveyor/executors/_sql.py", "from conveyor.store.sql import savepoint\n"),
    ("store-face", "conveyor/engine/_prepared.py", "from conveyor.store.hop import prepared\n"),
    ("store-face", "conveyor/worker/_pipeline.py", "import conveyor.store.hop.pipeline\n"),
    (
        "store-transitions",
        "conveyor/web/_actor.py",
        "from conveyor.store.transitions import Actor\n",
    ),
    ("store-transitions", "conveyor/worker/_moves.py", "from conveyor.store import transitions\n"),
    ("store-transitions", "conveyor/cli/_outcome.py", "import conveyor.store.transitions\n"),
    ("run-lock", "conveyor/scheduler/_lock.py", "from conveyor.store.hop.run_lock import held\n"),
    ("run-lock", "conveyor/worker/_lock.py", "from conveyor.store.hop import run_lock\n"),
    ("worker-moves", "conveyor/worker/runner.py", "from conveyor.store.hop import steps\n"),
    ("worker-moves", "conveyor/worker/_end.py", "from conveyor.store.transitions import finish\n"),
    ("worker-moves", "conveyor/worker/celery_worker.py", "import conveyor.store.transitions\n"),
    ("model-imports-nothing-above", "conveyor/model/_above.py", "import conveyor.store.runs\n"),
    ("model-layers", "conveyor/model/dependencies.py", "import conveyor.model.dag\n"),
    ("model-layers", "conveyor/model/task.py", "from conveyor.model import task_group\n"),
]


def _lint(src: Path, contract: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [
            LINT_IMPORTS,
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--contract",
            contract,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(
        ROOT / "src" / "conveyor", src / "conveyor", ignore=shutil.ignore_patterns("__pycache__")
    )
    return src


@pytest.mark.parametrize(("contract", "module", "source"), VIOLATIONS)
def test_a_forbidden_import_breaks_its_contract(
    package_copy: Path, contract: str, module: str, source: str
) -> None:
    clean = _lint(package_copy, contract)
    assert clean.returncode == 0, (
        f"contract {contract} is broken on the tree itself:\n{clean.stdout}"
    )
    changed = package_copy / module
    before = changed.read_text() if changed.exists() else None
    changed.write_text((before or "") + source)
    try:
        broken = _lint(package_copy, contract)
    finally:
        if before is None:
            changed.unlink()
        else:
            changed.write_text(before)
    assert broken.returncode != 0, f"{contract} did not catch {module}: {source}"
    assert "BROKEN" in broken.stdout
    assert module.removesuffix(".py").replace("/", ".") in broken.stdout


MYPY = str(Path(sys.executable).parent / "mypy")


def _mypy(src: Path, module: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MYPY, "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), module],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_type_taken_from_the_store_transitions_module_fails_mypy(
    package_copy: Path, tmp_path: Path
) -> None:
    """The engine may call the move functions, but the values they speak are the
    lifecycle's: ``store.transitions`` does not hand them on (mypy's implicit_reexport)."""
    module = "conveyor/engine/_values.py"
    probe = package_copy / module
    probe.write_text("from conveyor.lifecycle import Actor, Outcome\n")
    try:
        clean = _mypy(package_copy, module, tmp_path)
        assert clean.returncode == 0, clean.stdout
        probe.write_text("from conveyor.store.transitions import Actor, Outcome\n")
        broken = _mypy(package_copy, module, tmp_path)
    finally:
        probe.unlink()
    assert broken.returncode != 0
    assert 'does not explicitly export attribute "Actor"' in broken.stdout
    assert 'does not explicitly export attribute "Outcome"' in broken.stdout
