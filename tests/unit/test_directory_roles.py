"""From a directory user's groups to their role, and the sign-in settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import load_config, mask
from conveyor.exceptions import ConfigError
from conveyor.web.directory_roles import mapped_roles, strongest_role

MAPPING = {
    "CN=Ops,OU=Groups,DC=example,DC=com": ["op"],
    "cn=admins,ou=groups,dc=example,dc=com": ["Admin", "Viewer"],
    "readers": ["Viewer"],
    "custom": ["team_a"],
}


def test_groups_compare_as_ldap_compares_dns() -> None:
    groups = ["cn=ops, ou=groups, dc=example, dc=com"]
    assert mapped_roles(groups, MAPPING, None) == ["op"]


def test_the_strongest_role_wins_and_airflow_names_count() -> None:
    names = mapped_roles(["readers", "cn=admins,ou=groups,dc=example,dc=com"], MAPPING, None)
    assert strongest_role(names) == "admin"
    assert strongest_role(["User"]) == "op"  # Airflow's User role may trigger: Conveyor's op


def test_no_group_and_no_registration_role_gives_none() -> None:
    assert strongest_role(mapped_roles(["elsewhere"], MAPPING, None)) is None
    assert strongest_role(mapped_roles(["elsewhere"], MAPPING, "viewer")) == "viewer"
    # A role name Conveyor does not have yet is left out, not guessed.
    assert strongest_role(mapped_roles(["custom"], MAPPING, None)) is None


def _load(tmp_path: Path, **env: str) -> object:
    environ = {
        "CONVEYOR_HOME": str(tmp_path),
        **{f"CONVEYOR_{k.upper()}": v for k, v in env.items()},
    }
    return load_config(environ).settings


def test_settings_come_from_the_environment_as_every_setting(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        auth_type="ldap",
        auth_ldap_server="ldaps://ldap.example.com",
        auth_ldap_search="ou=people,dc=example,dc=com",
        auth_roles_mapping='{"cn=ops,dc=example,dc=com": "Op"}',
    )
    assert settings.roles_mapping == {"cn=ops,dc=example,dc=com": ("Op",)}  # type: ignore[attr-defined]


def test_a_setting_missing_for_the_auth_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auth_type = 'oidc' needs auth_oidc_issuer"):
        _load(tmp_path, auth_type="oidc", auth_oidc_client_secret="s3cret-value")
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, auth_type="oidc", auth_oidc_client_secret="s3cret-value")
    assert "s3cret-value" not in str(raised.value)
    with pytest.raises(ConfigError, match="auth_ldap_server"):
        _load(tmp_path, auth_ldap_server="ldap.example.com")


def test_the_secrets_are_masked() -> None:
    assert mask("auth_ldap_bind_password", "hunter2") == "***"
    assert mask("auth_oidc_client_secret", "hunter2") == "***"
