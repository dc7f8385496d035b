"""``.airflowignore``: the files of a DAG folder (or a plugins folder) that are not looked at.

A team's folder keeps tests, a dbt project, scripts and half-finished DAGs beside its DAG files
and lists them in ``.airflowignore`` files, one in any folder. Airflow reads them in one of two
syntaxes, chosen by ``[core] dag_ignore_file_syntax`` (Conveyor's ``dag_ignore_file_syntax``):

- ``glob`` (Airflow 3's default): a line is a ``.gitignore`` pattern. A pattern with a ``/``
  at its start or in its middle is relative to the folder of the file that declares it, any
  other matches a name at any depth below it; a trailing ``/`` matches folders only; ``!``
  takes a path back, and the last pattern that matches a path decides.
- ``regexp`` (Airflow 2's default): a line is a regular expression searched for in the path
  relative to the DAG folder's root (whichever file declares it); any match ignores.

In both, ``#`` starts a comment to the end of the line (even inside a pattern, as on Airflow)
and an invalid pattern is logged and skipped. A file's patterns apply to its folder and every
folder below, after those of the folders above; an ignored folder is not entered at all.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

log = logging.getLogger(__name__)

IGNORE_FILE: Final = ".airflowignore"
Syntax = Literal["glob", "regexp"]
SYNTAXES: tuple[Syntax, ...] = ("glob", "regexp")
_COMMENT = re.compile(r"\s*#.*")


@dataclass(frozen=True)
class GlobRule:
    """One ``.gitignore``-style line: ``relative_to`` is the declaring file's folder when the
    pattern is anchored there, None when it matches names at any depth."""

    pattern: GitIgnoreBasicPattern
    relative_to: str | None
    dir_only: bool


@dataclass(frozen=True)
class RegexpRule:
    """One regular expression, searched in paths relative to the DAG folder's ``root``."""

    pattern: re.Pattern[str]
    root: str


Rule = GlobRule | RegexpRule


def configured_syntax() -> Syntax:
    """The setting ``dag_ignore_file_syntax``, read again only when a variable that sets it,
    the home or the configuration file's modification time change."""
    from conveyor.config import config_file_stamp

    config_file, stamp = config_file_stamp(os.environ)
    variables = tuple(os.environ.get(name, "") for name in _VARIABLES)
    return _read_syntax(variables, config_file, stamp)


_VARIABLES = ("CONVEYOR_DAG_IGNORE_FILE_SYNTAX", "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX")


@functools.lru_cache(maxsize=16)
def _read_syntax(_variables: tuple[str, ...], _file: str, _stamp: int | None) -> Syntax:
    from conveyor.config import load_config

    return load_config().settings.dag_ignore_file_syntax


def _glob_rule(line: str, declared_in: str, where: str) -> GlobRule | None:
    if line.strip() == "/":  # matches nothing in .gitignore
        log.warning("%s: the pattern '/' matches nothing; skipped", where)
        return None
    anchored = line.startswith("/") or "/" in line.rstrip("/")
    bare = line.lstrip("!").rstrip()
    # pathspec (~40 ms with its backends) only where a folder has an .airflowignore: a
    # command line's scan of a folder without one does not pay it.
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

    pattern = GitIgnoreBasicPattern(line)
    if pattern.include is None:  # blank once parsed (escaped spaces and the like)
        return None
    return GlobRule(pattern, declared_in if anchored else None, bare != bare.rstrip("/"))


def _regexp_rule(line: str, root: str, where: str) -> RegexpRule | None:
    try:
        return RegexpRule(re.compile(line), root)
    except re.error as exc:
        log.warning("%s: invalid regular expression %r skipped: %s", where, line, exc)
        return None


def read_rules(folder: str, root: str, syntax: Syntax) -> tuple[Rule, ...]:
    """The rules of ``folder``'s own ``.airflowignore`` (none when it has no such file);
    ``root`` is the folder the scan started from, which regexp rules are relative to."""
    path = os.path.join(folder, IGNORE_FILE)
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return _read_rules(path, st.st_mtime_ns, st.st_size, root, syntax)


@functools.lru_cache(maxsize=256)
def _read_rules(path: str, _mtime: int, _size: int, root: str, syntax: Syntax) -> tuple[Rule, ...]:
    """Compiled once per version of the file (the scan runs every second)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = [_COMMENT.sub("", line) for line in file.read().split("\n")]
    except OSError:
        return ()
    folder = os.path.dirname(path)
    rules: list[Rule | None] = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        where = f"{path}:{number}"
        if syntax == "regexp":
            rules.append(_regexp_rule(line, root, where))
        else:
            rules.append(_glob_rule(line, folder, where))
    return tuple(rule for rule in rules if rule is not None)


def is_ignored(path: str, is_dir: bool, rules: tuple[Rule, ...]) -> bool:
    """Whether ``path`` (a file, or a folder when ``is_dir``) is ignored by ``rules``, those of
    its folder and the folders above, in the order they were read."""
    matched = False
    for rule in rules:
        if isinstance(rule, RegexpRule):
            if rule.pattern.search(os.path.relpath(path, rule.root)) is not None:
                return True
            continue
        if rule.dir_only and not is_dir:
            continue
        if rule.relative_to is None:
            rel = os.path.basename(path)
        else:
            rel = Path(os.path.relpath(path, rule.relative_to)).as_posix()
        if is_dir:
            rel += "/"
        if rule.pattern.match_file(rel) is not None:
            matched = bool(rule.pattern.include)
    return matched
