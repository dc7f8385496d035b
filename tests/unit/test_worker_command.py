"""``conveyor worker`` builds Celery's worker from the command's options without Celery's own
command line, which would load every installed Celery plugin (Flower and Tornado, the amqp
shell) into each worker."""

from __future__ import annotations

import textwrap
from pathlib import Path

from cli_processes import run_script_fresh

#: Runs ``conveyor worker`` in a fresh interpreter with Celery's ``WorkController.start``
#: replaced by one that writes what the worker was built with, and the modules imported by
#: then, to argv[1]; no broker is reached.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from celery.worker.worker import WorkController
    from click.testing import CliRunner
    from conveyor.cli.main import cli

    def start(worker):
        found = {
            "hostname": worker.hostname,
            "concurrency": worker.concurrency,
            "queues": sorted(worker.app.amqp.queues.consume_from),
            "pool": worker.pool_cls.__module__,
            "quiet_peers": [worker.options.get(k) for k in ("without_mingle", "without_gossip")],
            "modules": sorted(sys.modules),
        }
        with open(sys.argv[1], "w") as out:
            json.dump(found, out)

    WorkController.start = start
    args = ["worker", "-q", "etl, default", "-c", "3", "-n", "w1@test"]
    result = CliRunner().invoke(cli, args, prog_name="conveyor")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    """
)


def test_the_worker_is_built_from_its_options_without_celerys_plugins(tmp_path: Path) -> None:
    # The broker's address is never dialled: the worker is built, not started.
    found = run_script_fresh(tmp_path, SCRIPT, CONVEYOR_BROKER_URL="redis://127.0.0.1:1/0")
    assert found["hostname"] == "w1@test"
    assert found["concurrency"] == 3
    assert found["queues"] == ["default", "etl"]
    assert found["pool"] == "celery.concurrency.prefork"
    # Mingle and gossip are off: a worker does not wait on its peers as it starts.
    assert found["quiet_peers"] == [True, True]
    modules = set(found["modules"])
    assert "celery.bin.celery" not in modules
    assert not {m for m in modules if m == "flower" or m.startswith(("flower.", "tornado"))}
