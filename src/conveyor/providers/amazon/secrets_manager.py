"""Airflow's ``SecretsManagerHook``: a secret's value (``get_secret``) or its JSON as a dict
(``get_secret_as_dict``)."""

from __future__ import annotations

import base64
import json
from typing import Any

from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection


class SecretsManagerHook(AwsBaseHook):
    """``get_conn()`` is boto3's Secrets Manager client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "secretsmanager"
        super().__init__(*args, **kwargs)

    @names_the_connection
    def get_secret(self, secret_name: str) -> str | bytes:
        """The secret's text, or its bytes when it was stored as binary."""
        answer = self.get_conn().get_secret_value(SecretId=secret_name)
        if "SecretString" in answer:
            return str(answer["SecretString"])
        return base64.b64decode(answer["SecretBinary"])

    def get_secret_as_dict(self, secret_name: str) -> dict[str, Any]:
        """The secret's JSON text as a dict."""
        value = json.loads(self.get_secret(secret_name))
        if not isinstance(value, dict):
            raise ValueError(f"secret {secret_name!r} is JSON but not an object")
        return value
