"""Airflow's ssh provider: ``SSHHook`` and ``SSHOperator``, on paramiko (the extra
``conveyor[ssh]``).

``hook.py`` owns the connection (settings from the hook's keywords and the ``ssh``
connection, host key rules, failures that name the connection and never its secrets) and
running a command; ``operator.py`` only calls it. The sftp provider (``providers/sftp/``)
extends the hook.
"""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names


def ssh_server_connection(name: str, hook: str, label: str) -> ConnectionType:
    """The connection type ``name`` of an SSH server, served by ``hook``: the ssh
    provider's, and the sftp provider's too (its hook reads the connection the same way)."""
    return ConnectionType(
        name,
        hook,
        label,
        testable=True,
        fields=(FormField("host", "Host", "files.example.com"), FormField("port", "Port", "22")),
        hidden=("schema",),
        extras=(
            FormField("key_file", "Private key file", "/home/conveyor/.ssh/id_ed25519"),
            FormField("host_key", "Host key", "ssh-ed25519 AAAA…"),
            FormField("no_host_key_check", "Skip the host key check", "false"),
            FormField("conn_timeout", "Connect timeout (seconds)", "10"),
        ),
    )


_SSH_HOOK = same_names("conveyor.providers.ssh.hook", "SSHHook")
_SSH_OPERATOR = same_names("conveyor.providers.ssh.operator", "SSHOperator")

PROVIDER = Provider(
    name="ssh",
    extra="ssh",  # paramiko, shared with the sftp provider
    connection_types=(ssh_server_connection("ssh", "conveyor.providers.ssh.hook:SSHHook", "SSH"),),
    airflow_modules={
        "airflow.providers.ssh.hooks.ssh": _SSH_HOOK,
        "airflow.providers.ssh.operators.ssh": _SSH_OPERATOR,
        "airflow.contrib.hooks.ssh_hook": _SSH_HOOK,
        "airflow.contrib.operators.ssh_operator": _SSH_OPERATOR,
    },
)
