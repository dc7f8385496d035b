"""Imported by the fork server alone, last of its preloads: what it does once so that every
process it forks starts warm. Importing this module anywhere else does that work there.

- The hop, rehearsed on a throwaway SQLite store (:mod:`conveyor.worker.rehearsal`): a
  runner's first hop no longer compiles its statements while it holds SQLite's write lock,
  and the SQLite engine code (URL parsing, dialect set-up) is warm.
- A PostgreSQL store built (never connected) where its driver is preloaded, so a child makes
  its own in about 2 ms instead of 5.
- The real paths of the folders its modules came from
  (:func:`conveyor.loading.shipping.remember_module_folders`): a parse child resolves only
  those of the modules its DAG file loads.
- Everything it made, frozen (:func:`gc.freeze`): about 110,000 objects that live as long as
  each child does. Otherwise every full collection in a child walked them all (about 60 ms on
  a 2-core machine, now and then inside a try) and wrote to each one's header, unsharing the
  pages the child had shared with this process.
"""

import gc
import sys

from conveyor.loading.shipping import remember_module_folders
from conveyor.store.engine import Store
from conveyor.worker.rehearsal import rehearse_hop

rehearse_hop()
if "psycopg" in sys.modules:
    Store("postgresql://warm@localhost/warm").dispose()
remember_module_folders()
gc.freeze()  # last: nothing made after it is left out
