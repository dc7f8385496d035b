"""Stamping a try's output line by line (logs/stamps.py): a line written in parts gets the
time of its first part, every line in one chunk gets the chunk's time, and the structured
log lines of ``/api/v2`` read the time back from any kind of line."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from conveyor.logs.stamps import StampingPipe, StampingStream, stamp
from conveyor.web.airflow_api.log_lines import structured

T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC).timestamp()


def test_a_stamp_is_the_utc_time_as_airflow_writes_a_records_time() -> None:
    assert stamp(T0) == "[2026-03-04 05:06:07,890] "


def test_a_line_written_in_parts_is_one_line_with_its_first_parts_time(tmp_path: Path) -> None:
    target = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT)
    pipe = StampingPipe(target)
    os.write(pipe.write_fd, b"one, ")
    # Both parts land before the second one is written, so the pipe's reader sees two chunks.
    _wait_for(tmp_path / "log", b"one, ")
    os.write(pipe.write_fd, b"two\nthree\nfour")
    pipe.finish(wait=10)
    lines = (tmp_path / "log").read_bytes().split(b"\n")
    assert [line[26:] for line in lines] == [b"one, two", b"three", b"four"]
    assert all(line[:1] == b"[" and line[24:26] == b"] " for line in lines), lines
    assert lines[1][:26] == lines[2][:26]  # one chunk, one time


def test_pipes_open_together_are_each_copied_to_their_own_file(tmp_path: Path) -> None:
    pipes = [StampingPipe(os.open(tmp_path / f"log{n}", os.O_WRONLY | os.O_CREAT)) for n in (0, 1)]
    os.write(pipes[0].write_fd, b"first\n")
    os.write(pipes[1].write_fd, b"second\n")
    pipes[0].finish(wait=10)  # one ends while the other stays open and is still copied
    os.write(pipes[1].write_fd, b"later\n")
    pipes[1].finish(wait=10)
    assert [line[26:] for line in (tmp_path / "log0").read_bytes().splitlines()] == [b"first"]
    second = [line[26:] for line in (tmp_path / "log1").read_bytes().splitlines()]
    assert second == [b"second", b"later"]


def test_a_writer_left_holding_the_pipe_is_copied_after_the_wait(tmp_path: Path) -> None:
    pipe = StampingPipe(os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT))
    left = os.dup(pipe.write_fd)  # a background process's copy of the descriptor
    started = time.monotonic()
    pipe.finish(wait=0.2)
    assert 0.15 < time.monotonic() - started < 5  # waited, then let the try end
    os.write(left, b"after the try\n")
    _wait_for(tmp_path / "log", b"after the try\n")
    os.close(left)


def test_the_stamping_stream_stamps_python_writes_the_same_way() -> None:
    inner = io.StringIO()
    stream = StampingStream(inner)
    stream.write("a")
    stream.write("b\n\nc\n")
    lines = inner.getvalue().splitlines()
    assert [line[26:] for line in lines] == ["ab", "", "c"]


def test_structured_lines_take_the_time_of_each_kind_of_line() -> None:
    text = (
        "[2026-03-04 05:06:07,890] [conveyor] t run r try 1\n"
        "[2026-03-04 05:06:08,000] printed\n"
        "[2026-03-04 05:06:09,000] {etl.py:3} INFO - logged\n"
        "[2026-03-04 05:06:10,000] [conveyor] failed:\n"
        '[2026-03-04 05:06:10,000]   File "/d/etl.py", line 3, in run\n'
        "[2026-03-04 05:06:10,000]     boom()\n"
        "[2026-03-04 05:06:10,000] ValueError: no\n"
    )
    messages = structured(text)
    assert [(m.get("timestamp"), m["logger"], m["event"]) for m in messages] == [
        ("2026-03-04T05:06:07.890000Z", "conveyor", "t run r try 1"),
        ("2026-03-04T05:06:08Z", "task.stdout", "printed"),
        ("2026-03-04T05:06:09Z", "task", "logged"),
        ("2026-03-04T05:06:10Z", "conveyor", "Task failed with exception"),
    ]
    detail = messages[3]["error_detail"][0]
    assert detail["exc_type"] == "ValueError"
    assert detail["frames"] == [{"filename": "/d/etl.py", "lineno": 3, "name": "run"}]


def _wait_for(path: Path, data: bytes) -> None:
    deadline = time.monotonic() + 10
    while path.read_bytes().find(data) < 0:
        assert time.monotonic() < deadline, "the pipe's reader copied nothing"
        time.sleep(0.01)
