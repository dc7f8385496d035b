"""The engine core: the moves of a run between the store and the three engines.

"A try ended" and "advance a run" live here, once, for the worker, the local executor and
the scheduler alike; ``scheduler/`` holds the loop, ``worker/`` runs user code and
``executors/`` handle processes and the broker.
"""
