"""The table of supported Airflow modules and names, as Markdown, for docs/airflow.md.

``python -m conveyor.airflow_compat.docs --write`` puts it into docs/airflow.md (between the
``<!-- generated: ... -->`` markers), with the per-provider table of ``docs_providers.py``;
a test checks that the page holds exactly this text, so the page and the mapping cannot
drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conveyor.airflow_compat.configuration import FIXED, SETTINGS
from conveyor.airflow_compat.docs_providers import dotted, render_providers
from conveyor.airflow_compat.table import INSTEAD, MODULES


def render_table() -> str:
    """One row per Airflow module: each name with the Conveyor object it stands for."""
    lines = ["| Airflow module | names → Conveyor |", "|---|---|"]
    for module in sorted(MODULES):
        names = MODULES[module]
        if not names:
            continue
        cells = "<br>".join(f"`{n}` → `{dotted(t)}`" for n, t in sorted(names.items()))
        lines.append(f"| `{module}` | {cells} |")
    return "\n".join(lines) + "\n"


def render_instead() -> str:
    """The Airflow names Conveyor does not provide, with what to write instead."""
    lines = ["| Airflow name | write instead |", "|---|---|"]
    lines.extend(f"| `{name}` | {hint} |" for name, hint in sorted(INSTEAD.items()))
    return "\n".join(lines) + "\n"


#: What a key read from a setting means otherwise than Airflow's, said beside it.
_SETTING_NOTES = {
    ("core", "executor"): " (as `LocalExecutor`, `CeleryExecutor`, `KubernetesExecutor` or "
    "`CeleryKubernetesExecutor`)",
    ("core", "parallelism"): ", counted across the store: Airflow counts it per scheduler, "
    "so with N schedulers give N times Airflow's value for the same room",
}


def render_configuration() -> str:
    """The Airflow configuration keys ``conf`` reads from Conveyor's settings."""
    lines = ["| Airflow key | Conveyor |", "|---|---|"]
    keys = sorted({**SETTINGS, **FIXED})
    for section, key in keys:
        if (section, key) in SETTINGS:
            what = f"the setting `{SETTINGS[(section, key)]}`"
            what += _SETTING_NOTES.get((section, key), "")
        else:
            value, why = FIXED[(section, key)]
            what = f"`{value}`: {why}"
        lines.append(f"| `[{section}] {key}` | {what} |")
    return "\n".join(lines) + "\n"


def write(doc: Path) -> None:
    """Replace the generated tables of ``doc`` with the current ones."""
    text = doc.read_text()
    generated = (
        ("modules", render_table()),
        ("instead", render_instead()),
        ("configuration", render_configuration()),
        ("providers", render_providers()),
    )
    for name, table in generated:
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.DOTALL)
        found = pattern.search(text)
        if found is None:
            raise SystemExit(f"{doc}: no <!-- generated: {name} --> marker")
        text = text[: found.start(1)] + found[1] + table + found[2] + text[found.end(2) :]
    doc.write_text(text)


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    if sys.argv[1:] == ["--write"]:
        write(Path(__file__).resolve().parents[3] / "docs" / "airflow.md")
    else:
        print(render_table())
        print(render_instead())
        print(render_configuration())
        print(render_providers())
