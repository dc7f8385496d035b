"""Airflow 3's ``@asset`` and ``@asset.multi``: a function that is a one-task DAG.

    @asset(schedule="@daily")
    def raw_orders():             # DAG "raw_orders", task "raw_orders", outlet raw_orders
        ...

    @asset(schedule=raw_orders)
    def order_totals(raw_orders, self, context):   # runs after raw_orders is updated
        ...

The decorated name is the asset (an :class:`~conveyor.model.assets.Asset`, usable in
``schedule=`` and ``outlets=``). The function's parameters without a default are filled as
Airflow fills them: ``self`` is the asset, ``context`` the task's context, any other name
the asset of that name, which is also an inlet of the task (``inlet_events`` reads it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from typing import Any

from conveyor.airflow_compat.shims import SdkDAG, dag_kwargs
from conveyor.exceptions import DagDefinitionError
from conveyor.model.assets import Asset
from conveyor.model.datasets import AssetAll, as_outlets
from conveyor.operators.python import PythonOperator

_RESERVED = ("self", "context")


def _asked(function: Callable[..., Any]) -> list[str]:
    """The parameters to fill: those without a default; a wildcard is refused."""
    names = []
    for name, param in inspect.signature(function).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise DagDefinitionError(
                f"@asset {function.__name__!r}: *{name} / **{name} cannot be filled; name "
                "each asset the function reads, or take context"
            )
        if param.default is inspect.Parameter.empty:
            names.append(name)
    return names


class AssetTask(PythonOperator):
    """The task of an ``@asset`` function: its parameters filled as the module says."""

    def __init__(self, *, definition: Asset | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition

    def execute(self, context: dict[str, Any]) -> Any:
        given: dict[str, Any] = {}
        for name in _asked(self.python_callable):
            if name == "self":
                given[name] = self.definition
            elif name == "context":
                given[name] = context
            else:
                given[name] = Asset.ref(name=name)
        self.op_kwargs = given
        self.op_args = []
        return super().execute({k: v for k, v in context.items() if k not in given})


def _make_dag(
    function: Callable[..., Any],
    options: dict[str, Any],
    outlets: list[Any],
    definition: Asset | None,
) -> None:
    options = dict(options)  # a copy: the decorator may be applied to several functions
    dag_id = options.pop("dag_id", None) or function.__name__
    options.pop("watchers", None)
    kwargs = dag_kwargs(dag_id, {"catchup": False, **options}, None)
    inlets = [Asset.ref(name=n) for n in _asked(function) if n not in _RESERVED]
    with SdkDAG(dag_id, **kwargs):
        AssetTask(
            task_id=function.__name__,
            python_callable=function,
            outlets=outlets,
            inlets=inlets,
            definition=definition,
        )


class _AssetDefinition(Asset):
    """What ``@asset`` turns a function into: the asset, with its DAG made."""


class _MultiAssetDefinition(AssetAll):
    """What ``@asset.multi`` turns a function into: all of its outlets, as a condition."""


class asset:
    """``@asset(schedule=..., name=, uri=, group=, extra=, dag_id=, tags=, ...)``."""

    def __init__(
        self,
        *,
        schedule: Any,
        name: str | None = None,
        uri: Any = None,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
        **dag_options: Any,
    ) -> None:
        self.name = name
        self.uri = uri
        self.group = group
        self.extra = extra
        # The options of the DAG made for the function: its schedule with the others.
        self.dag_options = {"schedule": schedule, **dag_options}

    def __call__(self, function: Callable[..., Any]) -> Asset:
        name = self.name or function.__name__
        uri = name if self.uri is None else str(self.uri)
        made = _AssetDefinition(name=name, uri=uri, group=self.group, extra=self.extra)
        _make_dag(function, self.dag_options, [made], made)
        return made

    class multi:
        """``@asset.multi(schedule=..., outlets=[...])``: one task updating several assets."""

        def __init__(self, *, schedule: Any, outlets: Collection[Any], **dag_options: Any):
            self.outlets = as_outlets(list(outlets or []), "@asset.multi outlets")
            if not self.outlets:
                raise DagDefinitionError("@asset.multi needs outlets=[...] naming its assets")
            self.dag_options = {"schedule": schedule, **dag_options}

        def __call__(self, function: Callable[..., Any]) -> AssetAll:
            _make_dag(function, self.dag_options, list(self.outlets), None)
            return _MultiAssetDefinition(*self.outlets)
