"""``XComArg``: the value a task will return, passed to another task before it exists.

Passing one to an operator (or a ``@task`` function) adds the dependency; at run time the
worker replaces it with the upstream task's stored value.

``numbers.map(f)``, ``a.zip(b, fillvalue=None)`` and ``a.concat(b)`` are lists made from
such values: each element transformed by ``f`` (in the downstream try, element by element,
only those it reads), the lists taken index by index, or one after the other. Each can be
expanded over (``task.expand(x=numbers.map(f))``) or passed whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.model.dependencies import DependencyMixin, DependencyTarget

if TYPE_CHECKING:
    from conveyor.model.task import BaseOperator

RETURN_VALUE = "return_value"


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


#: ``zip()`` without ``fillvalue``: as long as the shortest list.
NOTSET: Any = _NotSet()


class XComArg(DependencyMixin):
    def __init__(self, operator: BaseOperator, key: str = RETURN_VALUE) -> None:
        self._operator = operator
        self.key = key

    @property
    def operator(self) -> BaseOperator:
        return self._operator

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        return [self._operator]

    # -- the task's setup / teardown role, as on the task itself ---------------------------

    def as_setup(self) -> XComArg:
        self._operator.as_setup()
        return self

    def as_teardown(
        self,
        *,
        setups: DependencyTarget | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> XComArg:
        self._operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self) -> XComArg:
        self._operator.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._operator.__exit__(*exc)

    def __getitem__(self, key: str) -> XComArg:
        """``extract()["rows"]``: the XCom pushed under another key."""
        return XComArg(self._operator, key)

    def references(self) -> list[XComArg]:
        """The plain task outputs this value is made of (its dependencies)."""
        return [self]

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        """The value at run time; ``pull(task_id, key)`` reads an upstream XCom. A mapped
        or zipped value is a sequence whose elements are made as they are read."""
        return _pull_plain(self, pull)

    def map(self, function: Callable[[Any], Any]) -> MapXComArg:
        """The list of ``function(element)`` for each element of this value."""
        self._check_return_value("map")
        return MapXComArg(self, [function])

    def zip(self, *others: XComArg, fillvalue: Any = NOTSET) -> ZipXComArg:
        """Tuples of the elements at each index of this value and ``others``: as long as the
        shortest, or with ``fillvalue`` for the missing ones, as long as the longest."""
        self._check_return_value("zip")
        return ZipXComArg([self, *others], fillvalue=fillvalue)

    def concat(self, *others: XComArg) -> ConcatXComArg:
        """This value's elements, then those of ``others``, as one list."""
        self._check_return_value("concat")
        return ConcatXComArg([self, *others])

    def _check_return_value(self, what: str) -> None:
        if self.key != RETURN_VALUE:
            raise DagDefinitionError(
                f"cannot {what}() the XCom {self.key!r} of task {self._operator.task_id!r}: "
                "only a task's return value can be mapped over"
            )

    def __repr__(self) -> str:
        return f"XComArg({self._operator.task_id!r}, key={self.key!r})"

    def __str__(self) -> str:
        """The Jinja expression that pulls the value, so ``f"echo {arg}"`` works in templates."""
        return (
            f"{{{{ task_instance.xcom_pull(task_ids={self._operator.task_id!r}, "
            f"key={self.key!r}) }}}}"
        )


class MapXComArg(XComArg):
    """``arg.map(f)``: each element of ``arg``'s value through ``f`` (and the next maps)."""

    def __init__(self, arg: XComArg, callables: list[Callable[[Any], Any]]) -> None:
        for function in callables:
            if not callable(function) or isinstance(function, XComArg):
                raise DagDefinitionError(f"map() takes a plain function, got {function!r}")
            if hasattr(function, "function") and hasattr(function, "override"):
                raise DagDefinitionError(
                    f"map() takes a plain function, not the @task {function!r}: a task cannot "
                    "run inside another's expansion"
                )
        ref = arg.references()[0]
        super().__init__(ref.operator, ref.key)
        self.arg = arg
        self.callables = callables

    def references(self) -> list[XComArg]:
        return self.arg.references()

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        return [ref.operator for ref in self.references()]

    def map(self, function: Callable[[Any], Any]) -> MapXComArg:
        return MapXComArg(self.arg, [*self.callables, function])

    def zip(self, *others: XComArg, fillvalue: Any = NOTSET) -> ZipXComArg:
        return ZipXComArg([self, *others], fillvalue=fillvalue)

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        value = self.arg.resolve(pull)
        if not isinstance(value, Sequence | dict) or isinstance(value, str | bytes):
            raise TaskError(
                f"map() of task {self.operator.task_id!r}'s value needs a list or a dict, "
                f"got {type(value).__name__}"
            )
        return MappedValues(value, self.callables)

    def __getitem__(self, key: str) -> XComArg:
        raise DagDefinitionError(f"{self!r}[{key!r}]: a mapped value has no other XCom keys")

    def __repr__(self) -> str:
        names = "".join(f".map({getattr(f, '__name__', repr(f))})" for f in self.callables)
        return f"{self.arg!r}{names}"

    __str__ = __repr__


def _first_output(method: str, args: list[XComArg]) -> XComArg:
    """The first task output of ``zip()`` / ``concat()``'s arguments, each checked to be one."""
    for arg in args:
        if not isinstance(arg, XComArg):
            raise DagDefinitionError(
                f"{method}() takes the outputs of tasks, got {type(arg).__name__} {arg!r}"
            )
    return args[0].references()[0]


class _JoinedXComArg(XComArg):
    """The values of several tasks made into one list (``zip()``, ``concat()``)."""

    #: The method that makes it, named in errors.
    _method: ClassVar[str]

    def __init__(self, args: list[XComArg]) -> None:
        ref = _first_output(self._method, args)
        super().__init__(ref.operator, ref.key)
        self.args = args

    def references(self) -> list[XComArg]:
        return [ref for arg in self.args for ref in arg.references()]

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        return [ref.operator for ref in self.references()]

    def map(self, function: Callable[[Any], Any]) -> MapXComArg:
        return MapXComArg(self, [function])

    def _values(self, pull: Callable[[str, str], Any]) -> list[Any]:
        """Each argument's value, each checked to be a list or a dict."""
        values = [arg.resolve(pull) for arg in self.args]
        for value in values:
            if not isinstance(value, Sequence | dict) or isinstance(value, str | bytes):
                raise TaskError(
                    f"{self._method}() needs lists or dicts, got {type(value).__name__}"
                )
        return values


class ZipXComArg(_JoinedXComArg):
    """``a.zip(b, ...)``: the values of several tasks, taken index by index."""

    _method = "zip"

    def __init__(self, args: list[XComArg], *, fillvalue: Any = NOTSET) -> None:
        super().__init__(args)
        self.fillvalue = fillvalue

    @property
    def filled(self) -> bool:
        """Given a ``fillvalue``: as long as the longest list."""
        return self.fillvalue is not NOTSET

    def zip(self, *others: XComArg, fillvalue: Any = NOTSET) -> ZipXComArg:
        return ZipXComArg([self, *others], fillvalue=fillvalue)

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        return ZippedValues(self._values(pull), self.fillvalue)

    def __getitem__(self, key: str) -> XComArg:
        raise DagDefinitionError(f"{self!r}[{key!r}]: a zipped value has no other XCom keys")

    def __repr__(self) -> str:
        first, *rest = (repr(arg) for arg in self.args)
        fill = f", fillvalue={self.fillvalue!r}" if self.filled else ""
        return f"{first}.zip({', '.join(rest)}{fill})"

    __str__ = __repr__


class ConcatXComArg(_JoinedXComArg):
    """``a.concat(b, ...)``: the values of several tasks, one after the other."""

    _method = "concat"

    def concat(self, *others: XComArg) -> ConcatXComArg:
        return ConcatXComArg([*self.args, *others])

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        return ConcatenatedValues(self._values(pull))

    def __getitem__(self, key: str) -> XComArg:
        raise DagDefinitionError(f"{self!r}[{key!r}]: a joined value has no other XCom keys")

    def __repr__(self) -> str:
        first, *rest = (repr(arg) for arg in self.args)
        return f"{first}.concat({', '.join(rest)})"

    __str__ = __repr__


class LazyValues(Sequence[Any]):
    """A list made from task outputs at run time; an element is made when it is read."""

    def _element(self, index: int) -> Any:  # pragma: no cover - each kind has its own
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._element(i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._element(index)

    def __iter__(self) -> Iterator[Any]:
        return (self._element(i) for i in range(len(self)))


class ConcatenatedValues(LazyValues):
    """The value of ``a.concat(b)``: the elements of each value in turn."""

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def _element(self, index: int) -> Any:
        for value in self._values:
            if index < len(value):
                return value[index] if isinstance(value, Sequence) else list(value)[index]
            index -= len(value)
        raise IndexError(index)  # pragma: no cover - __getitem__ checked the length

    def __len__(self) -> int:
        return sum(len(value) for value in self._values)


class MappedValues(LazyValues):
    """The value of ``arg.map(f)``: each element through the functions, when it is read."""

    def __init__(self, value: Sequence[Any] | dict[Any, Any], callables: list[Callable[..., Any]]):
        self._value = value
        self._callables = callables

    def _element(self, index: int) -> Any:
        value = self._value[index]  # a dict: the value of that key, as in Airflow
        for function in self._callables:
            value = function(value)
        return value

    def __len__(self) -> int:
        return len(self._value)


class ZippedValues(LazyValues):
    """The value of ``a.zip(b)``: tuples of the elements at each index."""

    def __init__(self, values: list[Any], fillvalue: Any) -> None:
        self._values = values
        self._fillvalue = fillvalue

    def _element(self, index: int) -> Any:
        return tuple(self._at(value, index) for value in self._values)

    def _at(self, value: Any, index: int) -> Any:
        try:
            return value[index]
        except (IndexError, KeyError):
            return self._fillvalue

    def __len__(self) -> int:
        lengths = [len(value) for value in self._values]
        return max(lengths) if self._fillvalue is not NOTSET else min(lengths)


def pull_xcom_arg(arg: XComArg, pull: Callable[[str, str], Any]) -> Any:
    """The value ``arg`` stands for (a mapped or zipped value: the list it makes)."""
    resolved = arg.resolve(pull)
    return list(resolved) if isinstance(resolved, LazyValues) else resolved


def _pull_plain(arg: XComArg, pull: Callable[[str, str], Any]) -> Any:
    """A task's output. ``result["key"]`` is the XCom pushed under that key, or else that
    key of the dict the task returned; neither is an error, never a silent None."""
    task_id = arg.operator.task_id
    value = pull(task_id, arg.key)
    if value is not None or arg.key == RETURN_VALUE:
        return value
    returned = pull(task_id, RETURN_VALUE)
    if isinstance(returned, dict) and arg.key in returned:
        return returned[arg.key]
    what = (
        f"returned a dict without that key (keys: {sorted(returned)})"
        if isinstance(returned, dict)
        else f"returned {type(returned).__name__}, not a dict"
    )
    raise TaskError(f"task {task_id!r} pushed no XCom {arg.key!r} and {what}")


def find_xcom_args(value: Any) -> list[XComArg]:
    """Every task output nested in a value made of lists, tuples and dicts (those a mapped
    or zipped value is made of)."""
    if isinstance(value, XComArg):
        return value.references()
    if isinstance(value, list | tuple | set):
        return [arg for item in value for arg in find_xcom_args(item)]
    if isinstance(value, dict):
        return [arg for item in value.values() for arg in find_xcom_args(item)]
    return []


def resolve_xcom_args(value: Any, pull: Callable[[str, str], Any]) -> Any:
    """Replace each XComArg in a value by ``pull(task_id, key)`` (a mapped or zipped value
    by the list it makes)."""
    if isinstance(value, XComArg):
        return pull_xcom_arg(value, pull)
    if isinstance(value, list):
        return [resolve_xcom_args(item, pull) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve_xcom_args(item, pull) for item in value)
    if isinstance(value, dict):
        return {k: resolve_xcom_args(v, pull) for k, v in value.items()}
    return value
