"""Bring ``coverage.json`` up to date with docs/airflow.md's tables and the suite's files.

    python tests/differential/update_coverage.py

A row of "Supported modules and names" (its provider modules' rows too) is measured by every
recorded DAG whose file imports from its module (or probes it: a ``names_*`` file's
``MODULES``); one no DAG measures is an "instead" row (Airflow internals) or a module neither
recorded Airflow has. Every other
entry is kept as written; a new row of another table gets its section's reason when
``SECTION_REASONS`` has one, else ``"?"``, which test_coverage.py refuses until someone
writes the DAGs or the reason. Entries of rows that are gone are dropped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import test_coverage  # noqa: E402  (the parser and the rows the test checks)

SECTION_REASONS = {
    "Configuration, settings and version": "A setting of the installation",
    "Plugins": "The plugins folder",
    "Listeners": "The plugins folder",
    "Whole folders, beside Airflow": "A census of real folders",
    "Installing Airflow's own provider package": "A census of real folders",
    "Airflow's own examples": "A census of real folders",
    "Providers Conveyor does not ship": "A provider Conveyor does not ship",
    "Deadline alerts": "What only Airflow's scheduler or a person does",
    "Switching a running Airflow": "An Airflow database",
}
MODULES_SECTION = "Supported modules and names"
_IMPORTS = (
    r"^\s*from (airflow[\w.]*) import",
    r"^\s*import (airflow[\w.]*)",
    r'^\s*"(airflow[\w.]*)": \[',  # a probe's MODULES
)


def _measuring_dags() -> dict[str, set[str]]:
    """Module -> the recorded DAGs of the files that import from it."""
    files: dict[str, list[str] | None] = {}
    for recorded in (HERE / "expected").glob("airflow-*/_files.json"):
        files.update(json.loads(recorded.read_text()))
    recorded_ids = test_coverage._recorded()
    uses: dict[str, set[str]] = {}
    for file, ids in files.items():
        if not ids or not (HERE / "dags" / file).exists():
            continue
        source = (HERE / "dags" / file).read_text()
        modules = {m for pattern in _IMPORTS for m in re.findall(pattern, source, re.M)}
        for module in modules:
            uses.setdefault(module, set()).update(i for i in ids if i in recorded_ids)
    return uses


def updated(text: str, old: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    uses = _measuring_dags()
    instead = {
        first for _, first, rest in test_coverage.table_rows(text) if rest and "→" not in rest[0]
    }
    coverage: dict[str, dict[str, Any]] = {}
    for section, rows in sorted(test_coverage._rows_to_check(text).items()):
        for row in sorted(rows):
            entry = old.get(section, {}).get(row)
            if section in (MODULES_SECTION, test_coverage.MODULE_ROWS_OF_PROVIDERS):
                dags = sorted(uses.get(row.strip("`"), ()))
                if dags:
                    entry = {"dags": dags}
                elif row in instead:
                    entry = {"not_measured": "Airflow internals"}
                else:
                    entry = {"not_measured": "Names neither recorded Airflow has"}
            elif entry is None:
                entry = {"not_measured": SECTION_REASONS.get(section, "?")}
            coverage.setdefault(section, {})[row] = entry
    return dict(sorted(coverage.items()))


def main() -> None:
    old = json.loads(test_coverage.COVERAGE.read_text()) if test_coverage.COVERAGE.exists() else {}
    new = updated(test_coverage.DOCS.read_text(), old)
    text = json.dumps(new, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    test_coverage.COVERAGE.write_text(text)


if __name__ == "__main__":
    main()
