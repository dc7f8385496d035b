"""The UI's shared page plumbing (``web/ui/page.py``): the main menu is what the page
modules declare beside their pages, in the order and for the roles it always had, and a
page handler that cannot be given its request and user is refused when declared."""

from __future__ import annotations

import pytest

from conveyor.web.auth import User

# The page modules declare the menu as they are imported (mount_ui imports them all).
from conveyor.web.ui import (  # noqa: F401
    admin,
    assets,
    pages,
    required_actions,
    system,
    tokens,
    versions,
)
from conveyor.web.ui.page import NAV, PageResult, Pages


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
