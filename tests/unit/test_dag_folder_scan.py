"""Which files of a DAG folder the processor looks at, and the stats it tells changes by."""

from __future__ import annotations

import os
from pathlib import Path

from conveyor.loading.processor import candidate_files, candidate_stats


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_scan_lists_files_folder_by_folder_in_name_order(tmp_path: Path) -> None:
    for rel in ["b.py", "a.py", "sub/z.py", "sub/deeper/c.yaml", "another/d.py"]:
        _touch(tmp_path / rel)

    found = list(candidate_stats(tmp_path))

    assert found == [
        str(tmp_path / "a.py"),
        str(tmp_path / "b.py"),
        str(tmp_path / "another" / "d.py"),
        str(tmp_path / "sub" / "z.py"),
        str(tmp_path / "sub" / "deeper" / "c.yaml"),
    ]
    assert candidate_files(tmp_path) == [Path(p) for p in found]


def test_hidden_and_underscore_names_and_links_to_folders_are_skipped(tmp_path: Path) -> None:
    kept = _touch(tmp_path / "kept.py")
    _touch(tmp_path / ".hidden.py")
    _touch(tmp_path / "_private.py")
    _touch(tmp_path / ".git" / "inside.py")
    _touch(tmp_path / "__pycache__" / "inside.py")
    elsewhere = tmp_path.parent / f"{tmp_path.name}_elsewhere"
    _touch(elsewhere / "linked.py")
    (tmp_path / "linked_folder").symlink_to(elsewhere, target_is_directory=True)
    (tmp_path / "broken.py").symlink_to(tmp_path / "missing.py")
    linked_file = tmp_path / "link_to_file.py"
    linked_file.symlink_to(kept)

    assert list(candidate_stats(tmp_path)) == [str(kept), str(linked_file)]


def test_each_file_comes_with_its_mtime_and_size_to_tell_a_change(tmp_path: Path) -> None:
    path = _touch(tmp_path / "dag.py", "first")
    st = os.stat(path)
    assert candidate_stats(tmp_path) == {str(path): (st.st_mtime_ns, 5)}

    path.write_text("second version")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    assert candidate_stats(tmp_path)[str(path)] == (st.st_mtime_ns + 1_000_000_000, 14)


def test_a_missing_folder_has_no_candidates(tmp_path: Path) -> None:
    assert candidate_stats(tmp_path / "missing") == {}
    assert candidate_files(tmp_path / "missing") == []
