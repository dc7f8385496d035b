"""The per-provider table of docs/airflow.md: each provider Conveyor ships, name by name.

``python -m conveyor.airflow_compat.docs_providers --write`` puts it into docs/airflow.md
(between the ``<!-- generated: providers -->`` markers); a test checks that the page holds
exactly this text. The rows come from the compat table (``table_providers.py``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conveyor.airflow_compat.table import MODULES
from conveyor.airflow_compat.table_providers import EXTRAS, PROVIDERS


def _target(target: str) -> str:
    module, _, name = target.partition(":")
    return f"{module}.{name}"


def render_providers() -> str:
    """Each provider Conveyor ships, name by name: the Conveyor object, every Airflow path
    it is imported from (the provider's own and older core ones), and the extra to install."""
    lines = ["| provider | name → Conveyor | imported from |", "|---|---|---|"]
    for provider, modules in PROVIDERS.items():
        extra = EXTRAS.get(provider)
        label = f"`{provider}`<br>" + (f"`conveyor[{extra}]`" if extra else "(plain install)")
        targets = sorted({t for m in modules for t in MODULES[m].values()})
        for target in targets:
            spellings = sorted(
                f"`{module}.{name}`"
                for module, mapped in MODULES.items()
                for name, found in mapped.items()
                if found == target
            )
            names = sorted({n for m in modules for n, t in MODULES[m].items() if t == target})
            row = f"`{'`, `'.join(names)}` → `{_target(target)}`"
            lines.append(f"| {label} | {row} | {'<br>'.join(spellings)} |")
            label = ""
    return "\n".join(lines) + "\n"


def write(doc: Path) -> None:
    """Replace the generated providers table of ``doc`` with the current one."""
    text = doc.read_text()
    pattern = re.compile(
        r"(<!-- generated: providers -->\n).*?(<!-- end: providers -->)", re.DOTALL
    )
    found = pattern.search(text)
    if found is None:
        raise SystemExit(f"{doc}: no <!-- generated: providers --> marker")
    table = render_providers()
    doc.write_text(text[: found.start(1)] + found[1] + table + found[2] + text[found.end(2) :])


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    if sys.argv[1:] == ["--write"]:
        write(Path(__file__).resolve().parents[3] / "docs" / "airflow.md")
    else:
        print(render_providers())
