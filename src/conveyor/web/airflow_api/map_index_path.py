"""A task instance's map index in a path (``.../taskInstances/{task_id}/{map_index}``): a
whole number, negative too (``-1`` is an unmapped task's instance, as Airflow reads it).

Starlette's own ``int`` takes digits only, so ``.../extract/-1`` fell through to the
catch-all. A route declares ``{map_index:map_index}``; the convertor is registered once, on
import, before any route is built (common.py imports this module).
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

#: The convertor's name in a route's path.
NAME = "map_index"


class MapIndexConvertor(Convertor[int]):
    regex = "-?[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor(NAME, MapIndexConvertor())
