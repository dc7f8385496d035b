"""The UI's shared page plumbing (``web/ui/page.py``): the main menu and the admin pages'
tabs are what the page modules declare beside their pages, in the order and for the roles
they always had, and a page handler that cannot be given its request and user is refused
when declared."""

from __future__ import annotations

import jinja2
import pytest

from conveyor.web.auth import User

# The page modules declare the menu as they are imported (mount_ui imports them all).
from conveyor.web.ui import (  # noqa: F401
    TEMPLATES_DIR,
    admin,
    assets,
    pages,
    required_actions,
    system,
    tokens,
    versions,
)
from conveyor.web.ui.page import ADMIN_TABS, NAV, PageResult, Pages


def _menu(role: str) -> list[tuple[str, str]]:
    user = User(username="someone", role=role)
    return [(e.label, href) for e in NAV if (href := e.href(user)) is not None]


def test_the_menu_is_declared_by_the_pages_in_order_and_by_role() -> None:
    assert _menu("op") == [
        ("Home", "/home"), ("DAGs", "/"), ("Runs", "/runs"),
        ("Task instances", "/task-instances"), ("Required actions", "/required-actions"),
        ("Assets", "/assets"), ("Workers", "/workers"),
        ("Admin", "/admin/connections"), ("Tokens", "/tokens"),
    ]  # fmt: skip
    assert ("Admin", "/admin/pools") in _menu("viewer")
    # A user of named roles only (no built-in rights) sees the DAG pages, not Home, Assets or
    # Required actions.
    assert [label for label, _ in _menu("public")] == [
        "DAGs", "Runs", "Task instances", "Admin", "Tokens",
    ]  # fmt: skip
    admin_entry = next(e for e in NAV if e.label == "Admin")
    assert admin_entry.keys == ("admin", "audit")


def test_a_page_handler_takes_the_request_and_the_user() -> None:
    with pytest.raises(TypeError, match="takes `request` and `user`"):

        @Pages().page("/nowhere", "refused.html")
        def nowhere(request: object) -> PageResult:
            return {}


def _tabs(role: str) -> list[str]:
    user = User(username="someone", role=role)
    return [tab.label for tab in ADMIN_TABS if tab.shown(user)]


def test_the_admin_tabs_are_declared_by_the_pages_in_order_and_by_role() -> None:
    assert _tabs("admin") == [
        "Connections", "Variables", "Pools", "Users", "Roles", "Config", "Providers",
        "Plugins", "Audit log",
    ]  # fmt: skip
    assert _tabs("op") == [
        "Connections", "Variables", "Pools", "Providers", "Plugins", "Audit log",
    ]  # fmt: skip
    assert _tabs("viewer") == _tabs("public") == ["Pools", "Providers"]
    # Every admin page has its tab, and every tab its page.
    admin_pages = {
        route.path
        for module in (admin, system)
        for route in module.router.routes
        if getattr(route, "methods", None) == {"GET"}
        and (route.path.startswith("/admin/") or route.path == "/audit")
        and "{" not in route.path
    }
    assert {tab.path for tab in ADMIN_TABS} == admin_pages


def test_the_admin_menu_draws_the_tabs_the_user_may_see_and_lights_its_page() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
    env.globals.update(admin_tabs=ADMIN_TABS, url=lambda path: f"/base{path}")
    html = env.get_template("_admin_nav.html").render(
        user=User(username="someone", role="op"), section="pools"
    )
    assert '<a href="/base/admin/pools" class="active">Pools</a>' in html
    assert '<a href="/base/audit" class="">Audit log</a>' in html
    assert "/admin/users" not in html and html.count("<a ") == len(_tabs("op"))
