"""The throwaway provider's hook: it answers the connection Test with its host."""

from __future__ import annotations

from typing import Any

from conveyor.connections import Connection
from conveyor.model.task import BaseOperator
from conveyor.providers._hook import HookNames, ProviderHook


class ThrowawayHook(ProviderHook):
    names = HookNames("throwaway_conn_id", "throwaway_default", "throwaway", "Throwaway")

    def __init__(self, throwaway_conn_id: str = "throwaway_default") -> None:
        self.throwaway_conn_id = throwaway_conn_id

    def test_connection(self) -> tuple[bool, str]:
        conn: Connection = self.get_connection(self.throwaway_conn_id)
        return True, f"reached {conn.host}"


class ThrowawayOperator(BaseOperator):
    def execute(self, context: Any) -> None:
        return None
