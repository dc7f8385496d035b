"""What every page of the UI does around its handler, in one place: the route, the role
check, the template and its context, and the page's entry in the main navigation.

A UI module makes one ``Pages`` and declares each page with ``@pages.page(path, template,
nav=..., role=...)``. The handler takes ``request`` and ``user`` (and whatever else the URL
gives) and returns the template's context as a dict, or a ``Response`` of its own (a 404,
a redirect). ``Pages`` then refuses a user below ``role`` with the 403 page, as the API
would refuse them, and renders the template with the user and the nav key. A main-menu
entry is declared beside its page with ``nav_entry``; ``base.html`` draws ``NAV`` in order.
An admin page's tab is declared beside it the same way, with ``admin_tab``; the admin pages'
menu (``_admin_nav.html``) draws ``ADMIN_TABS`` in order.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from conveyor.web.auth import User, page_user
from conveyor.web.dag_access import may_use_dags, page_dags
from conveyor.web.ui.rendering import Renderer

__all__ = [
    "ADMIN_TABS",
    "DAG_READER",
    "NAV",
    "AdminTab",
    "DagsUser",
    "NavEntry",
    "PageResult",
    "PageUser",
    "Pages",
    "admin_tab",
    "nav_entry",
    "not_found",
    "refused",
    "render",
]

#: A signed-in user (else redirected to the login page).
PageUser = Annotated[User, Depends(page_user)]
#: A signed-in user the DAG pages let in (``page_dags``: named roles see their DAGs only).
DagsUser = Annotated[User, Depends(page_dags)]
#: What a page handler returns: its template's context, or a response of its own.
PageResult = Mapping[str, Any] | Response
P = ParamSpec("P")
#: A nav entry's role for the pages that show the cluster filtered to the user's DAGs
#: (home, assets, workers): ``viewer`` and up, or anyone with a named role.
DAG_READER = "dag-reader"


def render(
    request: Request, template: str, user: User | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` rendered for ``user`` with ``context`` (the shell's values added)."""
    renderer: Renderer = request.app.state.ui
    return renderer.render(request, template, {"user": user, **context}, status_code=status)


def refused(request: Request, user: User, role: str) -> HTMLResponse | None:
    """The 403 page when ``user`` lacks ``role`` (the API would refuse them too), else None."""
    if user.can(role):
        return None
    message = f"This page needs the {role!r} role; you are {user.role!r}."
    return render(request, "refused.html", user, 403, message=message)


def not_found(request: Request, user: User, message: str, **context: Any) -> HTMLResponse:
    """The 404 page, saying what was not found."""
    return render(request, "not_found.html", user, 404, message=message, **context)


class Pages:
    """The pages of one UI module, on one router that ``mount_ui`` includes."""

    def __init__(self) -> None:
        self.router = APIRouter(include_in_schema=False)

    def page(
        self, path: str, template: str, *, nav: str | None = None, role: str | None = None
    ) -> Callable[[Callable[P, PageResult]], Callable[P, Response]]:
        """Declare the page at ``path``: ``GET`` renders ``template`` with what the handler
        returns, for users with ``role`` (None: any signed-in user the handler lets in),
        with ``nav`` lighting that entry of the main navigation."""

        def declare(handler: Callable[P, PageResult]) -> Callable[P, Response]:
            if not {"request", "user"} <= inspect.signature(handler).parameters.keys():
                raise TypeError(f"page {path}: its handler takes `request` and `user`")

            @functools.wraps(handler)
            def answered(*args: P.args, **kwargs: P.kwargs) -> Response:
                request, user = kwargs["request"], kwargs["user"]
                assert isinstance(request, Request) and isinstance(user, User)
                if role is not None and (refusal := refused(request, user, role)):
                    return refusal
                result = handler(*args, **kwargs)
                if isinstance(result, Response):
                    return result
                return render(request, template, user, nav=nav, **result)

            self.router.add_api_route(
                path, answered, methods=["GET"], response_class=HTMLResponse, response_model=None
            )
            return answered

        return declare


@dataclass(frozen=True)
class NavEntry:
    """One link of the main navigation."""

    label: str
    #: The ``nav`` keys of the pages that light this entry.
    keys: tuple[str, ...]
    #: (role, path) in order: the link goes to the first path whose role the user has
    #: (None: anyone signed in); no match, no link.
    paths: tuple[tuple[str | None, str], ...]
    #: Where it stands in the menu (lower first).
    order: int
    #: The link's element id, for scripts and tests.
    element_id: str | None = None

    def href(self, user: User) -> str | None:
        """The path this entry links ``user`` to, or None when it is not shown to them."""
        return next((path for role, path in self.paths if _shown(user, role)), None)


def _shown(user: User, role: str | None) -> bool:
    if role is None:
        return True
    if role == DAG_READER:
        return may_use_dags(user, "read")
    return user.can(role)


#: The main navigation, in order (``base.html`` draws it).
NAV: list[NavEntry] = []


def nav_entry(
    label: str,
    path: str,
    *,
    order: int,
    keys: tuple[str, ...] = (),
    role: str | None = None,
    element_id: str | None = None,
    otherwise: tuple[str | None, str] | None = None,
) -> NavEntry:
    """Add a main-menu link to ``path`` (for users with ``role``; ``otherwise``, a (role,
    path) for those without it), lit on the pages whose nav key is in ``keys``."""
    paths: tuple[tuple[str | None, str], ...] = ((role, path),)
    if otherwise is not None:
        paths += (otherwise,)
    entry = NavEntry(label, keys or (label.lower(),), paths, order, element_id)
    NAV[:] = sorted([*(e for e in NAV if e.label != label), entry], key=lambda e: e.order)
    return entry


@dataclass(frozen=True)
class AdminTab:
    """One tab of the admin pages' menu."""

    label: str
    path: str
    #: The ``section`` its page's template sets, which lights the tab.
    section: str
    #: Where it stands in the menu (lower first).
    order: int
    #: Who sees the tab (None: anyone signed in); its page refuses the others anyway.
    role: str | None = None

    def shown(self, user: User) -> bool:
        return _shown(user, self.role)


#: The admin pages' menu, in order (``_admin_nav.html`` draws it).
ADMIN_TABS: list[AdminTab] = []


def admin_tab(
    label: str, path: str, *, order: int, role: str | None = None, section: str | None = None
) -> AdminTab:
    """Add a tab to the admin pages' menu, linking to ``path`` for users with ``role``, lit
    on the page whose template sets ``section`` (by default the path's last part)."""
    tab = AdminTab(label, path, section or path.rsplit("/", 1)[-1], order, role)
    ADMIN_TABS[:] = sorted(
        [*(t for t in ADMIN_TABS if t.label != label), tab], key=lambda t: t.order
    )
    return tab
