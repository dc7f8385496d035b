"""``OperatorLineage``: what an operator says it read and wrote, and the facets it adds to
its run and job (Airflow's ``airflow.providers.openlineage.extractors.OperatorLineage``).

Plain data: the datasets and facets are the OpenLineage client's own objects, which the
operator builds; this class only carries them to the event.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class OperatorLineage:
    """Inputs and outputs (``openlineage.client.event_v2.Dataset``), and facets by name."""

    inputs: list[Any] = dataclasses.field(default_factory=list)
    outputs: list[Any] = dataclasses.field(default_factory=list)
    run_facets: dict[str, Any] = dataclasses.field(default_factory=dict)
    job_facets: dict[str, Any] = dataclasses.field(default_factory=dict)

    def merge(self, other: OperatorLineage) -> OperatorLineage:
        """Both datasets lists; on a facet both name, this one's wins (as Airflow's)."""
        return OperatorLineage(
            inputs=[*self.inputs, *(other.inputs or [])],
            outputs=[*self.outputs, *(other.outputs or [])],
            run_facets={**(other.run_facets or {}), **self.run_facets},
            job_facets={**(other.job_facets or {}), **self.job_facets},
        )

    @classmethod
    def of(cls, found: Any) -> OperatorLineage:
        """An ``OperatorLineage`` from any object with its four attributes (a class of the
        same shape from another package, as Airflow accepts)."""
        if isinstance(found, cls):
            return found
        return cls(
            inputs=list(getattr(found, "inputs", None) or []),
            outputs=list(getattr(found, "outputs", None) or []),
            run_facets=dict(getattr(found, "run_facets", None) or {}),
            job_facets=dict(getattr(found, "job_facets", None) or {}),
        )
