"""Real Conveyor processes for the browser tests and the screenshot script.

A home with the DAGs of ``tests/browser/dags`` (and one broken file), a SQLite store
(migrated by the first command), two users (op, viewer), then ``conveyor scheduler``
(local executor) and ``conveyor web`` as subprocesses, exactly as a user starts them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.config import load_config
from conveyor.store import dags
from conveyor.store.engine import Store

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
DAGS = Path(__file__).parent / "dags"
CHROMIUM = "/usr/bin/chromium"
PASSWORDS = {"op": "op-secret-12", "viewer": "viewer-secret-1"}

#: A DAG file with a syntax error: the DAG list must show it with its file and line.
BROKEN_DAG = '''"""Forgot to close a parenthesis."""
from conveyor import DAG, task

with DAG("broken_dag", schedule=None):
    @task
    def oops() -> None:
        pass

    oops(
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Conveyor:
    """A scheduler and a web server on one home; ``url`` is what a browser opens."""

    root: Path
    base_url: str = ""
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)  # more CONVEYOR_* variables

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def dags_folder(self) -> Path:
        return self.root / "dags"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONVEYOR_HOME": str(self.root / "home"),
            "CONVEYOR_DAGS_FOLDER": str(self.dags_folder),
            "CONVEYOR_BASE_URL": self.base_url,
            "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
            "CONVEYOR_DAG_SCAN_SECONDS": "0.3",
            "CONVEYOR_HEARTBEAT_SECONDS": "1",
            "COLUMNS": "200",
            **self.settings,
        }

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CONVEYOR, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"conveyor {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def add_admin(self, password: str) -> None:
        """A user ``admin`` in the admin role, beside the op and the viewer of :meth:`start`."""
        self.cli("users", "create", "admin", "--role", "admin", "--password-stdin", stdin=password)

    def start(self) -> Conveyor:
        self.dags_folder.mkdir(parents=True)
        for path in DAGS.glob("*.py"):
            shutil.copy(path, self.dags_folder / path.name)
        (self.dags_folder / "broken_dag.py").write_text(BROKEN_DAG)
        for role, password in PASSWORDS.items():
            self.cli("users", "create", role, "--role", role, "--password-stdin", stdin=password)
        self._background("scheduler")
        self._background("web", "--port", str(self.port))
        self._wait_until_serving()
        self._wait_until_parsed()
        return self

    def _background(self, *args: str) -> None:
        # The child keeps its own copy of the file descriptor; ours is closed at once.
        with (self.root / f"{args[0]}.log").open("w") as log:
            self.processes.append(
                subprocess.Popen(
                    [CONVEYOR, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
            )

    def _wait_until_serving(self, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args} exited early:\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"conveyor web did not answer within {limit:g}s:\n{self.logs()}")

    def _wait_until_parsed(self, limit: float = 60.0) -> None:
        """Until the scheduler has taken in every file of the DAG folder: a page of a DAG
        opened before that is a "no such DAG" page, on a machine slow enough."""
        wanted = {path.name for path in self.dags_folder.glob("*.py")}
        store = Store(load_config(self.env).settings.db_url)
        try:
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                with store.read() as conn:
                    if wanted <= {Path(fileloc).name for fileloc in dags.known_files(conn)}:
                        return
                time.sleep(0.1)
        finally:
            store.dispose()
        raise RuntimeError(f"the scheduler did not parse {sorted(wanted)} within {limit:g}s")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-4000:]}" for path in self.root.glob("*.log")
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def require_chromium() -> None:
    """At a test module's import: skip the module when chromium or playwright is missing,
    except in CI (``CI=true``), where the module fails."""
    missing = chromium_missing_reason()
    if missing is None:
        return
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing, allow_module_level=True)


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    return None


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright, for a module's ``browser`` fixture."""
    from playwright.sync_api import expect, sync_playwright

    # An assertion waits up to 5 s by default: a loaded CI machine answered some pages
    # slower than that. A test that must wait longer still says so itself (WAIT_MS).
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(
    page: Any, url: str, username: str, password: str, timeout_ms: float | None = None
) -> None:
    """Log in through the login form and wait for the DAG list it lands on."""
    from playwright.sync_api import expect

    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("#dag-table")).to_be_visible(timeout=timeout_ms)


@contextlib.contextmanager
def started(
    root: Path, base_url: str = "", settings: dict[str, str] | None = None
) -> Iterator[Conveyor]:
    """A started scheduler and web server on a new home under ``root``, stopped after;
    ``settings``: more ``CONVEYOR_*`` variables for both."""
    servers = Conveyor(root, base_url=base_url, settings=dict(settings or {}))
    try:
        yield servers.start()
    finally:
        servers.stop()


@contextlib.contextmanager
def watched_page(
    browser: Any,
    *,
    accept_dialogs: bool = False,
    console_errors: bool = False,
    blank_after: bool = False,
) -> Iterator[Any]:
    """A page in a context of its own, 1400x900; a JavaScript error on it fails the test.
    ``accept_dialogs``: say yes to confirm() ("Delete ...?"); ``console_errors``: an error
    the console logs (a CSP violation among them) fails the test too; ``blank_after``: leave
    for about:blank before the context closes, which stops the live pages' polls."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    if console_errors:
        opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    if accept_dialogs:
        opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    if blank_after:
        opened.goto("about:blank")
    context.close()
    assert not errors, f"errors on the page: {errors}"


def browser_fixture() -> Any:
    """A module's ``browser`` fixture (``browser = browser_fixture()``): one chromium for the
    module's tests."""
    import pytest

    @pytest.fixture(scope="module", name="browser")
    def browser() -> Iterator[Any]:
        with launched_chromium() as launched:
            yield launched

    return browser


def page_fixture(**watch: bool) -> Any:
    """A module's ``page`` fixture (``page = page_fixture()``): a :func:`watched_page` of the
    module's browser for each test, ``watch`` its keyword arguments."""
    import pytest

    @pytest.fixture(name="page")
    def page(browser: Any) -> Iterator[Any]:
        with watched_page(browser, **watch) as opened:
            yield opened

    return page


def servers_fixture(name: str = "conveyor") -> Any:
    """A module's fixture of :func:`started` servers, for the modules that need nothing more."""
    import pytest

    @pytest.fixture(scope="module", name=name)
    def servers(tmp_path_factory: Any) -> Iterator[Conveyor]:
        with started(tmp_path_factory.mktemp("conveyor")) as running:
            yield running

    return servers
