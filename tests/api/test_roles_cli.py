"""``conveyor roles`` and the users' roles commands, as a user runs them (both stores):
Airflow's verbs as written, and what they change seen through the API."""

from __future__ import annotations

import json

from api_helpers import World, make_world, module_world, run_cli

cli_world = module_world("cli_world", lambda tmp, url: make_world(tmp, url, execute=()))


def test_roles_made_granted_given_and_deleted(cli_world: World) -> None:
    world = cli_world
    made = run_cli(world, "roles", "create", "team_a", "team_b")
    assert made.exit_code == 0, made.output
    assert "created role team_a" in made.output and "created role team_b" in made.output
    # Airflow's add-perms: roles, resources and actions, each repeatable.
    granted = run_cli(
        world, "roles", "add-perms", "team_a", "-r", "DAG:pipeline", "-a", "can_read",
        "-a", "can_dag_edit",
    )  # fmt: skip
    assert granted.exit_code == 0, granted.output
    assert run_cli(world, "roles", "add-perm", "team_b", "-r", "DAGs", "-a", "read").exit_code == 0
    listed = run_cli(world, "roles", "list", "-p", "-o", "json")
    assert json.loads(listed.output) == [
        {"name": "team_a", "users": 0,
         "permissions": [["can_edit", "DAG:pipeline"], ["can_read", "DAG:pipeline"]]},
        {"name": "team_b", "users": 0, "permissions": [["can_read", "DAGs"]]},
    ]  # fmt: skip
    created = run_cli(world, "users", "create", "-u", "tess", "-r", "team_a", "-p", "tess-pass-1")
    assert created.exit_code == 0, created.output
    added = run_cli(world, "users", "add-role", "-u", "tess", "-r", "Viewer")
    assert added.exit_code == 0 and "tess holds viewer, team_a" in added.output, added.output
    users = json.loads(run_cli(world, "users", "list", "-o", "json").output)["users"]
    tess = next(u for u in users if u["username"] == "tess")
    assert (tess["role"], tess["roles"]) == ("viewer", ["team_a"])
    removed = run_cli(world, "users", "remove-role", "-u", "tess", "-r", "viewer")
    assert removed.exit_code == 0 and "tess holds team_a" in removed.output, removed.output
    revoked = run_cli(world, "roles", "del-perms", "team_a", "-r", "pipeline", "-a", "can_edit")
    assert revoked.exit_code == 0, revoked.output
    deleted = run_cli(world, "roles", "delete", "team_a")
    assert deleted.exit_code == 0, deleted.output
    users = json.loads(run_cli(world, "users", "list", "-o", "json").output)["users"]
    tess = next(u for u in users if u["username"] == "tess")
    assert (tess["role"], tess["roles"]) == ("public", [])


def test_bad_role_commands_say_what_and_where(cli_world: World) -> None:
    world = cli_world
    for args, message in [
        (("roles", "create", "Admin"), "'Admin' is a built-in role"),
        (("roles", "delete", "ghosts"), "no role 'ghosts'"),
        (("roles", "add-perms", "ghosts", "-r", "DAGs", "-a", "can_read"), "no role 'ghosts'"),
        (("users", "create", "-u", "zed", "-r", "ghosts"), "'ghosts': use admin, op or viewer"),
        (("users", "set-roles", "admin", "op"), "'admin' is the last admin"),
    ]:
        result = run_cli(world, *args)
        assert result.exit_code != 0, (args, result.output)
        assert message in result.output, (args, result.output)
    run_cli(world, "roles", "create", "team_c")
    wrong = run_cli(world, "roles", "add-perms", "team_c", "-r", "DAGs", "-a", "can_fly")
    assert wrong.exit_code != 0 and "unknown action 'can_fly'" in wrong.output
    other = run_cli(world, "roles", "add-perms", "team_c", "-r", "Connections", "-a", "can_read")
    assert other.exit_code != 0 and "resource 'Connections'" in other.output, other.output
