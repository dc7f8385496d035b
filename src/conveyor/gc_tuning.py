"""Keeping the garbage collector off what a worker process inherits.

A runner or a Celery pool process starts as a fork of a parent that imported Conveyor,
SQLAlchemy and the drivers: about 110,000 objects the cyclic garbage collector tracks. Each
full collection in the child walks every one of them, about 60 ms on a 2-core machine, and
one falls inside a try every so often: a chain of three tasks took 110 to 140 ms instead of
20, a hop stalled for a tenth of a second. Walking them also writes to each object's
header, so the child copies the parent's memory pages it had shared.

Those objects live as long as the process does. Frozen (:func:`gc.freeze`), they are never
walked again; what the child makes itself is collected as before.
"""

import gc


def freeze_what_was_loaded() -> None:
    """Move every object tracked now into the collector's permanent generation.

    Called where a process has imported and warmed what it keeps for its life, before it
    forks or in a child just forked. Garbage already unreachable then is frozen with the
    rest (a leak the size of one collection's leftovers, once per process), so call it at
    start-up only, never per try.
    """
    gc.freeze()
