"""``SambaHook``: files on an SMB share, as Airflow's samba provider gives them.

The connection (type ``samba``) names the server (host, port: 445 by default), the share
(its schema; the hook's ``share=`` wins), and the user (login, password). Extras:
``share_type`` (``posix``, the default, or ``windows``: how paths are joined),
``auth_protocol`` (``negotiate``, ``ntlm``, ``kerberos``; the older ``auth`` too).

Every method takes a path inside the share and calls ``smbclient``'s function of the same
name on ``\\\\host\\share\\path`` with the connection's credentials, so it returns what
smbclient returns (``listdir`` names, ``open_file`` a file object, ``walk`` a generator of
``(folder, folders, files)``). Used as a context manager the hook connects on entry and
disconnects on exit, as in Airflow.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from shutil import copyfileobj
from typing import Any

from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames, ProviderHook

smbclient = load("smbclient", "samba", "samba")

_AUTH_PROTOCOLS = ("negotiate", "ntlm", "kerberos")


class SambaHook(ProviderHook):
    """A share on a Samba (SMB) server: ``SambaHook(samba_conn_id="...", share=None,
    share_type=None, auth_protocol=None)``."""

    names = HookNames("samba_conn_id", "samba_default", "samba", "Samba")
    VALID_AUTH_PROTOCOLS = frozenset(_AUTH_PROTOCOLS)

    def __init__(
        self,
        samba_conn_id: str = "samba_default",
        share: str | None = None,
        share_type: str | None = None,
        auth_protocol: str | None = None,
    ) -> None:
        conn = self.get_connection(samba_conn_id)
        extra = conn.extra_dejson
        legacy = extra.get("auth")
        default_auth = legacy if legacy in _AUTH_PROTOCOLS else "negotiate"
        self._auth_protocol = str(auth_protocol or extra.get("auth_protocol", default_auth))
        if self._auth_protocol not in _AUTH_PROTOCOLS:
            raise ValueError(
                f"connection {samba_conn_id!r}: Invalid auth_protocol "
                f"{self._auth_protocol!r}. Must be one of {sorted(_AUTH_PROTOCOLS)}."
            )
        self._share_type = share_type or extra.get("share_type", "posix")
        if self._share_type not in ("posix", "windows"):
            self.log.warning(
                "Invalid share_type specified. It must be either 'posix' or 'windows'. "
                "Falling back to 'posix'"
            )
            self._share_type = "posix"
        self._host = str(conn.host or "")
        self._share = share or conn.schema
        self._connection_cache: dict[str, Any] = {}
        self._conn_kwargs: dict[str, Any] = {
            "username": conn.login,
            "password": conn.password,
            "port": int(conn.port) if conn.port else 445,
            "connection_cache": self._connection_cache,
            "auth_protocol": self._auth_protocol,
        }

    def __enter__(self) -> SambaHook:
        smbclient.register_session(self._host, **self._conn_kwargs)
        return self

    def __exit__(self, *exc: object) -> None:
        for host, connection in self._connection_cache.items():
            self.log.info("Disconnecting from %s", host)
            connection.disconnect()
        self._connection_cache.clear()

    def _join_path(self, path: str) -> str:
        if self._share_type == "windows":
            joined = PureWindowsPath(f"\\{self._host}\\{self._share}", path.lstrip("\\/"))
            return f"\\{joined}"
        return str(PurePosixPath("//" + self._host, str(self._share), path.lstrip("/")))

    def _call(self, name: str, *paths: str, **kwargs: Any) -> Any:
        joined = [self._join_path(path) for path in paths]
        return getattr(smbclient, name)(*joined, **kwargs, **self._conn_kwargs)

    # -- smbclient's functions, on paths inside the share ----------------------------------

    def link(self, src: str, dst: str, follow_symlinks: bool = True) -> None:
        self._call("link", src, dst, follow_symlinks=follow_symlinks)

    def listdir(self, path: str) -> list[str]:
        return list(self._call("listdir", path))

    def lstat(self, path: str) -> Any:
        return self._call("lstat", path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self._call("makedirs", path, exist_ok=exist_ok)

    def mkdir(self, path: str) -> None:
        self._call("mkdir", path)

    def open_file(
        self,
        path: str,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        share_access: str | None = None,
        desired_access: int | None = None,
        file_attributes: int | None = None,
        file_type: str = "file",
    ) -> Any:
        return self._call(
            "open_file",
            path,
            mode=mode,
            buffering=buffering,
            encoding=encoding,
            errors=errors,
            newline=newline,
            share_access=share_access,
            desired_access=desired_access,
            file_attributes=file_attributes,
            file_type=file_type,
        )

    def readlink(self, path: str) -> str:
        return str(self._call("readlink", path))

    def remove(self, path: str) -> None:
        self._call("remove", path)

    def removedirs(self, path: str) -> None:
        self._call("removedirs", path)

    def rename(self, src: str, dst: str) -> None:
        self._call("rename", src, dst)

    def replace(self, src: str, dst: str) -> None:
        self._call("replace", src, dst)

    def rmdir(self, path: str) -> None:
        self._call("rmdir", path)

    def scandir(self, path: str, search_pattern: str = "*") -> Any:
        return self._call("scandir", path, search_pattern=search_pattern)

    def stat(self, path: str, follow_symlinks: bool = True) -> Any:
        return self._call("stat", path, follow_symlinks=follow_symlinks)

    def stat_volume(self, path: str) -> Any:
        return self._call("stat_volume", path)

    def symlink(self, src: str, dst: str, target_is_directory: bool = False) -> None:
        self._call("symlink", src, dst, target_is_directory=target_is_directory)

    def truncate(self, path: str, length: int) -> None:
        self._call("truncate", path, length=length)

    def unlink(self, path: str) -> None:
        self._call("unlink", path)

    def utime(
        self,
        path: str,
        times: tuple[float, float] | None = None,
        ns: tuple[int, int] | None = None,
        follow_symlinks: bool = True,
    ) -> None:
        self._call("utime", path, times=times, ns=ns, follow_symlinks=follow_symlinks)

    def walk(
        self, path: str, topdown: bool = True, onerror: Any = None, follow_symlinks: bool = False
    ) -> Any:
        return self._call(
            "walk", path, topdown=topdown, onerror=onerror, follow_symlinks=follow_symlinks
        )

    def getxattr(self, path: str, attribute: str, follow_symlinks: bool = True) -> Any:
        return self._call("getxattr", path, attribute=attribute, follow_symlinks=follow_symlinks)

    def listxattr(self, path: str, follow_symlinks: bool = True) -> Any:
        return self._call("listxattr", path, follow_symlinks=follow_symlinks)

    def removexattr(self, path: str, attribute: str, follow_symlinks: bool = True) -> None:
        self._call("removexattr", path, attribute=attribute, follow_symlinks=follow_symlinks)

    def setxattr(
        self,
        path: str,
        attribute: str,
        value: bytes,
        flags: int = 0,
        follow_symlinks: bool = True,
    ) -> None:
        self._call(
            "setxattr",
            path,
            attribute=attribute,
            value=value,
            flags=flags,
            follow_symlinks=follow_symlinks,
        )

    def push_from_local(
        self, destination_filepath: str, local_filepath: str, buffer_size: int | None = None
    ) -> None:
        """Copy a local file to ``destination_filepath`` on the share."""
        extra_args = (buffer_size,) if buffer_size else ()
        with (
            open(local_filepath, "rb") as source,
            self.open_file(destination_filepath, mode="wb") as target,
        ):
            copyfileobj(source, target, *extra_args)
