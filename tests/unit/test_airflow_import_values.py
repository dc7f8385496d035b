"""The values an Airflow database hands the import: werkzeug's password hashes (made by
werkzeug 3.1, as FAB stores them), Airflow 2's pickled run conf, FAB's roles."""

from __future__ import annotations

import os
import pickle

import pytest

from conveyor.airflow_import.roles import map_role, user_roles
from conveyor.store.airflow_import.reading import _conf
from conveyor.store.airflow_import.records import AirflowRole
from conveyor.store.airflow_import.revisions import UnknownAirflowSchema, airflow_release
from conveyor.web import foreign_hashes
from conveyor.web.security import hash_password, verify_password

PBKDF2 = (
    "pbkdf2:sha256:600000$HmYnG08eivfhaLKp$2fc4fbd6c36538353911ff37b5e69084fb8b1d1c4a"
    "8dc0746454e404311e1a1b"
)
SCRYPT = (
    "scrypt:32768:8:1$91sbzdGJg2lIRbqM$a798adaf5f8f3eeca6e7f5d5a3b6ab4974222e1a4b7f5e"
    "b6618cd3a7e98851a9cea34059c51ca19f59586578f394f3e9c7555cf228b76aa144c4e4c436c3da"
    "0a"
)


@pytest.mark.parametrize("password_hash", [PBKDF2, SCRYPT])
def test_a_werkzeug_hash_opens_with_its_password_only(password_hash: str) -> None:
    assert foreign_hashes.is_foreign(password_hash)
    assert verify_password(password_hash, "pw-1")
    assert not verify_password(password_hash, "pw-2")


def test_a_hash_of_no_known_form_opens_nothing() -> None:
    assert not verify_password("md5$salt$abc", "pw-1")
    assert not verify_password("pbkdf2:sha256:abc$salt$00", "pw-1")
    assert not foreign_hashes.is_foreign(hash_password("pw-1"))


def test_a_pickled_conf_is_read_only_when_it_holds_plain_values() -> None:
    assert _conf(pickle.dumps({"day": 3, "tags": ["a"], "ok": True})) == {
        "day": 3,
        "tags": ["a"],
        "ok": True,
    }
    assert _conf(pickle.dumps({"at": os.stat_result((0,) * 10)})) is None  # a class: not loaded
    assert _conf('{"a": 1}') == {"a": 1}
    assert _conf(None) == {}


def test_fab_roles_become_conveyors() -> None:
    assert user_roles(("Admin", "team_a")) == ["admin", "team_a"]
    assert user_roles(("User",)) == ["op"]
    assert map_role(AirflowRole("Viewer", (("can_read", "DAGs"),))) is None
    mapped = map_role(
        AirflowRole(
            "team_a",
            (
                ("can_delete", "DAG:a"),
                ("can_edit", "DAG:a"),
                ("can_read", "DAGs"),
                ("can_read", "Website"),
                ("menu_access", "Browse"),
            ),
        )
    )
    assert mapped is not None
    assert mapped.permissions == (("can_edit", "DAG:a"), ("can_read", "DAGs"))
    assert mapped.not_expressible == (("can_delete", "DAG:a"),)


def test_only_known_revisions_are_read() -> None:
    assert airflow_release("5f2621c13b39") == "2.10.3"
    with pytest.raises(UnknownAirflowSchema, match="'0123abcd'"):
        airflow_release("0123abcd")
    with pytest.raises(UnknownAirflowSchema, match="no alembic_version"):
        airflow_release(None)
