"""Airflow's secrets in clear text, with Airflow's Fernet key.

Airflow encrypts a connection's password and extra and a variable's value with
``[core] fernet_key`` (several keys, comma-separated, rotate: any of them decrypts), and
marks each row ``is_encrypted``; a row stored while Airflow had no key is clear text.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from conveyor.exceptions import ConfigError

#: Where Airflow takes its key from, and so where the import looks when none is given.
AIRFLOW_KEY_VARIABLE = "AIRFLOW__CORE__FERNET_KEY"


class AirflowSecrets:
    """Decrypts Airflow's values; a value none of the keys opens is None, and the caller
    names it."""

    def __init__(self, keys: str | None) -> None:
        given = keys if keys is not None else os.environ.get(AIRFLOW_KEY_VARIABLE, "")
        parts = [k.strip() for k in given.split(",") if k.strip()]
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts]) if parts else None
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"--fernet-key: not a Fernet key ({exc})") from None

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    def reveal(self, value: str | None, encrypted: bool) -> str | None:
        """The clear text of a stored value; None when it is encrypted and no key opens it."""
        if value is None or not encrypted:
            return value
        if self._fernet is None:
            return None
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except (InvalidToken, UnicodeDecodeError):
            return None
