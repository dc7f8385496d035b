"""Imported by the fork server alone, last of its preloads: what it does once so that every
process it forks starts warm. Importing this module anywhere else does that work there.

- The hop, rehearsed on a throwaway store (:mod:`conveyor.worker.rehearsal`): a runner's
  first hop no longer compiles its statements while it holds SQLite's write lock.
"""

from conveyor.worker.rehearsal import rehearse_hop

rehearse_hop()
