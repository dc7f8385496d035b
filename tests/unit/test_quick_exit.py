"""``conveyor.cli.quick_exit.leave``: the exit handlers run and the output is flushed, the
interpreter's teardown is skipped, the status is the one asked for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conveyor.cli.quick_exit import exit_code

SCRIPT = textwrap.dedent(
    """
    import atexit, sys
    from pathlib import Path
    from conveyor.cli.quick_exit import leave

    out = Path(sys.argv[1])

    class Torn:
        def __del__(self):  # runs only in the interpreter's teardown
            (out / "teardown").write_text("ran")

    kept = Torn()
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    sys.stdout.write("the last line, still buffered")
    leave(int(sys.argv[2]))
    """
)


@pytest.mark.parametrize("status", [0, 1])
def test_leave_runs_exit_handlers_flushes_and_skips_the_teardown(
    tmp_path: Path, status: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(status)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == status, done.stderr
    assert done.stdout == "the last line, still buffered"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not (tmp_path / "teardown").exists()


def test_exit_code_is_what_system_exit_gives(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(None) == 0
    assert exit_code(3) == 3
    assert exit_code("a message") == 1
    assert capsys.readouterr().err == "a message\n"
