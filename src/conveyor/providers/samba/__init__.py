"""Airflow's samba provider: ``SambaHook`` over smbprotocol's ``smbclient`` (``hook.py``)."""
