"""The sign-in settings: local users, an LDAP directory or an OpenID Connect provider.

The names are those Airflow teams know from Flask-AppBuilder's ``AUTH_*`` settings,
lowercased (``AUTH_LDAP_SERVER`` is ``auth_ldap_server``, ``CONVEYOR_AUTH_LDAP_SERVER`` in
the environment). :class:`conveyor.config.Settings` inherits them; they live here so the
general settings stay readable. docs/security.md describes each with examples.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The ID token signatures accepted unless ``auth_oidc_id_token_algorithms`` says otherwise:
#: asymmetric ones, so that only the provider's private key can sign a token.
SAFE_ID_TOKEN_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
#: Settings whose values are secret: ``conveyor config show`` masks them.
AUTH_SECRET_KEYS = frozenset({"auth_ldap_bind_password", "auth_oidc_client_secret"})


class AuthSettings(BaseModel):
    """How people sign in to the web UI (API tokens work the same way for all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth_type: Literal["local", "ldap", "oidc"] = Field(
        default="local",
        description="local: users and passwords kept by Conveyor; ldap: a directory checks "
        "the password; oidc: an OpenID Connect provider signs people in",
    )
    auth_allow_local_users: bool = Field(
        default=True,
        description="with ldap or oidc, local users (made with `conveyor users create`) may "
        "still sign in with their password, e.g. break-glass admins",
    )
    # Kept as pairs, not a dict: Settings stay hashable (read as a dict: ``roles_mapping``).
    auth_roles_mapping: tuple[tuple[str, tuple[str, ...]], ...] = Field(
        default=(),
        description="JSON from a directory group (LDAP: its DN; OIDC: the name in the groups "
        'claim) to Conveyor roles, e.g. {"cn=ops,ou=groups,dc=example,dc=com": ["op"]}',
    )
    auth_user_registration: bool = Field(
        default=True,
        description="make the user record at a directory user's first sign-in; false: only "
        "users an admin made already may sign in through the directory",
    )
    auth_user_registration_role: str | None = Field(
        default=None,
        description="the role every directory user has besides their groups' (unset: none; "
        "a user whom no group gives a role is then refused)",
    )
    auth_roles_sync_at_login: bool = Field(
        default=True,
        description="set a directory user's role from their groups at each sign-in (false: "
        "only at the first; an admin's later changes stay)",
    )
    auth_directory_recheck_seconds: float = Field(
        default=300.0,
        ge=0,
        description="an LDAP user's API token or browser session is honoured only after the "
        "directory was asked "
        "about the user within this many seconds (their groups synced again; a user gone "
        "from the directory or from every mapped group is refused); 0: at each use",
    )
    # LDAP (Flask-AppBuilder's AUTH_LDAP_* names).
    auth_ldap_server: str | None = Field(
        default=None, description="ldap://host:389 or ldaps://host:636"
    )
    auth_ldap_search: str | None = Field(
        default=None, description="the base DN users are searched under"
    )
    auth_ldap_search_filter: str = Field(
        default="", description="an extra filter users must match, e.g. (objectClass=person)"
    )
    auth_ldap_uid_field: str = Field(
        default="uid", description="the attribute holding the sign-in name (AD: sAMAccountName)"
    )
    auth_ldap_bind_user: str | None = Field(
        default=None, description="DN the search binds as (unset: anonymous search)"
    )
    auth_ldap_bind_password: str | None = Field(default=None, description="its password")
    auth_ldap_group_field: str = Field(
        default="memberOf", description="the attribute of the user's entry naming their groups"
    )
    auth_ldap_group_search: str | None = Field(
        default=None,
        description="base DN of a group search, for directories without memberOf: the "
        "groups matching auth_ldap_group_search_filter are the user's",
    )
    auth_ldap_group_search_filter: str = Field(
        default="(member={dn})",
        description="{dn} is the user's DN, {uid} the sign-in name, e.g. (memberUid={uid})",
    )
    auth_ldap_use_tls: bool = Field(
        default=False, description="StartTLS on an ldap:// server (ldaps:// is TLS already)"
    )
    auth_ldap_allow_self_signed: bool = Field(
        default=False,
        description="skip the server certificate's checks (never in production: use "
        "auth_ldap_tls_cacertfile for a private CA)",
    )
    auth_ldap_tls_cacertfile: str | None = Field(
        default=None, description="CA certificates (PEM) the server's certificate is checked with"
    )
    auth_ldap_tls_certfile: str | None = Field(
        default=None, description="client certificate (PEM), when the server asks for one"
    )
    auth_ldap_tls_keyfile: str | None = Field(default=None, description="its private key")
    auth_ldap_timeout_seconds: float = Field(
        default=10.0, gt=0, description="connecting to and each answer of the LDAP server"
    )
    # OpenID Connect.
    auth_oidc_issuer: str | None = Field(
        default=None,
        description="the provider's issuer URL; its /.well-known/openid-configuration is read",
    )
    auth_oidc_client_id: str | None = Field(default=None, description="this app's client id")
    auth_oidc_client_secret: str | None = Field(
        default=None, description="its secret (unset: a public client, PKCE alone)"
    )
    auth_oidc_scopes: str = Field(
        default="openid email profile", description="scopes asked for, space-separated"
    )
    auth_oidc_username_claim: str = Field(
        default="preferred_username",
        description="the ID token claim that becomes the user name (falls back to email, then sub)",
    )
    auth_oidc_groups_claim: str = Field(
        default="groups", description="the ID token claim listing the user's groups"
    )
    auth_oidc_id_token_algorithms: tuple[str, ...] = Field(
        default=SAFE_ID_TOKEN_ALGORITHMS,
        description="the signature algorithms an ID token may use, whatever the provider's "
        "discovery document lists (asymmetric only by default; 'none' is never accepted)",
    )
    auth_oidc_timeout_seconds: float = Field(
        default=10.0, gt=0, description="each request to the provider"
    )

    @field_validator("auth_roles_mapping", mode="before")
    @classmethod
    def _parse_roles_mapping(cls, value: Any) -> Any:
        """The environment gives JSON text; the file a table or JSON text."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(f"JSON from a group to a list of roles: {exc}") from None
        if isinstance(value, dict):
            # FAB's examples map to one role by name too: "group": "Admin" is ["Admin"].
            return tuple(
                (k, (v,) if isinstance(v, str) else tuple(v)) for k, v in sorted(value.items())
            )
        return value

    @field_validator("auth_oidc_id_token_algorithms", mode="before")
    @classmethod
    def _parse_algorithms(cls, value: Any) -> Any:
        """A list, or text with the names separated by commas or blanks."""
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        return value

    @field_validator("auth_oidc_id_token_algorithms")
    @classmethod
    def _check_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"at least one algorithm, e.g. {', '.join(SAFE_ID_TOKEN_ALGORITHMS)}")
        if any(name.lower() == "none" for name in value):
            raise ValueError("'none' accepts unsigned ID tokens, which anyone can forge")
        return value

    @property
    def roles_mapping(self) -> dict[str, tuple[str, ...]]:
        """``auth_roles_mapping`` as a group -> roles dict."""
        return dict(self.auth_roles_mapping)

    @field_validator("auth_ldap_server")
    @classmethod
    def _check_ldap_server(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("ldap://", "ldaps://")):
            raise ValueError("an ldap:// or ldaps:// URL such as ldaps://ldap.example.com")
        return value

    @field_validator("auth_oidc_issuer")
    @classmethod
    def _check_issuer(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("an https:// URL such as https://login.example.com/realms/main")
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _needed_for_auth_type(self) -> AuthSettings:
        needed = {
            "local": (),
            "ldap": ("auth_ldap_server", "auth_ldap_search"),
            "oidc": ("auth_oidc_issuer", "auth_oidc_client_id"),
        }[self.auth_type]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(
                f"auth_type = {self.auth_type!r} needs {' and '.join(missing)} to be set"
            )
        return self
