"""OpenLineage events of DAG runs and task instances, as Airflow's openlineage provider sends
them (docs/lineage.md).

``start(settings, store)`` is called where a process starts its listeners (the scheduler, a
try's process, a Celery pool process): when the settings say where events go, it registers
:class:`~conveyor.lineage.listener.OpenLineageListener` in the process's listener manager,
with an emitter whose thread sends the events. The tasks' events come from the try's
process; a DAG run's from the process that moved the run (the scheduler starts a run; the
try whose record ends it ends it, after the try's own event). Without the ``lineage`` extra
installed, a process that is told to send events says so once and sends none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from conveyor._processes import preload_also
from conveyor.airflow_compat import listeners
from conveyor.config import Settings
from conveyor.install_hint import pip_install
from conveyor.lineage.settings import LineageSettings, client_config, read
from conveyor.store.engine import Store

if TYPE_CHECKING:
    from conveyor.lineage.listener import OpenLineageListener

log = logging.getLogger(__name__)

_started: OpenLineageListener | None = None  # this process's listener, once started


def start(settings: Settings, store: Store | None = None) -> bool:
    """Register the OpenLineage listener when lineage is on; True when it is."""
    global _started
    lineage = read(settings)
    if not lineage.enabled:
        return False
    manager = listeners.get_listener_manager()
    if _started is not None:
        if _started.emitter.alive() and manager.pm.is_registered(_started):
            _started.store = store or _started.store
            return True
        manager.remove_listener(_started)  # a forked parent's, or one a test let go
    try:
        from openlineage.client import set_producer

        from conveyor.lineage import events
        from conveyor.lineage.emitter import Emitter, at_exit
        from conveyor.lineage.listener import OpenLineageListener
    except ImportError as exc:
        log.warning(
            "OpenLineage is configured but its client is not installed (%s): no events are "
            "sent; %s",
            exc,
            pip_install("lineage"),
        )
        return False
    # Each try's runner sends events: its fork server imports the client once for all.
    preload_also("conveyor.lineage.listener", "conveyor.lineage.client")
    set_producer(events.PRODUCER)
    emitter = Emitter(lambda: make_client(lineage), lineage.queue_size, lineage.execution_timeout)
    at_exit(emitter)
    _started = OpenLineageListener(lineage, emitter, store)
    manager.add_listener(_started)
    return True


def make_client(lineage: LineageSettings) -> Any:
    """The OpenLineage client the settings describe."""
    from conveyor.lineage import client

    return client.make(client_config(lineage))


def stop() -> None:
    """Unregister this process's listener and send what it queued (tests; a process's end
    does this by itself)."""
    global _started
    if _started is None:
        return
    listeners.get_listener_manager().remove_listener(_started)
    _started.emitter.close()
    _started = None
