"""Airflow's samba provider: ``SambaHook`` over smbprotocol's ``smbclient`` (``hook.py``)."""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_SAMBA_HOOK = same_names("conveyor.providers.samba.hook", "SambaHook")

PROVIDER = Provider(
    name="samba",
    extra="samba",  # smbprotocol
    connection_types=(
        ConnectionType(
            "samba",
            "conveyor.providers.samba.hook:SambaHook",
            "Samba (SMB)",
            fields=(
                FormField("host", "Server", "files.example.com"),
                FormField("port", "Port", "445"),
                FormField("schema", "Share", "reports"),
            ),
            extras=(FormField("auth_protocol", "Authentication", "ntlm"),),
        ),
    ),
    airflow_modules={
        "airflow.providers.samba.hooks.samba": _SAMBA_HOOK,
        "airflow.hooks.samba_hook": _SAMBA_HOOK,
        # GCSToSambaOperator reads with the google provider's hook: it needs both extras
        # (conveyor[samba,google]).
        "airflow.providers.samba.transfers.gcs_to_samba": same_names(
            "conveyor.providers.samba.gcs_to_samba", "GCSToSambaOperator"
        ),
    },
)
