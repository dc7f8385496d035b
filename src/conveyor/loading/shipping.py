"""The helper modules a DAG file imports from its folder travel with its source.

A worker that has no DAG folder runs a pinned version from the store (``code_cache``). A
DAG file that imports ``helpers.py`` beside it, or a YAML file naming
``helpers.yaml_callables:choose_path``, needs those modules too, at the version that was
parsed. So while a file is parsed, every Python module it loaded from the DAG folder is
noted; their sources are stored by hash like the DAG file's own, and each DAG of the file
carries a manifest (its path and theirs below the folder, with their hashes) in its
serialized form, which the version hash covers. A worker lays them out in the same shape in
its code cache and imports from there.

The modules it imported from the plugins folder (``plugins_folder``, on ``sys.path`` with the
DAG folder's root, as in Airflow) travel the same way, under :data:`PLUGINS_PREFIX` in the
manifest and in the bundle, so the version hash covers them too.

What is found is what the file imported while it was parsed: a module imported only later,
inside a task, is not shipped (import it at the top of the file or its helpers).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

#: The key of the manifest in a DAG's serialized form.
MANIFEST_KEY = "shipped"
#: Where the plugins folder's modules are, in a manifest and in a bundle.
PLUGINS_PREFIX = ".plugins/"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The modules the process had before any DAG file was loaded, by name: the module's id
#: and the real path of its file's folder, "" if it has no Python file
#: (:func:`remember_module_folders`). A parse child of the fork server looks up and
#: resolves only what it loaded itself: reading a thousand modules' files and resolving a
#: hundred library folders again in every parse child was half of its time, with a folder of
#: 1,000 DAG files parsed every 30 s.
_preloaded: dict[str, tuple[int, str]] = {}


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _is_inside(path: str, folder: str) -> bool:
    return path.startswith(folder + os.sep)


def helper_files(dag_path: str, root: Path, plugins: Path | None = None) -> dict[str, str]:
    """Relative path below ``root`` -> text, of each Python module loaded from ``root``; and
    :data:`PLUGINS_PREFIX` + relative path below ``plugins`` -> text, of each loaded from it.

    Call it in the process that just loaded ``dag_path`` (a parse child, where nothing else
    from the folder was imported before).
    """
    found = _files_below(dag_path, root)
    if plugins is not None and plugins.is_dir():
        plugins_dir = str(plugins.resolve())
        found = {
            rel: text
            for rel, text in found.items()
            if not _is_inside(str(root.resolve() / rel), plugins_dir)
        }
        below = _files_below(dag_path, plugins)
        found.update({PLUGINS_PREFIX + rel: text for rel, text in below.items()})
    return dict(sorted(found.items()))


def _files_below(dag_path: str, root: Path) -> dict[str, str]:
    root_dir = str(root.resolve())
    package_dir = str(_PACKAGE_DIR)
    own = os.path.realpath(dag_path)
    # Hundreds of modules are loaded, from a few dozen folders: each folder is resolved once
    # (resolving every file cost a tenth of a second per parse), and a file only when it
    # sits in the DAG folder, where it may be a link to somewhere else.
    real_dirs: dict[str, tuple[str, bool]] = {}
    preloaded_inside: dict[str, bool] = {}
    found: dict[str, str] = {}
    for module_name, module in list(sys.modules.items()):
        if _preloaded_outside(module_name, module, root_dir, preloaded_inside):
            continue
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename.endswith(".py"):
            continue
        folder, name = os.path.split(filename)
        known = real_dirs.get(folder)
        if known is None:
            real_dir = os.path.realpath(folder)
            known = real_dirs[folder] = (real_dir, _is_inside(real_dir + os.sep, root_dir))
        real_dir, inside = known
        if not inside:
            continue
        real = os.path.realpath(os.path.join(real_dir, name))
        if real == own or not _is_inside(real, root_dir) or _is_inside(real, package_dir):
            continue
        path = Path(real)
        if "site-packages" in path.parts:  # a virtualenv kept inside the DAG folder
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        found[path.relative_to(root_dir).as_posix()] = text
    return found


def _preloaded_outside(
    name: str, module: object, root_dir: str, inside_by_dir: dict[str, bool]
) -> bool:
    """Whether the module is one the process had before any DAG file was loaded, and
    not a Python file below ``root_dir``: answered without touching the module."""
    before = _preloaded.get(name)
    if before is None or before[0] != id(module):
        return False
    real_dir = before[1]
    if not real_dir:  # not loaded from a Python file
        return True
    inside = inside_by_dir.get(real_dir)
    if inside is None:
        inside = inside_by_dir[real_dir] = _is_inside(real_dir + os.sep, root_dir)
    return not inside


def remember_module_folders() -> None:
    """Note the real path of every folder the process's modules came from, for the
    processes it forks (the fork server's, before any DAG file is loaded: none of these
    folders is a DAG folder's, whose links may change between parses)."""
    real_dirs: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename.endswith(".py"):
            _preloaded[name] = (id(module), "")
            continue
        folder = os.path.dirname(filename)
        if folder not in real_dirs:
            real_dirs[folder] = os.path.realpath(folder)
        _preloaded[name] = (id(module), real_dirs[folder])


def manifest(dag_path: str, root: Path, helpers: dict[str, str]) -> dict[str, Any]:
    """What a DAG's serialized form records: its file's place and its helpers' hashes."""
    return {
        "path": Path(dag_path).resolve().relative_to(root.resolve()).as_posix(),
        "files": {rel: text_hash(text) for rel, text in helpers.items()},
    }


def read_manifest(serialized: dict[str, Any]) -> dict[str, Any] | None:
    found = serialized.get(MANIFEST_KEY)
    return found if isinstance(found, dict) and found.get("files") else None


def bundle_key(source_hash: str, shipped: dict[str, Any] | None) -> str:
    """The code cache folder of a DAG file's source with its helpers."""
    if shipped is None:
        return source_hash
    files = "".join(f"{rel}\n{h}\n" for rel, h in sorted(shipped["files"].items()))
    return hashlib.sha256(f"{source_hash}\n{shipped['path']}\n{files}".encode()).hexdigest()


def safe_relative(rel: str) -> Path:
    """A manifest path as a relative path that stays inside its bundle, else ValueError."""
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"a shipped file's path must stay inside its bundle: {rel!r}")
    return path
