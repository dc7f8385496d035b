"""docs/airflow.md lists exactly what the mapping table maps, and every keyword it takes."""

from __future__ import annotations

from pathlib import Path

from conveyor.airflow_compat import table
from conveyor.airflow_compat.configuration import SETTINGS
from conveyor.airflow_compat.docs import render_configuration, render_instead, render_table
from conveyor.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "airflow.md"


def test_the_doc_holds_the_generated_tables() -> None:
    text = DOC.read_text()
    assert render_table() in text, "run: python -m conveyor.airflow_compat.docs"
    assert render_instead() in text
    assert render_configuration() in text


def test_every_configuration_key_reads_a_setting_conveyor_has() -> None:
    assert set(SETTINGS.values()) <= set(Settings.model_fields)


def test_the_doc_lists_every_mapped_module_name_and_keyword() -> None:
    text = DOC.read_text()
    for module, names in table.MODULES.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{module}` |"))
        for name in names:
            assert f"`{name}` →" in row, f"{module}.{name} is missing from docs/airflow.md"
    for keyword in [*table.ACCEPTED_KEYWORDS, *table.REFUSED_KEYWORDS]:
        assert f"`{keyword}" in text, f"keyword {keyword} is not explained in docs/airflow.md"
