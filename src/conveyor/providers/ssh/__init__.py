"""Airflow's ssh provider: ``SSHHook`` and ``SSHOperator``, on paramiko (the extra
``conveyor[ssh]``).

``hook.py`` owns the connection (settings from the hook's keywords and the ``ssh``
connection, host key rules, failures that name the connection and never its secrets) and
running a command; ``operator.py`` only calls it. The sftp provider (``providers/sftp/``)
extends the hook.
"""
