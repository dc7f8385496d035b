"""What the plugins folder's ``AirflowPlugin`` classes declare, read without running them.

The web UI's Plugins page lists each plugin's name and lists (operators, hooks, macros...)
from the source text: the web server never imports users' code (a plugin's module may do
anything at import), so a class is found by its base's name and its lists are shown as
written. What Conveyor refuses or does not show is marked with the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.airflow_compat.plugins import REFUSED_KEYS, UI_KEYS, module_names

#: The lists Conveyor uses, in the order the page shows them.
USED_KEYS = ("operators", "sensors", "hooks", "macros", "timetables", "listeners")


@dataclass(frozen=True)
class PluginListing:
    name: str
    module: str
    class_name: str
    #: key -> the items as written in the source, for the keys the class sets.
    lists: dict[str, list[str]] = field(default_factory=dict)

    @property
    def refused(self) -> dict[str, str]:
        """The keys Conveyor refuses, with what to write instead."""
        return {key: why for key, why in REFUSED_KEYS.items() if self.lists.get(key)}

    @property
    def not_shown(self) -> list[str]:
        """The keys that only change Airflow's web UI, which Conveyor's does not show."""
        return [key for key in UI_KEYS if self.lists.get(key)]


def list_plugins(folder: Path | None) -> tuple[list[PluginListing], list[str]]:
    """The plugins the modules of ``folder`` declare, with the files that could not be read
    (as messages). No folder, or one that does not exist: nothing."""
    if folder is None or not folder.is_dir():
        return [], []
    found: list[PluginListing] = []
    errors: list[str] = []
    for module in module_names(str(folder)):
        path = _module_path(folder, module)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as exc:
            errors.append(f"{module}: {type(exc).__name__}: {exc}")
            continue
        found.extend(_plugins_in(tree, module))
    return sorted(found, key=lambda plugin: plugin.name), errors


def _module_path(folder: Path, module: str) -> Path:
    relative = Path(*module.split("."))
    package = folder / relative / "__init__.py"
    return package if package.is_file() else folder / relative.with_suffix(".py")


def _plugins_in(tree: ast.Module, module: str) -> list[PluginListing]:
    keys = set(USED_KEYS) | set(UI_KEYS) | set(REFUSED_KEYS)
    listed = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not any(_is_plugin_base(b) for b in node.bases):
            continue
        name = ""
        lists: dict[str, list[str]] = {}
        for statement in node.body:
            target, value = _assignment(statement)
            if target == "name" and isinstance(value, ast.Constant):
                name = str(value.value)
            elif target in keys and isinstance(value, ast.List | ast.Tuple) and value.elts:
                lists[target] = [ast.unparse(item) for item in value.elts]
        listed.append(PluginListing(name or node.name, module, node.name, lists))
    return listed


def _is_plugin_base(base: ast.expr) -> bool:
    named = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
    return named == "AirflowPlugin"


def _assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    return None, None


__all__ = ["USED_KEYS", "PluginListing", "list_plugins"]
