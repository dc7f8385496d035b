"""Short names of the task states, for the tables of states that planning tests write.

Imported as ``state_letters`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from conveyor.states import TaskState

S = TaskState.SUCCESS
F = TaskState.FAILED
SK = TaskState.SKIPPED
UF = TaskState.UPSTREAM_FAILED
R = TaskState.RUNNING
N = TaskState.NONE
