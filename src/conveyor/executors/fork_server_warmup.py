"""Imported by the fork server alone, last of its preloads: what it does once so that every
process it forks starts warm. Importing this module anywhere else does that work there.

- The hop, rehearsed on a throwaway SQLite store (:mod:`conveyor.worker.rehearsal`): a
  runner's first hop no longer compiles its statements while it holds SQLite's write lock,
  and the SQLite engine code (URL parsing, dialect set-up) is warm.
- A PostgreSQL store built (never connected) where its driver is preloaded, so a child makes
  its own in about 2 ms instead of 5.
- What all that made, frozen out of the garbage collector's reach (:func:`gc.freeze`): see
  :func:`conveyor.gc_tuning.freeze_what_was_loaded`.
"""

import sys

from conveyor.gc_tuning import freeze_what_was_loaded
from conveyor.store.engine import Store
from conveyor.worker.rehearsal import rehearse_hop

rehearse_hop()
if "psycopg" in sys.modules:
    Store("postgresql://warm@localhost/warm").dispose()
freeze_what_was_loaded()
