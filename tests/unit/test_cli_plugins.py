"""``conveyor plugins``: the plugins folder as a process loads it at its start, each plugin
with what it declares, and the modules that failed to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = """
    from airflow.listeners import hookimpl
    from airflow.plugins_manager import AirflowPlugin


    def shout(text):
        return text.upper()


    class Recorder:
        @hookimpl
        def on_starting(self, component):
            pass


    class LoudPlugin(AirflowPlugin):
        name = "loud"
        macros = [shout]
        listeners = [Recorder()]
"""


def _plugins(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    environ["CONVEYOR_HOME"] = str(home)
    conveyor = Path(sys.executable).parent / "conveyor"
    return subprocess.run(
        [str(conveyor), "plugins", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_plugins_lists_each_plugin_and_the_modules_that_failed(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "plugins"
    folder.mkdir(parents=True)
    (folder / "loud_plugin.py").write_text(textwrap.dedent(PLUGIN))
    (folder / "broken.py").write_text("import a_module_nobody_installed\n")
    (folder / "refused.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n\n"
        "class Exec(AirflowPlugin):\n    name = 'exec'\n    executors = ['my.Executor']\n"
    )

    listed = _plugins(tmp_path / "home", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert [(p["name"], p["source"]) for p in found["plugins"]] == [("loud", "loud_plugin")]
    assert found["plugins"][0]["macros"] == ["loud_plugin.shout"]
    assert found["plugins"][0]["listeners"] == ["loud_plugin.Recorder"]
    errors = found["import_errors"]
    assert len(errors) == 2
    assert any("broken" in e and "a_module_nobody_installed" in e for e in errors)
    assert any("refused" in e and "declares executors" in e for e in errors)

    table = _plugins(tmp_path / "home")
    assert table.returncode == 0
    assert "loud" in table.stdout and "macros: loud_plugin.shout" in table.stdout
    assert "import error:" in table.stderr and "a_module_nobody_installed" in table.stderr


def test_no_plugins_folder_lists_none(tmp_path: Path) -> None:
    shown = _plugins(tmp_path / "home")
    assert shown.returncode == 0
    assert "no plugins in" in shown.stdout
