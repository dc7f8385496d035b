"""Helpers of Airflow's core that DAG files, tasks and provider packages call, each doing
what Airflow's does: ``mask_secret`` and ``redact`` (on Conveyor's log masking),
``timeout``, ``poke_mode_only``, ``Stats`` (on Conveyor's StatsD / OpenTelemetry sinks),
``add_deprecated_classes`` (the moved-name modules provider packages declare) and the hook
lineage collector provider hooks report to.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any, TypeVar

from conveyor.connections import masking
from conveyor.exceptions import AirflowTaskTimeout
from conveyor.stats import emit

__all__ = [
    "DeprecatedImportWarning",
    "HookLineage",
    "NoOpCollector",
    "Stats",
    "add_deprecated_classes",
    "get_hook_lineage_collector",
    "mask_secret",
    "poke_mode_only",
    "redact",
    "timeout",
]

T = TypeVar("T")
_log = logging.getLogger("airflow.task")


def mask_secret(secret: Any, name: str | None = None) -> None:
    """Write ``secret`` as ``***`` in this try's log from now on. A dict masks the values
    under secret-looking keys (``password``, ``api_key``...), a list or tuple each item; a
    string given with a ``name`` is masked only when the name looks secret, as in Airflow."""
    if isinstance(secret, Mapping):
        for key, value in secret.items():
            mask_secret(value, str(key))
    elif isinstance(secret, str):
        if secret and (name is None or masking.looks_secret(name)):
            masking.register(secret)
    elif isinstance(secret, Iterable):
        for item in secret:
            mask_secret(item, name)


def redact(value: Any, name: str | None = None, max_depth: int | None = None) -> Any:
    """``value`` with the secrets registered so far, and whatever sits under a secret-looking
    key, written as ``***``; everything in it when ``name`` itself looks secret. Conveyor's
    masking walks every depth, so ``max_depth`` (where Airflow's stops looking) masks no
    less: deeper secrets are masked here too."""
    if name is not None and masking.looks_secret(name) and value not in (None, ""):
        return _all_masked(value)
    return masking.redact_value(masking.mask_nested(value))


def _all_masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _all_masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_all_masked(item) for item in value]
    return masking.MASK if isinstance(value, str) else value


class timeout:  # Airflow's name: ``with timeout(...)``
    """Raise ``AirflowTaskTimeout(error_message)`` in the block once ``seconds`` have passed.
    A timer signal, so only in a process's main thread: elsewhere the block runs without a
    limit, with a warning, as Airflow's does. A timer already running (the try's
    ``execution_timeout``) keeps its deadline: it fires inside the block if it comes first,
    and is set again for the time it has left after the block."""

    def __init__(self, seconds: float = 1, error_message: str = "Timeout") -> None:
        self.seconds = seconds
        self.error_message = f"{error_message}, PID: {os.getpid()}"
        self._previous: Any = None
        self._armed = False
        self._deadline = 0.0
        self._outer_deadline: float | None = None

    def handle_timeout(self, signum: int, frame: Any) -> None:
        if self._outer_deadline is not None and time.monotonic() < self._deadline:
            if callable(self._previous):  # the outer timer's turn
                self._previous(signum, frame)
            return
        _log.error("Process timed out, PID: %s", os.getpid())
        raise AirflowTaskTimeout(self.error_message)

    def __enter__(self) -> timeout:
        try:
            self._previous = signal.signal(signal.SIGALRM, self.handle_timeout)
        except (AttributeError, ValueError):
            _log.warning("timeout() needs the main thread: the block runs without a time limit")
            return self
        now = time.monotonic()
        outer, _interval = signal.getitimer(signal.ITIMER_REAL)
        self._outer_deadline = now + outer if outer > 0 else None
        self._deadline = now + self.seconds
        signal.setitimer(signal.ITIMER_REAL, min(self.seconds, outer or self.seconds))
        self._armed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)
        self._armed = False
        if self._outer_deadline is not None:
            left = self._outer_deadline - time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def poke_mode_only(cls: type[T]) -> type[T]:
    """A sensor class that only pokes, as Airflow's decorator makes it: its ``mode`` is
    ``"poke"``, and setting another (when the sensor is built, or later on it) raises
    ValueError."""

    def mode(self: Any) -> str:
        return "poke"

    def set_mode(self: Any, value: str) -> None:
        if value != "poke":
            raise ValueError(f"cannot set mode to {value!r}: {cls.__name__} is a poke-only sensor")

    cls.mode = property(mode, set_mode)  # type: ignore[attr-defined]
    return cls


class _Timer:
    """``Stats.timer``: times its block (or ``start``/``stop``), sent as a timing."""

    def __init__(self, stat: str | None, tags: Mapping[str, str]) -> None:
        self.stat, self.tags = stat, tags
        self.duration: float | None = None
        self._started: float | None = None

    def start(self) -> _Timer:
        self._started = time.perf_counter()
        return self

    def stop(self, send: bool = True) -> None:
        if self._started is None:
            return
        self.duration = (time.perf_counter() - self._started) * 1000
        if send and self.stat:
            emit.timing(self.stat, self.duration, self.tags)

    def __enter__(self) -> _Timer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Stats:
    """Airflow's ``Stats``: a task's own metrics, sent with Airflow's prefix and tags to
    whatever ``[metrics]`` turns on (StatsD, DogStatsD, OpenTelemetry), else nowhere. Every
    value is sent whatever the sample ``rate`` (the totals a StatsD server counts are the
    same); a relative gauge (``delta=True``) is refused."""

    @staticmethod
    def incr(
        stat: str, count: int = 1, rate: float = 1, *, tags: Mapping[str, str] | None = None
    ) -> None:
        emit.incr(stat, tags or {}, count)

    @staticmethod
    def decr(
        stat: str, count: int = 1, rate: float = 1, *, tags: Mapping[str, str] | None = None
    ) -> None:
        emit.incr(stat, tags or {}, -count)

    @staticmethod
    def gauge(
        stat: str,
        value: float,
        rate: float = 1,
        delta: bool = False,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if delta:
            raise ValueError(
                f"Stats.gauge({stat!r}, delta=True): Conveyor's metric sinks take a gauge's "
                "whole value; send the new value instead"
            )
        emit.gauge(stat, value, tags or {})

    @staticmethod
    def timing(stat: str, dt: float | timedelta, *, tags: Mapping[str, str] | None = None) -> None:
        milliseconds = dt.total_seconds() * 1000 if isinstance(dt, timedelta) else dt
        emit.timing(stat, milliseconds, tags or {})

    @staticmethod
    def timer(
        stat: str | None = None, *args: Any, tags: Mapping[str, str] | None = None, **_: Any
    ) -> _Timer:
        return _Timer(stat, tags or {})


class DeprecatedImportWarning(FutureWarning):
    """A name imported from the module it moved away from."""


def _moved_name(
    imports: Mapping[str, str],
    module: str,
    overrides: Mapping[str, str],
    extra: str,
    template: str,
    name: str,
) -> Any:
    target = imports.get(name)
    if target is None and "*" in imports and not (name.startswith("__") and name.endswith("__")):
        target = f"{imports['*']}.{name}"
    if target is None:
        raise AttributeError(f"The module `{module!r}` has no attribute `{name!r}`")
    shown = overrides.get(name, target)
    if template:
        message = template.format(module=module, name=name, target=shown)
    else:
        message = f"The `{module}.{name}` attribute is deprecated. Please use `{shown!r}`."
        message += f" {extra}." if extra else ""
    warnings.warn(message, DeprecatedImportWarning, stacklevel=2)
    where, _, attribute = target.rpartition(".")
    try:
        return getattr(importlib.import_module(where), attribute)
    except ImportError as exc:
        raise ImportError(
            f"Could not import `{target}` while trying to import `{module}.{name}`."
            + (f" {extra}." if extra else "")
        ) from exc


def add_deprecated_classes(
    module_imports: Mapping[str, Mapping[str, str]],
    package: str,
    override_deprecated_classes: Mapping[str, Mapping[str, str]] | None = None,
    extra_message: str | None = None,
    message: str | None = None,
) -> None:
    """Make the old homes of moved names importable, each access warning and giving the
    name from its new home: ``{"old_module": {"Name": "new.module.Name"}}`` (``"*"`` for
    every name) makes ``package.old_module``; the key ``package`` itself adds the names to
    the package's own module."""
    overrides = override_deprecated_classes or {}
    for module_name, imports in module_imports.items():
        full_name = package if module_name == package else f"{package}.{module_name}"
        lookup = functools.partial(
            _moved_name,
            imports,
            full_name,
            overrides.get(module_name, {}),
            extra_message or "",
            message or "",
        )
        if module_name == package:
            if package not in sys.modules:
                raise ValueError(f"Module {package} not found in sys.modules")
            sys.modules[package].__getattr__ = lookup  # type: ignore[method-assign]
        else:
            module = ModuleType(full_name)
            module.__getattr__ = lookup  # type: ignore[method-assign]
            sys.modules.setdefault(full_name, module)


@dataclass
class HookLineage:
    """What hooks reported reading and writing during a try."""

    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    extra: list[Any] = field(default_factory=list)


class NoOpCollector:
    """Where provider hooks report the assets they read and write (``add_input_asset``...).
    Airflow keeps these only for a plugin's ``hook_lineage_readers``, which Conveyor does not
    load, and otherwise answers with this same do-nothing collector."""

    def add_input_asset(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_output_asset(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_extra(self, *args: Any, **kwargs: Any) -> None:
        return None

    @property
    def collected_assets(self) -> HookLineage:
        return HookLineage()

    @property
    def has_collected(self) -> bool:
        return False


_COLLECTOR = NoOpCollector()


def get_hook_lineage_collector() -> NoOpCollector:
    """The process's hook lineage collector."""
    return _COLLECTOR
