"""The table of supported Airflow modules and names, as Markdown, for docs/airflow.md.

``python -m conveyor.airflow_compat.docs`` prints it; a test checks that docs/airflow.md holds
exactly this text, so the page and the mapping cannot drift apart.
"""

from __future__ import annotations

from conveyor.airflow_compat.table import INSTEAD, MODULES


def _target(target: str) -> str:
    module, _, name = target.partition(":")
    return f"{module}.{name}"


def render_table() -> str:
    """One row per Airflow module: each name with the Conveyor object it stands for."""
    lines = ["| Airflow module | names → Conveyor |", "|---|---|"]
    for module in sorted(MODULES):
        names = MODULES[module]
        if not names:
            continue
        cells = "<br>".join(f"`{n}` → `{_target(t)}`" for n, t in sorted(names.items()))
        lines.append(f"| `{module}` | {cells} |")
    return "\n".join(lines) + "\n"


def render_instead() -> str:
    """The Airflow names Conveyor does not provide, with what to write instead."""
    lines = ["| Airflow name | write instead |", "|---|---|"]
    lines.extend(f"| `{name}` | {hint} |" for name, hint in sorted(INSTEAD.items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    print(render_table())
    print(render_instead())
