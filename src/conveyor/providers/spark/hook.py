"""``SparkSubmitHook``: run ``spark-submit`` as Airflow's apache.spark provider does.

The connection (type ``spark``, ``spark_default`` unless named) gives the master: its host
as written (``local[2]``, ``yarn``, ``spark://h:7077``, ``k8s://https://h:443``), with its
port when it has one; a connection written as a URI (``spark://h:7077``) gives its type as
the scheme. No connection: ``yarn``, as in Airflow. Extras: ``deploy-mode``, ``queue``,
``spark-binary`` (one of ``spark-submit``, ``spark2-submit``, ``spark3-submit``),
``namespace`` (Kubernetes), ``principal``; ``spark-home`` is refused, as Airflow refuses it
(whoever edits connections would choose the binary tasks run).

The binary is found in ``$SPARK_HOME/bin`` when that is set (the environment's or
``env_vars``'), else on ``PATH`` (pyspark installs one: ``conveyor[spark]``). Its output
(stderr merged) is copied line by line into the try's log, values of ``...password=`` and
``...secret=`` masked; a non-zero exit fails the try
with the command (secrets masked) and the output's last lines. It runs in a process group of
its own, which ``on_kill`` ends (SIGTERM, then SIGKILL after 5 s), so the JVM and the Python
workers it started go too; in YARN cluster mode ``on_kill`` also runs ``yarn application
-kill`` on the application id read from the output, as Airflow does.

``post_submit_commands`` run once after spark-submit exits, whether it succeeded or not, and
when the try is stopped (``on_kill``): each split as a shell would split it but run without
one, for at most 30 s, its output in the log; one that fails or times out is a warning, never
the try's failure (Airflow's meaning: cleaning up a sidecar such as Istio's).

Not here (refused when asked, naming what to do instead): cluster deploy mode on a
standalone (``spark://``) or Kubernetes master (Airflow polls the driver there), a
``keytab`` extra, ``track_driver_via_k8s_api``,
``yarn_track_via_rm_api``, ``use_krb5ccache``.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from conveyor.exceptions import AirflowException, NotFoundError, TaskError
from conveyor.install_hint import pip_install
from conveyor.providers._hook import HookNames, ProviderHook

DEFAULT_SPARK_BINARY = "spark-submit"
ALLOWED_SPARK_BINARIES = [DEFAULT_SPARK_BINARY, "spark2-submit", "spark3-submit"]
#: Seconds spark-submit's process group gets after SIGTERM before SIGKILL.
KILL_GRACE_SECONDS = 5.0
#: Seconds one post-submit command may take.
POST_SUBMIT_TIMEOUT_SECONDS = 30
_SECRET = re.compile(r"(\S*?(?:secret|password)\S*?(?:=|\s+)(['\"]?))(?:(?!\2\s)\S)*(\2)", re.I)
_YARN_APP = re.compile(r"application[0-9_]+")


def mask_secrets(text: str) -> str:
    """``text`` with the value of every ``...password=...`` / ``...secret=...`` masked."""
    return _SECRET.sub(r"\1******\3", text)


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs before exec: ask for SIGTERM when the try's process dies (Linux's
    PR_SET_PDEATHSIG), so a runner killed outright leaves no Spark JVM behind. The function
    is looked up here, in the parent: the child of a threaded process must not load one."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: on_kill and the end of the group still apply

    def ask() -> None:
        prctl(1, signal.SIGTERM)

    return ask


class SparkSubmitError(TaskError, AirflowException):
    """spark-submit exited with a status other than 0. An ``AirflowException``, as Airflow's,
    so ``except AirflowException`` (and a failure callback asking) sees it as there."""


class SparkSubmitHook(ProviderHook):
    """``spark-submit`` on the connection's master with the given options."""

    names = HookNames("conn_id", "spark_default", "spark", "Spark")

    def __init__(
        self,
        conf: dict[str, Any] | None = None,
        conn_id: str = "spark_default",
        files: str | None = None,
        py_files: str | None = None,
        archives: str | None = None,
        driver_class_path: str | None = None,
        jars: str | None = None,
        java_class: str | None = None,
        packages: str | None = None,
        exclude_packages: str | None = None,
        repositories: str | None = None,
        total_executor_cores: int | None = None,
        executor_cores: int | None = None,
        executor_memory: str | None = None,
        driver_memory: str | None = None,
        keytab: str | None = None,
        principal: str | None = None,
        proxy_user: str | None = None,
        name: str = "default-name",
        num_executors: int | None = None,
        status_poll_interval: int = 1,
        application_args: list[Any] | None = None,
        env_vars: dict[str, Any] | None = None,
        verbose: bool = False,
        spark_binary: str | None = None,
        properties_file: str | None = None,
        yarn_queue: str | None = None,
        deploy_mode: str | None = None,
        post_submit_commands: list[str] | None = None,
        **refused: Any,
    ) -> None:
        _refuse(refused)
        self._conf = dict(conf or {})
        self._conn_id = conn_id
        self._files = files
        self._py_files = py_files
        self._archives = archives
        self._driver_class_path = driver_class_path
        self._jars = jars
        self._java_class = java_class
        self._packages = packages
        self._exclude_packages = exclude_packages
        self._repositories = repositories
        self._total_executor_cores = total_executor_cores
        self._executor_cores = executor_cores
        self._executor_memory = executor_memory
        self._driver_memory = driver_memory
        self._keytab = keytab
        self._principal = principal
        self._proxy_user = proxy_user
        self._name = name
        self._num_executors = num_executors
        self._status_poll_interval = status_poll_interval
        self._application_args = application_args
        self._env_vars = env_vars
        self._verbose = verbose
        self.spark_binary = spark_binary
        self._properties_file = properties_file
        self._yarn_queue = yarn_queue
        self._deploy_mode = deploy_mode
        self._post_submit_commands = list(post_submit_commands or ())
        self._post_submit_commands_done = False
        self._submit_sp: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._yarn_application_id: str | None = None
        self._env: dict[str, str] | None = None
        self._last_lines: collections.deque[str] = collections.deque(maxlen=20)
        self._connection = self._resolve_connection()
        master = self._connection["master"]
        self._is_yarn = "yarn" in master
        self._is_kubernetes = "k8s" in master
        if self._connection["deploy_mode"] == "cluster" and (
            master.startswith("spark://") or self._is_kubernetes
        ):
            raise TaskError(
                f"spark connection {conn_id!r}: deploy mode 'cluster' on {master}: Conveyor does "
                "not follow a driver running in the cluster (Airflow polls it there); use "
                "deploy_mode='client' (the driver then runs in the try), or YARN"
            )

    def _resolve_connection(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "master": "yarn",
            "queue": self._yarn_queue,
            "deploy_mode": self._deploy_mode,
            "spark_binary": self.spark_binary or DEFAULT_SPARK_BINARY,
            "namespace": None,
            "principal": self._principal,
            "keytab": self._keytab,
        }
        try:
            conn = self.get_connection(self._conn_id)
        except NotFoundError:
            self.log.info(
                "Could not load connection string %s, defaulting to %s",
                self._conn_id,
                data["master"],
            )
            return data
        host = conn.host or ""
        if conn.conn_type == "spark" and host and ("://" in host or not conn.port):
            master = host
        else:
            master = f"{conn.conn_type}://{host}"
        data["master"] = f"{master}:{conn.port}" if conn.port else master
        extra = conn.extra_dejson
        data["queue"] = self._yarn_queue or extra.get("queue")
        data["deploy_mode"] = self._deploy_mode or extra.get("deploy-mode")
        if not self.spark_binary:
            self.spark_binary = str(extra.get("spark-binary", DEFAULT_SPARK_BINARY))
            if self.spark_binary not in ALLOWED_SPARK_BINARIES:
                raise ValueError(
                    f"spark connection {self._conn_id!r}: The spark-binary extra can be one of "
                    f"{ALLOWED_SPARK_BINARIES} and it was `{self.spark_binary}`."
                )
        if extra.get("spark-home"):
            raise ValueError(
                f"spark connection {self._conn_id!r}: The `spark-home` extra is not allowed any "
                f"more (as in Airflow). Put one of {ALLOWED_SPARK_BINARIES} on the PATH, or set "
                "SPARK_HOME in the environment, and set `spark-binary` if needed."
            )
        if extra.get("keytab"):
            raise ValueError(
                f"spark connection {self._conn_id!r}: a keytab in the extra is not supported "
                "by Conveyor: give keytab= (a file path) to the operator"
            )
        data["spark_binary"] = self.spark_binary
        data["namespace"] = extra.get("namespace")
        if data["principal"] is None:
            data["principal"] = extra.get("principal")
        if "spark.kubernetes.namespace" in self._conf:
            data["namespace"] = self._conf["spark.kubernetes.namespace"]
        return data

    def get_conn(self) -> Any:
        return None

    # -- the command -----------------------------------------------------------------------

    def _binary(self) -> str:
        binary = str(self._connection["spark_binary"])
        home = (self._env_vars or {}).get("SPARK_HOME") or os.environ.get("SPARK_HOME")
        if home and os.path.isfile(os.path.join(str(home), "bin", binary)):
            return os.path.join(str(home), "bin", binary)
        found = shutil.which(binary)
        if found is None:
            raise TaskError(
                f"{binary} is not on the PATH and SPARK_HOME is not set: install Spark, or "
                f"pyspark ({pip_install('spark')})"
            )
        return found

    def _build_spark_submit_command(self, application: str) -> list[str]:
        args = [self._binary(), "--master", self._connection["master"]]
        for key, value in self._conf.items():
            args += ["--conf", f"{key}={value}"]
        if self._env_vars and (self._is_kubernetes or self._is_yarn):
            template = (
                "spark.yarn.appMasterEnv.{}={}"
                if self._is_yarn
                else "spark.kubernetes.driverEnv.{}={}"
            )
            for key, value in self._env_vars.items():
                args += ["--conf", template.format(key, value)]
        if self._env_vars and not self._is_kubernetes:
            self._env = {str(k): str(v) for k, v in self._env_vars.items()}
        if self._is_kubernetes and self._connection["namespace"]:
            args += ["--conf", f"spark.kubernetes.namespace={self._connection['namespace']}"]
        options = [
            ("--properties-file", self._properties_file),
            ("--files", self._files),
            ("--py-files", self._py_files),
            ("--archives", self._archives),
            ("--driver-class-path", self._driver_class_path),
            ("--jars", self._jars),
            ("--packages", self._packages),
            ("--exclude-packages", self._exclude_packages),
            ("--repositories", self._repositories),
            ("--num-executors", self._num_executors),
            ("--total-executor-cores", self._total_executor_cores),
            ("--executor-cores", self._executor_cores),
            ("--executor-memory", self._executor_memory),
            ("--driver-memory", self._driver_memory),
            ("--keytab", self._connection["keytab"]),
            ("--principal", self._connection["principal"]),
            ("--proxy-user", self._proxy_user),
            ("--name", self._name),
            ("--class", self._java_class),
        ]
        for flag, value in options:
            if value:
                args += [flag, str(value)]
        if self._verbose:
            args.append("--verbose")
        if self._connection["queue"]:
            args += ["--queue", self._connection["queue"]]
        if self._connection["deploy_mode"]:
            args += ["--deploy-mode", self._connection["deploy_mode"]]
        args.append(application)
        args += [str(arg) for arg in self._application_args or ()]
        return args

    # -- running it ------------------------------------------------------------------------

    def submit(self, application: str = "", **kwargs: Any) -> None:
        """Run spark-submit on ``application`` (a .py file or a jar) until it exits; a
        non-zero exit fails the try."""
        command = self._build_spark_submit_command(application)
        shown = mask_secrets(" ".join(command))
        print(f"Spark-Submit cmd: {shown}", flush=True)
        if self._env:
            kwargs["env"] = {**os.environ, **self._env}
        sys.stdout.flush()
        try:
            code = self._run_spark_submit(command, kwargs)
        finally:
            self._run_post_submit_commands()
        if code:
            tail = "\n".join(mask_secrets(line) for line in self._last_lines)
            raise SparkSubmitError(
                f"Cannot execute: {shown}. Error code is: {code}.\n"
                f"Last spark-submit output:\n{tail}"
            )

    def _run_spark_submit(self, command: list[str], kwargs: dict[str, Any]) -> int:
        """spark-submit's exit status, its output copied into the log meanwhile."""
        self._submit_sp = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=_die_with_parent(),
            **kwargs,
        )
        # Read in a thread: a process spark-submit left behind may hold the pipe open, and the
        # try must end when spark-submit does.
        reader = threading.Thread(target=self._read_output, args=(self._submit_sp,), daemon=True)
        self._reader = reader
        reader.start()
        code = self._submit_sp.wait()
        # Whatever of its process group outlives spark-submit is ended with it.
        _end_group(self._submit_sp.pid, reader)
        self._finish_reading()
        return code

    def _run_post_submit_commands(self) -> None:
        """Run ``post_submit_commands``, once for the hook however often asked (the end of
        spark-submit and a stop may both ask); a failing one is a warning."""
        if self._post_submit_commands_done:
            return
        self._post_submit_commands_done = True
        for command in self._post_submit_commands:
            self.log.info("Running post-submit command: %s", command)
            try:
                done = subprocess.run(
                    shlex.split(command),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    check=False,
                    timeout=POST_SUBMIT_TIMEOUT_SECONDS,
                )
            except subprocess.TimeoutExpired:
                self.log.warning(
                    "Post-submit command timed out (%ss): %s", POST_SUBMIT_TIMEOUT_SECONDS, command
                )
                continue
            except (OSError, ValueError) as error:  # not found, not runnable, bad quoting
                self.log.warning("Post-submit command could not run: %s: %s", command, error)
                continue
            if done.stdout:
                self.log.info("Post-submit command output:\n%s", done.stdout[:2000])
            if done.returncode != 0:
                self.log.warning(
                    "Post-submit command exited with non-zero code %d: %s",
                    done.returncode,
                    command,
                )

    def _finish_reading(self) -> None:
        if self._reader is not None:
            self._reader.join(KILL_GRACE_SECONDS)
        if self._submit_sp is not None and self._submit_sp.stdout is not None:
            self._submit_sp.stdout.close()

    def _read_output(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._process_line(line.rstrip("\n"))

    def _process_line(self, line: str) -> None:
        if self._is_yarn and self._connection["deploy_mode"] == "cluster":
            found = _YARN_APP.search(line)
            if found and self._yarn_application_id is None:
                self._yarn_application_id = found.group(0)
                print(f"Identified spark application id: {found.group(0)}", flush=True)
        if line.strip():
            self._last_lines.append(line)
        sys.stdout.write(mask_secrets(line) + "\n")
        sys.stdout.flush()

    def on_kill(self) -> None:
        """Stop spark-submit's process group (its JVM and workers); in YARN cluster mode, kill
        the application too."""
        try:
            self._stop_spark_submit()
        finally:
            self._run_post_submit_commands()

    def _stop_spark_submit(self) -> None:
        process = self._submit_sp
        if process is None or process.poll() is not None:
            return
        print(f"Sending kill signal to {self._connection['spark_binary']}", flush=True)
        _end_group(process.pid, process)
        process.wait()
        self._finish_reading()
        if self._yarn_application_id:
            command = ["yarn", "application", "-kill", self._yarn_application_id]
            env = {**os.environ, **(self._env or {})}
            with contextlib.suppress(OSError):
                done = subprocess.run(command, env=env, capture_output=True, check=False)
                print(f"YARN app killed with return code: {done.returncode}", flush=True)


def _end_group(pgid: int, running: threading.Thread | subprocess.Popen[str]) -> None:
    """SIGTERM the process group ``pgid``; SIGKILL it if ``running`` (the output's reader,
    or spark-submit) has not ended within the grace period."""

    def alive() -> bool:
        if isinstance(running, threading.Thread):
            return running.is_alive()
        return running.poll() is None

    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return  # nothing of it is left
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


_REFUSED = {
    "track_driver_via_k8s_api": "use client deploy mode",
    "yarn_track_via_rm_api": "leave it out: spark-submit waits for the application",
    "yarn_rm_auth": "leave it out: spark-submit waits for the application",
    "use_krb5ccache": "give principal= and keytab=",
    # Lineage injection adds --conf entries for Spark's OpenLineage listener; Conveyor sends
    # its own tasks' events (docs/lineage.md) but writes no such entries.
    "openlineage_inject_parent_job_info": (
        "Conveyor does not pass OpenLineage's parent job to Spark: give the "
        "spark.openlineage.* entries in conf"
    ),
    "openlineage_inject_transport_info": (
        "Conveyor does not pass OpenLineage's transport to Spark: give the "
        "spark.openlineage.transport.* entries in conf"
    ),
}


def refusals(given: dict[str, Any]) -> list[str]:
    """What to say of each of Airflow's keywords in ``given`` that Conveyor does not carry
    out (those given a value), naming what to write; a keyword Airflow has not is a
    TypeError, as Python's own."""
    found = []
    for key, value in given.items():
        if key not in _REFUSED:
            raise TypeError(f"SparkSubmitHook got an unexpected keyword argument {key!r}")
        if value:
            found.append(f"SparkSubmitHook: {key} is not supported by Conveyor: {_REFUSED[key]}")
    return found


def _refuse(given: dict[str, Any]) -> None:
    """A hook is made to be used: what :func:`refusals` finds fails here."""
    for message in refusals(given):
        raise TaskError(message)
