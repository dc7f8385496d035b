"""``SSHHook``: a server reached over SSH, as Airflow's ssh provider's, on paramiko.

paramiko (the extra ``conveyor[ssh]``) is what Airflow's provider uses, so ``get_conn()``
is a connected ``paramiko.SSHClient`` (a context manager that closes itself) and code that
drives the client directly runs unchanged. Settings come from the hook's keywords first,
then the connection (type ``ssh``: host, port, login, password, and the extras ``key_file``,
``private_key`` with ``private_key_passphrase``, ``conn_timeout`` / ``timeout``,
``cmd_timeout``, ``no_host_key_check``, ``allow_host_key_change``, ``host_key``,
``look_for_keys``, ``compress``).

Host keys are checked as in Airflow's current provider: against ``host_key`` when the
connection gives one, else against the user's known_hosts; an unknown server is refused
unless ``no_host_key_check`` is true. ``allow_host_key_change`` accepts another key from a
server known_hosts names (Airflow's provider then accepts unknown servers too; Conveyor
does not). A connection that cannot be opened (wrong host,
refused, wrong password, unknown host key, unreadable key) fails with an
``SSHConnectionError`` naming the connection and where it points, never the password or key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import io
import logging
import os
import selectors
import time
from collections.abc import Mapping
from typing import Any

from conveyor.connections import Connection, get_connection
from conveyor.connections.masking import MASK
from conveyor.exceptions import AirflowException, TaskError
from conveyor.providers._extras import load
from conveyor.providers._fields import keep_fields
from conveyor.providers._hook import HookNames, ProviderHook

paramiko = load("paramiko", "ssh", "ssh")

#: Seconds to wait for the server to answer, and for a command's output between two reads.
CONN_TIMEOUT = 10
CMD_TIMEOUT = 10
SSH_PORT = 22
#: Seconds between two connection attempts when the server did not answer.
_RETRY_WAIT = 1.0
#: Seconds to wait for output after the exit status came, for a channel still open.
_LAST_OUTPUT_WAIT = 2.0


class _Unset:
    """No value given: a command timeout of ``None`` means "wait forever", so it needs its own
    marker for "not given"."""

    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _Unset()


class SSHConnectionError(TaskError, AirflowException):
    """A hook could not reach or log in to its server; the message names the connection and
    never shows its password or key. An ``AirflowException``, as Airflow's."""


class SSHCommandError(TaskError, AirflowException):
    """A remote command failed: it timed out, or exited with a status other than 0. An
    ``AirflowException``, as Airflow's, so ``except AirflowException`` catches it."""


def _true(value: Any) -> bool:
    return str(value).strip().lower() == "true"


#: ``host_key`` extra: the key type written before the base64 data -> paramiko's class.
_HOST_KEY_TYPES = {
    "ssh-rsa": "RSAKey",
    "ssh-ed25519": "Ed25519Key",
    "ecdsa-sha2-nistp256": "ECDSAKey",
    "ecdsa-sha2-nistp384": "ECDSAKey",
    "ecdsa-sha2-nistp521": "ECDSAKey",
}
#: The key classes a ``private_key`` extra may be, most common first.
_PRIVATE_KEY_TYPES = ("RSAKey", "Ed25519Key", "ECDSAKey")


class SSHHook(ProviderHook):
    """A server reached over SSH: ``SSHHook(ssh_conn_id="...")``, or without a connection
    ``SSHHook(remote_host=..., username=..., password= / key_file=...)``. Keywords given win
    over the connection's fields."""

    names = HookNames("ssh_conn_id", "ssh_default", "ssh", "SSH")

    ssh_conn_id: str | None
    remote_host: str
    username: str | None
    password: str | None
    key_file: str | None
    port: int | None
    conn_timeout: int | None
    cmd_timeout: float | None
    keepalive_interval: int
    banner_timeout: float
    auth_timeout: int | None
    disabled_algorithms: dict[str, Any] | None
    ciphers: list[str] | None

    def __init__(
        self,
        ssh_conn_id: str | None = None,
        remote_host: str = "",
        username: str | None = None,
        password: str | None = None,
        key_file: str | None = None,
        port: int | None = None,
        conn_timeout: int | None = None,
        cmd_timeout: float | None = NOTSET,
        keepalive_interval: int = 30,
        banner_timeout: float = 30.0,
        auth_timeout: int | None = None,
        disabled_algorithms: dict[str, Any] | None = None,
        ciphers: list[str] | None = None,
        conn_retry_attempts: int = 3,
        no_host_key_check: bool | None = None,
        **kwargs: Any,
    ) -> None:
        # Airflow's older spelling of conn_timeout.
        conn_timeout = kwargs.pop("timeout", None) if conn_timeout is None else conn_timeout
        kwargs.pop("host_proxy_cmd", None)  # ProxyCommand is not supported: see docs/airflow.md
        if kwargs:
            raise TaskError(f"SSHHook() got unexpected keywords: {', '.join(sorted(kwargs))}")
        keep_fields(self, SSHHook, locals())
        self.pkey: Any = None
        self.conn_retry_attempts = max(1, conn_retry_attempts)
        self.compress = True
        self.no_host_key_check = False
        self.allow_host_key_change = False
        self.host_key: Any = None
        self.look_for_keys = True
        #: The client ``get_conn`` made, kept while it is connected.
        self.client: Any = None
        if ssh_conn_id is not None:
            self._apply_connection(get_connection(ssh_conn_id))
        if no_host_key_check is not None:
            self.no_host_key_check = no_host_key_check
        self._check_settings()

    # -- settings --------------------------------------------------------------------------

    def _apply_connection(self, conn: Connection) -> None:
        """Fill what the keywords left unset from the connection and its extras."""
        self.username = self.username if self.username is not None else conn.login
        self.password = self.password if self.password is not None else conn.password
        self.remote_host = self.remote_host or conn.host or ""
        self.port = self.port if self.port is not None else conn.port
        extra = conn.extra_dejson
        if self.key_file is None and extra.get("key_file"):
            self.key_file = str(extra["key_file"])
        if extra.get("private_key"):
            self.pkey = self._private_key(
                str(extra["private_key"]), extra.get("private_key_passphrase") or None
            )
        timeout = extra.get("conn_timeout", extra.get("timeout"))
        if self.conn_timeout is None and timeout not in (None, ""):
            self.conn_timeout = int(timeout)
        if self.cmd_timeout is NOTSET and "cmd_timeout" in extra:
            given = extra["cmd_timeout"]
            self.cmd_timeout = float(given) if given not in (None, "") else None
        self.compress = str(extra.get("compress", "true")).lower() != "false"
        self.look_for_keys = str(extra.get("look_for_keys", "true")).lower() != "false"
        self.allow_host_key_change = _true(extra.get("allow_host_key_change"))
        if extra.get("disabled_algorithms"):
            self.disabled_algorithms = extra["disabled_algorithms"]
        if extra.get("ciphers"):
            self.ciphers = extra["ciphers"]
        if extra.get("host_key"):
            self.host_key = self._host_key(str(extra["host_key"]))
        no_check = extra.get("no_host_key_check", extra.get("ignore_hostkey_verification"))
        if no_check is not None:
            self.no_host_key_check = _true(no_check)

    def _check_settings(self) -> None:
        if self.host_key is not None and self.no_host_key_check:
            raise TaskError(
                f"{self._name()}: host_key is given, so the host key must be checked "
                "(no_host_key_check cannot be true)"
            )
        if self.pkey is not None and self.key_file:
            raise TaskError(f"{self._name()}: give key_file or private_key, not both")
        if not self.remote_host:
            raise TaskError(f"{self._name()}: no remote_host (give the connection a host)")
        self.username = self.username or getpass.getuser()
        self.port = int(self.port or SSH_PORT)
        if self.conn_timeout is None:
            self.conn_timeout = CONN_TIMEOUT
        if self.cmd_timeout is NOTSET:
            self.cmd_timeout = CMD_TIMEOUT

    def _name(self) -> str:
        if self.ssh_conn_id is None:
            return f"{self.hook_name} hook"
        return f"{self.hook_name} connection {self.ssh_conn_id!r}"

    def _private_key(self, text: str, passphrase: str | None) -> Any:
        """The ``private_key`` extra (PEM or OpenSSH text) as a paramiko key."""
        if len(text.strip().splitlines()) < 2:
            raise SSHConnectionError(
                f"{self._name()}: extra private_key must be the key's text with its BEGIN and "
                "END lines on lines of their own"
            )
        for name in _PRIVATE_KEY_TYPES:
            with contextlib.suppress(paramiko.SSHException, ValueError):
                key = getattr(paramiko, name).from_private_key(
                    io.StringIO(text), password=passphrase
                )
                # paramiko may read an OpenSSH key as the wrong type; signing tells.
                algorithm = "rsa-sha2-512" if key.get_name() == "ssh-rsa" else None
                key.sign_ssh_data(b"", algorithm)
                return key
        raise SSHConnectionError(
            f"{self._name()}: extra private_key cannot be read (an RSA, Ed25519 or ECDSA key; "
            "is private_key_passphrase right?)"
        )

    def _host_key(self, text: str) -> Any:
        """The ``host_key`` extra (``ssh-ed25519 AAAA...`` or the base64 data of an RSA key)."""
        parts = text.split()
        kind, data = (parts[0], parts[1]) if len(parts) >= 2 else ("ssh-rsa", text.strip())
        if kind not in _HOST_KEY_TYPES:
            raise TaskError(
                f"{self._name()}: extra host_key has type {kind!r}; expected one of "
                f"{', '.join(_HOST_KEY_TYPES)}"
            )
        try:
            return getattr(paramiko, _HOST_KEY_TYPES[kind])(data=base64.b64decode(data))
        except (binascii.Error, paramiko.SSHException, ValueError) as exc:
            raise TaskError(f"{self._name()}: extra host_key cannot be read: {exc}") from None

    # -- the connection --------------------------------------------------------------------

    def get_conn(self) -> Any:
        """A connected ``paramiko.SSHClient``; the same one while it stays connected. Use it
        as a context manager (or call ``close()``) to close it."""
        if self.client is not None:
            transport = self.client.get_transport()
            if transport is not None and transport.is_active():
                return self.client
        client = paramiko.SSHClient()
        self._trust_host_keys(client)
        try:
            self._connect(client)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise SSHConnectionError(self._describe_failure(exc)) from None
        transport = client.get_transport()
        if self.keepalive_interval:
            transport.set_keepalive(self.keepalive_interval)
        if self.ciphers:
            transport.get_security_options().ciphers = self.ciphers
        self.client = client
        return client

    def _trust_host_keys(self, client: Any) -> None:
        """The host keys ``client`` accepts: Airflow's rules (see the module docstring)."""
        if self.allow_host_key_change:
            # A known server may show another key; an unknown one is still refused (unless
            # no_host_key_check below): known_hosts is read for names, not keys.
            client.set_missing_host_key_policy(_KnownHostNewKey(self.log))
        else:
            with contextlib.suppress(OSError):
                client.load_system_host_keys()
        if self.no_host_key_check:
            self.log.warning("The server's host key is not verified (no_host_key_check)")
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        elif self.host_key is not None:
            name = (
                self.remote_host if self.port == SSH_PORT else f"[{self.remote_host}]:{self.port}"
            )
            client.get_host_keys().add(name, self.host_key.get_name(), self.host_key)

    def _connect(self, client: Any) -> None:
        args: dict[str, Any] = {
            "hostname": self.remote_host,
            "port": self.port,
            "username": self.username,
            "timeout": self.conn_timeout,
            "compress": self.compress,
            "look_for_keys": self.look_for_keys,
            "banner_timeout": self.banner_timeout,
            "auth_timeout": self.auth_timeout,
        }
        if self.password:
            args["password"] = self.password.strip()
        if self.pkey is not None:
            args["pkey"] = self.pkey
        if self.key_file:
            args["key_filename"] = self.key_file
        if self.disabled_algorithms:
            args["disabled_algorithms"] = self.disabled_algorithms
        for attempt in range(1, self.conn_retry_attempts + 1):
            try:
                client.connect(**args)
                return
            except (TimeoutError, paramiko.ssh_exception.NoValidConnectionsError):
                # Only a server that did not answer is worth asking again; a refused login
                # or host key stays refused.
                if attempt == self.conn_retry_attempts:
                    raise
                self.log.info("Could not reach %s; trying again", self.remote_host)
                time.sleep(_RETRY_WAIT)

    def _describe_failure(self, exc: BaseException) -> str:
        detail = str(exc).strip() or type(exc).__name__
        if isinstance(exc, paramiko.BadHostKeyException):
            detail = f"the server's host key is not the one expected ({detail})"
        elif "not found in known_hosts" in detail:
            detail += " (give the connection extra host_key, or set no_host_key_check to true)"
        if self.password:
            detail = detail.replace(self.password, MASK)
        return (
            f"{self._name()} ({self.username}@{self.remote_host}:{self.port}) could not "
            f"connect: {detail}"
        )

    def test_connection(self) -> tuple[bool, str]:
        """``(True, message)`` when a command runs on the server, else ``(False, why)``."""
        try:
            self._probe()
            return True, "Connection successfully tested"
        except Exception as exc:  # reported, as Airflow's test_connection does
            return False, str(exc)

    def _probe(self) -> None:
        """What ``test_connection`` tries: run one command on the server."""
        with self.get_conn() as client:
            client.exec_command("pwd")

    # -- commands --------------------------------------------------------------------------

    def exec_ssh_client_command(
        self,
        ssh_client: Any,
        command: str,
        get_pty: bool,
        environment: Mapping[str, str] | None,
        timeout: float | None = NOTSET,
    ) -> tuple[int, bytes, bytes]:
        """Run ``command`` on ``ssh_client``: ``(exit_status, stdout, stderr)``. Output is
        logged line by line as it comes (stderr as warnings). ``timeout`` is the seconds to
        wait for output or the end before failing (``None``: no limit); by default the
        hook's ``cmd_timeout``."""
        self.log.info("Running command: %s", command)
        limit = self.cmd_timeout if timeout is NOTSET else timeout
        limit = CMD_TIMEOUT if limit is NOTSET else limit
        stdin, stdout, stderr = ssh_client.exec_command(
            command=command, get_pty=get_pty, timeout=limit, environment=environment
        )
        channel = stdout.channel
        stdin.close()
        channel.shutdown_write()
        out, err = bytearray(), bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(channel, selectors.EVENT_READ)
            while True:
                self._read_ready(channel, out, err)
                if _finished(channel):
                    break
                # The exit status may come before the last output (sshd sends it when the
                # process ends, stderr still unread): wait a little more for the rest.
                ended = channel.exit_status_ready()
                wait = limit
                if ended:
                    wait = _LAST_OUTPUT_WAIT if limit is None else min(limit, _LAST_OUTPUT_WAIT)
                if selector.select(wait):
                    continue
                if ended:
                    break  # a process it started in the background holds the output open
                channel.close()
                raise SSHCommandError(
                    f"SSH command timed out: no output or end within {limit} seconds "
                    f"(cmd_timeout): {command}"
                )
        status = channel.recv_exit_status()
        stdout.close()
        stderr.close()
        return status, bytes(out), bytes(err)

    def _read_ready(self, channel: Any, out: bytearray, err: bytearray) -> None:
        while channel.recv_ready() or channel.recv_stderr_ready():
            if channel.recv_ready():
                chunk = channel.recv(65536)
                out += chunk
                for line in chunk.decode("utf-8", "replace").splitlines():
                    self.log.info(line)
            if channel.recv_stderr_ready():
                chunk = channel.recv_stderr(65536)
                err += chunk
                for line in chunk.decode("utf-8", "replace").splitlines():
                    self.log.warning(line)


class _KnownHostNewKey(paramiko.MissingHostKeyPolicy):  # type: ignore[name-defined,misc]
    """``allow_host_key_change``: a server named in the user's known_hosts is accepted
    whatever key it shows now (its key changed), with a warning; a server known_hosts does not
    name is refused, as without the extra."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.known = paramiko.HostKeys()
        with contextlib.suppress(OSError):
            self.known.load(os.path.expanduser("~/.ssh/known_hosts"))

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        if self.known.lookup(hostname) is None:
            raise paramiko.SSHException(f"Server {hostname!r} not found in known_hosts")
        self.log.warning(
            "The host key of %s is not the one in known_hosts; accepted (allow_host_key_change)",
            hostname,
        )


def _finished(channel: Any) -> bool:
    """All the command's output was read. The server sends none after its end of file (or
    closing the channel), so that is asked first: asked the other way round, output that
    arrives between the two questions would be lost."""
    ended = channel.eof_received or channel.closed
    return bool(ended) and not channel.recv_ready() and not channel.recv_stderr_ready()
