"""Take the web UI's screenshots for docs/screenshots/ from real processes and real runs.

    .venv/bin/python tests/browser/screenshots.py [OUT_DIR]

Starts a scheduler and a web server on a fresh home (see ``ui_servers``), triggers a few
runs (one of which fails), and photographs the DAG list, a DAG's grid, graph and
durations, the trigger form, a failed task instance and the workers page.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, expect, sync_playwright
from ui_servers import CHROMIUM, PASSWORDS, Conveyor

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 60_000


def trigger(page: Page, servers: Conveyor, dag_id: str, values: dict[str, str]) -> str:
    page.goto(f"{servers.url}/dags/{dag_id}/trigger")
    for name, value in values.items():
        page.fill(f'#trigger-form [name="{name}"]', value)
    page.click("#trigger-submit")
    page.wait_for_url(f"**/dags/{dag_id}?run=*")
    return str(page.evaluate("new URLSearchParams(location.search).get('run')"))


def wait_finished(page: Page, run_id: str) -> None:
    bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
    expect(bar).to_have_attribute("data-state", re.compile("success|failed"), timeout=WAIT_MS)


def shoot(page: Page, out: Path, name: str, full: bool = False) -> None:
    page.wait_for_timeout(400)  # let the last poll's redraw settle
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(f"wrote {out / name}.png")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        servers = Conveyor(Path(root)).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1360, "height": 820})
                page.goto(f"{servers.url}/login")
                page.fill("#username", "op")
                page.fill("#password", PASSWORDS["op"])
                page.click("button[type=submit]")
                page.wait_for_url(f"{servers.url}/")
                runs = []
                for values in (
                    {"rows": "3"},
                    {"rows": "40"},
                    {"rows": "500"},
                    {"rows": "12"},
                    {"rows": "8", "region": "us-east"},
                ):
                    runs.append(trigger(page, servers, "shop_orders", values))
                    wait_finished(page, runs[-1])
                failed_run = trigger(page, servers, "nightly_billing", {})
                wait_finished(page, failed_run)

                page.goto(f"{servers.url}/")
                expect(page.locator("#import-errors")).to_be_visible(timeout=WAIT_MS)
                shoot(page, out, "dag-list")

                page.goto(
                    f"{servers.url}/dags/shop_orders?run={quote(runs[2], safe='')}&task=validate"
                )
                expect(page.locator("#details-body")).to_contain_text("Error", timeout=WAIT_MS)
                shoot(page, out, "dag-grid")

                page.goto(f"{servers.url}/dags/shop_orders/graph?run={quote(runs[2], safe='')}")
                shoot(page, out, "dag-graph")

                page.goto(f"{servers.url}/dags/shop_orders/durations")
                shoot(page, out, "dag-durations")

                page.goto(f"{servers.url}/dags/shop_orders/trigger")
                shoot(page, out, "trigger-form")

                page.goto(
                    f"{servers.url}/dags/nightly_billing/runs/{quote(failed_run, safe='')}"
                    "/tasks/compute_invoices"
                )
                expect(page.locator("#exception")).to_be_visible()
                expect(page.locator("#log")).to_contain_text("ValueError")
                shoot(page, out, "task-failed", full=True)

                page.goto(f"{servers.url}/workers")
                expect(page.locator("#schedulers tr[data-scheduler]").first).to_be_visible()
                shoot(page, out, "workers")
                browser.close()
        finally:
            servers.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
