"""The one headless chromium each browser test module drives (Debian's, through Playwright).

Each module still checks first that chromium is there (``ui_servers.chromium_missing_reason``)
and skips, or fails in CI, before it asks for this fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from ui_servers import CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
