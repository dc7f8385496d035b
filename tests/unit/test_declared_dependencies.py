"""Every third-party library Conveyor's code imports is declared in ``pyproject.toml``, as a
dependency or in an extra: an import that works only because another library happens to
bring the package breaks the day that library stops bringing it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Mapping
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


@cache
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


#: The lines that may import a package (a docstring's example too: the parse decides).
_FROM = re.compile(r"^[ \t]*from[ \t]+(\w+)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w., \t]+)", re.MULTILINE)
OURS = {"conveyor", "__future__", *sys.stdlib_module_names}


@cache
def _distributions() -> Mapping[str, list[str]]:
    return packages_distributions()


def is_declared(top: str) -> bool:
    """An import name maps to its distribution through the installed packages' metadata
    (``yaml`` -> PyYAML); one not installed is taken by its own name."""
    return bool({_normal(d) for d in _distributions().get(top, [top])} & declared())


def _suspect(top: str) -> bool:
    return top not in OURS and (top in ON_DEMAND or not is_declared(top))


def _named(text: str) -> set[str]:
    """The top-level names the import-like lines of ``text`` name."""
    names = set(_FROM.findall(text))
    for listed in _IMPORT.findall(text):
        names.update(part.split()[0].split(".")[0] for part in listed.split(",") if part.strip())
    return names


@cache
def package_imports() -> dict[str, list[tuple[str, int, bool]]]:
    """The imports of the modules under src/conveyor that may import a library undeclared or
    in no extra: a text search picks them (parsing every module costs seconds), the parse
    reads them, so a docstring's example is no import."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if any(_suspect(top) for top in _named(text)):
            found[str(path.relative_to(PACKAGE))] = imports(text)
    return found


def third_party_imports() -> dict[str, list[str]]:
    """Each suspect third-party top-level package imported under src/conveyor -> where."""
    where: dict[str, list[str]] = {}
    for module, found in package_imports().items():
        for top, line, _ in found:
            if top not in OURS:
                where.setdefault(top, []).append(f"{module}:{line}")
    return where


def test_the_walk_finds_imports_at_any_depth() -> None:
    source = "import a.b\nfrom c import d\nfrom . import e\ndef f():\n    import g\n"
    assert imports(source) == [("a", 1, True), ("c", 2, True), ("g", 5, False)]


def test_every_imported_library_is_declared() -> None:
    undeclared = {
        top: places
        for top, places in third_party_imports().items()
        if top not in ON_DEMAND and not is_declared(top)
    }
    assert undeclared == {}, "declare these in pyproject.toml (a dependency or an extra)"


def test_the_text_search_sees_every_form_of_import() -> None:
    text = "import os, yaml as y\nfrom pandas import x\n    import a.b\nfrom . import c\n"
    assert _named(text) == {"os", "yaml", "pandas", "a"}


def test_the_libraries_in_no_extra_are_imported_only_where_needed() -> None:
    for module, found in package_imports().items():
        for top, line, at_module_level in found:
            assert not (top in ON_DEMAND and at_module_level), (
                f"{module}:{line} imports {top} when the module loads; "
                f"it is in no extra, so only {ON_DEMAND[top]} may import it"
            )
