"""Every third-party library Conveyor's code imports is declared in ``pyproject.toml``, as a
dependency or in an extra: an import that works only because another library happens to
bring the package breaks the day that library stops bringing it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import conveyor

PACKAGE = Path(conveyor.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"

#: Imported only inside the function that needs it, which says what to install when it is
#: missing; in no extra, since each serves one call and pulls a large tree.
ON_DEMAND = {
    "pandas": "DbApiHook.get_pandas_df",
    "babel": "macros.ds_format_locale",
    "pyarrow": "PostgresToGCSOperator(export_format='parquet')",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """The distributions pyproject.toml names, core and extras."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {_normal(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in requirements}


def imports(source: str) -> list[tuple[str, int, bool]]:
    """``(top-level package, line, at module level)`` of each absolute import in ``source``."""
    tree = ast.parse(source)
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(name.split(".")[0], node.lineno, id(node) in top_level) for name in names]
    return found


@cache
def package_imports() -> dict[str, list[tuple[str, int, bool]]]:
    """The imports of each module under src/conveyor (parsed once for both tests)."""
    return {
        str(path.relative_to(PACKAGE)): imports(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def third_party_imports() -> dict[str, list[str]]:
    """Each third-party top-level package imported under src/conveyor -> where."""
    ours = {"conveyor", "__future__", *sys.stdlib_module_names}
    where: dict[str, list[str]] = {}
    for module, found in package_imports().items():
        for top, line, _ in found:
            if top not in ours:
                where.setdefault(top, []).append(f"{module}:{line}")
    return where


def test_the_walk_finds_imports_at_any_depth() -> None:
    source = "import a.b\nfrom c import d\nfrom . import e\ndef f():\n    import g\n"
    assert imports(source) == [("a", 1, True), ("c", 2, True), ("g", 5, False)]


def test_every_imported_library_is_declared() -> None:
    """An import name maps to its distribution through the installed packages' metadata
    (``yaml`` -> PyYAML); one not installed is taken by its own name."""
    distributions = packages_distributions()
    names = declared()
    undeclared = {
        top: places
        for top, places in third_party_imports().items()
        if top not in ON_DEMAND and not {_normal(d) for d in distributions.get(top, [top])} & names
    }
    assert undeclared == {}, "declare these in pyproject.toml (a dependency or an extra)"


def test_the_libraries_in_no_extra_are_imported_only_where_needed() -> None:
    for module, found in package_imports().items():
        for top, line, at_module_level in found:
            assert not (top in ON_DEMAND and at_module_level), (
                f"{module}:{line} imports {top} when the module loads; "
                f"it is in no extra, so only {ON_DEMAND[top]} may import it"
            )
