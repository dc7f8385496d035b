"""A command line loads with the garbage collector off: no collection walks the objects its
modules make, which are frozen once the command's module is in; the command runs with the
collector on, and ``main`` leaves a caller's process with the collector as it found it."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.cli import quick_exit
from conveyor.cli.main import main

#: Runs ``conveyor runs list`` in a fresh interpreter, as the console script does, and writes
#: to argv[1] whether the command's module was loaded at the start of each collection after
#: ``main`` was called (the entry point's own import comes before), and the collector's
#: state at exit.
PROBE = textwrap.dedent(
    """
    import gc, json, sys
    report = sys.argv[1]
    loaded_at_collection = []
    started = False
    def seen(phase, info):
        if phase == "start" and started:
            loaded_at_collection.append("conveyor.cli.runs" in sys.modules)
    gc.callbacks.append(seen)
    sys.argv = ["conveyor", "runs", "list"]
    from conveyor.cli.main import main
    started = True
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    with open(report, "w") as out:
        json.dump({"code": code, "loaded": loaded_at_collection, "enabled": gc.isenabled(),
                   "frozen": gc.get_freeze_count()}, out)
    """
)


def test_no_collection_runs_while_the_command_line_loads(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    report = tmp_path / "found.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(report.read_text())
    assert found["code"] in (0, None), done.stdout
    assert False not in found["loaded"]  # every collection came after the loading
    assert found["enabled"]
    assert found["frozen"] > 10_000  # the loaded modules' objects, never walked again


@pytest.fixture
def frozen_undone() -> Iterator[None]:
    yield
    gc.unfreeze()  # what main froze of this test process: collectable again


@pytest.mark.parametrize("enabled", [True, False])
def test_main_leaves_the_collector_as_it_found_it(
    enabled: bool, monkeypatch: pytest.MonkeyPatch, frozen_undone: None
) -> None:
    monkeypatch.setattr(sys, "argv", ["conveyor", "--help"])
    # A `conveyor run` an earlier test made in this process must not end it at the exit.
    monkeypatch.setattr(quick_exit, "_done", threading.Event())
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(SystemExit):
            main()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
