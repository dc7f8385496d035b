"""Signing in against an LDAP directory (ldap3): bind, search, bind as the user, groups.

Flask-AppBuilder's way, which Airflow teams configure: the service account
(``auth_ldap_bind_user``) searches ``auth_ldap_search`` for the entry whose
``auth_ldap_uid_field`` is the name typed, then a bind as that entry with the password typed
checks it. The groups are the entry's ``auth_ldap_group_field`` (``memberOf``), or the DNs a
group search finds (``auth_ldap_group_search``) for directories without it.

Nothing is learned about which names exist: an unknown name binds too (as a DN that is
not there, which the server refuses as it refuses a wrong password), so both cost one search
and one bind and answer the same. An empty password is refused before the server sees it:
LDAP takes a bind with a name and no password as an anonymous bind, which succeeds.

TLS: ``ldaps://`` or ``auth_ldap_use_tls`` (StartTLS) check the server's certificate and
name against the system's CAs or ``auth_ldap_tls_cacertfile``;
``auth_ldap_allow_self_signed`` turns the checks off.
"""

from __future__ import annotations

import logging
import math
import ssl
import warnings
from typing import Any

from conveyor.config import Settings
from conveyor.exceptions import ConveyorError
from conveyor.install_hint import pip_install
from conveyor.web.directory_users import DirectoryIdentity
from conveyor.web.sign_in_names import matching_key

log = logging.getLogger(__name__)


class DirectoryUnavailableError(ConveyorError):
    """The LDAP server could not be reached or refused the service account."""


def _ldap3() -> Any:
    try:
        with warnings.catch_warnings():
            # ldap3 2.9 imports pyasn1's old names (tagMap), which newer pyasn1 warns about.
            warnings.simplefilter("ignore", DeprecationWarning)
            import ldap3
            import ldap3.core.tls
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DirectoryUnavailableError(
            f"auth_type = 'ldap' needs the ldap3 library: {pip_install('ldap')}"
        ) from exc
    # Any: ldap3's stubs leave out the match_hostname that it imports from ssl to 3.11.
    tls: Any = ldap3.core.tls
    if getattr(tls, "match_hostname", None) is getattr(ssl, "match_hostname", 0):
        tls.match_hostname = _match_hostname
    return ldap3


def _match_hostname(certificate: Any, hostname: str) -> None:
    """ldap3 checks the certificate's names with ``ssl.match_hostname`` where Python has it
    (to 3.11), which warns that it is deprecated; the check is the same, without the
    warning. (From 3.12 ldap3 uses its own copy, which takes DNS names only.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ssl.match_hostname(certificate, hostname)


def authenticate(settings: Settings, username: str, password: str) -> DirectoryIdentity | None:
    """Who ``username`` is when ``password`` is theirs, else None (unknown or wrong alike).

    One connection: the service account searches (and finds the groups), then the same
    connection binds as the user, so a sign-in costs one TLS handshake, not two."""
    if not username or not password:
        return None
    ldap3 = _ldap3()
    with _service_connection(settings, _server(settings)) as conn:
        entry = _find_user(conn, settings, username)
        if entry is not None:
            identity = _identity(conn, settings, entry, username, ldap3)
        else:  # the same requests for a name that is not there: the time tells nothing
            _identity_of(conn, settings, _absent_dn(settings, username), username, {}, ldap3)
        dn = entry.entry_dn if entry is not None else _absent_dn(settings, username)
        try:
            bound = conn.rebind(user=dn, password=password)
        except ldap3.core.exceptions.LDAPBindError:
            bound = False
        except ldap3.core.exceptions.LDAPException as exc:
            raise DirectoryUnavailableError(
                f"LDAP server {settings.auth_ldap_server}: {exc}"
            ) from exc
        return identity if bound and entry is not None else None


def lookup(settings: Settings, username: str) -> DirectoryIdentity | None:
    """The directory's current view of ``username`` (no password: the service account
    looks), or None when it no longer knows them."""
    ldap3 = _ldap3()
    with _service_connection(settings, _server(settings)) as conn:
        entry = _find_user(conn, settings, username)
        return None if entry is None else _identity(conn, settings, entry, username, ldap3)


def _server(settings: Settings) -> Any:
    ldap3 = _ldap3()
    assert settings.auth_ldap_server is not None
    tls = ldap3.Tls(
        validate=ssl.CERT_NONE if settings.auth_ldap_allow_self_signed else ssl.CERT_REQUIRED,
        ca_certs_file=settings.auth_ldap_tls_cacertfile,
        local_certificate_file=settings.auth_ldap_tls_certfile,
        local_private_key_file=settings.auth_ldap_tls_keyfile,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )
    return ldap3.Server(
        settings.auth_ldap_server,
        tls=tls,
        connect_timeout=settings.auth_ldap_timeout_seconds,
        get_info=ldap3.NONE,
    )


def _open(settings: Settings, server: Any, user: str | None, password: str | None) -> Any:
    """A bound connection, over StartTLS when asked; raises ldap3's errors."""
    ldap3 = _ldap3()
    conn = ldap3.Connection(
        server,
        user=user,
        password=password,
        # ldap3 packs it into a socket option as a whole number of seconds.
        receive_timeout=max(1, math.ceil(settings.auth_ldap_timeout_seconds)),
        raise_exceptions=False,
        read_only=True,
    )
    try:
        conn.open()
        if settings.auth_ldap_use_tls and not server.ssl and not conn.start_tls():
            raise DirectoryUnavailableError(
                f"StartTLS with {settings.auth_ldap_server} failed: "
                f"{(conn.result or {}).get('description')}"
            )
    except BaseException:
        conn.unbind()
        if conn.socket is not None:  # ldap3 leaves the socket of a refused connect open
            conn.socket.close()
        raise
    return conn


class _service_connection:
    """The service account's connection (anonymous without ``auth_ldap_bind_user``)."""

    def __init__(self, settings: Settings, server: Any) -> None:
        self.settings = settings
        self.server = server
        self.conn: Any = None

    def __enter__(self) -> Any:
        ldap3 = _ldap3()
        settings = self.settings
        try:
            self.conn = _open(
                settings,
                self.server,
                settings.auth_ldap_bind_user,
                settings.auth_ldap_bind_password,
            )
            bound = self.conn.bind()
        except ldap3.core.exceptions.LDAPException as exc:
            raise DirectoryUnavailableError(
                f"LDAP server {settings.auth_ldap_server}: {exc}"
            ) from exc
        if not bound:
            result = self.conn.result or {}
            self.conn.unbind()
            raise DirectoryUnavailableError(
                f"LDAP server {settings.auth_ldap_server} refused auth_ldap_bind_user "
                f"{settings.auth_ldap_bind_user!r}: {result.get('description')}"
            )
        return self.conn

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.unbind()


def _find_user(conn: Any, settings: Settings, username: str) -> Any:
    """The one entry whose uid field is ``username`` (None for none, or for several)."""
    ldap3 = _ldap3()
    escape = ldap3.utils.conv.escape_filter_chars
    uid_filter = f"({settings.auth_ldap_uid_field}={escape(username)})"
    extra = settings.auth_ldap_search_filter.strip()
    query = f"(&{uid_filter}{extra})" if extra else uid_filter
    assert settings.auth_ldap_search is not None
    conn.search(
        settings.auth_ldap_search,
        query,
        search_scope=ldap3.SUBTREE,
        attributes=[settings.auth_ldap_uid_field, settings.auth_ldap_group_field],
        size_limit=2,
    )
    _check_search(conn, settings)
    entries = conn.entries
    if len(entries) != 1:
        if len(entries) > 1:
            log.warning("LDAP: %d entries have %s; refusing the sign-in", len(entries), uid_filter)
        return None
    return entries[0]


def _check_search(conn: Any, settings: Settings) -> None:
    result = conn.result or {}
    # 0: success; 4: size limit (two matches, refused above); 32: the base is not there.
    if result.get("result") not in (0, 4, 32):
        raise DirectoryUnavailableError(
            f"LDAP search on {settings.auth_ldap_server} failed: {result.get('description')} "
            f"{result.get('message', '')}".strip()
        )


def _absent_dn(settings: Settings, username: str) -> str:
    ldap3 = _ldap3()
    value = ldap3.utils.dn.escape_rdn(username)
    return f"{settings.auth_ldap_uid_field}={value},ou=conveyor-absent,{settings.auth_ldap_search}"


def _identity(
    conn: Any, settings: Settings, entry: Any, typed: str, ldap3: Any
) -> DirectoryIdentity:
    attributes = entry.entry_attributes_as_dict
    # The entry's own name, as the directory returns it: every spelling the directory
    # matches to this entry (Alice, " alice", full-width) is one Conveyor user. Of several
    # values, the one the name typed matches; the DN when the entry has none.
    spelled = [str(v).strip() for v in attributes.get(settings.auth_ldap_uid_field, [])]
    typed_key = matching_key(typed)
    username = next(
        (v for v in spelled if matching_key(v) == typed_key),
        spelled[0] if spelled else str(entry.entry_dn),
    )
    return _identity_of(conn, settings, entry.entry_dn, username, attributes, ldap3)


def _identity_of(
    conn: Any, settings: Settings, dn: str, username: str, attributes: Any, ldap3: Any
) -> DirectoryIdentity:
    if settings.auth_ldap_group_search:
        groups = _searched_groups(conn, settings, dn, username, ldap3)
    else:
        groups = [str(g) for g in attributes.get(settings.auth_ldap_group_field, [])]
    return DirectoryIdentity(username, "ldap", tuple(groups))


def _searched_groups(
    conn: Any, settings: Settings, dn: str, username: str, ldap3: Any
) -> list[str]:
    escape = ldap3.utils.conv.escape_filter_chars
    query = settings.auth_ldap_group_search_filter.format(dn=escape(dn), uid=escape(username))
    assert settings.auth_ldap_group_search is not None
    conn.search(settings.auth_ldap_group_search, query, search_scope=ldap3.SUBTREE, attributes=[])
    _check_search(conn, settings)
    return [str(e.entry_dn) for e in conn.entries]
