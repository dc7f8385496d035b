"""Airflow's sftp provider: ``SFTPHook``, ``SFTPOperator`` (with ``SFTPOperation``) and
``SFTPSensor``, on paramiko (the extra ``conveyor[ssh]``, shared with the ssh provider).

``hook.py`` extends the ssh provider's hook with the file methods; ``operator.py`` and
``sensor.py`` only call it.
"""

from __future__ import annotations

from conveyor.providers.declaration import Provider, same_names
from conveyor.providers.ssh import ssh_server_connection

_F = "conveyor.providers.sftp"
_SFTP_OPERATION = same_names(f"{_F}.hook", "SFTPOperation")
_SFTP_HOOK = {**same_names(f"{_F}.hook", "SFTPHook"), **_SFTP_OPERATION}
_SFTP_OPERATOR = {**same_names(f"{_F}.operator", "SFTPOperator"), **_SFTP_OPERATION}
_SFTP_SENSOR = same_names(f"{_F}.sensor", "SFTPSensor")

PROVIDER = Provider(
    name="sftp",
    extra="ssh",  # paramiko, shared with the ssh provider
    connection_types=(ssh_server_connection("sftp", f"{_F}.hook:SFTPHook", "SFTP"),),
    airflow_modules={
        "airflow.providers.sftp.hooks.sftp": _SFTP_HOOK,
        "airflow.providers.sftp.operators.sftp": _SFTP_OPERATOR,
        "airflow.providers.sftp.sensors.sftp": _SFTP_SENSOR,
        "airflow.contrib.hooks.sftp_hook": _SFTP_HOOK,
        "airflow.contrib.operators.sftp_operator": _SFTP_OPERATOR,
        "airflow.contrib.sensors.sftp_sensor": _SFTP_SENSOR,
    },
)
