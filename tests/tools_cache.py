"""Where the tests keep what they download or build once per machine, not once per checkout:
the folder ``scripts/services.sh`` installs its tools into (``_tools_dir``), so a fresh clone
(CI's) reuses what an earlier run on the same machine fetched.

Imported as ``tools_cache`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

import os
from pathlib import Path


def tools_dir() -> Path:
    """``$CONVEYOR_TEST_TOOLS``, else ``$XDG_CACHE_HOME/conveyor-test-tools`` (``~/.cache``)."""
    given = os.environ.get("CONVEYOR_TEST_TOOLS")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "conveyor-test-tools"
