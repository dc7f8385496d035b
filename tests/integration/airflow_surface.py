"""Airflow's public import surface, read from its released wheels at test time.

The wheels are downloaded once into the repository's ignored ``.cache/airflow-wheels`` (pinned
versions: a file there is never fetched again) and read without being installed or imported:
each public module, the public names its source defines at top level (or its ``__all__``),
and the old paths Airflow forwards through its deprecation tables (``__deprecated_classes``
in 2.10, ``add_deprecated_classes({...})`` in 3.x). Nothing of them is committed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools_cache import tools_dir

CACHE = tools_dir() / "airflow-wheels"

#: The releases whose surface Conveyor answers: Airflow 2.10, and 3.0 to 3.3 (the core with
#: its matching Task SDK), and the standard provider.
WHEELS = (
    ("apache-airflow", "2.10.5"),
    ("apache-airflow-core", "3.0.6"),
    ("apache-airflow-task-sdk", "1.0.6"),
    ("apache-airflow-core", "3.1.8"),
    ("apache-airflow-task-sdk", "1.1.8"),
    ("apache-airflow-core", "3.2.2"),
    ("apache-airflow-task-sdk", "1.2.2"),
    ("apache-airflow-core", "3.3.2"),
    ("apache-airflow-task-sdk", "1.3.2"),
    ("apache-airflow-providers-standard", "1.21.0"),
)


def wheel(name: str, version: str) -> Path:
    """The wheel's path in the cache, downloaded the first time."""
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    path = CACHE / filename
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        subprocess.run(
            [*pip, "--dest", str(CACHE), f"{name}=={version}"],
            check=True,
            timeout=600,
        )
    return path


@dataclass
class Surface:
    """Module -> the public names Airflow gives it; forwarded old paths included."""

    names: dict[str, set[str]] = field(default_factory=dict)
    #: Old paths Airflow forwards to another provider's package: (module, name) -> target.
    to_providers: dict[str, str] = field(default_factory=dict)

    def add(self, module: str, names: set[str]) -> None:
        self.names.setdefault(module, set()).update(names)


def read_surface() -> Surface:
    """The surface of every wheel of ``WHEELS``; read once, then kept beside the wheels
    (keyed by the wheels and this reader's source, so a change to either reads again)."""
    key = hashlib.sha256((repr(WHEELS) + Path(__file__).read_text()).encode()).hexdigest()[:16]
    kept = CACHE / f"surface-{key}.json"
    if kept.exists():
        data = json.loads(kept.read_text())
        return Surface({m: set(n) for m, n in data["names"].items()}, data["to_providers"])
    surface = _read_wheels()
    names = {m: sorted(n) for m, n in surface.names.items()}
    kept.write_text(json.dumps({"names": names, "to_providers": surface.to_providers}))
    return surface


def _read_wheels() -> Surface:
    surface = Surface()
    for name, version in WHEELS:
        with zipfile.ZipFile(wheel(name, version)) as archive:
            for member in archive.namelist():
                module = _module_of(member)
                if module is None:
                    continue
                try:
                    tree = ast.parse(archive.read(member))
                except SyntaxError:
                    continue
                surface.add(module, set(_public_names(tree)))
                for (old, old_name), target in _forwarded(tree, module):
                    provider = target.startswith("airflow.providers.")
                    if provider and not target.startswith("airflow.providers.standard."):
                        surface.to_providers[f"{old}.{old_name}"] = target
                    else:
                        surface.add(old, {old_name})
    return surface


def _module_of(member: str) -> str | None:
    """The dotted module of a wheel member, when it is a public Python module of airflow."""
    if not member.startswith("airflow/") or not member.endswith(".py"):
        return None
    parts = member[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if any(p.startswith("_") or not p.isidentifier() for p in parts):
        return None  # private, or not importable by name (migrations' 0001_... files)
    if parts[1:2] == ["providers"] and parts[2:3] != ["standard"]:
        return None  # another provider's: exists on Airflow only with its package
    if parts[1:2] in (["migrations"], ["example_dags"], ["www"], ["ui"]):
        return None  # not importable API (a server's pages and database migrations)
    return ".".join(parts)


def _public_names(tree: ast.Module) -> Iterator[str]:
    """``__all__`` when the module gives it as a literal, else what it defines at top level."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                yield from (n for n in ast.literal_eval(node.value) if isinstance(n, str))
                return
            except ValueError:
                break
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        else:
            continue
        yield from (n for n in names if not n.startswith("_"))


def _forwarded(tree: ast.Module, package: str) -> Iterator[tuple[tuple[str, str], str]]:
    """The old paths a package forwards: ``{"bash_operator": {"BashOperator": "airflow..."}}``."""
    for node in ast.walk(tree):
        table = None
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith("deprecated_classes") for t in node.targets
        ):
            table = node.value
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "add_deprecated_classes"
            and node.args
        ):
            table = node.args[0]
        if table is None:
            continue
        try:
            mapping = ast.literal_eval(table)
        except ValueError:
            continue
        for submodule, names in mapping.items():
            if not isinstance(names, dict):
                continue
            for name, target in names.items():
                if isinstance(target, str) and not name.startswith("_"):
                    yield (f"{package}.{submodule}", name), target.rpartition(".")[0]


def config_defaults(version: str = "3.3.2") -> dict[tuple[str, str], str | None]:
    """(section, key) -> default, from the core wheel's ``config.yml``."""
    import yaml

    with zipfile.ZipFile(wheel("apache-airflow-core", version)) as archive:
        data = yaml.safe_load(archive.read("airflow/config_templates/config.yml"))
    return {
        (section, key): option.get("default")
        for section, body in data.items()
        for key, option in body["options"].items()
    }
