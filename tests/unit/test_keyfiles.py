"""Key files generated on first use: whole or absent, private, and the first one wins."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from conveyor.keyfiles import create_key_file


def test_processes_starting_at_once_agree_on_one_whole_key(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secret_key"
    seen: list[str] = []
    start = threading.Barrier(16)

    def first_start(number: int) -> None:
        start.wait()
        if not path.exists():
            create_key_file(path, f"{number:02d}" * 32 + "\n")
        seen.append(path.read_text())

    threads = [threading.Thread(target=first_start, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(seen)) == 1 and len(seen[0]) == 65  # one key, never a partial one
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(path.parent) == ["secret_key"]  # no temporary file left behind


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "fernet.key"
    path.write_text("the key in use\n")

    create_key_file(path, "another key\n")

    assert path.read_text() == "the key in use\n"
