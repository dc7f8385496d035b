"""Each line of a try's log stamped with the moment it was written: ``[2026-01-01 10:00:00,123] ``
(UTC, the time format of Airflow's task log records) before the line's first byte.

A line written in several parts is one line, stamped with the time of its first part. Two
ways in, one per output mode of the try (``worker/runner.py``):

- :class:`StampingPipe`: the try's file descriptors 1 and 2 point at a pipe, and the
  process's copying thread copies what arrives into the log file, stamping each line as its
  first bytes arrive; so the output of subprocesses that write straight to the descriptors
  is stamped too;
- :class:`StampingStream`: a text stream that stamps what Python code writes to it, for
  tries that only swap ``sys.stdout`` and ``sys.stderr``.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from typing import Any, TextIO

#: How long the end of a try waits for the pipe's last bytes once its own ends are closed;
#: only a process the try left running in the background (holding the pipe) makes it wait
#: that long, and its later output is still copied, by the thread it leaves behind.
DRAIN_SECONDS = 0.5
_READ_BYTES = 64 << 10


def stamp(at: float) -> str:
    """``[YYYY-MM-DD HH:MM:SS,mmm] `` for the epoch time ``at``, in UTC."""
    seconds = int(at)
    millis = min(int((at - seconds) * 1000), 999)
    return f"[{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(seconds))},{millis:03d}] "


class _Lines:
    """Where the output stands: at the start of a line (the next byte gets a stamp) or not."""

    def __init__(self) -> None:
        self.at_start = True

    def stamped_bytes(self, data: bytes, at: float) -> bytes:
        if not data:
            return data
        mark = stamp(at).encode()
        head = mark if self.at_start else b""
        # A newline inside the chunk starts a line that gets the same stamp; the chunk's
        # last newline leaves the next line to the next chunk's time.
        body = data[:-1].replace(b"\n", b"\n" + mark) + data[-1:]
        self.at_start = data.endswith(b"\n")
        return head + body

    def stamped_text(self, text: str, at: float) -> str:
        if not text:
            return text
        mark = stamp(at)
        head = mark if self.at_start else ""
        body = text[:-1].replace("\n", "\n" + mark) + text[-1:]
        self.at_start = text.endswith("\n")
        return head + body


class StampingStream:
    """A text stream writing to ``inner`` with each line stamped with its first write's time.

    Everything else (``flush``, ``fileno``, ``encoding``...) is the inner stream's.
    """

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self._lines = _Lines()
        self._lock = threading.Lock()  # stdout and stderr share one stream, threads write too
        self._partial = ""  # a line begun and not yet ended

    def write(self, text: str) -> int:
        # Only whole lines reach the file: another writer to it (a subprocess, a library's
        # own handler on the descriptors) cannot land inside a line printed in parts.
        with self._lock:
            pending = self._partial + self._lines.stamped_text(text, time.time())
            end = pending.rfind("\n") + 1
            self._partial = pending[end:]
            if end:
                self._inner.write(pending[:end])
        return len(text)

    def flush(self) -> None:
        """Whole lines are written as they end; a line begun waits for its end (or
        :meth:`finish`)."""
        self._inner.flush()

    def finish(self) -> None:
        """Write a line left unended, ended."""
        with self._lock:
            if self._partial:
                self._inner.write(self._partial + "\n")
                self._partial = ""
            self._inner.flush()

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class StampingPipe:
    """A pipe whose reader copies each line into ``target`` (a file descriptor, which it
    takes over) stamped with the time its first bytes arrived.

    Point descriptors at :attr:`write_fd` (``os.dup2``), then :meth:`close` it; once every
    copy of the write end is closed, :meth:`finish` waits for the copy to end. The copying is
    done by one thread of the process for all its pipes (:class:`_Copier`): a try costs no
    thread of its own.
    """

    def __init__(self, target: int) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._target = target
        self._lines = _Lines()
        self._ended = threading.Event()
        _copier().add(self)

    def close(self) -> None:
        """Close this object's copy of the write end (the descriptors pointed at it stay)."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def finish(self, wait: float = DRAIN_SECONDS) -> None:
        """Wait until everything written has been copied (the pipe's end), at most ``wait``
        seconds: a background process still holding the pipe keeps its copy going."""
        self.close()
        self._ended.wait(wait)

    def copy_some(self) -> bool:
        """Copy what the pipe holds now; False once it has ended (every writer closed it, or
        the log file cannot be written: a full disk, which the try's own writes report)."""
        try:
            data = os.read(self.read_fd, _READ_BYTES)
            if data:
                _write_all(self._target, self._lines.stamped_bytes(data, time.time()))
                return True
        except InterruptedError:
            return True
        except OSError:
            pass
        for fd in (self.read_fd, self._target):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._ended.set()
        return False


class _Copier:
    """The thread that copies every pipe of this process: it waits on all of them at once
    and copies from each as its bytes arrive, until every writer of it has closed it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._joining: list[StampingPipe] = []
        threading.Thread(target=self._run, name="conveyor-log-stamps", daemon=True).start()

    def add(self, pipe: StampingPipe) -> None:
        with self._lock:
            self._joining.append(pipe)
        os.write(self._wake_write, b"+")

    def _run(self) -> None:
        while True:
            for key, _events in self._selector.select():
                if key.data is None:  # pipes to add
                    os.read(self._wake_read, _READ_BYTES)
                    with self._lock:
                        joining, self._joining = self._joining, []
                    for pipe in joining:
                        self._selector.register(pipe.read_fd, selectors.EVENT_READ, pipe)
                elif not key.data.copy_some():
                    self._selector.unregister(key.fd)


_shared: _Copier | None = None
_shared_lock = threading.Lock()


def _copier() -> _Copier:
    """This process's copier, made on first use (a forked child makes its own: the thread
    of its parent's is not in it)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.pid != os.getpid():
            _shared = _Copier()
        return _shared


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
