"""What the signed-in user may do on DAGs, as the pages show it: the same per-DAG decision the
API takes (``web/dag_access.py``), so a control is offered exactly where the API would accept
its request. A user whose rights come from named roles (a DAG's ``access_control``, a role's
permissions) gets the pause switch, Trigger, Clear, Mark and Backfill on the DAGs those roles
let them edit, and only there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import Request

from conveyor.web.auth import User
from conveyor.web.dag_access import dag_scope

__all__ = ["DagRights", "dag_rights", "role_labels"]


@dataclass(frozen=True)
class DagRights:
    """The DAGs a user may edit (trigger, clear, mark, pause, backfill, notes); None: every DAG."""

    editable: frozenset[str] | None

    def can_edit(self, dag_id: str) -> bool:
        return self.editable is None or dag_id in self.editable

    @property
    def edits_some(self) -> bool:
        """Whether the user may edit any DAG at all (a list's bulk actions are offered)."""
        return self.editable is None or bool(self.editable)

    @property
    def script_value(self) -> str:
        """What the pages' scripts read (``core.js`` ``canEdit``): ``*`` or a JSON list."""
        return "*" if self.editable is None else json.dumps(sorted(self.editable))


NO_RIGHTS = DagRights(frozenset())


def dag_rights(request: Request, user: User | None) -> DagRights:
    """``user``'s rights on DAGs (none when nobody is signed in)."""
    if user is None:
        return NO_RIGHTS
    return DagRights(dag_scope(request, user).editable)


def role_labels(user: User) -> list[str]:
    """The roles to label ``user`` with: their named roles, and their built-in one unless it
    is ``public`` (no built-in rights) beside named roles."""
    named = sorted(user.named_roles)
    if user.role == "public" and named:
        return named
    return [user.role, *named]
