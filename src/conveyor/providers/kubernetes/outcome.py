"""What an engine reports of a finished pod: the base container's exit code, the end of its
log, and the text of its XCom file."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

#: Lines of the container's log a failure's message ends with.
TAIL_LINES = 20


@dataclass
class PodOutcome:
    exit_code: int
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    #: The text of /airflow/xcom/return.json; None when the container wrote none.
    xcom: str | None = None
    #: Why the pod did not run to an exit code (an engine's own words), when it did not.
    reason: str | None = None
