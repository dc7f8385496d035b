"""The scheduler's memory tracing (Airflow's ``[scheduler] enable_tracemalloc``): off by
default, set by Airflow's variable, and SIGUSR1 logs the lines holding and gaining memory."""

from __future__ import annotations

import logging
import os
import signal
import tracemalloc
from pathlib import Path

import pytest

from conveyor.config import load_config
from conveyor.scheduler import memory_trace


def test_airflows_variable_turns_it_on(tmp_path: Path) -> None:
    assert load_config({"CONVEYOR_HOME": str(tmp_path)}).settings.scheduler_tracemalloc is False
    loaded = load_config(
        {"CONVEYOR_HOME": str(tmp_path), "AIRFLOW__SCHEDULER__ENABLE_TRACEMALLOC": "True"}
    )
    assert loaded.settings.scheduler_tracemalloc is True
    assert loaded.sources["scheduler_tracemalloc"] == "env AIRFLOW__SCHEDULER__ENABLE_TRACEMALLOC"


def test_conf_reads_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conveyor.airflow_compat.configuration import conf

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path))
    assert conf.getboolean("scheduler", "enable_tracemalloc") is False
    monkeypatch.setenv("CONVEYOR_SCHEDULER_TRACEMALLOC", "true")
    assert conf.getboolean("scheduler", "enable_tracemalloc") is True


def _allocate() -> list[bytearray]:
    return [bytearray(1024) for _ in range(4000)]  # about 4 MiB, all from this one line


def test_sigusr1_logs_the_top_lines_and_what_grew(caplog: pytest.LogCaptureFixture) -> None:
    assert not tracemalloc.is_tracing()
    before = signal.getsignal(signal.SIGUSR1)
    assert memory_trace.start() is True
    try:
        assert tracemalloc.is_tracing()
        held = _allocate()
        line = f"test_memory_trace.py:{_allocate.__code__.co_firstlineno + 1}"
        with caplog.at_level(logging.ERROR, logger=memory_trace.__name__):
            os.kill(os.getpid(), signal.SIGUSR1)
            # The handler runs in this (the main) thread at the next bytecode.
            reports = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(reports) == 1
        top, grown = reports[0].split("grown the most since the last report")
        assert top.startswith("scheduler memory usage:\n Top 10")
        assert line in top.splitlines()[2]  # the line holding the most comes first
        assert line in grown
        # The next report compares with this one: nothing new was allocated at that line.
        again = memory_trace.report()
        assert line in again.split("grown the most")[0]
        assert line not in again.split("grown the most")[1]
        assert len(held) == 4000
    finally:
        memory_trace.stop()
    assert not tracemalloc.is_tracing()
    assert signal.getsignal(signal.SIGUSR1) == before
