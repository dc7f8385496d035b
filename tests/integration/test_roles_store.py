"""Named roles in the store (both backends): a user's roles set at once, permissions and
the DAGs' access_control read into what roles grant, a deleted role gone from its users."""

from __future__ import annotations

import pytest

from conveyor.clock import utcnow
from conveyor.store import roles as role_rows
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.store.tables import dag
from conveyor.web import accounts, roles


def _user(store: Store, name: str, role: str = "viewer") -> None:
    with store.write() as conn:
        user_rows.create_user(conn, name, role, "hash")


def test_set_roles_gives_exactly_the_roles_asked(store: Store) -> None:
    _user(store, "ann")
    roles.create_role(store, "team_a")
    roles.create_role(store, "team_b")
    with store.write() as conn:
        assert user_rows.set_roles(conn, "ann", ["team_b", "op", "team_a"])
    with store.read() as conn:
        assert user_rows.get_roles(conn, "ann") == ["op", "team_a", "team_b"]
        assert user_rows.named_roles(conn, "ann") == {"team_a", "team_b"}
    with store.write() as conn:  # no built-in role: public, the named ones only
        assert user_rows.set_roles(conn, "ann", ["team_a"])
    with store.read() as conn:
        assert user_rows.get_roles(conn, "ann") == ["team_a"]
        assert user_rows.get_user(conn, "ann").role == "public"  # type: ignore[union-attr]
    with store.write() as conn:
        assert not user_rows.set_roles(conn, "nobody", ["viewer"])
        with pytest.raises(ValueError, match="unknown role 'team_z'"):
            user_rows.set_roles(conn, "ann", ["team_z"])


def test_deleting_a_role_takes_it_from_its_users(store: Store) -> None:
    _user(store, "bob")
    roles.create_role(store, "team_a")
    accounts.set_roles(store, "bob", ["viewer", "team_a"])
    roles.add_permission(store, "team_a", "can_edit", "DAG:etl")
    assert roles.get_role(store, "team_a").users == 1
    roles.delete_role(store, "team_a")
    with store.read() as conn:
        assert user_rows.get_roles(conn, "bob") == ["viewer"]
        assert role_rows.list_roles(conn) == []
        assert role_rows.dag_grants(conn, frozenset({"team_a"})).read == frozenset()


def test_grants_add_up_permissions_and_access_control(store: Store) -> None:
    roles.create_role(store, "team_a")
    roles.create_role(store, "team_b")
    roles.add_permission(store, "team_a", "can_read", "DAG:reports")
    roles.add_permission(store, "team_b", "can_dag_edit", "etl")  # Airflow 2's action name
    with store.write() as conn:
        for dag_id, access in (
            ("shared", {"team_a": ["can_edit", "can_read"]}),
            ("private", {"team_b": ["can_read"]}),
            ("open", None),
        ):
            conn.execute(
                dag.insert().values(
                    dag_id=dag_id, fileloc="f.py", version_hash="h", schedule="none",
                    tags=[], access_control=access, updated_at=utcnow(),
                )
            )  # fmt: skip
    with store.read() as conn:
        a = role_rows.dag_grants(conn, frozenset({"team_a"}))
        b = role_rows.dag_grants(conn, frozenset({"team_b"}))
        nothing = role_rows.dag_grants(conn, frozenset())
    assert (a.read, a.edit) == ({"reports", "shared"}, {"shared"})
    assert (b.read, b.edit) == ({"etl", "private"}, {"etl"})
    assert not a.read_all and nothing.read == frozenset()
    roles.add_permission(store, "team_a", "can_read", "DAGs")
    with store.read() as conn:
        assert role_rows.dag_grants(conn, frozenset({"team_a"})).read_all


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: roles.create_role(s, "viewer"), "built-in role"),
        (lambda s: roles.create_role(s, "bad/name"), "invalid role name"),
        (lambda s: roles.add_permission(s, "nope", "can_read", "DAGs"), "no role 'nope'"),
        (lambda s: roles.add_permission(s, "team", "can_fly", "DAGs"), "unknown action"),
        (lambda s: accounts.set_roles(s, "admin", ["viewer"]), "last admin"),
    ],
)
def test_bad_role_changes_say_why(store: Store, call: object, message: str) -> None:
    _user(store, "admin", "admin")
    roles.create_role(store, "team")
    with pytest.raises((roles.RoleError, accounts.AccountError), match=message):
        call(store)  # type: ignore[operator]
