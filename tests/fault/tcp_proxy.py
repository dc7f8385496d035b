"""A TCP proxy on loopback that a fault test points, cuts and freezes.

Conveyor's processes connect to the proxy's port as if it were the store; the test decides
where the proxy forwards (a failover moves it to the promoted standby), and makes the
network faults a real cluster meets: ``refuse`` (new connections are closed at once, and
the ones open are cut), ``drop`` (bytes are no longer forwarded and nothing is closed: a
half-open link, as when a switch or a firewall loses the path), ``delay`` (every chunk
waits). One thread accepts; each connection has two pump threads, one per direction.

A silent link also acknowledges nothing: ``drop`` puts iptables rules (root only, see
:func:`can_silence`) that drop every packet of the proxy's connections, on both sides, so
that the TCP stacks at each end see what they would see on a real cut (keepalive probes and
retransmissions unanswered), not a healthy proxy holding bytes back.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from contextlib import suppress


def can_silence() -> bool:
    """Whether ``drop`` can silence packets too: root, with iptables."""
    return os.geteuid() == 0 and shutil.which("iptables") is not None


class TcpProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = "forward"  # forward, refuse or drop
        self.delay = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        self._rules: list[list[str]] = []
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def point_at(self, target_port: int) -> None:
        """New connections go to ``target_port``; those open to the old target are cut."""
        self.target_port = target_port
        self.cut()

    def cut(self) -> None:
        """Close every open connection, both sides (what a server's death looks like)."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def refuse(self) -> None:
        self.mode = "refuse"
        self.cut()

    def drop(self) -> None:
        """Stop forwarding without closing anything: the peers wait on a silent link. As
        root, every packet to or from the proxy's port and its connections to the target is
        dropped as well, until :meth:`forward`."""
        self.mode = "drop"
        self._flowing.clear()
        if not can_silence():
            return
        with self._lock:
            upstream_ports = [int(sock.getsockname()[1]) for sock in self._open[1::2]]
        matches = [["--dport", str(self.port)], ["--sport", str(self.port)]]
        for port in upstream_ports:
            matches += [
                ["--sport", str(port), "--dport", str(self.target_port)],
                ["--sport", str(self.target_port), "--dport", str(port)],
            ]
        for match in matches:
            rule = ["INPUT", "-i", "lo", "-p", "tcp", *match, "-j", "DROP"]
            subprocess.run(["iptables", "-I", *rule], check=True)
            self._rules.append(rule)

    def forward(self) -> None:
        self.mode = "forward"
        self._unsilence()
        self._flowing.set()

    def _unsilence(self) -> None:
        rules, self._rules = self._rules, []
        for rule in rules:
            subprocess.run(["iptables", "-D", *rule], check=False)

    def close(self) -> None:
        self._unsilence()
        self._closed = True
        self._flowing.set()
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()  # the target is down: the client sees a closed connection
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                # A dropped link holds the bytes back until it returns, as TCP's
                # retransmissions would deliver them then.
                self._flowing.wait()
                if self._closed:
                    return
                if self.delay:
                    time.sleep(self.delay)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
