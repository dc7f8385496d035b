"""Encryption at rest for connection secrets and variables: Fernet, keyed by ``fernet_key``.

The key comes from the ``fernet_key`` setting; when it is not configured, a key is generated
once and kept in ``$CONVEYOR_HOME/fernet.key`` (mode 0600). Several comma-separated keys
rotate: the first encrypts, any of them decrypts. A value that none of the keys decrypts is
reported with what it was and how to fix it, never silently dropped.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.keyfiles import create_key_file
from conveyor.private_files import private_dir

KEY_FILE_NAME = "fernet.key"


def _key_file_value(home: Path) -> str:
    path = home / KEY_FILE_NAME
    if not path.exists():
        private_dir(home)
        # Atomic and never replacing: two processes starting at once agree on one key.
        create_key_file(path, Fernet.generate_key().decode() + "\n")
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _fernet(keys: str, origin: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"setting 'fernet_key' (from {origin}): not a Fernet key ({exc}); generate one "
            "with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from None


def cipher(settings: Settings) -> MultiFernet:
    """The configured key, or the one kept under home (created on first use)."""
    if settings.fernet_key:
        return _fernet(settings.fernet_key, "the configuration")
    path = settings.home / KEY_FILE_NAME
    return _fernet(_key_file_value(settings.home), str(path))


def encrypt(settings: Settings, value: str) -> str:
    return cipher(settings).encrypt(value.encode()).decode()


def decrypt(settings: Settings, token: str, what: str) -> str:
    """Decrypt ``token``; ``what`` names the value for the error ("connection 'db' password")."""
    try:
        return cipher(settings).decrypt(token.encode()).decode()
    except InvalidToken:
        origin = "setting fernet_key" if settings.fernet_key else str(settings.home / KEY_FILE_NAME)
        raise ConfigError(
            f"{what} cannot be decrypted with the Fernet key from {origin}: it was stored "
            "under another key. Set fernet_key (CONVEYOR_FERNET_KEY) to the key it was written "
            "with (list the old key after the new one to rotate), or store the value again"
        ) from None
