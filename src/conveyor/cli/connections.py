"""``conveyor connections`` and ``conveyor variables``: manage what tasks connect with.

Secrets are shown as ``***`` unless ``--reveal`` is given.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from conveyor import strict_json
from conveyor.cli.common import CliError, console, json_object, open_store, settings
from conveyor.cli.export_files import write_json
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.connections import forms, repository
from conveyor.connections.models import Connection, extra_text
from conveyor.exceptions import NotFoundError
from conveyor.web import queries, schemas

REVEAL = click.option("--reveal", is_flag=True, help="Show passwords and secret values.")


@click.group("connections")
def connections_group() -> None:
    """Add, list, show and delete connections."""


@connections_group.command("add")
@click.argument("conn_id")
@click.option(
    "--uri", "--conn-uri", "uri", help="type://login:password@host:port/schema?extra_key=value"
)
@click.option(
    "--conn-json",
    "conn_json",
    help='The connection as a JSON object: {"conn_type": ..., "host": ..., "extra": {...}}.',
)
@click.option("--conn-type", help="The kind of system: postgresql, http, sqlite, smtp...")
@click.option("--host", "--conn-host", "host")
@click.option("--port", "--conn-port", "port", type=int)
@click.option("--login", "--conn-login", "login")
@click.option("--password", "--conn-password", "password")
@click.option("--schema", "--conn-schema", "schema")
@click.option("--extra", "--conn-extra", "extra", help="A JSON object of further settings.")
@click.option("--description", "--conn-description", "description")
@click.option(
    "--secret-field",
    "secret_fields",
    multiple=True,
    help="Mask this field (login, host, schema or an extra key) whatever its name; repeatable.",
)
def connections_add(conn_id: str, secret_fields: tuple[str, ...], **given: Any) -> None:
    """Add a connection, or replace the one with this id.

    As Airflow's `connections add`: --uri (--conn-uri) or --conn-json, or --conn-type with
    the fields; --extra may go with --uri, the other fields may not.
    """
    conn = _connection_given(conn_id, given)
    conn = replace(conn, secret_fields=(*conn.secret_fields, *secret_fields))
    config = settings()
    repository.set_connection(open_store(config), config, conn)
    console.print(f"connection {conn_id} saved: {conn.get_uri(reveal=False)}")


_FIELD_OPTIONS = {
    "conn_type": "--conn-type",
    "host": "--host",
    "port": "--port",
    "login": "--login",
    "password": "--password",
    "schema": "--schema",
}


def _connection_given(conn_id: str, given: dict[str, Any]) -> Connection:
    """The connection the options of ``connections add`` describe, checked as Airflow
    checks them: one of --uri, --conn-json or --conn-type, and no field beside a whole
    but --description (which a URI cannot hold; Airflow refuses it there)."""
    uri, as_json = given["uri"], given["conn_json"]
    if uri and as_json:
        raise CliError("give --uri (--conn-uri) or --conn-json, not both")
    if uri or as_json:
        clashing = [opt for name, opt in _FIELD_OPTIONS.items() if given[name] is not None]
        if clashing:
            whole = "--uri" if uri else "--conn-json"
            raise CliError(
                f"{', '.join(clashing)} cannot go with {whole}, which gives the whole "
                "connection: put them in it"
            )
    if uri:
        conn = Connection.from_uri(conn_id, uri, given["description"])
        if given["extra"] is not None:  # Airflow: --conn-extra replaces the URI's extras
            conn = replace(conn, extra=extra_text(json_object(given["extra"], "--extra")))
        return conn
    if as_json:
        if given["extra"] is not None:
            raise CliError("--extra cannot go with --conn-json: put it in the JSON as 'extra'")
        conn = forms.connection_from_dict(conn_id, json_object(as_json, "--conn-json"))
        return replace(conn, description=given["description"] or conn.description)
    if not given["conn_type"]:
        raise CliError("a connection needs --uri (--conn-uri), --conn-json, or --conn-type")
    return Connection(
        conn_id=conn_id,
        conn_type=given["conn_type"],
        host=given["host"],
        port=given["port"],
        login=given["login"],
        password=given["password"],
        schema=given["schema"],
        extra=json_object(given["extra"], "--extra"),
        description=given["description"],
    )


@connections_group.command("list")
@REVEAL
@output_option
def connections_list(reveal: bool, output: str) -> None:
    """Every connection (the store's and CONVEYOR_CONN_* variables)."""
    config = settings()
    found = schemas.ConnectionList(
        connections=[
            queries.connection_info(c, reveal)
            for c in repository.list_connections(open_store(config), config)
        ]
    )
    if write_data(output, found):
        return
    write_rows(
        output,
        ["id", "type", "host", "port", "login", "password", "schema"],
        [
            [c.conn_id, c.conn_type, c.host, c.port, c.login, c.password, c.schema_]
            for c in found.connections
        ],
        empty="no connections",
    )


@connections_group.command("get")
@click.argument("conn_id")
@REVEAL
@output_option
def connections_get(conn_id: str, reveal: bool, output: str) -> None:
    """Show one connection."""
    config = settings()
    info = queries.connection_info(
        repository.get_connection(open_store(config), config, conn_id), reveal
    )
    if write_data(output, info):
        return
    fields = [
        ("id", info.conn_id),
        ("type", info.conn_type),
        ("host", info.host),
        ("port", info.port),
        ("login", info.login),
        ("password", info.password),
        ("schema", info.schema_),
        ("extra", json.dumps(info.extra) if info.extra else None),
        ("description", info.description),
        ("uri", info.uri),
    ]
    if output == "plain":
        write_rows(output, ["field", "value"], fields)
        return
    for label, value in fields:
        console.print(f"{label:<12} {'' if value is None else value}", soft_wrap=True, markup=False)


@connections_group.command("delete")
@click.argument("conn_id")
def connections_delete(conn_id: str) -> None:
    """Delete a connection from the store."""
    _deleted("connection", conn_id, repository.delete_connection(open_store(), conn_id))


@connections_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace connections that exist already.")
def connections_import(file: Path, overwrite: bool) -> None:
    """Add the connections of FILE (.json, .yaml or .env, as `airflow connections export`
    writes them); existing ids are kept unless --overwrite."""
    from conveyor.connections import files  # YAML: for import and export only

    found = files.read_connections(file)
    config = settings()
    store = open_store(config)
    existing = repository.stored_connection_ids(store)
    for conn_id, conn in found.items():
        if conn_id in existing and not overwrite:
            console.print(f"connection {conn_id} exists, not imported (--overwrite replaces it)")
            continue
        repository.set_connection(store, config, conn)
        console.print(f"connection {conn_id} imported: {conn.get_uri(reveal=False)}")


@connections_group.command("export")
@click.argument("file")
@REVEAL
def connections_export(file: str, reveal: bool) -> None:
    """Write the store's connections to FILE (.json, or - for stdout) in the form
    `airflow connections export` writes; passwords and secret fields are *** unless --reveal."""
    config = settings()
    store = open_store(config)
    stored = repository.stored_connection_ids(store)
    found = [c for c in repository.list_connections(store, config) if c.conn_id in stored]
    from conveyor.connections import files  # YAML: for import and export only

    write_json(file, files.connections_document(found, reveal=reveal), "connections")


@click.group("variables")
def variables_group() -> None:
    """Set, get, list and delete variables."""


@variables_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("-j", "--json", "as_json", is_flag=True, help="Check that VALUE is valid JSON.")
@click.option("--description")
@click.option(
    "--secret/--not-secret",
    default=None,
    help="Mask it in listings and logs whatever its key (--not-secret: unmark it). "
    "Left out, a variable keeps the mark it has.",
)
def variables_set(
    key: str, value: str, as_json: bool, description: str | None, secret: bool | None
) -> None:
    """Set a variable (stored encrypted)."""
    if as_json:
        try:
            strict_json.loads(value, "VALUE")
        except json.JSONDecodeError as exc:
            raise CliError(f"VALUE is not valid JSON: {exc.msg} at column {exc.colno}") from None
        except strict_json.NotStrictJson as exc:
            raise CliError(str(exc)) from None
    config = settings()
    marked = repository.set_variable(
        open_store(config), config, key, value, description, secret=secret
    )
    console.print(f"variable {key} set" + (" (secret)" if marked else ""))


@variables_group.command("get")
@click.argument("key")
@click.option(
    "-d",
    "--default",
    help="Print this when the variable is not set (Airflow's), instead of failing.",
)
@click.option(
    "-j",
    "--json",
    "as_json",
    is_flag=True,
    help="Read the value as JSON: a JSON text prints as the text, anything else as compact "
    "JSON (Airflow prints Python's form of it).",
)
@REVEAL
@output_option
def variables_get(key: str, default: str | None, as_json: bool, reveal: bool, output: str) -> None:
    """Print a variable's value (secret-looking keys masked unless --reveal).

    The table and plain forms print the value alone, as scripts have always read it.
    """
    config = settings()
    failures: list[str] = []
    entry = repository.get_variable_entry(open_store(config), config, key, failures=failures)
    if entry is None:
        if default is None:
            raise NotFoundError(f"no variable {key!r}{''.join(failures)}")
        click.echo(default)
        return
    info = queries.variable_info(entry, reveal)
    if write_data(output, info):
        return
    if as_json and info.value != entry.value:
        raise CliError(f"variable {key!r} is secret and shown as ***: add --reveal to read it")
    click.echo(_as_json_value(key, info.value) if as_json else info.value)


def _as_json_value(key: str, value: str) -> str:
    """``variables get -j``: the value read as JSON, a text printed bare."""
    try:
        found = strict_json.loads(value, key)
    except (json.JSONDecodeError, strict_json.NotStrictJson):
        raise CliError(f"variable {key!r} is not JSON (-j/--json reads it as JSON)") from None
    return found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)


@variables_group.command("list")
@REVEAL
@output_option
def variables_list(reveal: bool, output: str) -> None:
    """Every variable (the store's and CONVEYOR_VAR_* variables)."""
    config = settings()
    found = queries.list_variables(repository.list_variables(open_store(config), config), reveal)
    if write_data(output, found):
        return
    write_rows(
        output,
        ["key", "value", "description"],
        [[v.key, v.value, v.description] for v in found.variables],
        empty="no variables",
    )


@variables_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--action-on-existing-key",
    type=click.Choice(["overwrite", "fail", "skip"]),
    default="overwrite",
    show_default=True,
    help="What to do with keys that are set already.",
)
def variables_import(file: Path, action_on_existing_key: str) -> None:
    """Set the variables of FILE (.json, .yaml or .env, as `airflow variables export`
    writes them); values that are not text are stored as JSON."""
    from conveyor.connections import files  # YAML: for import and export only

    found = files.read_variables(file)
    config = settings()
    store = open_store(config)
    existing = repository.stored_variable_keys(store) & set(found)
    if existing and action_on_existing_key == "fail":
        raise CliError(f"variables already set: {', '.join(sorted(existing))}; nothing imported")
    imported = 0
    for key, entry in found.items():
        if key in existing and action_on_existing_key == "skip":
            console.print(f"variable {key} exists, skipped")
            continue
        repository.set_variable(store, config, key, entry.value, entry.description)
        imported += 1
    console.print(f"{imported} of {len(found)} variables imported")


@variables_group.command("export")
@click.argument("file")
@REVEAL
def variables_export(file: str, reveal: bool) -> None:
    """Write the store's variables to FILE (.json, or - for stdout) as `airflow variables
    export` writes them; secret ones are *** unless --reveal."""
    config = settings()
    store = open_store(config)
    stored = repository.stored_variable_keys(store)
    shown = {
        entry.key: queries.variable_info(entry, reveal).value
        for entry in repository.list_variables(store, config)
        if entry.key in stored
    }
    from conveyor.connections import files  # YAML: for import and export only

    write_json(file, files.variables_document(shown), "variables")


@variables_group.command("delete")
@click.argument("key")
def variables_delete(key: str) -> None:
    """Delete a variable from the store."""
    _deleted("variable", key, repository.delete_variable(open_store(), key))


def _deleted(kind: str, key: str, found: bool) -> None:
    """Say that the ``kind`` named ``key`` is gone, or fail if the store had none."""
    if not found:
        raise CliError(f"no {kind} {key!r} in the store")
    console.print(f"{kind} {key} deleted")
