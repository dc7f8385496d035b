"""``ProviderHook``: what every provider hook has, as Airflow's ``BaseHook`` gives its hooks.

Four class attributes say which keyword names the hook's connection, the id used when none
is given, the connection type and the hook's display name: Airflow code and ``registry.py``
read them (``SSHHook.default_conn_name``), so each hook sets its own.
``get_connection`` reads Conveyor's connection, and ``log`` is the hook's logger.
"""

from __future__ import annotations

import functools
import logging
from typing import ClassVar

from conveyor.connections import Connection, get_connection


class ProviderHook:
    """The base of the provider hooks (``SSHHook``, ``S3Hook``, ``SlackHook``, ...)."""

    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]

    @staticmethod
    def get_connection(conn_id: str) -> Connection:
        """Conveyor's connection of that id (the environment's, else the store's)."""
        return get_connection(conn_id)

    @functools.cached_property
    def log(self) -> logging.Logger:
        """The hook's logger: ``conveyor.providers.<class name>``."""
        return logging.getLogger(f"conveyor.providers.{type(self).__name__}")
