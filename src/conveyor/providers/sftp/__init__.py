"""Airflow's sftp provider: ``SFTPHook``, ``SFTPOperator`` (with ``SFTPOperation``) and
``SFTPSensor``, on paramiko (the extra ``conveyor[ssh]``, shared with the ssh provider).

``hook.py`` extends the ssh provider's hook with the file methods; ``operator.py`` and
``sensor.py`` only call it.
"""
