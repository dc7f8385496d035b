"""What the amazon provider's operators and sensors beyond S3 share, as Airflow's
``AwsBaseOperator`` / ``AwsBaseSensor``: the connection keywords (``aws_conn_id``,
``region_name``, ``verify``, ``botocore_config``), templated like Airflow's, and the hook of
the class's ``aws_hook_class`` made from them (``self.hook``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers.amazon.base_aws import AwsBaseHook
from conveyor.sensors.base import BaseSensor

H = TypeVar("H", bound=AwsBaseHook)


def aws_template_fields(*fields: str) -> tuple[str, ...]:
    """The operator's own template fields with the connection's, sorted as Airflow's are."""
    return tuple(sorted({"aws_conn_id", "region_name", "verify", *fields}))


class _AwsSettings(Generic[H]):
    """The connection keywords and the hook made from them, once."""

    aws_hook_class: ClassVar[type[AwsBaseHook]]
    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None

    def _keep_aws(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Takes the connection keywords out of ``kwargs``; the rest is the operator's."""
        self.aws_conn_id = kwargs.pop("aws_conn_id", "aws_default")
        self.region_name = kwargs.pop("region_name", None)
        self.verify = kwargs.pop("verify", None)
        self.botocore_config = kwargs.pop("botocore_config", None)
        return kwargs

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        """Keywords of the hook beyond the connection's (a subclass adds its own)."""
        return {}

    @property
    def hook(self) -> H:
        made = self.__dict__.get("_aws_hook")
        if made is None:
            made = self.aws_hook_class(
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                config=self.botocore_config,
                **self._hook_parameters,
            )
            self.__dict__["_aws_hook"] = made
        return made  # type: ignore[return-value]


class AwsBaseOperator(_AwsSettings[H], BaseOperator):
    """An operator on one AWS service; ``deferrable=True`` waits in the worker instead of
    the triggerer: the task ends when the job does, as on Airflow."""

    ui_color = "#ff9900"

    def __init__(self, task_id: str, *, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(task_id, **self._keep_aws(kwargs))
        self.deferrable = deferrable


class AwsBaseSensor(_AwsSettings[H], BaseSensor):
    """A sensor on one AWS service."""

    def __init__(self, task_id: str, **kwargs: Any) -> None:
        super().__init__(task_id, **self._keep_aws(kwargs))


def wait_for(
    what: str,
    state: Callable[[], str],
    done: tuple[str, ...],
    failed: tuple[str, ...],
    delay: float,
    max_attempts: int | None,
) -> str:
    """Polls ``state()`` every ``delay`` seconds until it is one of ``done`` (returned) or
    ``failed`` (a ``TaskError``), at most ``max_attempts`` times (None: no limit)."""
    attempt = 0
    while True:
        attempt += 1
        current = state()
        print(f"{what}: {current}", flush=True)
        if current in done:
            return current
        if current in failed:
            raise TaskError(f"{what} ended {current}")
        if max_attempts is not None and attempt >= max_attempts:
            raise TaskError(
                f"{what} is still {current} after {attempt} checks {delay} s apart "
                "(max attempts exceeded)"
            )
        time.sleep(delay)
