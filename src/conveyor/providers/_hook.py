"""``ProviderHook``: what every provider hook has, as Airflow's ``BaseHook`` gives its hooks.

Four class attributes say which keyword names the hook's connection, the id used when none
is given, the connection type and the hook's display name: Airflow code and ``registry.py``
read them (``SSHHook.default_conn_name``), so each hook sets its own, as one ``HookNames``
record in ``names`` that ``ProviderHook`` spreads into those four attributes.
``get_connection`` reads Conveyor's connection, and ``log`` is the hook's logger.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, ClassVar, NamedTuple

from conveyor.connections import Connection, get_connection


class HookNames(NamedTuple):
    """A hook's four names, which its class gets as attributes of the same names."""

    #: The keyword naming the hook's connection (``"ssh_conn_id"``).
    conn_name_attr: str
    #: The connection id used when none is given (``"ssh_default"``).
    default_conn_name: str
    #: The connection type the hook serves (``"ssh"``).
    conn_type: str
    #: The hook's display name (``"SSH"``).
    hook_name: str


class ProviderHook:
    """The base of the provider hooks (``SSHHook``, ``S3Hook``, ``SlackHook``, ...)."""

    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    #: Set by each hook class; a subclass without its own keeps its parent's names.
    names: ClassVar[HookNames]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = cls.__dict__.get("names")
        # A DAG file's own subclass may use ``names`` for something else: left alone.
        if isinstance(names, HookNames):
            for attribute, value in names._asdict().items():
                setattr(cls, attribute, value)

    @staticmethod
    def get_connection(conn_id: str) -> Connection:
        """Conveyor's connection of that id (the environment's, else the store's)."""
        return get_connection(conn_id)

    @functools.cached_property
    def log(self) -> logging.Logger:
        """The hook's logger, named as Airflow names a hook's
        (``airflow.task.hooks.<module>.<class>``): what it says shows in the try's log, as
        there (records of ``conveyor.*`` loggers stay in the process's log)."""
        cls = type(self)
        return logging.getLogger(f"airflow.task.hooks.{cls.__module__}.{cls.__name__}")
