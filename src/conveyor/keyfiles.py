"""Key files generated on first use (the session key, the Fernet key): written atomically.

A key file appears whole or not at all: the key goes to a private temporary file (mode 0600)
in the same folder, which is then linked into place. Unlike a rename, a link never replaces
a file, so when two processes start at once both end up using the key that was linked
first, and neither can ever read a half-written or empty key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def create_key_file(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` (mode 0600) unless the file exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process was first: its key is the one
        except OSError:  # a file system without hard links: replace, still atomic
            if not path.exists():
                os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
