"""SambaHook against a real smbd (smb_servers.py): what a DAG writes through the hook is on
the share's disk, and what is on the disk reads back through the hook."""

from __future__ import annotations

from pathlib import Path

import pytest
import smb_servers
from smb_servers import SHARE, SmbServer

import conveyor.testing  # noqa: F401  (activates Airflow's module paths)

# Their in-process DAGs and hooks import Airflow's paths: the compat hook on for each test.
pytestmark = pytest.mark.usefixtures("airflow_hook")

# The server's fixture, used by name below.
smb_server = smb_servers.smb_server


@pytest.fixture
def samba_conn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, smb_server: SmbServer) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_FILES", smb_server.uri())
    monkeypatch.setenv("AIRFLOW_CONN_FILES_BAD", smb_server.uri(password="wrong"))


def test_hook_writes_lists_reads_walks_and_removes(
    samba_conn: None, smb_server: SmbServer, tmp_path: Path
) -> None:
    from airflow.providers.samba.hooks.samba import SambaHook

    local = tmp_path / "orders.csv"
    local.write_text("id,amount\n1,9.5\n")
    (smb_server.share_path / "from_server.txt").write_text("made on the server")

    with SambaHook(samba_conn_id="files") as hook:
        assert hook.conn_type == "samba" and hook.default_conn_name == "samba_default"
        hook.makedirs("in/2024", exist_ok=True)
        hook.push_from_local("in/2024/orders.csv", str(local))
        with hook.open_file("in/2024/notes.txt", mode="w") as out:
            out.write("two\nlines\n")
        assert sorted(hook.listdir("in/2024")) == ["notes.txt", "orders.csv"]
        with hook.open_file("from_server.txt") as f:
            assert f.read() == "made on the server"
        assert hook.stat("in/2024/orders.csv").st_size == len("id,amount\n1,9.5\n")
        walked = [(top.replace("\\", "/"), sorted(files)) for top, _, files in hook.walk("in")]
        assert walked[-1][0].endswith(f"{SHARE}/in/2024") and walked[-1][1] == [
            "notes.txt",
            "orders.csv",
        ]
        hook.rename("in/2024/notes.txt", "in/2024/notes.md")
        hook.remove("in/2024/orders.csv")

    # The server's own disk is the truth.
    folder = smb_server.share_path / "in" / "2024"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]
    assert (folder / "notes.md").read_text() == "two\nlines\n"


def test_a_wrong_password_fails_and_share_types_are_checked(samba_conn: None) -> None:
    from smbprotocol.exceptions import LogonFailure

    from conveyor.providers.samba.hook import SambaHook

    with pytest.raises(LogonFailure), SambaHook(samba_conn_id="files_bad") as hook:
        hook.listdir("")
    with pytest.raises(ValueError, match="auth_protocol"):
        SambaHook(samba_conn_id="files", auth_protocol="basic")
    windows = SambaHook(samba_conn_id="files", share_type="windows", share="other")
    assert windows._join_path("a/b.txt") == "\\\\127.0.0.1\\other\\a\\b.txt"
