"""Every row of docs/airflow.md's tables is measured by the differential suite, or says why not.

``coverage.json`` maps each table's rows (by section heading, then the row's first cell as the
page writes it) to ``{"dags": [DAG ids]}``, the suite's recorded DAGs that measure it, or to
``{"not_measured": reason}``, where the reason is the bold lead of a bullet of the page's
"Differences the differential suite does not run" section (a row ``airflow dags test`` cannot
show: a schedule, a cluster, the web UI, a service, a setting of the installation ...).

``python tests/differential/update_coverage.py`` brings the file up to date (the module
rows from what the suite's files import; every other entry is kept as written).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "airflow.md"
COVERAGE = HERE / "coverage.json"
EXPECTED = HERE / "expected"

#: The rows of "Supported modules and names" whose every name maps into
#: ``conveyor.providers`` are checked under a section of their own (the ``names_prov_*``
#: and ``a2_names_prov_*`` DAGs measure them).
MODULE_ROWS_OF_PROVIDERS = "Supported modules and names: provider modules"
NOT_RUN_SECTION = "Differences the differential suite does not run"


def table_rows(text: str) -> list[tuple[str, str, list[str]]]:
    """(section, first cell, other cells) of every body row of every table, outside code
    blocks; the section is the nearest heading above the table."""
    rows: list[tuple[str, str, list[str]]] = []
    section = ""
    fenced = False
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            continue
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set(cells[0]) <= set("-: "):
            continue  # the separator under a header
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if following.startswith("|") and set(following) <= set("|-: "):
            continue  # a header row
        rows.append((section, cells[0], cells[1:]))
    return rows


def _section_of(section: str, first: str, rest: list[str]) -> str:
    """The section a row is checked under: a module row whose every name is a provider's
    counts as ``MODULE_ROWS_OF_PROVIDERS``."""
    if section == "Supported modules and names" and first.startswith("`airflow"):
        targets = re.findall(r"→ `([^`]+)`", " ".join(rest))
        if targets and all(t.startswith("conveyor.providers.") for t in targets):
            return MODULE_ROWS_OF_PROVIDERS
    return section


def _reasons(text: str) -> set[str]:
    """The bold leads of the bullets of the section listing what the suite does not run."""
    part = text.split(f"\n## {NOT_RUN_SECTION}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- \*\*(.+?)\*\*", part, flags=re.MULTILINE))


def _recorded() -> set[str]:
    return {p.stem for p in EXPECTED.glob("airflow-*/[!_]*.json")}


def _rows_to_check(text: str) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for section, first, rest in table_rows(text):
        wanted.setdefault(_section_of(section, first, rest), set()).add(first)
    return wanted


def test_table_rows_are_found() -> None:
    """The parser sees the page's tables (a page without them would pass the rest)."""
    wanted = _rows_to_check(DOCS.read_text())
    assert "`airflow.operators.bash`" in wanted["Supported modules and names"]
    assert "`[core] dags_folder`" in wanted["Configuration, settings and version"]
    assert "key" not in wanted.get("Plugins", set())  # a header row is no row


def test_every_row_has_an_entry() -> None:
    coverage = json.loads(COVERAGE.read_text())
    missing = [
        f"{section}: {row}"
        for section, rows in sorted(_rows_to_check(DOCS.read_text()).items())
        for row in sorted(rows)
        if row not in coverage.get(section, {})
    ]
    assert not missing, "rows of docs/airflow.md without an entry in coverage.json:\n" + "\n".join(
        missing
    )


def test_every_entry_names_a_row_that_exists() -> None:
    coverage = json.loads(COVERAGE.read_text())
    wanted = _rows_to_check(DOCS.read_text())
    stale = [
        f"{section}: {row}"
        for section, rows in sorted(coverage.items())
        for row in sorted(rows)
        if row not in wanted.get(section, set())
    ]
    assert not stale, "coverage.json names rows docs/airflow.md no longer has:\n" + "\n".join(stale)


def test_every_entry_is_measured_or_says_why_not() -> None:
    text = DOCS.read_text()
    reasons = _reasons(text)
    recorded = _recorded()
    wrong = []
    for section, rows in sorted(json.loads(COVERAGE.read_text()).items()):
        for row, entry in sorted(rows.items()):
            where = f"{section}: {row}"
            if set(entry) == {"dags"} and entry["dags"]:
                unknown = [d for d in entry["dags"] if d not in recorded]
                wrong += [f"{where} names {d}, which has no recording" for d in unknown]
            elif set(entry) == {"not_measured"}:
                if entry["not_measured"] not in reasons:
                    why = entry["not_measured"]
                    wrong.append(f"{where}: {why!r} is no reason of {NOT_RUN_SECTION!r}")
            else:
                wrong.append(f"{where}: {entry} is neither dags nor not_measured")
    assert not wrong, "\n".join(wrong)
