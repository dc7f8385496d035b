"""The OpenLineage client Conveyor's emitter sends through: the official client, its
transport made lean where that sends the same request (:mod:`conveyor.lineage.http_transport`),
and the process's environment read only when the configuration asks for some of it.

The client looks through every variable of the environment for each event, to pick the ones
its ``facets.environment_variables`` names: with none named that finds nothing, costs the
sending thread a walk of ``os.environ`` an event, and races a try's end, which takes its
``AIRFLOW_CTX_*`` variables out meanwhile.
"""

from __future__ import annotations

from typing import Any

from openlineage.client import OpenLineageClient

from conveyor.lineage.http_transport import lean


class Client(OpenLineageClient):
    """:class:`OpenLineageClient`, with the environment walked only for variables named."""

    def _collect_environment_variables(self) -> dict[str, str]:
        if not self.config.facets.environment_variables:
            return {}
        found: dict[str, str] = super()._collect_environment_variables()
        return found


def make(config: dict[str, Any] | None) -> Client:
    """A client of ``config`` (the client's own configuration, None for its defaults: its
    file and variables)."""
    client = Client(config=config) if config else Client()
    client.transport = lean(client.transport)
    return client
