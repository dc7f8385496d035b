"""The CLI's output forms and its handler of missing extras, as pure code."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from conveyor.cli import output
from conveyor.cli.extras import extra_for
from conveyor.cli.main import cli
from conveyor.install_hint import pip_install
from conveyor.web import schemas

LONG = "x" * 150 + "_the_end"


def test_plain_is_tab_separated_and_escapes_what_would_break_a_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    output.write_rows(
        "plain",
        ["id", "note", "when", "paused", "none"],
        [["a", "tab\there\nnew line \\ end", at, True, None]],
    )
    header, line = capsys.readouterr().out.splitlines()
    assert header == "id\tnote\twhen\tpaused\tnone"
    assert line.split("\t") == [
        "a",
        "tab\\there\\nnew line \\\\ end",
        "2026-01-02T03:04:05+00:00",
        "true",
        "",
    ]


def test_a_table_folds_a_long_id_instead_of_cutting_it(monkeypatch: pytest.MonkeyPatch) -> None:
    narrow = Console(width=40, file=io.StringIO(), force_terminal=True, color_system=None)
    monkeypatch.setattr(output, "console", narrow)
    output.write_rows("table", ["dag", "state"], [[LONG, "success"]])
    text = narrow.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in text
    assert LONG in "".join(line.split()[0] for line in text.splitlines()[1:] if line.strip())


def test_json_uses_the_api_field_names(capsys: pytest.CaptureFixture[str]) -> None:
    info = schemas.ConnectionInfo(
        conn_id="db",
        conn_type="postgresql",
        host="h",
        port=None,
        login=None,
        password="***",
        schema="sales",
        extra={},
        description=None,
        uri="postgresql://h/sales",
    )
    assert output.write_data("json", info)
    assert json.loads(capsys.readouterr().out)["schema"] == "sales"  # the alias, as the API
    assert not output.write_data("plain", info)


def test_extra_for_names_the_extra_of_optional_packages_only() -> None:
    assert extra_for("celery") == "celery"
    assert extra_for("kombu.exceptions") == "celery"
    assert extra_for("obstore") == "s3"
    assert extra_for("botocore.exceptions") == "amazon"
    assert extra_for("celery", "flower") == "flower"
    assert extra_for("pendulum") is None
    assert extra_for(None) is None


@pytest.fixture
def failing_command() -> Iterator[dict[str, str]]:
    """A command added to the real tree for the test, raising the module error asked for."""
    missing: dict[str, str] = {}

    @click.command("needs-something")
    def needs_something() -> None:
        raise ModuleNotFoundError(f"No module named {missing['name']!r}", name=missing["name"])

    cli.add_command(needs_something)
    yield missing
    del cli.commands["needs-something"]


def test_a_missing_extra_is_one_line_and_exit_1(failing_command: dict[str, str]) -> None:
    failing_command["name"] = "obstore"
    result = CliRunner().invoke(cli, ["needs-something"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: cli needs-something needs the Python package 'obstore', which is not "
        f"installed: {pip_install('s3')}"
    )


def test_any_other_missing_module_keeps_its_traceback(failing_command: dict[str, str]) -> None:
    failing_command["name"] = "pendulum"
    result = CliRunner().invoke(cli, ["needs-something"])
    assert isinstance(result.exception, ModuleNotFoundError)
    assert result.exception.name == "pendulum"
