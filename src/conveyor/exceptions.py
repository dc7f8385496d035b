"""Conveyor's errors, all under one root. The tree below names every one (a test holds it to
the code); those defined beside the code that raises them give their module.

    ConveyorError
    ├── ConfigError            a configuration key has a value we cannot use
    │   └── BackfillRunningError  (backfill.py)
    ├── DagDefinitionError     the DAG as written is wrong (cycle, duplicate id, bad argument)
    │   └── CycleError
    ├── DagImportError         a DAG file could not be loaded (file, line, message)
    │   └── YamlDagError  (loading/yaml/errors.py)
    ├── NotFoundError          a DAG, run or task named by the user does not exist
    │   ├── DagNotFound  (airflow_compat/exceptions.py)
    │   ├── DagRunNotFound  (airflow_compat/exceptions.py)
    │   ├── HiddenPage  (web/dag_access.py)
    │   ├── PoolNotFound  (airflow_compat/exceptions.py)
    │   ├── TaskInstanceNotFound  (airflow_compat/exceptions.py)
    │   ├── TaskNotFound  (airflow_compat/exceptions.py)
    │   ├── VariableNotFoundError  (connections/__init__.py)
    │   └── VersionNotFound  (store/reads/versions.py)
    ├── StoreError             the metadata store refused or is out of date
    ├── TaskError              raised inside a try by the engine (XCom not JSON, timeout)
    │   ├── ReservedArgumentName
    │   ├── TaskDeferralTimeout
    │   ├── TaskTimeout
    │   ├── AwsConnectionError  (providers/amazon/base_aws.py)
    │   │   └── AwsRefusedError  (providers/amazon/base_aws.py)
    │   ├── DatabaseConnectionError  (providers/dbapi.py)
    │   ├── DockerContainerFailedError  (providers/docker/operator.py)
    │   ├── GoogleConnectionError  (providers/google/base_google.py)
    │   ├── HttpConnectionError  (providers/http/client.py)
    │   ├── HttpStatusError  (providers/http/client.py)
    │   ├── PodFailedError  (providers/kubernetes/operator.py)
    │   ├── ResponseCheckFailed  (providers/http/client.py)
    │   ├── S3HookUriParseFailure  (providers/amazon/s3.py)
    │   ├── SQLCheckFailed  (providers/sql_checks.py)
    │   ├── SSHCommandError  (providers/ssh/hook.py)
    │   ├── SSHConnectionError  (providers/ssh/hook.py)
    │   ├── SensorTimeout  (sensors/base.py)
    │   ├── SlackApiError  (providers/slack/api.py)
    │   ├── SmtpError  (providers/smtp/hook.py)
    │   └── SparkSubmitError  (providers/spark/hook.py)
    ├── TemplateError          a templated field did not render
    ├── AccountError  (web/accounts.py)
    ├── BackfillCompletedError  (store/backfills.py)
    ├── BrokerUnavailable  (executors/celery_executor.py)
    ├── ConfRefused  (model/params.py)
    ├── DagHasActiveRuns  (store/dag_deletion.py)
    ├── DirectoryUnavailableError  (web/ldap_directory.py)
    ├── ExportError  (loading/yaml/errors.py)
    ├── IllegalMove  (lifecycle.py): an undeclared state change asked for (a bug, not a race)
    ├── InstanceNotFound  (store/ti_deletion.py)
    ├── InvalidIdTokenError  (web/oidc_provider.py)
    ├── InvalidRunId  (run_ids.py)
    ├── LogicalDateRefused  (store/trigger.py)
    │   └── PartitionKeyRefused  (store/trigger.py)
    ├── NotStrictJson  (strict_json.py)
    ├── PoolError  (store/pools.py)
    ├── ProviderError  (web/oidc_provider.py)
    ├── RoleError  (web/roles.py)
    ├── RunExists  (store/trigger.py)
    ├── RunNotFinished  (store/run_deletion.py)
    ├── RunStillActive  (store/ti_deletion.py)
    ├── SchedulerAlreadyRunning  (scheduler/loop.py)
    ├── SecretsBackendError  (connections/backends/__init__.py)
    ├── SelectionError  (web/dag_selection.py)
    └── UnknownAirflowSchema  (store/airflow_import/revisions.py)

``AirflowTaskTimeout`` is the timeout of a try of an Airflow DAG file's task: a
``BaseException``, as in Airflow, so an ``except Exception`` in the task's code lets it pass.

``AirflowException`` is Airflow's root error, kept apart from ``ConveyorError``: code
written for Airflow raises and catches it, and the errors of Airflow's providers (an HTTP
4xx, Slack's ``"ok": false``) descend from it as well as from ``TaskError``.

Signals that user code raises inside a task are not errors and have plain names:
``Skip`` (mark this task skipped), ``Fail`` (fail now, without retries), ``Reschedule``
(a sensor in reschedule mode: end this try, poke again later) and ``DownstreamTasksSkipped``
(Airflow 3's end of an ``execute`` that skipped tasks after it).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


class ConveyorError(Exception):
    """The root of every error Conveyor raises on purpose."""


class ConfigError(ConveyorError):
    """A configuration value is missing or invalid; the message names the key and the value."""


class DagDefinitionError(ConveyorError):
    """A DAG or task definition is invalid."""


class CycleError(DagDefinitionError):
    """Task dependencies form a cycle; the message lists the tasks of the cycle in order."""


def parsed_by() -> str:
    """What a syntax error's message adds: which Python read the file, whose syntax may be a
    newer one's."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"parsed by Python {version}; this syntax needs a newer Python?"


class DagImportError(ConveyorError):
    """A DAG file failed to load."""

    def __init__(
        self, fileloc: str, message: str, line: int | None = None, traceback: str | None = None
    ) -> None:
        self.fileloc = fileloc
        self.line = line
        self.message = message
        self.traceback = traceback
        where = f"{fileloc}:{line}" if line else fileloc
        super().__init__(f"{where}: {message}")


class TemplateError(ConveyorError):
    """A Jinja template in a task field failed to render."""


class NotFoundError(ConveyorError):
    """Something the user named does not exist."""


class StoreError(ConveyorError):
    """The metadata store cannot be used as it is (schema out of date, wrong backend)."""


class TaskError(ConveyorError):
    """The engine failed a try for a reason of its own (return value not JSON, timeout)."""


class ReservedArgumentName(TaskError, ValueError):
    """A Python callable's argument given by position fills a parameter named like a context
    value; a ``ValueError`` too, as the error Airflow raises for it."""


class TaskTimeout(TaskError):
    """A try ran past its execution_timeout."""


class AirflowTaskTimeout(BaseException):  # Airflow's name and base, for Airflow's DAG files
    """A try of an Airflow DAG file's task ran past its execution_timeout
    (``airflow.exceptions.AirflowTaskTimeout``). Not an ``Exception``: code that catches
    every error around a slow call still ends when its time is up, as on Airflow."""


class AirflowException(Exception):  # Airflow's name (not ...Error): DAG files import it
    """Airflow's root error (``airflow.exceptions.AirflowException``): raised in a task it
    fails the try, retries apply. It lives here, below every layer, so that the providers'
    errors can descend from it and ``except AirflowException`` catches them as in Airflow."""


class ErrorType(enum.Enum):
    """Airflow 3's kinds of a runtime error (``airflow.sdk.exceptions.ErrorType``)."""

    CONNECTION_NOT_FOUND = "CONNECTION_NOT_FOUND"
    VARIABLE_NOT_FOUND = "VARIABLE_NOT_FOUND"
    XCOM_NOT_FOUND = "XCOM_NOT_FOUND"
    GENERIC_ERROR = "GENERIC_ERROR"


@dataclass(frozen=True)
class ErrorResponse:
    """What an ``AirflowRuntimeError`` carries as ``error``: its kind and detail."""

    error: ErrorType
    detail: dict[str, Any] | None = None


class AirflowRuntimeError(Exception):
    """Airflow 3's error of a runtime lookup (``airflow.sdk.exceptions.AirflowRuntimeError``):
    code written for Airflow 3 asks ``exc.error.error == ErrorType.VARIABLE_NOT_FOUND``."""

    def __init__(self, error: ErrorResponse, message: str | None = None) -> None:
        self.error = error
        super().__init__(message or f"{error.error.value}: {error.detail}")


class Skip(AirflowException):
    """Raise inside a task to mark it skipped instead of failed (an ``AirflowException``, as
    Airflow's ``AirflowSkipException``: ``except AirflowException`` catches it there too)."""


class DownstreamTasksSkipped(AirflowException):
    """How Airflow 3 ends an ``execute`` that skipped some of its direct downstream tasks
    (its ``SkipMixin``): the try succeeds, keeps no return value, and ``tasks`` (ids, or
    ``(id, map_index)`` pairs) are skipped."""

    def __init__(self, *, tasks: Sequence[str | tuple[str, int]]) -> None:
        super().__init__(f"skipping downstream tasks {list(tasks)}")
        self.tasks = tasks


class Fail(AirflowException):
    """Raise inside a task to fail it at once, without using its remaining retries (an
    ``AirflowException``, as Airflow's ``AirflowFailException``)."""


class Reschedule(Exception):
    """Raised by a sensor in reschedule mode: end this try, poke again at ``at``."""

    def __init__(self, at: datetime) -> None:
        super().__init__(f"poking again at {at.isoformat(timespec='seconds')}")
        self.at = at


class TaskDeferred(Exception):
    """Raised by ``BaseOperator.defer``: end this try as ``deferred``, hand ``trigger`` to a
    triggerer, and resume the task at ``method_name(context, event=..., **kwargs)`` on the
    trigger's first event. ``timeout``: how long the deferral may last (None: no limit)."""

    def __init__(
        self,
        *,
        trigger: Any,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | None = None,
    ) -> None:
        super().__init__(f"deferred to {type(trigger).__name__}, resuming at {method_name}")
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        self.timeout = timeout


class TaskAwaitingInput(Exception):
    """Raised by a human-in-the-loop operator: end this try as ``awaiting_input`` with
    ``request`` (what a person is asked: subject, body, options, defaults, multiple, params,
    assigned users) stored, and resume the task at ``method_name(context, event=...)`` once a
    person answers or ``timeout`` passes (None: no limit)."""

    def __init__(
        self, *, request: dict[str, Any], method_name: str, timeout: timedelta | None = None
    ) -> None:
        super().__init__(f"awaiting a person's input, resuming at {method_name}")
        self.request = request
        self.method_name = method_name
        self.timeout = timeout


class TaskDeferralTimeout(TaskError):
    """A deferred try's trigger did not fire within the deferral's timeout."""
