"""Airflow's Lambda hook and operators: ``LambdaHook`` (``invoke_lambda``,
``create_lambda``), ``LambdaCreateFunctionOperator`` (its XCom is the function's ARN) and
``LambdaInvokeFunctionOperator`` (its XCom is the function's answer, decoded; a function
error fails the task)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers.amazon._operator import AwsBaseOperator, aws_template_fields
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection

#: create_lambda's keywords -> the CreateFunction request's names.
_CREATE = {
    "description": "Description",
    "timeout": "Timeout",
    "memory_size": "MemorySize",
    "publish": "Publish",
    "vpc_config": "VpcConfig",
    "package_type": "PackageType",
    "dead_letter_config": "DeadLetterConfig",
    "environment": "Environment",
    "kms_key_arn": "KMSKeyArn",
    "tracing_config": "TracingConfig",
    "tags": "Tags",
    "layers": "Layers",
    "file_system_configs": "FileSystemConfigs",
    "image_config": "ImageConfig",
    "code_signing_config_arn": "CodeSigningConfigArn",
    "architectures": "Architectures",
    "ephemeral_storage": "EphemeralStorage",
    "snap_start": "SnapStart",
    "logging_config": "LoggingConfig",
}


class LambdaHook(AwsBaseHook):
    """``get_conn()`` is boto3's Lambda client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "lambda"
        super().__init__(*args, **kwargs)

    @names_the_connection
    def invoke_lambda(
        self,
        *,
        function_name: str,
        invocation_type: str | None = None,
        log_type: str | None = None,
        client_context: str | None = None,
        payload: bytes | str | None = None,
        qualifier: str | None = None,
    ) -> Any:
        """Invoke the function; Lambda's answer (``StatusCode``, ``Payload`` stream...)."""
        if isinstance(payload, str):
            payload = payload.encode()
        params = {
            "FunctionName": function_name,
            "InvocationType": invocation_type,
            "LogType": log_type,
            "ClientContext": client_context,
            "Payload": payload,
            "Qualifier": qualifier,
        }
        return self.get_conn().invoke(**{k: v for k, v in params.items() if v is not None})

    @names_the_connection
    def create_lambda(
        self,
        *,
        function_name: str,
        runtime: str | None = None,
        role: str,
        handler: str | None = None,
        code: dict[str, Any],
        **kwargs: Any,
    ) -> Any:
        """Create the function; Lambda's answer (``FunctionArn``, ``State``...)."""
        if kwargs.get("package_type", "Zip") == "Zip" and not (handler and runtime):
            raise TypeError("Parameters handler and runtime are required for a Zip package")
        unknown = sorted(set(kwargs) - set(_CREATE))
        if unknown:
            raise TypeError(f"create_lambda() got unexpected keywords: {', '.join(unknown)}")
        params: dict[str, Any] = {"FunctionName": function_name, "Role": role, "Code": code}
        if runtime:
            params["Runtime"] = runtime
        if handler:
            params["Handler"] = handler
        params.update({_CREATE[k]: v for k, v in kwargs.items() if v is not None})
        return self.get_conn().create_function(**params)


class LambdaCreateFunctionOperator(AwsBaseOperator[LambdaHook]):
    """Create a function; ``wait_for_completion`` waits until it is active."""

    aws_hook_class = LambdaHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "function_name", "runtime", "role", "handler", "code", "config"
    )

    def __init__(
        self,
        task_id: str,
        *,
        function_name: str,
        runtime: str | None = None,
        role: str,
        handler: str | None = None,
        code: dict[str, Any],
        description: str | None = None,
        timeout: int | None = None,
        config: dict[str, Any] | None = None,
        wait_for_completion: bool = False,
        waiter_max_attempts: int = 60,
        waiter_delay: int = 15,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.function_name = function_name
        self.runtime = runtime
        self.role = role
        self.handler = handler
        self.code = code
        self.description = description
        self.timeout = timeout
        self.config = config or {}
        self.wait_for_completion = wait_for_completion
        self.waiter_max_attempts = waiter_max_attempts
        self.waiter_delay = waiter_delay

    def execute(self, context: dict[str, Any]) -> str:
        answer = self.hook.create_lambda(
            function_name=self.function_name,
            runtime=self.runtime,
            role=self.role,
            handler=self.handler,
            code=self.code,
            description=self.description,
            timeout=self.timeout,
            **self.config,
        )
        if self.wait_for_completion or self.deferrable:
            self.hook.get_conn().get_waiter("function_active_v2").wait(
                FunctionName=self.function_name,
                WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_max_attempts},
            )
        return str(answer["FunctionArn"])


class LambdaInvokeFunctionOperator(AwsBaseOperator[LambdaHook]):
    """Invoke ``function_name`` with ``payload``."""

    aws_hook_class = LambdaHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "function_name", "payload", "qualifier", "invocation_type"
    )
    ui_color = "#ff7300"

    def __init__(
        self,
        task_id: str,
        *,
        function_name: str,
        log_type: str | None = None,
        keep_empty_log_lines: bool = True,
        qualifier: str | None = None,
        invocation_type: str | None = None,
        client_context: str | None = None,
        payload: bytes | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.function_name = function_name
        self.log_type = log_type
        self.keep_empty_log_lines = keep_empty_log_lines
        self.qualifier = qualifier
        self.invocation_type = invocation_type
        self.client_context = client_context
        self.payload = payload

    def execute(self, context: dict[str, Any]) -> str:
        answer = self.hook.invoke_lambda(
            function_name=self.function_name,
            invocation_type=self.invocation_type,
            log_type=self.log_type,
            client_context=self.client_context,
            payload=self.payload,
            qualifier=self.qualifier,
        )
        print(f"Lambda response metadata: {answer.get('ResponseMetadata')}", flush=True)
        if answer.get("StatusCode") not in (200, 202, 204):
            raise TaskError(
                f"Lambda function {self.function_name!r} did not execute: "
                f"{json.dumps(answer.get('ResponseMetadata'), default=str)}"
            )
        payload = answer["Payload"].read().decode() if answer.get("Payload") else ""
        if "FunctionError" in answer:
            raise TaskError(
                f"Lambda function {self.function_name!r} execution resulted in error "
                f"{answer['FunctionError']}: {payload}"
            )
        return payload


class AwsLambdaHook(LambdaHook):
    """Airflow 1.10's hook: the function named at construction, ``invoke_lambda(payload)``."""

    def __init__(
        self,
        function_name: str,
        region_name: str | None = None,
        log_type: str = "None",
        qualifier: str = "$LATEST",
        invocation_type: str = "RequestResponse",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, region_name=region_name, **kwargs)
        self.function_name = function_name
        self.log_type = log_type
        self.qualifier = qualifier
        self.invocation_type = invocation_type

    def invoke_lambda(self, payload: Any = None, **kwargs: Any) -> Any:
        if kwargs:  # called the newer way, by keyword
            return super().invoke_lambda(payload=payload, **kwargs)
        return super().invoke_lambda(
            function_name=self.function_name,
            invocation_type=self.invocation_type,
            log_type=self.log_type,
            payload=payload,
            qualifier=self.qualifier,
        )


#: The provider's names before 6.0.
AwsLambdaInvokeFunctionOperator = LambdaInvokeFunctionOperator
