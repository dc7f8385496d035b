"""A real OpenLDAP server for the LDAP sign-in tests, private to the test module.

Debian's ``/usr/sbin/slapd`` runs in the foreground with a ``slapd.conf`` and an MDB
database made for it in a temporary folder, listening on two free loopback ports: plain
``ldap://`` (StartTLS offered) and ``ldaps://``, with a server certificate signed by a CA
the fixture makes with ``openssl``. The directory is loaded with ``ldapadd`` against the
running server, so that the ``memberof`` overlay fills each user's ``memberOf`` (an offline
``slapadd`` would not). A missing slapd skips the tests locally and fails them in CI
(scripts/services.sh installs it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SLAPD = "/usr/sbin/slapd"
LDAPADD = "/usr/bin/ldapadd"
START_SECONDS = 30
BASE = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "root-Secret-1"
SERVICE_DN = f"cn=conveyor,ou=services,{BASE}"
SERVICE_PASSWORD = "service-Secret-2"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
#: user -> password; alice is in ops, bob in viewers, dave in admins, carol in no group.
PASSWORDS = {
    "alice": "alice-Secret-3",
    "bob": "bob-Secret-4",
    "carol": "carol-Secret-5",
    "dave": "dave-Secret-6",
}
PLACEHOLDER = f"cn=nobody,{BASE}"
MEMBERS = {"ops": ["alice"], "viewers": ["bob"], "admins": ["dave"]}
#: A posixGroup (memberUid, no memberOf) for the group search: bob is in team-b.
POSIX_MEMBERS = {"team-b": ["bob"]}


@dataclass(frozen=True)
class LDAPServer:
    port: int  # ldap:// (StartTLS offered)
    tls_port: int  # ldaps://
    ca_file: Path
    folder: Path

    # By name, as certificates name servers (ldap3 checks DNS names only from Python 3.12).
    @property
    def url(self) -> str:
        return f"ldap://localhost:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    def ldif(self, text: str, *, modify: bool = False) -> None:
        """Apply ``text`` as the directory's administrator (ldapadd, or ldapmodify)."""
        command = [LDAPADD, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD]
        if modify:
            command = ["/usr/bin/ldapmodify", *command[1:]]
        done = subprocess.run(command, input=text, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def user_dn(name: str) -> str:
    return f"uid={name},{PEOPLE}"


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca_and_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 and localhost it signs: (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=Conveyor test CA",
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(extensions),
    )
    return ca, cert, key


def _config(folder: Path, cert: Path, key: Path, ca: Path) -> Path:
    (folder / "db").mkdir()
    config = folder / "slapd.conf"
    config.write_text(
        f"""\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {folder / "slapd.pid"}
argsfile {folder / "slapd.args"}
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 16777216
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {folder / "db"}
overlay memberof
access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by users read
    by * none
"""
    )
    return config


def _directory() -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: conveyor\nsn: service\n"
        f"userPassword: {SERVICE_PASSWORD}",
    ]
    for name, password in PASSWORDS.items():
        entries.append(
            f"dn: {user_dn(name)}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: {name}\n"
            f"sn: {name}\nmail: {name}@example.com\nuserPassword: {password}"
        )
    for group, members in MEMBERS.items():
        # groupOfNames needs a member: one that is nobody lets a test empty the group.
        lines = "\n".join(f"member: {dn}" for dn in [PLACEHOLDER, *map(user_dn, members)])
        entries.append(f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}\n{lines}")
    for group, members in POSIX_MEMBERS.items():
        lines = "\n".join(f"memberUid: {m}" for m in members)
        entries.append(
            f"dn: {group_dn(group)}\nobjectClass: posixGroup\ncn: {group}\ngidNumber: 5000\n{lines}"
        )
    return "\n\n".join(entries) + "\n"


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


@contextlib.contextmanager
def running_slapd(folder: Path) -> Iterator[LDAPServer]:
    """slapd on two free ports with the test directory loaded; stopped after."""
    if not (os.access(SLAPD, os.X_OK) and os.access(LDAPADD, os.X_OK)):
        _unavailable("slapd or ldapadd is missing (scripts/services.sh ensure_slapd)")
    ca, cert, key = make_ca_and_certificate(folder)
    config = _config(folder, cert, key, ca)
    port, tls_port = _free_port(), _free_port()
    log = (folder / "slapd.log").open("w")
    process = subprocess.Popen(
        [
            SLAPD,
            "-d",
            "0",
            "-f",
            str(config),
            "-h",
            f"ldap://localhost:{port}/ ldaps://localhost:{tls_port}/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: stopping it signals nothing of ours
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (_answers(port) and _answers(tls_port)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"slapd did not start: {(folder / 'slapd.log').read_text()[-2000:]}"
                )
            time.sleep(0.05)
        server = LDAPServer(port, tls_port, ca, folder)
        server.ldif(_directory())
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        log.close()
