"""A throwaway provider that exists only for tests: a package with its one declaration and a
hook, and nothing written anywhere else. tests/unit/test_provider_declarations.py puts this
folder on ``conveyor.providers``' path and finds it wherever providers are listed."""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_HOOK = same_names("conveyor.providers.throwaway.hook", "ThrowawayHook")

PROVIDER = Provider(
    name="throwaway",
    extra="throwaway",
    connection_types=(
        ConnectionType(
            "throwaway",
            "conveyor.providers.throwaway.hook:ThrowawayHook",
            "Throwaway service",
            aliases=("throwaway_v2",),
            testable=True,
            fields=(FormField("host", "Throwaway server", "throw.example.com"),),
            hidden=("schema",),
            extras=(FormField("flavour", "Flavour", "vanilla"),),
        ),
    ),
    operators=("conveyor.providers.throwaway.hook:ThrowawayOperator",),
    airflow_modules={
        "airflow.providers.throwaway.hooks.throwaway": _HOOK,
        "airflow.hooks.throwaway_hook": _HOOK,
    },
)
