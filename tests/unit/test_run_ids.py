"""The run-id rule and the run-id-to-folder mapping (conveyor.run_ids)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.config import load_config
from conveyor.exceptions import DagDefinitionError
from conveyor.operators.trigger_dagrun import TriggerDagRunOperator
from conveyor.run_ids import MAX_LENGTH, InvalidRunId, check_run_id, folder_name
from conveyor.worker.runner import log_path_for


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("a\x00b", "U+0000"),
        ("line\nbreak", "U+000A"),
        ("tab\there", "U+0009"),
        ("del\x7f", "U+007F"),
        ("lone\ud800", "U+D800"),
        ("line\u2028separator", "the line separator U+2028 at position 4"),
        ("para\u2029graph", "the paragraph separator U+2029 at position 4"),
        ("right\u202eto-left", "the invisible formatting character U+202E at position 5"),
        ("zero\u200bwidth", "the invisible formatting character U+200B at position 4"),
        ("\ufeffbom", "the invisible formatting character U+FEFF at position 0"),
        ("soft\u00adhyphen", "U+00AD"),
        # Blank or invisible though neither control nor formatting characters: each made a
        # run id that reads as another.
        ("no\u00a0break", "the blank character U+00A0 at position 2"),
        ("ideographic\u3000space", "the blank character U+3000"),
        ("joiner\u034f", "the invisible character U+034F at position 6"),
        ("\u115ffiller", "the invisible character U+115F at position 0"),
        ("hangul\u3164filler", "the invisible character U+3164"),
        ("braille\u2800blank", "the invisible character U+2800"),
        ("variation\ufe0f", "the invisible character U+FE0F"),
        (".", "'.'"),
        ("..", "'..'"),
        ("a/b", "'/'"),
        ("../../etc", "'/'"),
        ("", "empty"),
        ("x" * (MAX_LENGTH + 1), "251 characters"),
    ],
)
def test_bad_run_ids_are_refused_naming_the_rule(bad: str, why: str) -> None:
    with pytest.raises(InvalidRunId, match="no control characters") as caught:
        check_run_id(bad)
    assert why in str(caught.value)


@pytest.mark.parametrize(
    "good", ["manual__2026-01-01T00:00:00+00:00", "a:b+c", "a_b_c", "...", "x" * MAX_LENGTH, "ü ✓"]
)
def test_ordinary_run_ids_pass(good: str) -> None:
    assert check_run_id(good) == good


def test_trigger_dagrun_refuses_a_bad_fixed_run_id_when_the_dag_is_defined() -> None:
    with pytest.raises(DagDefinitionError, match=r"trigger_run_id: it is '\.\.'"):
        TriggerDagRunOperator(task_id="t", trigger_dag_id="other", trigger_run_id="..")
    with pytest.raises(DagDefinitionError, match=r"trigger_run_id: it contains the invisible"):
        TriggerDagRunOperator(task_id="t", trigger_dag_id="other", trigger_run_id="a\u200bb")
    # A template is checked once rendered, when the task runs.
    TriggerDagRunOperator(task_id="t", trigger_dag_id="other", trigger_run_id="{{ run_id }}")


def test_run_ids_that_used_to_share_a_log_folder_no_longer_do(tmp_path: Path) -> None:
    settings = load_config({}, home=tmp_path).settings
    a = log_path_for(settings, "d", "a:b+c", "t", 1)
    b = log_path_for(settings, "d", "a_b_c", "t", 1)
    assert a != b
    assert a.parent.parent.name == "a%3Ab%2Bc" and b.parent.parent.name == "a_b_c"


@pytest.mark.parametrize(
    "run_id", ["..", ".", "", "../../../outside", "a/../../b", "/abs", "\x00", "é" * 250]
)
def test_no_run_id_leads_a_log_outside_its_dags_folder(tmp_path: Path, run_id: str) -> None:
    settings = load_config({}, home=tmp_path).settings
    path = log_path_for(settings, "d", run_id, "t", 1)
    dag_folder = (settings.logs_path / "d").resolve()
    assert path.resolve().parent.parent.parent == dag_folder
    assert folder_name(run_id) not in (".", "..") and "/" not in folder_name(run_id)


@given(st.text(max_size=300), st.text(max_size=300))
def test_folder_names_are_injective_and_fit_a_file_name(a: str, b: str) -> None:
    for name in (folder_name(a), folder_name(b)):
        assert len(name.encode()) <= 255 and name not in ("", ".", "..")
        assert "/" not in name and "\x00" not in name
    if a != b:
        assert folder_name(a) != folder_name(b)
