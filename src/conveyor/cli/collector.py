"""The garbage collector while a command line loads.

A read command imports about 500 modules before it does its work. What they make (classes,
functions, SQLAlchemy's and pydantic's structures) lives as long as the process, yet the
collector walks it again on each of its many passes as it piles up: a fifth of a read's
CPU time (bench/README.md, "cli_reads.py"). So the collector is off while the command line
loads and, once the command's module is in, what was made so far is frozen (never walked
again, by a collection or by the interpreter's teardown) and the collector runs again, for
the command's own work: a scheduler or a web server collects as ever.
"""

from __future__ import annotations

import gc

#: Whether :func:`pause` turned the collector off (and :func:`resume` must turn it on).
_paused = False


def pause() -> None:
    """No collection until :func:`resume` (unless someone else had turned it off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what the loading made and collect again; a no-op unless :func:`pause` turned
    the collector off."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
