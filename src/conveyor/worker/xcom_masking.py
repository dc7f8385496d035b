"""What readers see of an XCom value: the value with the secrets its try read masked.

A task that returns a secret it read (a token, a password) hands it on to downstream tasks
as it is; the XCom view, the API and the CLI read the masked copy made here, in the try,
while the try still knows which secrets it read (the store never learns them).
"""

from __future__ import annotations

from typing import Any

from conveyor.connections import masking


def shown_xcom(value: Any) -> Any:
    """The masked copy of ``value``, or None when masking changes nothing in it."""
    shown = masking.redact_value(value)
    return None if shown == value else shown
