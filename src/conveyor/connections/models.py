"""A connection: where and how to reach an external system, parsed from and written as a URI."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from conveyor.connections.masking import MASK, looks_secret, mask_nested, secrets_in
from conveyor.exceptions import ConfigError

#: URI schemes that name the same kind of system as another: as in Airflow, a
#: ``postgresql://`` URI makes a connection of type "postgres" (whose ``get_uri()`` then says
#: ``postgres://``; ``sqlalchemy_url()`` and a hook's ``get_uri()`` say ``postgresql://``).
_SCHEME_ALIASES = {"postgresql": "postgres"}
#: A type whose SQLAlchemy dialect is spelled otherwise.
_DIALECTS = {"postgres": "postgresql"}
#: A URI scheme (RFC 3986): a letter, then letters, digits, "+", "-", ".".
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
#: The password of ``scheme://login:password@host``: from the first ":" after the login to the
#: last "@" before the path (a password may hold "@" and ":").
_PASSWORD = re.compile(r"^([^:/?#]*://[^:/?#@]*:)[^/?#]*@")
#: The fields of a connection that ``secret_fields`` may name, besides the keys of ``extra``
#: (the password is always secret). A webhook's secret is often its path (``schema``).
SECRET_MAY_BE = ("login", "password", "host", "schema")
#: Fields that are secret in every connection of a type, marked or not: a Slack incoming
#: webhook's URL path is its token.
TYPE_SECRET_FIELDS: dict[str, tuple[str, ...]] = {"slackwebhook": ("schema",)}
#: Fields that never hold a secret worth masking: naming them is a mistake, refused.
_NEVER_SECRET = ("conn_id", "conn_type", "port", "description", "extra")

_log = logging.getLogger(__name__)


@dataclass(frozen=True, init=False)
class Connection:
    """One connection, with Airflow's attributes: ``extra`` is the JSON text of an object (or
    ``None``), as Airflow keeps it, so ``json.loads(conn.extra)`` reads it; ``extra_dejson``
    is that object as a dict."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: str | None = field(default=None, repr=False)
    description: str | None = None
    #: Fields masked whatever their name: ``login`` or keys of ``extra`` (the password is
    #: always secret, and so are extra keys that look secret: see ``masking.looks_secret``).
    secret_fields: tuple[str, ...] = ()

    def __init__(
        self,
        conn_id: str,
        conn_type: str | None = None,
        *positional: object,
        host: str | None = None,
        port: int | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        extra: str | Mapping[str, Any] | None = None,
        description: str | None = None,
        secret_fields: Iterable[str] = (),
        uri: str | None = None,
    ) -> None:
        """The fields by name, or Airflow 2's ``Connection(conn_id=..., uri=...)``. ``extra``
        may be the JSON text of an object (Airflow's form) or a dict, kept as its JSON text;
        an empty one is ``None``, as in Airflow.

        Only ``conn_id`` and ``conn_type`` may be given by position: Airflow's core model
        takes ``description, host, login, password, schema, port, extra`` next, its task SDK
        ``description, host, schema, login, password, port, extra``, so a third positional
        value would mean a different field to each; it is refused, naming the keywords."""
        if positional:
            raise TypeError(
                f"Connection({conn_id!r}, {conn_type!r}, ...): give the fields after conn_type "
                f"by name (description=, host=, login=, password=, schema=, port=, extra=): "
                f"Airflow 2 and Airflow 3 take them by position in different orders"
            )
        fields: dict[str, Any] = {
            "conn_type": conn_type,
            "host": host,
            "port": port,
            "login": login,
            "password": password,
            "schema": schema,
            "extra": extra,
        }
        marks = secret_fields
        if uri is not None:
            given = [name for name, value in fields.items() if value]
            if given or tuple(marks):
                raise ConfigError(
                    f"connection {conn_id!r}: give either uri or the fields, not both "
                    f"(uri and {', '.join(given or ['secret_fields'])})"
                )
            parsed = Connection.from_uri(conn_id, uri, description)
            fields = {name: getattr(parsed, name) for name in fields}
            marks = parsed.secret_fields
        if fields["conn_type"] is None:
            raise TypeError(f"Connection({conn_id!r}): conn_type is required (or uri=...)")
        if isinstance(marks, str) or not all(isinstance(f, str) and f for f in marks):
            raise ConfigError(
                f"connection {conn_id!r}: secret_fields must be a list of field names, "
                f"got {marks!r}"
            )
        values = {
            "conn_id": conn_id,
            **fields,
            "extra": extra_text(fields["extra"]),
            "description": description,
            "secret_fields": tuple(sorted(set(marks))),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def check_secret_fields(self) -> None:
        """Refuse a mark that would mask nothing: a field that holds no secret, or a name that
        is neither a field that may be secret nor a key of ``extra`` (a typo would leave the
        value it meant in clear). Checked when a connection is stored, not when one stored
        before the rule is read, so such a row stays readable."""
        never = sorted(set(self.secret_fields) & set(_NEVER_SECRET))
        if never:
            raise ConfigError(
                f"connection {self.conn_id!r}: secret_fields cannot mask {', '.join(never)}; "
                f"they name {', '.join(SECRET_MAY_BE)} or keys of extra"
            )
        extra = self.extra_dejson
        unknown = [f for f in self.secret_fields if f not in SECRET_MAY_BE and f not in extra]
        if unknown:
            keys = ", ".join(sorted(extra)) or "none"
            raise ConfigError(
                f"connection {self.conn_id!r}: secret_fields names {', '.join(unknown)}, which "
                f"is neither one of {', '.join(SECRET_MAY_BE)} nor a key of extra ({keys})"
            )

    def is_secret(self, key: str) -> bool:
        """Whether the value of extra key (or field) ``key`` is masked."""
        return self._marked(key) or looks_secret(key)

    def _marked(self, name: str) -> bool:
        """Whether ``name`` is secret by a mark on this connection or by its type."""
        return name in self.secret_fields or name in TYPE_SECRET_FIELDS.get(self.conn_type, ())

    @classmethod
    def get(cls, conn_id: str) -> Connection:
        """The connection ``conn_id`` as a try sees it (secrets backend, environment, store):
        Airflow 3's ``Connection.get``; a missing one raises ``NotFoundError`` (Airflow's
        ``AirflowNotFoundException``)."""
        from conveyor.connections import get_connection  # that module imports this one

        return get_connection(conn_id)

    @classmethod
    def get_connection_from_secrets(cls, conn_id: str) -> Connection:
        """Airflow 2's name for :meth:`get`."""
        return cls.get(conn_id)

    @classmethod
    def from_uri(cls, conn_id: str, uri: str, description: str | None = None) -> Connection:
        """``postgresql://user:pass@host:5432/db?sslmode=require`` -> a Connection.

        Query parameters become ``extra``; a parameter ``__extra__`` holds a JSON object, and
        ``__secret__`` names fields to mask (comma-separated). Airflow 3's order,
        ``Connection.from_uri(uri, conn_id)``, is read too: a connection id has no ``://``.
        """
        if "://" in conn_id and "://" not in uri:
            conn_id, uri = uri, conn_id
        where = f"connection {conn_id!r}: {_hide(uri)!r}"
        try:
            parts = urlsplit(uri)
            port = parts.port
            host, login, password = parts.hostname, parts.username, parts.password
        except ValueError as exc:  # a bad port, an IPv6 bracket, an NFKC netloc
            raise ConfigError(f"{where} is not a valid URI: {_reason(exc)}") from None
        if not _SCHEME.fullmatch(parts.scheme):
            raise ConfigError(
                f"{where} is not a URI: it needs a type before '://' "
                "(expected type://login:password@host:port/schema?key=value)"
            )
        extra: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "__extra__" in extra:
            try:
                extra = {**json.loads(extra.pop("__extra__")), **extra}
            except (json.JSONDecodeError, TypeError) as exc:
                raise ConfigError(f"connection {conn_id!r}: __extra__ is not JSON: {exc}") from None
        secret_fields = tuple(f for f in str(extra.pop("__secret__", "")).split(",") if f)
        scheme = parts.scheme.replace("-", "_")
        return cls(
            conn_id=conn_id,
            conn_type=_SCHEME_ALIASES.get(scheme, scheme),
            host=unquote(host) if host else None,
            port=port,
            login=unquote(login) if login else None,
            password=unquote(password) if password is not None else None,
            # Airflow reads a URI without a path as an empty schema, not a missing one.
            schema=unquote(parts.path.lstrip("/")),
            extra=extra,
            description=description,
            secret_fields=secret_fields,
        )

    def get_uri(self, *, reveal: bool = True) -> str:
        """The connection as a URI; ``reveal=False`` writes the password as ``***``."""
        auth = ""
        if self.login or self.password:
            login = MASK if self.login and not reveal and self._marked("login") else None
            auth = quote(login or self.login or "", safe="*")
            if self.password is not None:
                auth += ":" + (quote(self.password, safe="") if reveal else MASK)
            auth += "@"
        # Quoted whole, as Airflow writes it: a sqlite path or a URL in the host survives.
        host = quote(self.host or "", safe="")
        if host and not reveal and self._marked("host"):
            host = MASK
        if self.port is not None:
            host += f":{self.port}"
        uri = f"{self.conn_type.replace('_', '-')}://{auth}{host}"
        if self.schema:
            # sqlite: the schema is a file path, absolute once the URI's own "/" is read.
            lead = "//" if self.conn_type == "sqlite" else "/"
            hidden = not reveal and self._marked("schema")
            uri += lead + (MASK if hidden else quote(self.schema, safe="/"))
        if self.extra or self.secret_fields:
            shown = self.extra_dejson if reveal else self.masked_extra()
            marks = {"__secret__": ",".join(self.secret_fields)} if self.secret_fields else {}
            if all(isinstance(v, str) for v in shown.values()):
                uri += "?" + urlencode({**shown, **marks})
            else:
                uri += "?" + urlencode({"__extra__": json.dumps(shown), **marks})
        return uri

    @property
    def uri(self) -> str:
        return self.get_uri()

    # Airflow's spellings, which DAG code and hooks written for Airflow call.
    @property
    def extra_dejson(self) -> dict[str, Any]:
        """``extra`` as a new dict each time. Text that is not a JSON object is logged and
        read as ``{}``, as Airflow reads it."""
        if not self.extra:
            return {}
        try:
            found = json.loads(self.extra)
        except ValueError as exc:
            _log.error("connection %r: its extra is not JSON (%s); read as {}", self.conn_id, exc)
            return {}
        if not isinstance(found, dict):
            _log.error("connection %r: its extra is not a JSON object; read as {}", self.conn_id)
            return {}
        return found

    def get_extra(self) -> str | None:
        """``extra``: its JSON text, ``None`` when it has none (Airflow's ``get_extra``)."""
        return self.extra

    def get_password(self) -> str | None:
        return self.password

    def masked_extra(self) -> dict[str, Any]:
        """``extra`` as it may be shown: a secret key's value is ``***`` whole, and so is
        whatever sits under a secret-looking key deeper inside an object or a list (a
        ``service_config``'s keys, a ``headers`` object's ``Authorization``)."""
        extra = self.extra_dejson.items()
        return {k: (MASK if self.is_secret(k) else mask_nested(v)) for k, v in extra}

    def secret_values(self) -> list[Any]:
        """What must never be printed: the password, the values of secret fields (an extra
        value may be JSON: each string inside it is a secret too), and what sits under a
        secret-looking key inside the other extra values."""
        values: list[Any] = [self.password] if self.password else []
        for name in ("login", "host", "schema"):
            if getattr(self, name) and self._marked(name):
                values.append(getattr(self, name))
        for key, value in self.extra_dejson.items():
            if self.is_secret(key):
                values += [value] if value else []
            else:
                values += secrets_in(value)
        return values

    def masked(self) -> Connection:
        def hide(name: str) -> Any:
            value = getattr(self, name)
            return MASK if value and self._marked(name) else value

        return replace(
            self,
            login=hide("login"),
            host=hide("host"),
            schema=hide("schema"),
            password=MASK if self.password else None,
            extra=extra_text(self.masked_extra()),
        )

    def sqlalchemy_url(self) -> str:
        """A SQLAlchemy URL for database connections (postgresql, sqlite, mysql...)."""
        if self.conn_type == "sqlite":
            return f"sqlite:///{self.host or ''}{'/' + self.schema if self.schema else ''}"
        dialect = _DIALECTS.get(self.conn_type, self.conn_type)
        return self.get_uri().replace(self.conn_type.replace("_", "-") + "://", dialect + "://", 1)

    def __repr__(self) -> str:
        return f"<Connection {self.conn_id} {self.get_uri(reveal=False)}>"


def extra_text(extra: str | Mapping[str, Any] | None) -> str | None:
    """``extra`` as Airflow keeps it: JSON text, ``None`` for none. Text is kept as given
    (read at first use, as Airflow reads it)."""
    if extra is None or isinstance(extra, str):
        return extra or None
    if not isinstance(extra, Mapping):
        raise ConfigError(f"a connection's extra is a JSON object or its text, not {extra!r}")
    return json.dumps(dict(extra)) if extra else None


def _reason(exc: ValueError) -> str:
    """Why ``urlsplit`` refused a URI, without the text it quotes: its NFKC check quotes the
    whole netloc, password included."""
    if "NFKC" in str(exc):
        return (
            "its login, password or host holds characters that Unicode NFKC normalization "
            "changes (percent-encode them)"
        )
    return str(exc)


def _hide(uri: str) -> str:
    """A URI with its password replaced, for error messages: by pattern, not by parsing, so
    that a URI too broken to parse is masked all the same."""
    return _PASSWORD.sub(rf"\g<1>{MASK}@", uri)
