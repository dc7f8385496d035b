"""The table of every route of Airflow's public API, as Markdown, for docs/api.md: served,
served with a difference (which), or answered 501.

It is made from what is true, not written by hand: the routes of Airflow's spec
(:data:`unserved.AIRFLOW_ROUTES`, checked against the published spec by a test), the
``/api/v2`` application's own OpenAPI document (a route there is served) and the difference
each route declares (``differences.differs``). A route no router
serves is answered 501 by the catch-all; :data:`NOT_SERVED_WHY` says why where it helps.

``python -m conveyor.web.airflow_api.route_table --write`` puts the table into docs/api.md
between its ``<!-- generated: airflow-routes -->`` markers; a test checks the page holds
exactly this text.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from conveyor.web.airflow_api.differences import DIFFERENCE

START, END = "<!-- generated: airflow-routes -->", "<!-- end generated: airflow-routes -->"

#: Why a whole group of Airflow's routes answers 501, by the path's first segment (or the
#: path itself); what to use instead where Conveyor has it.
NOT_SERVED_WHY: dict[str, str] = {}


def _served_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path under /api/v2) -> the operation of the served application's document."""
    from conveyor.web.airflow_api import AIRFLOW_API_PREFIX, airflow_api

    document = airflow_api(SimpleNamespace()).openapi()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found[(method.upper(), path.removeprefix(AIRFLOW_API_PREFIX))] = operation
    return found


def _why_not(method: str, path: str) -> str:
    return NOT_SERVED_WHY.get(f"{method} {path}") or NOT_SERVED_WHY.get(path, "")


def _cell(text: str) -> str:
    # "***" (a masked value) would read as emphasis in Markdown.
    return text.replace("|", "\\|").replace("\n", " ").replace("***", "`***`")


def render_table() -> str:
    """One row per route of Airflow's spec, in path order."""
    from conveyor.web.airflow_api.unserved import AIRFLOW_ROUTES

    served = _served_operations()
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
    lines = ["| method | path | Conveyor |", "|---|---|---|"]
    for method, path in sorted(AIRFLOW_ROUTES, key=lambda r: (r[1], order.get(r[0], 9))):
        operation = served.get((method, path))
        if operation is None:
            why = _why_not(method, path)
            status = f"501: {why}" if why else "501"
        else:
            status = _served_status(operation)
        lines.append(f"| {method} | `/api/v2{path}` | {_cell(status)} |")
    counts = _counts(lines[2:])
    summary = (
        f"{counts['served']} routes served, {counts['difference']} served with a difference, "
        f"{counts['501']} answered 501, of {len(lines) - 2} in Airflow's spec."
    )
    return "\n".join([summary, "", *lines]) + "\n"


def _served_status(operation: dict[str, Any]) -> str:
    if operation.get(DIFFERENCE):
        return "served, with a difference: " + str(operation[DIFFERENCE])
    return "served"


def _counts(rows: list[str]) -> dict[str, int]:
    found = {"served": 0, "difference": 0, "501": 0}
    for row in rows:
        if "| 501" in row:
            found["501"] += 1
        elif "with a difference" in row:
            found["difference"] += 1
        else:
            found["served"] += 1
    return found


def write(doc: Path) -> None:
    """Replace the generated table of ``doc`` with the current one."""
    text = doc.read_text()
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{doc}: no {START} ... {END} markers to write between")
    doc.write_text(pattern.sub(lambda _m: f"{START}\n{render_table()}{END}", text))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"]:
        target = Path(argv[1]) if len(argv) > 1 else Path("docs/api.md")
        write(target)
        return 0
    sys.stdout.write(render_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
