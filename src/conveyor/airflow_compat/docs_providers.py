"""The per-provider table of docs/airflow.md: each provider Conveyor ships, name by name.

``python -m conveyor.airflow_compat.docs --write`` puts it into docs/airflow.md (between the
``<!-- generated: providers -->`` markers) with the other generated tables; a test checks
that the page holds exactly this text. The rows come from each provider's own declaration
(``PROVIDER`` in its package): its names, the Conveyor objects and its extra.
"""

from __future__ import annotations

from conveyor.airflow_compat.table import MODULES
from conveyor.airflow_compat.table_providers import listed_providers
from conveyor.providers.declaration import Provider


def dotted(target: str) -> str:
    """``"module:name"`` as ``module.name``."""
    module, _, name = target.partition(":")
    return f"{module}.{name}"


def _spellings(target: str, modules: dict[str, dict[str, str]]) -> list[str]:
    return sorted(
        f"`{module}.{name}`"
        for module, mapped in modules.items()
        for name, found in mapped.items()
        if found == target
    )


def provider_lines(provider: Provider, modules: dict[str, dict[str, str]]) -> list[str]:
    """The rows of one provider: each Conveyor object, the provider's names for it, and
    every Airflow path ``modules`` (the compat table) imports it from."""
    label = f"`{provider.name}`<br>" + (
        f"`conveyor[{provider.extra}]`" if provider.extra else "(plain install)"
    )
    own = provider.airflow_modules
    lines = []
    for target in sorted({t for names in own.values() for t in names.values()}):
        names = sorted({n for mapped in own.values() for n, t in mapped.items() if t == target})
        row = f"`{'`, `'.join(names)}` → `{dotted(target)}`"
        lines.append(f"| {label} | {row} | {'<br>'.join(_spellings(target, modules))} |")
        label = ""
    return lines


def render_providers() -> str:
    """Each provider Conveyor ships, name by name: the Conveyor object, every Airflow path
    it is imported from (the provider's own and older core ones), and the extra to install."""
    lines = ["| provider | name → Conveyor | imported from |", "|---|---|---|"]
    for provider in listed_providers().values():
        lines.extend(provider_lines(provider, MODULES))
    return "\n".join(lines) + "\n"
