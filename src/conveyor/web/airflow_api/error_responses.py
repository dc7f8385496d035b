"""The error answers each operation of ``/api/v2``'s document lists, as Airflow's spec lists
them, so that a client (or schemathesis) reading the document knows every status it may get.

They are Conveyor's rules, applied to every operation rather than written on each route: a
caller without a valid token gets 401 and one the route refuses 403 (the health, version and
sign-in routes included: a document listing a status never answered misleads no client); an
operation taking parameters or a body answers a value it cannot use with 400; one with a path
or header parameter (an id, a token), and any write (ids in its body), answers 404 for what it
does not find; a write answers 409 where the store refuses
it (a conflict, a run still going). Each carries ``{"detail": ...}``.
"""

from __future__ import annotations

from typing import Any

#: The schema of every error's body: ``detail`` is a sentence, or a list of entries.
ERROR_SCHEMA_NAME = "HTTPExceptionResponse"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": ERROR_SCHEMA_NAME,
    "properties": {
        "detail": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}]}
    },
    "required": ["detail"],
}
WRITES = ("post", "put", "patch", "delete")
DESCRIPTIONS = {
    "400": "Bad Request",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "Not Found",
    "409": "Conflict",
}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    found = ["401", "403"]
    if operation.get("parameters") or operation.get("requestBody"):
        found.append("400")
    named = "{" in path or any(p.get("in") == "header" for p in operation.get("parameters", []))
    if named or method in WRITES:
        found.append("404")
    if method in WRITES:
        found.append("409")
    return found


def document_errors(document: dict[str, Any]) -> None:
    """Add the error answers above to each operation of ``document`` (in place), keeping any
    the route declares itself."""
    document.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = (
        ERROR_SCHEMA
    )
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in (*WRITES, "get"):
                continue
            answers = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                answers.setdefault(
                    status,
                    {
                        "description": DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": reference}},
                    },
                )
