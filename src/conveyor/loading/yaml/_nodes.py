"""Reading a YAML DAG file while keeping the position of every value.

PyYAML's composer returns nodes that carry their start marks (line and column). We keep the
nodes, not only the Python values built from them, so that every problem found later (a
pydantic error, an unknown task in ``depends_on``, a callable that does not import) can
point at its exact place in the file. Before the values are built, this module does the
load-time text work on the nodes:

- ``${NAME}`` and ``${NAME:-default}`` take a ``for_each`` item's value or an environment
  variable's; ``$${`` writes a literal ``${`` (for shell variables meant for run time);
- a DAG entry with ``for_each`` becomes one DAG per item.

Values are read with the YAML 1.2 core rules (``yes``, ``no``, ``on`` and ``off`` stay text,
``0755`` is not octal), which is what people mean in a config file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from conveyor.loading.yaml.errors import Problem

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"

#: Values a file may expand to through aliases and templates; past this it is an alias bomb.
MAX_NODES = 100_000


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's booleans and numbers."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


class Dumper(yaml.SafeDumper):
    """Writes what :class:`Loader` reads back the same: quotes text that would not stay text."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def ignore_aliases(self, data: Any) -> bool:
        return True  # an exported file spells everything out


def _install_resolvers() -> None:
    kept = {NULL_TAG, MERGE_TAG, "tag:yaml.org,2002:timestamp"}
    core = [
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
    ]
    for cls in (Loader, Dumper):
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
            for tag, regexp in entries:
                if tag in kept:
                    cls.yaml_implicit_resolvers.setdefault(first, []).append((tag, regexp))
        for tag, pattern, firsts in core:
            regexp = re.compile(pattern)
            for first in firsts:
                cls.yaml_implicit_resolvers.setdefault(first, []).append((tag, regexp))


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0x"):
        return int(text, 16)
    return int(text, 10)  # YAML 1.2: a leading zero is not octal


_install_resolvers()
Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


# -- positions -------------------------------------------------------------------------------


def position(node: Node | None) -> tuple[int | None, int | None]:
    """1-based line and column of a node."""
    if node is None:
        return None, None
    return node.start_mark.line + 1, node.start_mark.column + 1


def who(path: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """The DAG and task ids a location inside a file belongs to."""
    dag_id = str(path[1]) if len(path) > 1 and path[0] == "dags" else None
    task_id = str(path[3]) if dag_id is not None and len(path) > 3 and path[2] == "tasks" else None
    return dag_id, task_id


@dataclass
class Spot:
    """Where a location ends up in the node tree. ``complete`` is False when a key is absent,
    in which case ``node`` is the deepest mapping found and ``key`` the key that holds it."""

    node: Node
    key: Node | None
    complete: bool

    @property
    def anchor(self) -> Node:
        """The node a problem should point at: the key of a mapping entry, else the value."""
        return self.key if self.key is not None else self.node


def is_tag(element: Any) -> bool:
    """pydantic puts the tag of a discriminated union into error locations; we skip it."""
    return isinstance(element, str) and element.startswith("<") and element.endswith(">")


def locate(root: Node, loc: tuple[Any, ...]) -> Spot:
    node, key = root, None
    for element in loc:
        if isinstance(node, MappingNode):
            match = None
            for k, v in node.value:  # the last one wins, as in the built dict
                if isinstance(k, ScalarNode) and k.value == str(element):
                    match = (k, v)
            if match is not None:
                key, node = match
                continue
        elif (
            isinstance(node, SequenceNode)
            and isinstance(element, int)
            and 0 <= element < len(node.value)
        ):
            key, node = None, node.value[element]
            continue
        if is_tag(element):
            continue
        if element == "[key]":
            return Spot(key or node, None, True)
        return Spot(node, key, False)
    return Spot(node, key, True)


def column_in(text: str, node: Node, offset: int) -> int | None:
    """The column of character ``offset`` of a one-line scalar, if the source shows it as is."""
    if not isinstance(node, ScalarNode) or node.start_mark.line != node.end_mark.line:
        return None
    raw = text[node.start_mark.index : node.end_mark.index]
    if raw == node.value:
        return node.start_mark.column + 1 + offset
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and raw[1:-1] == node.value:
        return node.start_mark.column + 2 + offset
    return None


# -- reading ---------------------------------------------------------------------------------


@dataclass
class Reading:
    """One file on its way from text to values: its problems so far, attributed to it."""

    file: str
    text: str
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    problems: list[Problem] = field(default_factory=list)
    loader: Loader = field(init=False)

    def __post_init__(self) -> None:
        try:
            self.loader = Loader(self.text)
        except yaml.reader.ReaderError as exc:  # a control character anywhere in the text
            self._reader_problem(exc)
            self.loader = Loader("")
        self._count = 0
        self._stack: set[int] = set()
        self._checked: set[int] = set()
        #: Positions whose value could not be read; later checks stay silent about them.
        self.settled: set[tuple[int | None, int | None]] = set()

    def settle(self) -> None:
        """Mark the positions reported so far as done (call once the values are read)."""
        self.settled = {(p.line, p.column) for p in self.problems if p.line is not None}

    def problem(
        self,
        node: Node | None,
        path: tuple[Any, ...],
        message: str,
        expected: str | None = None,
        found: str | None = None,
        *,
        column: int | None = None,
    ) -> None:
        line, col = position(node)
        if (line, col) in self.settled:
            return  # a value that could not be read is not also of the wrong type
        dag_id, task_id = who(path)
        self.problems.append(
            Problem(self.file, line, column or col, message, dag_id, task_id, expected, found)
        )

    # -- composing ---------------------------------------------------------------------

    def documents(self) -> list[Node]:
        """The file's YAML documents as node trees; a syntax error stops at that point."""
        found: list[Node] = []
        try:
            while self.loader.check_node():
                node = self.loader.get_node()
                if node is not None:
                    found.append(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message = f"invalid YAML: {exc.problem or exc.context}"
            if exc.context and exc.problem and exc.context_mark is not None:
                where = exc.context_mark.line + 1, exc.context_mark.column + 1
                message += f" ({exc.context} at line {where[0]}, column {where[1]})"
            line = mark.line + 1 if mark is not None else None
            column = mark.column + 1 if mark is not None else None
            self.problems.append(Problem(self.file, line, column, message))
        except yaml.reader.ReaderError as exc:
            self._reader_problem(exc)
        except yaml.YAMLError as exc:
            self.problems.append(Problem(self.file, None, None, f"invalid YAML: {exc}"))
        except (ValueError, OverflowError) as exc:  # PyYAML's own, e.g. on "\U100010000"
            mark = self.loader.get_mark()
            self.problems.append(
                Problem(self.file, mark.line + 1, mark.column + 1, f"invalid YAML: {exc}")
            )
        except RecursionError:
            self.problems.append(
                Problem(self.file, None, None, "invalid YAML: values are nested too deeply")
            )
        return found

    def _reader_problem(self, exc: yaml.reader.ReaderError) -> None:
        before = self.text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: character {chr(code)!r} (#x{code:04x}) is not allowed"
        self.problems.append(Problem(self.file, line, column, message))

    def check_keys(self, node: Node, path: tuple[Any, ...] = ()) -> None:
        """Report keys written twice in one mapping (YAML would keep only the last)."""
        if id(node) in self._checked:
            return  # an alias to a node checked already (or a recursive one, found later)
        self._checked.add(id(node))
        if isinstance(node, SequenceNode):
            for n, item in enumerate(node.value):
                self.check_keys(item, (*path, n))
        elif isinstance(node, MappingNode):
            seen: dict[str, Node] = {}
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.tag != MERGE_TAG:
                    # DAG ids are checked after templates made them, in expand().
                    if k.value in seen and path != ("dags",):
                        self._duplicate(k, seen[k.value], path)
                    seen.setdefault(k.value, k)
                self.check_keys(v, (*path, k.value if isinstance(k, ScalarNode) else "?"))

    def _duplicate(self, key: Node, first: Node, path: tuple[Any, ...]) -> None:
        what = "task id" if len(path) == 3 and path[0] == "dags" and path[2] == "tasks" else "key"
        line = first.start_mark.line + 1
        self.problem(
            key,
            (*path, key.value),
            f"duplicate {what} {key.value!r}",
            f"each {what} once in a mapping",
            f"it again (first at line {line})",
        )

    # -- substitution and templates ----------------------------------------------------

    def expand(self, root: Node) -> Node:
        """A copy of a document with ${...} filled in and for_each DAGs made one per item."""
        try:
            if not isinstance(root, MappingNode):
                return self._copy(root, {}, ())
            pairs: list[tuple[Node, Node]] = []
            for k, v in root.value:
                name = k.value if isinstance(k, ScalarNode) else "?"
                new_key = self._copy(k, {}, ())
                if name == "dags" and isinstance(v, MappingNode):
                    pairs.append((new_key, self._dags(v)))
                else:
                    pairs.append((new_key, self._copy(v, {}, (name,))))
            return MappingNode(root.tag, pairs, root.start_mark, root.end_mark, root.flow_style)
        except _Recursive as exc:
            self.problem(
                exc.node, (), "recursive YAML alias", "an alias to a finished value", "a loop"
            )
        except _TooLarge:
            self.problem(
                root,
                (),
                f"the file expands to more than {MAX_NODES} values",
                "a file without alias chains that multiply",
                "an alias bomb",
            )
        return MappingNode(root.tag, [], root.start_mark, root.end_mark)

    def _dags(self, node: MappingNode) -> MappingNode:
        pairs: list[tuple[Node, Node]] = []
        first: dict[str, Node] = {}
        for k, v in node.value:
            if not isinstance(k, ScalarNode) or k.tag == MERGE_TAG:
                pairs.append((self._copy(k, {}, ("dags",)), self._copy(v, {}, ("dags",))))
                continue
            for_each = _entry(v, "for_each")
            items: list[dict[str, str]] = [{}]
            if for_each is not None:
                items = self._for_each_items(for_each[1], ("dags", k.value, "for_each"))
            for values in items:
                new_key = self._copy(k, values, ("dags",))
                dag_id = new_key.value
                if dag_id in first:
                    line = first[dag_id].start_mark.line + 1
                    self.problem(
                        new_key,
                        ("dags", dag_id),
                        f"duplicate DAG id {dag_id!r}",
                        "each DAG id once in a file",
                        f"it again (first at line {line})",
                    )
                    continue
                first[dag_id] = new_key
                skip = for_each[0] if for_each is not None else None
                pairs.append((new_key, self._copy(v, values, ("dags", dag_id), skip=skip)))
        return MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)

    def _for_each_items(self, node: Node, path: tuple[Any, ...]) -> list[dict[str, str]]:
        """The items of a for_each list as name -> text; [] (no DAGs) after a problem."""
        node = self._copy(node, {}, path)
        expected = "a list of mappings from names to plain values, e.g. - {table: orders}"
        if not isinstance(node, SequenceNode):
            self.problem(node, path, "invalid for_each", expected, _kind_of_node(node))
            return []
        items: list[dict[str, str]] = []
        ok = True
        for n, item in enumerate(node.value):
            if not isinstance(item, MappingNode):
                self.problem(
                    item, (*path, n), "invalid for_each item", expected, _kind_of_node(item)
                )
                ok = False
                continue
            values: dict[str, str] = {}
            for k, v in item.value:
                name = k.value if isinstance(k, ScalarNode) else None
                if name is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    self.problem(
                        k,
                        (*path, n),
                        "invalid for_each name",
                        "a name of letters, digits and '_' (not starting with a digit)",
                        repr(name) if name is not None else _kind_of_node(k),
                    )
                    ok = False
                elif not isinstance(v, ScalarNode) or v.tag == NULL_TAG:
                    self.problem(
                        v,
                        (*path, n, name),
                        f"invalid for_each value for {name!r}",
                        "a plain value (text, number or true/false)",
                        _kind_of_node(v),
                    )
                    ok = False
                else:
                    values[name] = v.value
            items.append(values)
        return items if ok else []

    def _copy(
        self,
        node: Node,
        values: dict[str, str],
        path: tuple[Any, ...],
        *,
        skip: Node | None = None,
    ) -> Node:
        self._count += 1
        if self._count > MAX_NODES:
            raise _TooLarge
        if isinstance(node, ScalarNode):
            text, tag = self._substitute(node, values, path)
            return ScalarNode(tag, text, node.start_mark, node.end_mark, node.style)
        if id(node) in self._stack:
            raise _Recursive(node)
        self._stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                items = [self._copy(item, values, (*path, n)) for n, item in enumerate(node.value)]
                return SequenceNode(
                    node.tag, items, node.start_mark, node.end_mark, node.flow_style
                )
            assert isinstance(node, MappingNode)
            pairs = []
            for k, v in node.value:
                if k is skip:
                    continue
                new_key = self._copy(k, values, path)
                name = new_key.value if isinstance(new_key, ScalarNode) else "?"
                pairs.append((new_key, self._copy(v, values, (*path, name))))
            return MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)
        finally:
            self._stack.discard(id(node))

    def _substitute(
        self, node: ScalarNode, values: dict[str, str], path: tuple[Any, ...]
    ) -> tuple[str, str]:
        text = node.value
        if "${" not in text:
            return text, node.tag
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group() == "$${":
                return "${"
            name = match["name"]
            if name in values:
                return values[name]
            if name in self.environ:
                return self.environ[name]
            if match["default"] is not None:
                return match["default"]
            missing.append(name)
            return match.group()

        new = _VARIABLE.sub(replace, text)
        for name in missing:
            expected = "a set environment variable, or a default: ${" + name + ":-default}"
            if values:
                expected = f"a for_each value ({', '.join(values)}) or " + expected
            self.problem(node, path, f"variable {name!r} is not set", expected, f"'${{{name}}}'")
        tag = node.tag
        # A plain scalar whose type came from its text gets the type of the new text, so
        # that "retries: ${RETRIES:-2}" is a number.
        if node.style is None and tag == self._resolve(text):
            tag = self._resolve(new)
        return new, tag

    def _resolve(self, text: str) -> str:
        """The tag YAML gives a plain scalar of this text."""
        return str(self.loader.resolve(ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]

    # -- values ------------------------------------------------------------------------

    def construct(self, node: Node, path: tuple[Any, ...] = ()) -> Any:
        """The Python value of a node tree; mapping keys are always text."""
        if isinstance(node, MappingNode):
            try:
                self.loader.flatten_mapping(node)  # "<<: *defaults" merge keys
            except yaml.YAMLError as exc:
                self.problem(node, path, f"invalid merge key: {_yaml_reason(exc)}")
                return {}
            result: dict[str, Any] = {}
            for k, v in node.value:
                if not isinstance(k, ScalarNode):
                    self.problem(k, path, "invalid key", "plain text", _kind_of_node(k))
                    continue
                result[k.value] = self.construct(v, (*path, k.value))
            return result
        if isinstance(node, SequenceNode):
            return [self.construct(item, (*path, n)) for n, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            reason = _yaml_reason(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
            self.problem(
                node,
                path,
                f"cannot read the value: {reason}",
                "a value of the kind its text or tag says",
                repr(node.value),
            )
            return None


_VARIABLE = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class _Recursive(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _TooLarge(Exception):
    pass


def _entry(node: Node, key: str) -> tuple[Node, Node] | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return k, v
    return None


def _kind_of_node(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "null"
    return repr(node.value)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        return str(exc.problem or exc.context)
    return str(exc)
