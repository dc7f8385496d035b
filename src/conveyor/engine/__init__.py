"""The engine core: the moves of a run between the store and the three engines.

"A try started" (``tries.start_try``), "a try ended" (``tries.try_ended`` /
``tries.end_from_outside``: the try's process reports facts, ``report``, and the engine
decides the outcome, each entry point one ordered list of rules, ``policy``), "advance a run"
(``progress.advance_run`` and ``progress.plan_whole_run``, on a run whose row the caller
locked) and the kept try (``kept``) live here, once, for the worker, the local executor and
the scheduler alike, and so do a person's clear and mark (``manual``, ``bulk_manual``) for
the web UI, the APIs and the CLI alike; what may be queued is ``admission``'s pure decision.
``scheduler/`` holds the loop, ``worker/`` runs user code and ``executors/`` handle processes
and the broker. No SQL here: reads and writes are named store functions.
"""
