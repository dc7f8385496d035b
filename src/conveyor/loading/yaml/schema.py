"""The JSON Schema of YAML DAG files, generated from the models the loader validates with.

Editors use it to complete and check DAG files as they are typed (see docs/yaml.md). The
committed copy in ``docs/conveyor-dag.schema.json`` is compared with :func:`json_schema` by a
test, so it cannot go stale.
"""

from __future__ import annotations

import json
from typing import Any

from conveyor.loading.yaml.models import FileSpec


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a Conveyor YAML DAG file."""
    schema = FileSpec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
    }


def schema_text() -> str:
    """:func:`json_schema` as the text written to docs/conveyor-dag.schema.json."""
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
