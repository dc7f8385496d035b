"""Folders and files only Conveyor's user may read, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.private_files import private_dir, private_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o077, 0o277], ids=["usual", "private", "cuts-the-owner"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_missing_folders_are_made_0700_from_the_first_missing_one(
    tmp_path: Path, umask: int
) -> None:
    made = private_dir(tmp_path / "logs" / "dag" / "run" / "task")
    assert made.is_dir()
    for folder in (made, made.parent, made.parent.parent, made.parent.parent.parent):
        assert _mode(folder) == 0o700, (folder, oct(umask))


def test_an_existing_folder_keeps_its_mode(tmp_path: Path, umask: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    assert private_dir(shared) == shared
    assert _mode(shared) == 0o755
    private_dir(shared / "mine")
    assert _mode(shared) == 0o755 and _mode(shared / "mine") == 0o700


@pytest.mark.parametrize("umask", [0o022, 0o077], indirect=True)
def test_a_file_is_made_0600_in_a_private_folder_and_never_emptied(
    tmp_path: Path, umask: int
) -> None:
    path = private_file(tmp_path / "home" / "conveyor.db")
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    path.write_text("kept")
    private_file(path)
    assert path.read_text() == "kept"


def test_a_folder_in_place_of_a_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(OSError) as raised:
        private_dir(tmp_path / "taken" / "logs")
    assert "taken" in str(raised.value)
