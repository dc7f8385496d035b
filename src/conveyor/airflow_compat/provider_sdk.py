"""The base classes Airflow's provider packages build on, where Conveyor had none of its own:
``BaseNotifier`` (every provider's notifier: apprise's, pagerduty's, opsgenie's...) and the
hook base with Airflow's constructor and logger (``RedisHook().log``).

An installed provider package (``installed_providers``) subclasses these through
``airflow.sdk`` and ``airflow.providers.common.compat.sdk``; a team's own notifier does too.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.airflow_compat.shims import BaseHook as _ConnectionLookup
from conveyor.connections import Connection
from conveyor.model.templating import render_value

__all__ = ["BaseHook", "BaseNotifier", "ProviderConnection"]


class ProviderConnection(Connection):
    """A connection a hook may change, as Airflow's are (``conn.password = ...`` in the ftp
    provider's hook): a copy, so the one looked up (and cached) stays as it was."""

    __hash__ = object.__hash__

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)

    @classmethod
    def copy_of(cls, connection: Connection) -> ProviderConnection:
        values = {f.name: getattr(connection, f.name) for f in dataclasses.fields(connection)}
        return cls(**copy.deepcopy(values))

    def get_hook(self, *, hook_params: dict[str, Any] | None = None) -> Any:
        """The hook of this connection's type, made for its id (Airflow's ``get_hook``:
        ``BaseHook.get_connection("db").get_hook()`` is a ``PostgresHook`` for a postgres
        connection); a type no hook serves is refused, naming it."""
        from conveyor.providers.registry import hook_of  # the providers' hooks import this

        return hook_of(self, hook_params)


class BaseHook(_ConnectionLookup):
    """Airflow's hook base: ``get_connection`` (Conveyor's connections), a ``log`` named as
    Airflow names it, and the class attributes providers set (``conn_name_attr``...)."""

    conn_name_attr: ClassVar[str] = ""
    default_conn_name: ClassVar[str] = "default_conn_id"
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""

    @classmethod
    def get_connection(cls, conn_id: str) -> ProviderConnection:
        """Conveyor's connection of that id, as a copy the hook may change."""
        return ProviderConnection.copy_of(_ConnectionLookup.get_connection(conn_id))

    def __init__(self, logger_name: str | None = None) -> None:
        self._logger_name = logger_name

    @property
    def log(self) -> logging.Logger:
        cls = type(self)
        default = f"airflow.task.hooks.{cls.__module__}.{cls.__name__}"
        return logging.getLogger(getattr(self, "_logger_name", None) or default)

    @classmethod
    async def aget_connection(cls, conn_id: str) -> Connection:
        """The connection, for a hook's ``async`` methods (read off the event loop)."""
        import asyncio

        return await asyncio.to_thread(cls.get_connection, conn_id)

    def get_conn(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define get_conn()")


class BaseNotifier:
    """Airflow's notifier base: called with a callback's context, it renders its
    ``template_fields`` with that context (the attributes themselves, as Airflow does) and
    calls ``notify(context)``."""

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()

    def __init__(self, **kwargs: Any) -> None:
        if kwargs:  # Airflow 3.1's notifiers take their context keywords; Conveyor has none
            raise TypeError(
                f"{type(self).__name__} got keywords Conveyor's BaseNotifier does not take: "
                f'{", ".join(sorted(kwargs))} (docs/airflow.md, "Providers Conveyor does not ship")'
            )

    @property
    def log(self) -> logging.Logger:
        cls = type(self)
        return logging.getLogger(f"airflow.task.notifiers.{cls.__module__}.{cls.__name__}")

    def render_template_fields(self, context: dict[str, Any], jinja_env: Any = None) -> None:
        """Each of ``template_fields`` rendered with ``context``, in place."""
        for name in self.template_fields:
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, render_value(value, context, env=jinja_env))

    def notify(self, context: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define notify(context)")

    async def async_notify(self, context: dict[str, Any]) -> None:
        self.notify(context)

    def __call__(self, *args: Any) -> None:
        if len(args) != 1 or not isinstance(args[0], dict):
            raise TypeError(
                f"{type(self).__name__} is called with a callback's context (one dict); "
                "Airflow 2's SLA-miss arguments have no meaning on Conveyor"
            )
        context = args[0]
        self.render_template_fields(context)
        self.notify(context)
