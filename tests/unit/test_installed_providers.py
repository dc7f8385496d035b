"""Airflow's provider packages installed beside Conveyor: which modules load from their files
(a provider Conveyor does not ship), which stay Conveyor's (a shipped one, unless the setting
names it), what a provider missing a core name says, the install recipe's reading of a
package's requirements, and the base classes providers build on.

Pure tests: provider packages are small folders under ``tmp_path`` laid out as pip lays them
out (a bare ``airflow/`` folder with no ``__init__``), put on ``sys.path``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_hook_on import hook_on
from conveyor.airflow_compat.fallback import AirflowNotProvidedError
from conveyor.airflow_compat.lint import check_source
from conveyor.airflow_compat.provider_requirements import split_requirements, without_marker
from conveyor.airflow_compat.provider_sdk import BaseNotifier, ProviderConnection
from conveyor.connections import Connection


def _write(site: Path, relative: str, source: str) -> None:
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site-packages folder with two provider packages, and the hook on."""
    folder = tmp_path / "site"
    _write(folder, "airflow/providers/acme/__init__.py", "__version__ = '1.0'\n")
    _write(folder, "airflow/providers/acme/hooks/__init__.py", "")
    _write(
        folder,
        "airflow/providers/acme/hooks/acme.py",
        "from airflow.providers.common.compat.sdk import BaseHook\n"
        "from airflow import __version__\n\n"
        "class AcmeHook(BaseHook):\n"
        "    default_conn_name = 'acme_default'\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.log.info('made')\n",
    )
    _write(folder, "airflow/providers/acme/broken.py", "from airflow.nowhere import Gadget\n")
    # A provider of two parts with no __init__ on its first (a namespace, as pip leaves it).
    _write(folder, "airflow/providers/megacorp/cloud/__init__.py", "NAME = 'cloud'\n")
    # A package of a provider Conveyor ships.
    _write(folder, "airflow/providers/http/__init__.py", "")
    _write(folder, "airflow/providers/http/hooks/__init__.py", "")
    _write(folder, "airflow/providers/http/hooks/http.py", "class HttpHook:\n    REAL = True\n")
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    monkeypatch.delenv("CONVEYOR_AIRFLOW_INSTALLED_PROVIDERS", raising=False)
    with hook_on(monkeypatch, tmp_path):
        yield folder
    for name in [n for n in sys.modules if n.startswith("airflow.providers.")]:
        del sys.modules[name]


def test_a_provider_conveyor_does_not_ship_loads_from_its_files(site: Path) -> None:
    import airflow.providers
    import airflow.providers.acme as acme
    from airflow.providers.acme.hooks.acme import AcmeHook

    assert acme.__file__ == str(site / "airflow/providers/acme/__init__.py")
    assert getattr(airflow.providers, "__conveyor_compat__", False)  # Conveyor's stays in front
    hook = AcmeHook()
    assert hook.log.name.endswith("acme.AcmeHook")
    from airflow.providers.megacorp.cloud import NAME

    assert NAME == "cloud"


def test_a_provider_that_needs_a_missing_core_name_says_which(site: Path) -> None:
    # It loads, as on Airflow; the core name it needed refuses where it is used, by name.
    broken = importlib.import_module("airflow.providers.acme.broken")
    with pytest.raises(AirflowNotProvidedError, match=r"airflow\.nowhere"):
        broken.Gadget()


def test_a_shipped_provider_stays_conveyors_unless_the_setting_names_it(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.http.hooks.http import HttpHook

    assert not getattr(HttpHook, "REAL", False)
    assert HttpHook.__module__.startswith("conveyor.")
    from airflow.providers.http.hooks.http import HttpAsyncHook

    with pytest.raises(AirflowNotProvidedError, match='set airflow_installed_providers = "http"'):
        HttpAsyncHook()
    for name in [n for n in sys.modules if n.startswith("airflow.providers.http")]:
        del sys.modules[name]
    monkeypatch.setenv("CONVEYOR_AIRFLOW_INSTALLED_PROVIDERS", "http, slack")
    real = importlib.import_module("airflow.providers.http.hooks.http")
    assert real.HttpHook.REAL is True
    assert real.__file__ == str(site / "airflow/providers/http/hooks/http.py")


def test_a_shipped_providers_missing_name_says_how_to_install_airflows_package(
    site: Path,
) -> None:
    """Not installed here (the fixture's site has http's package, not slack's): the name
    imports, as with Airflow's package of the provider, and its first use names the package
    to install and the setting that makes its modules answer."""
    from airflow.providers.slack.transfers.sql_to_slack import SqlToSlackApiFileOperator

    with pytest.raises(AirflowNotProvidedError) as missing:
        SqlToSlackApiFileOperator(task_id="t")
    assert (
        "Airflow's package of it has the rest: `conveyor providers install "
        'apache-airflow-providers-slack`, then set airflow_installed_providers = "slack"'
    ) in str(missing.value)


def test_the_recipe_leaves_out_airflows_core_and_follows_extras() -> None:
    requires = [
        "apache-airflow>=2.11.0",
        "apache-airflow-task-sdk>=1.0",
        "apache-airflow-providers-common-compat>=1.12.0",
        "redis>=4.5.2,!=4.5.5",
        'apache-airflow-providers-common-messaging>=2.0.0; extra == "common-messaging"',
        'tomli; python_version < "3.0"',
    ]
    plain = split_requirements(requires)
    assert [r.name for r in plain.dropped] == ["apache-airflow", "apache-airflow-task-sdk"]
    assert [r.name for r in plain.providers] == ["apache-airflow-providers-common-compat"]
    assert [str(r) for r in plain.libraries] == ["redis!=4.5.5,>=4.5.2"]
    # What Airflow's core would have brought, which providers import without declaring.
    assert {r.name for r in plain.in_place_of_core} >= {"deprecated", "tenacity", "requests"}
    assert split_requirements(["redis>=4"]).in_place_of_core == ()  # no core asked for
    extra = split_requirements(requires, ["common-messaging"])
    assert [without_marker(r) for r in extra.providers] == [
        "apache-airflow-providers-common-compat>=1.12.0",
        "apache-airflow-providers-common-messaging>=2.0.0",
    ]
    with pytest.raises(ValueError, match="invalid"):
        split_requirements(["not a requirement !!"])


def test_a_notifier_renders_its_fields_then_notifies() -> None:
    sent: list[tuple[str, str]] = []

    class Pager(BaseNotifier):
        template_fields = ("summary",)

        def __init__(self, summary: str) -> None:
            super().__init__()
            self.summary = summary

        def notify(self, context: dict) -> None:
            sent.append((self.summary, context["run_id"]))

    Pager("{{ run_id }} failed")({"run_id": "manual__1"})
    assert sent == [("manual__1 failed", "manual__1")]
    with pytest.raises(TypeError, match="one dict"):
        Pager("x")("dag", [], [], [], [])
    with pytest.raises(TypeError, match="colour"):
        BaseNotifier(colour="red")


def test_a_hook_may_change_its_copy_of_a_connection() -> None:
    looked_up = Connection("ftp", "ftp", host="h", password="p", extra={"k": 1})
    copy = ProviderConnection.copy_of(looked_up)
    copy.password = "changed"
    copy.extra = '{"k": 2}'  # Airflow keeps extra as JSON text; a hook may rewrite it
    assert (looked_up.password, looked_up.extra_dejson) == ("p", {"k": 1})
    assert copy.host == "h" and copy.extra_dejson == {"k": 2}


def test_validate_passes_an_installed_providers_imports_and_says_how_to_install_others(
    site: Path,
) -> None:
    source = (
        "from airflow.providers.acme.hooks.acme import AcmeHook\n"
        "import airflow.providers.megacorp.cloud\n"
        "from airflow.providers.pagerthing.notifications.pager import PagerNotifier\n"
    )
    findings = check_source(source, "dag.py")
    assert [f.line for f in findings] == [3]
    assert "conveyor providers install apache-airflow-providers-pagerthing" in findings[0].message


def _dist_info(site: Path, package: str, version: str, provider: str) -> None:
    """An installed package's metadata as pip writes it, with Airflow's provider entry point."""
    info = site / f"{package.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        "Requires-Dist: apache-airflow>=2.11.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[apache_airflow_provider]\n"
        f"provider_info=airflow.providers.{provider}.get_provider_info:get_provider_info\n"
    )


def test_installed_packages_are_listed_with_whose_modules_answer(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.airflow_compat.installed_providers import installed_packages
    from conveyor.web.airflow_api.providers import get_providers

    _dist_info(site, "apache-airflow-providers-acme", "1.2.3", "acme")
    _dist_info(site, "apache-airflow-providers-http", "6.3.0", "http")
    importlib.invalidate_caches()
    found = {p.package: p for p in installed_packages()}
    acme, http = found["apache-airflow-providers-acme"], found["apache-airflow-providers-http"]
    assert (acme.version, acme.provider, acme.used) == ("1.2.3", "acme", True)
    assert (http.provider, http.used) == ("http", False)  # Conveyor ships http
    listed = {p.package_name: p for p in get_providers(None, 100, 0).providers}  # type: ignore[arg-type]
    assert listed["apache-airflow-providers-acme"].version == "1.2.3"
    assert "carried by Conveyor" in listed["apache-airflow-providers-http"].description
    monkeypatch.setenv("CONVEYOR_AIRFLOW_INSTALLED_PROVIDERS", "http")
    assert {p.package: p.used for p in installed_packages()}["apache-airflow-providers-http"]
    listed = {p.package_name: p for p in get_providers(None, 100, 0).providers}  # type: ignore[arg-type]
    assert listed["apache-airflow-providers-http"].version == "6.3.0"


def test_the_install_command_takes_only_provider_packages_and_shows_its_pip_commands() -> None:
    from click.testing import CliRunner

    from conveyor.cli.main import cli

    refused = CliRunner().invoke(cli, ["providers", "install", "requests"], prog_name="conveyor")
    assert refused.exit_code == 2
    assert "requests is not one of Airflow's provider packages" in refused.output
    shown = CliRunner().invoke(
        cli,
        ["providers", "install", "--dry-run", "-c", "c.txt", "apache-airflow-providers-acme[x]>=1"],
        prog_name="conveyor",
    )
    assert shown.exit_code == 0, shown.output
    assert "-m pip install --constraint=c.txt --no-deps apache-airflow-providers-acme[x]>=1" in (
        " ".join(shown.output.split())
    )


def test_the_core_helpers_providers_import_behave_as_airflows(site: Path) -> None:
    import warnings

    from airflow.exceptions import AirflowException, AirflowProviderDeprecationWarning
    from airflow.providers.common.compat.sdk import AirflowOptionalProviderFeatureException
    from airflow.utils.helpers import exactly_one, merge_dicts
    from airflow.utils.log.logging_mixin import LoggingMixin
    from airflow.utils.strings import to_boolean
    from airflow.utils.types import NOTSET, ArgNotSet

    assert issubclass(AirflowOptionalProviderFeatureException, AirflowException)
    with pytest.warns(DeprecationWarning):
        warnings.warn("old", AirflowProviderDeprecationWarning, stacklevel=1)
    assert [to_boolean(v) for v in ("Yes", " t ", "0", None, True)] == [
        True,
        True,
        False,
        False,
        True,
    ]
    assert exactly_one(0, "a", None) and not exactly_one(1, 2)
    with pytest.raises(ValueError, match="unpack"):
        exactly_one([1, 0])
    assert merge_dicts({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}}) == {
        "a": {"x": 1, "y": 3},
        "b": 1,
    }
    assert isinstance(NOTSET, ArgNotSet)

    class Client(LoggingMixin):
        pass

    assert Client().log.name == f"{__name__}.Client"


def test_installing_the_hook_again_keeps_the_provider_modules_it_loaded(site: Path) -> None:
    import airflow.providers.acme.hooks.acme as first

    from conveyor.airflow_compat import hook

    sys.meta_path.remove(hook._FINDER)  # something else went first since: install again
    sys.meta_path.append(hook._FINDER)
    hook.install()
    import airflow.providers.acme.hooks.acme as again

    assert again is first  # the same classes: no second copy of the provider's module
    hook.uninstall()
    assert "airflow.providers.acme.hooks.acme" not in sys.modules
