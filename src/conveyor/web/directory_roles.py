"""From a directory user's groups to their Conveyor role: ``auth_roles_mapping``, pure.

A group maps to a list of role names (Flask-AppBuilder's ``AUTH_ROLES_MAPPING``); the user
also has ``auth_user_registration_role`` when it is set. Conveyor's users hold one of the
built-in roles (viewer < op < admin), so the user gets the most powerful role among those
named. Names that are no built-in role are left out (and logged once), so a mapping written
for Airflow's roles (``"Admin"``, ``"Op"``, ``"Viewer"``, ``"User"``) works as their
nearest Conveyor role, and any other name is ignored rather than guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from conveyor.store.users import ROLES

log = logging.getLogger(__name__)

#: Airflow's built-in role names, as Conveyor's: FAB mappings name them.
AIRFLOW_ROLES = {"admin": "admin", "op": "op", "user": "op", "viewer": "viewer"}
_warned: set[str] = set()


def group_key(group: str) -> str:
    """Groups compare without case and without blanks after a DN's commas, as LDAP does."""
    return ",".join(part.strip() for part in group.split(",")).lower()


def mapped_roles(
    groups: Iterable[str], mapping: Mapping[str, Sequence[str]], registration_role: str | None
) -> list[str]:
    """The role names ``groups`` are given by ``mapping``, plus the registration role."""
    by_key = {group_key(group): roles for group, roles in mapping.items()}
    names: list[str] = []
    for group in groups:
        names.extend(by_key.get(group_key(group), ()))
    if registration_role:
        names.append(registration_role)
    return list(dict.fromkeys(names))


def strongest_role(names: Iterable[str]) -> str | None:
    """The most powerful built-in role among ``names`` (Airflow's spellings too), or None."""
    found: list[str] = []
    for name in names:
        role = AIRFLOW_ROLES.get(name.lower())
        if role is None:
            if name not in _warned:
                _warned.add(name)
                log.warning("auth_roles_mapping names role %r, which is not one of %s", name, ROLES)
            continue
        found.append(role)
    return max(found, key=ROLES.index) if found else None
