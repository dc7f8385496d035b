"""``GoogleBaseHook``: credentials and a project made from a ``google_cloud_platform``
connection, as Airflow's.

The connection's extra says who: ``keyfile_dict`` (a service account key's JSON, as text or
an object), ``key_path`` (the key's JSON file), else Google's own default credentials
(``GOOGLE_APPLICATION_CREDENTIALS``, the metadata server); ``scope`` (comma separated; also
``scopes``) and ``project``. Each is also read under Airflow's older
``extra__google_cloud_platform__`` prefix. ``is_anonymous`` uses no credentials at all, and so
does a hook whose emulator is named in the environment (``BIGQUERY_EMULATOR_HOST``,
``STORAGE_EMULATOR_HOST``): an emulator takes none. ``keyfile_dict`` is masked in task logs
(its key's name says secret).

``impersonation_chain``, ``delegate_to`` and the key kinds Conveyor does not read
(``key_secret_name``, ``credential_config_file``, P12 files) are refused with what to write
instead, never ignored.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from conveyor.connections import Connection
from conveyor.exceptions import NotFoundError, TaskError
from conveyor.providers._extras import MissingExtraError, load
from conveyor.providers._hook import HookNames, ProviderHook

google_auth = load("google.auth", "google", "google")
from google.auth import exceptions as auth_errors  # noqa: E402
from google.auth.credentials import AnonymousCredentials, Credentials  # noqa: E402
from google.oauth2 import service_account  # noqa: E402

#: Airflow's prefix of the connection's extras before providers had their own fields.
OLD_PREFIX = "extra__google_cloud_platform__"
#: The scope Airflow asks for when the connection names none.
DEFAULT_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
#: The connection types a Google hook reads (Airflow's, with ``-`` read as ``_``).
CONN_TYPES = ("google_cloud_platform", "gcpbigquery")
#: Key kinds Airflow reads that Conveyor does not: refused, never skipped.
_UNREAD_EXTRAS = ("key_secret_name", "credential_config_file", "idp_issuer_url")


def optional_library(module: str, what: str) -> ModuleType:
    """``module``, which ``what`` needs and the google extra does not install (pandas,
    pyarrow), or an error saying to install it."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"{what} needs the {module} library, which conveyor[google] does not install: "
            f"pip install {module}",
            name=module,
        )
    return importlib.import_module(module)


class GoogleConnectionError(TaskError):
    """A ``google_cloud_platform`` connection cannot be used; the message names it and never
    shows the key."""


def refuse_impersonation(impersonation_chain: str | Sequence[str] | None, where: str) -> None:
    """Airflow acts as another service account with ``impersonation_chain``; Conveyor does
    not, and running as the connection's own account instead would change who writes."""
    if impersonation_chain:
        raise TaskError(
            f"{where}: impersonation_chain is not supported by Conveyor's google provider; "
            "give the connection the service account's own key (keyfile_dict or key_path)"
        )


class GoogleBaseHook(ProviderHook):
    """Airflow's ``GoogleBaseHook``: ``get_credentials()``, ``get_credentials_and_project_id``
    and ``project_id`` from connection ``gcp_conn_id``."""

    names = HookNames(
        "gcp_conn_id", "google_cloud_default", "google_cloud_platform", "Google Cloud"
    )
    #: The environment variable that points this hook's client at an emulator.
    emulator_env: ClassVar[str | None] = None

    def __init__(
        self,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("delegate_to", None):
            raise TaskError(
                f"{type(self).__name__}: delegate_to was removed from Airflow's google "
                "provider and is not supported; give the connection that account's key"
            )
        # Airflow 1.10's and 2.0's names of the connection keyword.
        for old in ("bigquery_conn_id", "google_cloud_storage_conn_id"):
            given = kwargs.pop(old, None)
            if given:
                gcp_conn_id = given
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword arguments: "
                f"{', '.join(sorted(kwargs))}"
            )
        refuse_impersonation(impersonation_chain, type(self).__name__)
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self._connection: Connection | None = None
        self._extra: dict[str, Any] | None = None
        self._credentials: tuple[Credentials, str | None] | None = None

    # -- the connection ------------------------------------------------------------------

    @property
    def extras(self) -> dict[str, Any]:
        """The connection's extra, read once (empty when no connection has the id: Google's
        default credentials then, as in Airflow)."""
        if self._extra is None:
            try:
                self._connection = self.get_connection(self.gcp_conn_id)
            except NotFoundError:
                self.log.warning(
                    "no connection %r: using Google's default credentials", self.gcp_conn_id
                )
                self._extra = {}
                return {}
            kind = self._connection.conn_type.replace("-", "_").lower()
            if kind not in CONN_TYPES:
                raise self.failure(
                    f"its type is {self._connection.conn_type!r}; a Google hook reads a "
                    f"connection of type {' or '.join(CONN_TYPES)}"
                )
            self._extra = self._connection.extra_dejson
        return self._extra

    def _get_field(self, name: str, default: Any = None) -> Any:
        """An extra by its name, else by Airflow's older prefixed name."""
        extras = self.extras
        for key in (name, OLD_PREFIX + name):
            if extras.get(key) not in (None, ""):
                return extras[key]
        return default

    @property
    def anonymous(self) -> bool:
        """No credentials: the ``is_anonymous`` extra, or the hook's emulator is set."""
        if self.emulator_env and os.environ.get(self.emulator_env):
            return True
        flag = self._get_field("is_anonymous", False)
        return flag is True or str(flag).lower() in ("true", "1", "yes")

    @property
    def scopes(self) -> list[str]:
        value = self._get_field("scope") or self._get_field("scopes")
        if isinstance(value, list | tuple):
            return [str(s).strip() for s in value if str(s).strip()]
        found = [s.strip() for s in str(value or "").split(",") if s.strip()]
        return found or list(DEFAULT_SCOPES)

    # -- credentials ---------------------------------------------------------------------

    def get_credentials_and_project_id(self) -> tuple[Credentials, str | None]:
        """The connection's credentials and the project they belong to (the ``project``
        extra wins)."""
        if self._credentials is None:
            credentials, project = self._make_credentials()
            self._credentials = credentials, self._get_field("project") or project
        return self._credentials

    def get_credentials(self) -> Credentials:
        return self.get_credentials_and_project_id()[0]

    @property
    def project_id(self) -> str | None:
        """The connection's ``project`` extra, else its key's project, else the default
        credentials' (``GOOGLE_CLOUD_PROJECT``)."""
        return self.get_credentials_and_project_id()[1]

    def _make_credentials(self) -> tuple[Credentials, str | None]:
        for name in _UNREAD_EXTRAS:
            if self._get_field(name):
                raise self.failure(
                    f"extra {name} is not read by Conveyor; give keyfile_dict or key_path"
                )
        if self.anonymous:
            return AnonymousCredentials(), os.environ.get("GOOGLE_CLOUD_PROJECT")
        keyfile = self._get_field("keyfile_dict")
        key_path = self._get_field("key_path")
        if keyfile and key_path:
            raise self.failure("give keyfile_dict or key_path, not both")
        if keyfile:
            return self._from_info(self._key_info(keyfile))
        if key_path:
            if not str(key_path).endswith(".json"):
                raise self.failure(f"key_path {key_path!r}: only JSON key files are read")
            try:
                info = json.loads(Path(key_path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise self.failure(f"key_path {key_path!r} cannot be read: {exc}") from None
            except ValueError:
                raise self.failure(f"key_path {key_path!r} is not JSON") from None
            return self._from_info(info)
        try:
            credentials, project = google_auth.default(scopes=self.scopes)
        except auth_errors.DefaultCredentialsError as exc:
            raise self.failure(f"no key in the connection and {exc}") from None
        return credentials, project

    def _key_info(self, keyfile: Any) -> dict[str, Any]:
        if isinstance(keyfile, dict):
            return keyfile
        try:
            info = json.loads(str(keyfile))
        except ValueError:
            raise self.failure("extra keyfile_dict is not the key's JSON") from None
        if not isinstance(info, dict):
            raise self.failure("extra keyfile_dict must be a JSON object")
        return info

    def _from_info(self, info: dict[str, Any]) -> tuple[Credentials, str | None]:
        try:
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=self.scopes
            )
        except (ValueError, KeyError) as exc:
            # The library's message names the missing field, never the key itself.
            raise self.failure(f"the service account key cannot be used: {exc}") from None
        return credentials, info.get("project_id")

    def failure(self, detail: str) -> GoogleConnectionError:
        return GoogleConnectionError(
            f"{self.hook_name} connection {self.gcp_conn_id!r} could not be used: {detail}"
        )
