"""What a provider declares about itself, once: its connection types (with the connection
form's fields and the hook that serves and tests each), its hooks and operators, the extra
to install, and the Airflow module paths that stand for its names.

Each provider holds one ``PROVIDER = Provider(...)`` in its own package's ``__init__.py``
(the SQL providers whose code is flat modules: ``databases/__init__.py``). ``discovery.py``
finds them by scanning ``conveyor.providers``, and everything that lists providers reads
them from there: the hook a connection type gets, the connection Test, the web UI's
connection form and Providers page, ``/api/v2/providers`` and the compat table with its
generated docs. The declaration is plain data: classes are named as ``"module:Class"``
strings, so reading it imports no provider's library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["STANDARD_FIELDS", "ConnectionType", "FormField", "Provider", "same_names"]

#: The fields every connection has that the form shows as inputs of their own.
STANDARD_FIELDS = ("host", "port", "login", "password", "schema", "extra")


def same_names(module: str, *names: str) -> dict[str, str]:
    """``{name: "module:name"}``: each name is the attribute of that name in ``module``."""
    return {name: f"{module}:{name}" for name in names}


@dataclass(frozen=True)
class FormField:
    """One input of the connection form: a standard field relabelled, or a key of the
    connection's ``extra`` JSON that the type reads."""

    #: A name of ``STANDARD_FIELDS``, or a key of the extra JSON.
    name: str
    #: What the form's label says (``"Database"`` for a PostgreSQL ``schema``).
    label: str
    #: An example value, shown in the empty input.
    placeholder: str = ""


@dataclass(frozen=True)
class ConnectionType:
    """A ``conn_type`` and what serves it."""

    #: The type as connections spell it (``"postgres"``); matched with ``-`` read as ``_``
    #: and in any case.
    name: str
    #: The hook that serves (and tests) it, as ``"module:Class"``.
    hook: str
    #: How the form's type list names it (``"PostgreSQL"``).
    label: str
    #: Other spellings of the type that the same hook serves (``"postgresql"``).
    aliases: tuple[str, ...] = ()
    #: True when the SQL operators and ``SqlSensor`` take it (the hook is a ``DbApiHook``).
    sql: bool = False
    #: True when the hook has Airflow's ``test_connection`` (the connection Test runs it).
    testable: bool = False
    #: Standard fields relabelled for this type, in the form's order.
    fields: tuple[FormField, ...] = ()
    #: Standard fields this type does not read (the form hides them).
    hidden: tuple[str, ...] = ()
    #: Keys of the extra JSON the type reads (the form shows them as an example).
    extras: tuple[FormField, ...] = ()

    def __post_init__(self) -> None:
        unknown = [f.name for f in self.fields if f.name not in STANDARD_FIELDS]
        unknown += [name for name in self.hidden if name not in STANDARD_FIELDS]
        if unknown:
            raise ValueError(
                f"connection type {self.name!r}: {unknown} are not standard fields "
                f"({', '.join(STANDARD_FIELDS)}); a key of the extra JSON goes in extras"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """The type and its aliases."""
        return (self.name, *self.aliases)

    def form(self) -> dict[str, object]:
        """What the connection form's script reads for this type: labels, placeholders, the
        hidden fields and an example extra JSON."""
        example = {f.name: f.placeholder for f in self.extras}
        return {
            "label": self.label,
            "fields": {
                f.name: {"label": f.label, "placeholder": f.placeholder} for f in self.fields
            },
            "hidden": list(self.hidden),
            "extras": [{"name": f.name, "label": f.label} for f in self.extras],
            "extra_example": example,
        }


def _frozen(modules: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType(
        {path: MappingProxyType(dict(names)) for path, names in modules.items()}
    )


@dataclass(frozen=True)
class Provider:
    """One provider: Airflow's provider package of that name, as Conveyor ships it."""

    #: Airflow's name of the provider (``"common.sql"``, ``"cncf.kubernetes"``), or the
    #: name of a part of Airflow's core Conveyor ships as a provider (``listed`` false).
    name: str
    #: The extra to install beyond a plain install (``conveyor[mysql]``), None if none.
    extra: str | None = None
    connection_types: tuple[ConnectionType, ...] = ()
    #: Its hooks, as ``"module:Class"`` (the connection types' hooks are added to these).
    hooks: tuple[str, ...] = ()
    #: Its operators, sensors, notifiers and functions, as ``"module:name"``.
    operators: tuple[str, ...] = ()
    #: Airflow module -> {name -> ``"module:attribute"``}: the compat table's rows for it.
    #: Paths several providers answer (1.10's ``airflow.hooks``) are merged by the table.
    airflow_modules: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The Conveyor module that stands in for Airflow's package (None: the declaring one).
    module: str | None = None
    #: False for a part of Airflow's core that Conveyor ships as a provider package
    #: (``objectstorage``): its paths are in the compat table, but no provider list shows it.
    listed: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "airflow_modules", _frozen(self.airflow_modules))

    @property
    def package(self) -> str:
        """Airflow's distribution name (``apache-airflow-providers-common-sql``)."""
        return "apache-airflow-providers-" + self.name.replace(".", "-")

    def objects(self) -> tuple[str, ...]:
        """Every ``"module:name"`` the provider holds, each once, sorted."""
        found = {*self.hooks, *self.operators, *(t.hook for t in self.connection_types)}
        found |= {t for names in self.airflow_modules.values() for t in names.values()}
        return tuple(sorted(found))


def hook_and_operator_paths(
    name: str, hook: Mapping[str, str], operator: Mapping[str, str], *, from_packages: bool
) -> dict[str, Mapping[str, str]]:
    """The Airflow paths of a provider with one hook module and one operator module, named
    after it as Airflow names them (``airflow.providers.<name>.hooks.<name>``, and 1.10's
    ``airflow.hooks.<name>_hook``); ``from_packages``: 1.10 answered ``from airflow.hooks
    import ...`` and ``from airflow.operators import ...`` with them too."""
    paths: dict[str, Mapping[str, str]] = {
        f"airflow.providers.{name}.hooks.{name}": hook,
        f"airflow.providers.{name}.operators.{name}": operator,
        f"airflow.hooks.{name}_hook": hook,
        f"airflow.operators.{name}_operator": operator,
    }
    if from_packages:
        paths.update({"airflow.hooks": hook, "airflow.operators": operator})
    return paths


def database_fields(port: str) -> tuple[FormField, ...]:
    """The form fields of a database server's connection listening on ``port``."""
    return (
        FormField("host", "Host", "db.example.com"),
        FormField("port", "Port", port),
        FormField("login", "User"),
        FormField("schema", "Database", "analytics"),
    )
