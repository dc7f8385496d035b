"""From a directory user's groups to their Conveyor roles: ``auth_roles_mapping``, pure.

A group maps to a list of role names (Flask-AppBuilder's ``AUTH_ROLES_MAPPING``); the user
also has ``auth_user_registration_role`` when it is set. A user holds at most one built-in
role (viewer < op < admin: the most powerful named counts; Airflow's spellings ``Admin``,
``Op``, ``User``, ``Viewer`` are read as those, ``Public`` as none) and any number of named
roles an admin made (``conveyor roles create``). A name that is neither is left out (and
logged once) rather than guessed: the sign-in goes on with the roles that exist.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence

from conveyor.store.users import ROLES

log = logging.getLogger(__name__)

#: Airflow's built-in role names, as Conveyor's: FAB mappings name them. Public: no rights.
AIRFLOW_ROLES = {"admin": "admin", "op": "op", "user": "op", "viewer": "viewer", "public": None}
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
    found = [AIRFLOW_ROLES.get(name.lower()) for name in names]
    built_in = [role for role in found if role is not None]
    return max(built_in, key=ROLES.index) if built_in else None


def resolve(names: Iterable[str], named_roles: Collection[str]) -> list[str]:
    """The roles to give: the strongest built-in one first, then the named roles that
    exist (``named_roles``), sorted; the rest are logged once and left out."""
    names = list(names)
    named = sorted({n for n in names if n.lower() not in AIRFLOW_ROLES and n in named_roles})
    for name in names:
        if name.lower() not in AIRFLOW_ROLES and name not in named_roles and name not in _warned:
            _warned.add(name)
            log.warning(
                "auth_roles_mapping names role %r, which is neither built in (%s) nor made "
                "with `conveyor roles create`: left out",
                name,
                ", ".join(ROLES),
            )
    built_in = strongest_role(names)
    return ([built_in] if built_in else []) + named
