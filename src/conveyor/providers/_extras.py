"""A provider whose driver is not installed fails at import with one line naming the extra."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from conveyor.install_hint import pip_install


class MissingExtraError(ImportError):
    """A provider's library is not installed; the message names the extra that brings it."""


def require(module: str, extra: str, provider: str) -> None:
    """Fail now, naming ``conveyor[extra]``, when ``module`` cannot be imported."""
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        found = None
    if found is None:
        raise MissingExtraError(
            f"the {provider} provider needs the {module} library: {pip_install(extra)}",
            name=module,
        )


def load(module: str, extra: str, provider: str) -> ModuleType:
    """Import ``module``, or fail as :func:`require` does."""
    require(module, extra, provider)
    return importlib.import_module(module)
