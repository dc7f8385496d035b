"""AWS Secrets Manager and Systems Manager Parameter Store as secrets backends, with the
arguments Airflow's backends of those names take (``backend_kwargs``).

A connection ``my_db`` is the secret ``<connections_prefix><sep>my_db`` (default
``airflow/connections/my_db`` in Secrets Manager, ``/airflow/connections/my_db`` in
Parameter Store), holding a URI or a JSON object; a variable is under ``variables_prefix``.
A prefix set to null looks nothing of that kind up; a ``*_lookup_pattern`` (a regular
expression, case-insensitive) limits the ids looked up. The client comes from ``region_name``,
``endpoint_url``, ``profile_name``, explicit keys or, with none of these, boto3's own chain
(``AWS_*`` variables, the instance's role). A secret that does not exist is None; any other
error of the service (access denied, unreachable) reaches the caller, which names the backend.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any, Literal

from conveyor.exceptions import ConfigError
from conveyor.install_hint import pip_install

#: The client arguments a backend's kwargs may give (Airflow reads them as an aws
#: connection's extra); ``config_kwargs`` is botocore's ``Config``.
_CLIENT_KWARGS = frozenset(
    {
        "region_name",
        "endpoint_url",
        "profile_name",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "verify",
        "api_version",
        "use_ssl",
        "config_kwargs",
    }
)
#: Airflow's words for a connection's fields in a Secrets Manager JSON secret.
_FIELD_WORDS = {
    "login": ("login", "user", "username", "user_name"),
    "password": ("password", "pass", "key"),
    "host": ("host", "remote_host", "server"),
    "port": ("port",),
    "schema": ("database", "schema"),
    "conn_type": ("conn_type", "conn_id", "connection_type", "engine"),
    "extra": ("extra",),
}


class _AwsBackend:
    service: Literal["secretsmanager", "ssm"]  # each backend's boto3 client
    default_prefix = ""

    def __init__(
        self,
        *,
        connections_prefix: str | None = None,
        variables_prefix: str | None = None,
        config_prefix: str | None = None,
        connections_lookup_pattern: str | None = None,
        variables_lookup_pattern: str | None = None,
        config_lookup_pattern: str | None = None,
        sep: str = "/",
        **client: Any,
    ) -> None:
        _require_client()
        unknown = sorted(set(client) - _CLIENT_KWARGS)
        if unknown:
            raise ConfigError(
                f"unknown argument {', '.join(map(repr, unknown))} of {type(self).__name__}; it "
                f"takes connections_prefix, variables_prefix, config_prefix, the *_lookup_pattern "
                f"arguments, sep and {', '.join(sorted(_CLIENT_KWARGS))}"
                + (
                    " (role_arn: give the role's keys or run under it)"
                    if "role_arn" in client
                    else ""
                )
            )
        self.sep = sep
        self.connections_prefix = self._prefix(connections_prefix)
        self.variables_prefix = self._prefix(variables_prefix)
        self.config_prefix = self._prefix(config_prefix)
        self.connections_lookup_pattern = _pattern(connections_lookup_pattern)
        self.variables_lookup_pattern = _pattern(variables_lookup_pattern)
        self.config_lookup_pattern = _pattern(config_lookup_pattern)
        self.client_kwargs = client

    def _prefix(self, given: str | None) -> str | None:
        """None (null in the kwargs) looks nothing of that kind up, as in Airflow; an empty
        prefix looks the id up as it is."""
        return given.rstrip(self.sep) if given else given

    @cached_property
    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        options = dict(self.client_kwargs)
        session = boto3.session.Session(
            profile_name=options.pop("profile_name", None),
            aws_access_key_id=options.pop("aws_access_key_id", None),
            aws_secret_access_key=options.pop("aws_secret_access_key", None),
            aws_session_token=options.pop("aws_session_token", None),
            region_name=options.pop("region_name", None),
        )
        config = options.pop("config_kwargs", None)
        if config is not None:
            options["config"] = Config(**config)
        return session.client(self.service, **options)

    def get_conn_value(self, conn_id: str) -> str | None:
        return self._lookup(self.connections_prefix, conn_id, self.connections_lookup_pattern)

    def get_variable(self, key: str) -> str | None:
        return self._lookup(self.variables_prefix, key, self.variables_lookup_pattern)

    def get_config(self, key: str) -> str | None:
        """Airflow reads its own settings here; Conveyor's come from conveyor.toml and the
        environment, so this is for ``conveyor config`` tooling alone."""
        return self._lookup(self.config_prefix, key, self.config_lookup_pattern)

    def _lookup(self, prefix: str | None, key: str, pattern: re.Pattern[str] | None) -> str | None:
        if prefix is None or (pattern is not None and not pattern.match(key)):
            return None
        return self._read(f"{prefix}{self.sep}{key}" if prefix else key)

    def _read(self, name: str) -> str | None:
        raise NotImplementedError


class SecretsManagerBackend(_AwsBackend):
    """AWS Secrets Manager: a secret's ``SecretString``. A connection held as a JSON object
    may name its fields with Airflow's other words (``user``, ``username``, ``server``,
    ``database``, ``engine``...); ``extra_conn_words`` adds more."""

    service = "secretsmanager"

    def __init__(
        self,
        connections_prefix: str | None = "airflow/connections",
        variables_prefix: str | None = "airflow/variables",
        config_prefix: str | None = "airflow/config",
        extra_conn_words: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            connections_prefix=connections_prefix,
            variables_prefix=variables_prefix,
            config_prefix=config_prefix,
            **kwargs,
        )
        self.field_words = {name: list(words) for name, words in _FIELD_WORDS.items()}
        for name, words in (extra_conn_words or {}).items():
            field = "login" if name == "user" else name
            if field not in self.field_words or not isinstance(words, list):
                raise ConfigError(
                    f"extra_conn_words: {name!r} must be one of "
                    f"{', '.join(self.field_words)} with a list of words"
                )
            self.field_words[field] += words

    def get_conn_value(self, conn_id: str) -> str | None:
        text = super().get_conn_value(conn_id)
        if text is None or not text.strip().startswith("{"):
            return text
        return json.dumps(self._standard_fields(json.loads(text)))

    def _standard_fields(self, secret: dict[str, Any]) -> dict[str, Any]:
        """The JSON form's fields from the secret's keys; keys of no field are left out, as
        Airflow leaves them (extra values go under ``extra``)."""
        found = {}
        for field, words in self.field_words.items():
            value = next((v for k, v in secret.items() if k in words), None)
            if value is not None:
                found[field] = value
        return found

    def _read(self, name: str) -> str | None:
        client = self.client
        try:
            answer = client.get_secret_value(SecretId=name)
        except client.exceptions.ResourceNotFoundException:
            return None
        value = answer.get("SecretString")
        return value if isinstance(value, str) else None


class SystemsManagerParameterStoreBackend(_AwsBackend):
    """AWS Systems Manager Parameter Store: a parameter's value (SecureString decrypted)."""

    service = "ssm"

    def __init__(
        self,
        connections_prefix: str | None = "/airflow/connections",
        variables_prefix: str | None = "/airflow/variables",
        config_prefix: str | None = "/airflow/config",
        **kwargs: Any,
    ) -> None:
        if "sep" in kwargs:
            raise ConfigError("sep is Secrets Manager's: a parameter's path is always '/'")
        super().__init__(
            connections_prefix=connections_prefix,
            variables_prefix=variables_prefix,
            config_prefix=config_prefix,
            **kwargs,
        )

    def _read(self, name: str) -> str | None:
        client = self.client
        try:
            answer = client.get_parameter(Name=name, WithDecryption=True)
        except client.exceptions.ParameterNotFound:
            return None
        value = answer["Parameter"]["Value"]
        return str(value)


def _pattern(text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"lookup pattern {text!r} is not a regular expression: {exc}") from None


def _require_client() -> None:
    """The client library is an extra: say which at configuration time, not at a lookup."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise ConfigError(f"this backend needs boto3: {pip_install('amazon')}") from None
