"""``from conveyor.datasets import Dataset``: the name DAG files use for data-driven scheduling.

See :mod:`conveyor.model.datasets`; tasks update datasets through ``outlets=[...]`` and DAGs
run on them with ``schedule=[...]``.
"""

from conveyor.model.datasets import Dataset

__all__ = ["Dataset"]
