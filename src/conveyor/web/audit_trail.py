"""Records every state-changing request that succeeded in the audit log, in one place.

A pure ASGI middleware inside the request's transaction (``CommitWithResponse``): when the
handler has set its status, it writes the row in the same transaction as the change, so an
action that is rolled back leaves no row and an action that holds always has one. The
action's name comes from the route (:data:`ACTIONS`; a route not listed there is recorded
as ``api.<endpoint>``, so a new endpoint is audited before anyone names its action), its
target from the path, its details from the request body with secrets left out
(``conveyor.store.audit.redact``). Failed logins are recorded too, counted and sampled
(``conveyor.web.audit_sampling``): anyone may send as many as they like.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from conveyor import strict_json
from conveyor.store import audit
from conveyor.store.engine import Store
from conveyor.web.audit_sampling import sampler
from conveyor.web.auth import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY = 64 * 1024  # details of a larger body are left out (it is still capped by BodyLimit)

#: Endpoint (the handler's name) -> the action recorded.
ACTIONS = {
    "trigger_run": "run.trigger",
    "create_backfill": "dag.backfill",
    "delete_run": "run.delete",
    "delete_task_instance": "task.delete",
    "materialize_asset": "asset.materialize",
    "delete_dag": "dag.delete",
    "favorite_dag": "dag.favorite",
    "unfavorite_dag": "dag.unfavorite",
    "clear_run": "run.clear",
    "mark_run": "run.mark",
    "clear_task": "task.clear",
    "update_hitl_detail": "task.answer",
    "mark_task": "task.mark",
    "clear_task_instances": "task.clear",  # one entry per run (note_targets)
    "mark_task_instances": "task.mark",
    "clear_runs": "run.clear",
    "mark_runs": "run.mark",
    "patch_dag_run": "run.mark",  # /api/v2's PATCH of a run: its state and/or note
    "patch_dag": "dag.pause",  # "dag.unpause" when the body unpauses
    "patch_dags": "dag.pause",  # the same, an entry for each DAG changed (note_each)
    "put_connection": "connection.set",
    "delete_connection": "connection.delete",
    "test_connection": "connection.test",
    "enqueue_connection_test": "connection.test",
    "create_default_connections": "connection.defaults",
    "put_variable": "variable.set",
    "delete_variable": "variable.delete",
    "put_pool": "pool.set",
    "delete_pool": "pool.delete",
    "create_user": "user.create",
    "change_user": "user.role",
    "delete_user": "user.delete",
    "create_token": "token.create",
    "create_access_token": "token.issue",  # POST /auth/token: a JWT for /api/v2
    "create_cli_access_token": "token.issue",
    "revoke_token": "token.revoke",
    "login_submit": "login",
    "logout": "logout",
    # /api/v2's own (its routes that do what a route above does share that one's name).
    "bulk_variables": "variable.bulk",
    "bulk_connections": "connection.bulk",
    "bulk_pools": "pool.bulk",
    "bulk_dag_runs": "run.bulk",
    "bulk_task_instances": "task.bulk",
    "create_asset_event": "asset.event",
    "delete_asset_queued_events": "asset.queue.delete",
    "delete_dag_asset_queued_events": "asset.queue.delete",
    "delete_dag_asset_queued_event": "asset.queue.delete",
    "pause_backfill": "backfill.pause",
    "unpause_backfill": "backfill.unpause",
    "cancel_backfill": "backfill.cancel",
    "reparse_dag_file": "dag.reparse",
    "set_task_state_store": "task.state.set",
    "patch_task_state_store": "task.state.set",
    "delete_task_state_store": "task.state.delete",
    "clear_task_state_store": "task.state.clear",
    "set_asset_state_store": "asset.state.set",
    "delete_asset_state_store": "asset.state.delete",
    "clear_asset_state_store": "asset.state.clear",
}
#: Path parameters that name what was acted on, in the order they are joined.
TARGET_PARAMS = (
    "dag_id",
    "run_id",
    "dag_run_id",
    "task_id",
    "conn_id",
    "key",
    "name",
    "username",
    "token_id",
)


class AuditTrail:
    """ASGI middleware; ``state.store`` is read per request, as ``CommitWithResponse`` does."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def keep_body() -> Any:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= MAX_BODY:
                body.extend(message.get("body", b""))
            return message

        async def send_after_record(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry = _entry(scope, message["status"], bytes(body))
                if entry is not None and entry["action"] in SAMPLED:
                    entry = _sampled(self.state, entry)
                if entry is not None:
                    await run_in_threadpool(_write, self.state.store, entry)
            await send(message)

        await self.app(scope, keep_body, send_after_record)


#: Refusals of callers nobody knows yet: counted and sampled (``web.audit_sampling``).
SAMPLED = frozenset({"login.failed", "login.throttled"})


def _sampled(state: Any, entry: dict[str, Any]) -> dict[str, Any] | None:
    unrecorded = sampler(state).admit(entry["action"], entry["address"])
    if unrecorded is None:
        return None
    if unrecorded:
        entry["details"] = {**(entry["details"] or {}), "unrecorded": unrecorded}
    return entry


def note(
    request: Request, target: str | None = None, *, actor: str | None = None, **details: Any
) -> None:
    """Let a handler say more than its path and body tell: the target it made (a new run's
    id) or details; the request's audit row carries them. ``actor``: who acted, for a
    request that signs someone in (no user came with it)."""
    found = request.scope.setdefault("state", {}).setdefault("conveyor_audit", {})
    if actor is not None:
        found["actor"] = actor
    if target is not None:
        found["target"] = target
    found.setdefault("details", {}).update(details)


def recorded_by_handler(request: Request) -> None:
    """The handler wrote this request's audit rows itself (a directory sign-in, which
    records who the directory vouched for and the role changes): none is added here."""
    request.scope.setdefault("state", {}).setdefault("conveyor_audit", {})["recorded"] = True


def note_each(
    request: Request, dag_ids: list[str], details: dict[str, dict[str, Any]] | None = None
) -> None:
    """An action on many DAGs: the request's audit entry becomes one entry per DAG (each its
    target), and none when no DAG changed; ``details``: more to say in each DAG's entry."""
    found = request.scope.setdefault("state", {}).setdefault("conveyor_audit", {})
    found["each"] = list(dag_ids)
    found["each_details"] = details or {}


def note_targets(request: Request, targets: list[tuple[str, str, dict[str, Any]]]) -> None:
    """An action on runs or task instances: the request's audit entry becomes one entry per
    ``(dag_id, target, details)`` (``dag/run`` or ``dag/run/task``, as Airflow's event log
    names each run and task), and none when the list is empty."""
    found = request.scope.setdefault("state", {}).setdefault("conveyor_audit", {})
    found["targets"] = list(targets)


def _write(store: Store, entry: dict[str, Any]) -> None:
    each = entry.pop("each", None)
    more = entry.pop("each_details", None) or {}
    targets = entry.pop("targets", None)
    entries = (
        [
            {
                **entry,
                "target": target,
                "dag_id": dag_id,
                "details": _of_run(entry["details"], dag_id, details),
            }
            for dag_id, target, details in targets
        ]
        if targets is not None
        else [entry]
        if each is None
        else [
            {
                **entry,
                "target": d,
                "dag_id": d,
                "details": _of_dag(entry["details"], d, more.get(d)),
            }
            for d in each
        ]
    )
    with store.write() as conn:  # joins the request's transaction: commits with the change
        for one in entries:
            audit.record(conn, **one)


def _entry(scope: Any, status: int, body: bytes) -> dict[str, Any] | None:
    """The audit row of this request, or None when there is nothing to record."""
    route = scope.get("route")
    endpoint = getattr(route, "name", None)
    if not endpoint or ((scope.get("state") or {}).get("conveyor_audit") or {}).get("recorded"):
        return None
    details = _details(scope, body)
    params: dict[str, Any] = scope.get("path_params") or {}
    action = ACTIONS.get(endpoint, f"api.{endpoint}")
    if endpoint == "login_submit":
        if status not in (303, 401, 429):
            return None  # an expired form: nobody tried a password
        actor = str(details.get("username") or "?")
        action = {303: "login", 401: "login.failed", 429: "login.throttled"}[status]
        details = {}
        via = "login"
    else:
        if status >= 400:
            return None
        user: User | None = (scope.get("state") or {}).get("conveyor_user")
        named = ((scope.get("state") or {}).get("conveyor_audit") or {}).get("actor")
        if user is not None:
            actor, via = user.username, _via(user)
        elif isinstance(named, str):  # a sign-in that issued a token: the handler named who
            actor, via, details = named, "api", {}
        else:
            return None
        if endpoint in ("patch_dag", "patch_dags") and details.get("is_paused") is False:
            action = "dag.unpause"
    target = "/".join(str(params[p]) for p in TARGET_PARAMS if params.get(p) is not None)
    map_index = _map_index(params, scope.get("query_string") or b"")
    if map_index is not None:  # one instance of a mapped task, by path or by query
        details = {**details, "map_index": map_index}
    told = (scope.get("state") or {}).get("conveyor_audit") or {}
    target = told.get("target") or target
    details = {**details, **told.get("details", {})}
    client = scope.get("client")
    if "each" in told and scope.get("query_string"):
        details = {**details, "query": scope.get("query_string", b"").decode("latin-1")[:500]}
    each = (
        {"each": told["each"], "each_details": told.get("each_details")} if "each" in told else {}
    )
    if "targets" in told:
        each = {"targets": told["targets"]}
    return {
        **each,
        "actor": actor,
        "action": action,
        "target": target or None,
        "details": details or None,
        "dag_id": params.get("dag_id"),
        "via": via,
        "address": client[0] if client else None,
    }


def _of_dag(
    details: dict[str, Any] | None, dag_id: str, more: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A request's details as one DAG's entry tells them: of a list of task instances or
    runs across DAGs, only those of ``dag_id``."""
    mine = dict(details or {})
    for key in ("task_instances", "runs"):
        items = mine.get(key)
        if isinstance(items, list):
            mine[key] = [i for i in items if not isinstance(i, dict) or i.get("dag_id") == dag_id]
    mine.update(more or {})
    return mine or None


def _map_index(params: dict[str, Any], query: bytes) -> int | None:
    found = params.get("map_index")
    if found is None:
        found = dict(parse_qsl(query.decode("latin-1"))).get("map_index")
    try:
        return None if found is None else int(found)
    except ValueError:
        return None


def _of_run(
    details: dict[str, Any] | None, dag_id: str, more: dict[str, Any]
) -> dict[str, Any] | None:
    """A request's details as the entry of one run (``more`` names it) tells them: of its
    list of task instances or runs, only those of that run."""
    mine = dict(details or {})
    for key in ("task_instances", "runs"):
        items = mine.get(key)
        if isinstance(items, list):
            mine[key] = [
                i
                for i in items
                if not isinstance(i, dict)
                or (i.get("dag_id") == dag_id and i.get("run_id") == more.get("run_id"))
            ]
    mine.update(more)
    return mine or None


def _via(user: User) -> str:
    """How the actor came in: a session, an API token by its id, or /api/v2's access token
    or basic auth ("api")."""
    if not user.via_token:
        return "session"
    return f"token:{user.token_id}" if user.token_id is not None else "api"


def _details(scope: Any, body: bytes) -> dict[str, Any]:
    """The request's JSON object or form fields (unredacted: ``audit.record`` redacts)."""
    if not body or len(body) > MAX_BODY:
        return {}
    headers = dict(scope.get("headers") or [])
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    try:
        if kind == b"application/json":
            found = strict_json.loads(body)
            return found if isinstance(found, dict) else {}
        if kind == b"application/x-www-form-urlencoded":
            fields = dict(parse_qsl(body.decode("utf-8", "replace")))
            fields.pop("csrf_token", None)
            return fields
    except ValueError:
        return {}
    return {}
