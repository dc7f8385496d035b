"""``AwsBaseHook``: boto3 sessions and clients made from an ``aws`` connection, as Airflow's.

The connection says who and where: ``login`` is the access key id and ``password`` the
secret access key (or extra ``aws_access_key_id`` / ``aws_secret_access_key``); extra
``aws_session_token``, ``region_name``, ``endpoint_url`` (any S3-compatible server),
``verify``, ``config_kwargs`` (botocore's ``Config``) and ``service_config`` (per service,
e.g. ``{"s3": {"endpoint_url": ..., "bucket_name": ...}}``). ``aws_conn_id=None``, or an id
no connection has, uses boto3's own credential chain (environment, profile, instance role),
as Airflow does.

A call that cannot reach AWS or whose credentials are refused fails with an
``AwsConnectionError`` naming the connection, its endpoint and access key id, never the
secret key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from conveyor.connections import Connection
from conveyor.connections.masking import MASK
from conveyor.exceptions import NotFoundError, TaskError
from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames, ProviderHook

boto3 = load("boto3", "amazon", "amazon")
from botocore import exceptions as botocore_errors  # noqa: E402 - boto3 brings botocore
from botocore.config import Config  # noqa: E402

#: Error codes AWS answers a request with when the credentials, not the request, are wrong
#: or may not do this; "403" is how S3 answers a HEAD request so (its answer has no body).
_REFUSED_CODES = frozenset(
    {
        "403",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "ExpiredToken",
        "InvalidToken",
        "UnrecognizedClientException",
        "AuthFailure",
    }
)
#: botocore's errors that mean "AWS could not be reached" or "no usable credentials".
_UNREACHABLE = (
    botocore_errors.EndpointConnectionError,
    botocore_errors.ConnectTimeoutError,
    botocore_errors.ReadTimeoutError,
    botocore_errors.NoCredentialsError,
    botocore_errors.PartialCredentialsError,
    botocore_errors.NoRegionError,
)

#: A region's name (``us-east-1``, ``us-gov-west-1``): no service is spelled so.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")

F = TypeVar("F", bound=Callable[..., Any])


class AwsConnectionError(TaskError):
    """AWS could not be reached with a connection, or refused its credentials; the message
    names the connection and never shows the secret access key."""


class AwsRefusedError(AwsConnectionError, botocore_errors.ClientError):
    """AWS answered that the connection's credentials are wrong or may not do this. Still a
    botocore ``ClientError`` with its ``response``: code written for Airflow catches that
    (``check_for_bucket`` answers False to a refused HEAD, as Airflow's does)."""

    def __init__(self, message: str, response: dict[str, Any], operation_name: str) -> None:
        Exception.__init__(self, message)
        self.response = response  # type: ignore[assignment]
        self.operation_name = operation_name


@dataclass(frozen=True)
class AwsSettings:
    """What an ``aws`` connection (or its absence) says about reaching AWS."""

    conn_id: str | None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    region_name: str | None = None
    endpoint_url: str | None = None
    verify: bool | str | None = None
    config_kwargs: dict[str, Any] = field(default_factory=dict)
    service_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema: str | None = None

    def endpoint_for(self, service: str) -> str | None:
        """The service's own ``endpoint_url`` in ``service_config``, else the connection's."""
        return self.service_config.get(service, {}).get("endpoint_url") or self.endpoint_url


def settings_of(conn: Connection | None, conn_id: str | None) -> AwsSettings:
    """The settings an ``aws`` connection holds; ``conn`` None: boto3's defaults."""
    if conn is None:
        return AwsSettings(conn_id=conn_id)
    extra = conn.extra_dejson
    access, secret = conn.login, conn.password
    if not (access and secret):  # Airflow reads the keys from extra when login is empty
        access, secret = extra.get("aws_access_key_id"), extra.get("aws_secret_access_key")
    service_config = extra.get("service_config") or {}
    if not isinstance(service_config, dict):
        raise AwsConnectionError(
            f"connection {conn.conn_id!r}: extra service_config must be an object of "
            f"service -> settings, got {type(service_config).__name__}"
        )
    return AwsSettings(
        conn_id=conn.conn_id,
        access_key_id=access or None,
        secret_access_key=secret or None,
        session_token=extra.get("aws_session_token") or None,
        region_name=extra.get("region_name") or None,
        # "host" in extra is the provider's older spelling of endpoint_url.
        endpoint_url=extra.get("endpoint_url") or extra.get("host") or None,
        verify=extra.get("verify"),
        config_kwargs=dict(extra.get("config_kwargs") or {}),
        service_config=service_config,
        schema=conn.schema or None,
    )


class AwsBaseHook(ProviderHook):
    """Airflow's ``AwsBaseHook`` (1.10's ``AwsHook``): ``AwsBaseHook(aws_conn_id="...",
    client_type="s3")``; ``get_conn()`` is the boto3 client (or resource with
    ``resource_type``), ``get_session()`` the boto3 session."""

    names = HookNames("aws_conn_id", "aws_default", "aws", "Amazon Web Services")

    def __init__(
        self,
        aws_conn_id: str | None = names.default_conn_name,
        verify: bool | str | None = None,
        region_name: str | None = None,
        client_type: str | None = None,
        resource_type: str | None = None,
        config: Config | dict[str, Any] | None = None,
    ) -> None:
        self.aws_conn_id = aws_conn_id
        self.client_type = client_type
        self.resource_type = resource_type
        self._region_name = region_name
        self._verify = verify
        self._config = Config(**config) if isinstance(config, dict) else config
        self._settings: AwsSettings | None = None
        self._conn: Any = None

    # -- the connection ------------------------------------------------------------------

    @property
    def conn_config(self) -> AwsSettings:
        """The connection's settings, read once."""
        if self._settings is None:
            conn = None
            if self.aws_conn_id:
                try:
                    conn = self.get_connection(self.aws_conn_id)
                except NotFoundError:
                    self.log.warning(
                        "no connection %r: using boto3's own credentials (environment, "
                        "profile or instance role)",
                        self.aws_conn_id,
                    )
            self._settings = settings_of(conn, self.aws_conn_id)
        return self._settings

    @property
    def region_name(self) -> str | None:
        return self._region_name or self.conn_config.region_name

    @property
    def verify(self) -> bool | str | None:
        return self._verify if self._verify is not None else self.conn_config.verify

    @property
    def config(self) -> Config:
        """botocore's ``Config``: the hook's, else the connection's ``config_kwargs``."""
        if self._config is not None:
            return self._config
        return Config(**self.conn_config.config_kwargs)

    @property
    def service_name(self) -> str:
        name = self.client_type or self.resource_type
        if not name or (self.client_type and self.resource_type):
            raise ValueError(
                f"Either client_type={self.client_type!r} or "
                f"resource_type={self.resource_type!r} must be provided, not both."
            )
        return name

    @property
    def service_config(self) -> dict[str, Any]:
        """The connection's ``service_config`` for this hook's service."""
        return dict(self.conn_config.service_config.get(self.service_name, {}))

    # -- boto3 ---------------------------------------------------------------------------

    def get_session(self, region_name: str | None = None, **_: Any) -> Any:
        """A ``boto3.session.Session`` with the connection's credentials and region."""
        settings = self.conn_config
        return boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            aws_session_token=settings.session_token,
            region_name=region_name or self.region_name,
        )

    def get_client_type(
        self,
        client_type: str | None = None,
        region_name: str | None = None,
        config: Config | None = None,
        **_: Any,
    ) -> Any:
        """A boto3 client. Airflow 1.10 and 2.0 took the service first
        (``get_client_type("s3")``); later versions take ``region_name`` first and use the
        hook's ``client_type``: a first argument spelled as a region is one."""
        client = self._boto3("client", client_type, region_name, config)
        self._name_failures(client)
        return client

    def get_resource_type(
        self,
        resource_type: str | None = None,
        region_name: str | None = None,
        config: Config | None = None,
    ) -> Any:
        """A boto3 resource (``boto3.resource("s3")``) on the connection."""
        resource = self._boto3("resource", resource_type, region_name, config)
        self._name_failures(resource.meta.client)
        return resource

    def _boto3(
        self, kind: str, service: str | None, region_name: str | None, config: Config | None
    ) -> Any:
        """The session's ``client`` or ``resource`` (``kind``) of ``service`` (else the
        hook's), on the connection's endpoint for it."""
        service, region_name = _service_and_region(service, region_name)
        service = service or self.service_name
        make = getattr(self.get_session(region_name), kind)
        return make(
            service,
            endpoint_url=self.conn_config.endpoint_for(service),
            config=config or self.config,
            verify=self.verify,
        )

    def _name_failures(self, client: Any) -> None:
        """Make the client itself fail with ``AwsConnectionError`` when its endpoint cannot
        be reached or its credentials are refused: DAG code often calls ``get_conn()``'s
        methods directly, and botocore's own errors do not say which connection it was."""

        def unreachable(exception: BaseException, **_: Any) -> None:
            if refused(exception):
                raise self.failure(exception) from None

        def refused_answer(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
            code = parsed.get("Error", {}).get("Code")
            if http_response.status_code >= 300 and code in _REFUSED_CODES:
                message = str(self.failure(botocore_errors.ClientError(parsed, model.name)))
                raise AwsRefusedError(message, parsed, model.name)

        client.meta.events.register("after-call-error", unreachable)
        client.meta.events.register("after-call", refused_answer)

    @property
    def conn(self) -> Any:
        """The client (or resource, with ``resource_type``), made once."""
        if self._conn is None:
            if self.resource_type and not self.client_type:
                self._conn = self.get_resource_type(region_name=self.region_name)
            else:
                self._conn = self.get_client_type(region_name=self.region_name)
        return self._conn

    def get_conn(self) -> Any:
        """The boto3 client (or resource) of the hook's service."""
        return self.conn

    def get_credentials(self, region_name: str | None = None) -> Any:
        """botocore's frozen credentials: ``access_key``, ``secret_key``, ``token``."""
        credentials = self.get_session(region_name).get_credentials()
        if credentials is None:
            raise self.failure(botocore_errors.NoCredentialsError())
        return credentials.get_frozen_credentials()

    # -- errors --------------------------------------------------------------------------

    def failure(self, exc: BaseException) -> AwsConnectionError:
        """The error naming the connection that ``exc`` (botocore's) came from."""
        settings = self.conn_config
        detail = str(exc).strip() or type(exc).__name__
        for secret in (settings.secret_access_key, settings.session_token):
            if secret:
                detail = detail.replace(secret, MASK)
        where = self.conn_config.endpoint_for(self._service_or("s3")) or "AWS"
        who = f"access key id {settings.access_key_id}" if settings.access_key_id else "boto3's"
        name = repr(settings.conn_id) if settings.conn_id else "None (boto3's defaults)"
        return AwsConnectionError(
            f"{self.hook_name} connection {name} ({where}, {who} credentials) "
            f"could not be used: {detail}"
        )

    def _service_or(self, default: str) -> str:
        return self.client_type or self.resource_type or default


def _service_and_region(
    service: str | None, region_name: str | None
) -> tuple[str | None, str | None]:
    if service and (service == "aws-global" or _REGION.fullmatch(service)):
        return None, region_name or service
    return service, region_name


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection, not the request, is wrong."""
    if isinstance(exc, AwsConnectionError):
        return False  # named already
    if isinstance(exc, _UNREACHABLE):
        return True
    if isinstance(exc, botocore_errors.ClientError):
        return exc.response.get("Error", {}).get("Code") in _REFUSED_CODES
    return False


def names_the_connection(method: F) -> F:
    """Make a hook method's unreachable endpoint or refused credentials an
    ``AwsConnectionError`` naming the connection; other errors (``NoSuchKey``, ...) stay
    botocore's, which is what code written for Airflow catches."""

    @functools.wraps(method)
    def wrapper(self: AwsBaseHook, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if refused(exc):
                raise self.failure(exc) from None
            raise

    return cast(F, wrapper)


#: Airflow 1.10's name (``airflow.contrib.hooks.aws_hook``).
AwsHook = AwsBaseHook
