"""``PythonVirtualenvOperator`` and ``ExternalPythonOperator``: call a function in another
Python environment.

The function's source (not the DAG file) is written to a script with its arguments as JSON;
another interpreter runs it, and its return value comes back as JSON, the task's XCom. So the
function must be self-contained: it imports what it needs inside its body.

``PythonVirtualenvOperator`` makes that interpreter: a virtualenv with ``requirements``
installed, cached under ``$CONVEYOR_HOME/venvs`` by a hash of what defines it (Python
version, requirements, system_site_packages, pip options). The first try that needs one
creates it under a file lock and writes a marker file last, so concurrent tries wait
for it instead of racing, and a creation that died is started over. A virtualenv is code
that tries run: the cache folder must be the user's own and writable by no one else, each
virtualenv in it a real folder of the user's, and the lock file is never opened through a
symbolic link; otherwise the try fails and says why.

Requirements that a template produced (``requirements`` is a templated field, and
templates read a run's conf) must be package requirements: see ``_requirements``.
``ExternalPythonOperator`` uses an interpreter that already exists (``python=``).
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.model.xcom_arg import resolve_xcom_args
from conveyor.operators._requirements import checked_requirements
from conveyor.operators._subprocess import run_streaming
from conveyor.operators.python import PythonOperator
from conveyor.private_files import private_dir

#: Written last into a cached virtualenv: without it the folder is an unfinished creation.
READY = ".conveyor-ready"

#: Context entries a function in another interpreter may ask for by name: plain values only.
_PLAIN_CONTEXT = (
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "run_id",
    "params",
    "conf",
    "try_number",
    "next_ds",
    "prev_ds",
    "task_instance_key_str",
)

_RUNNER = """
import asyncio, inspect, json, sys
{source}
with open(sys.argv[1]) as handle:
    call = json.load(handle)
result = {name}(*call["args"], **call["kwargs"])
if inspect.iscoroutine(result):  # an async def function
    result = asyncio.run(result)
with open(sys.argv[2], "w") as handle:
    json.dump(result, handle)
"""


def function_source(func: Callable[..., Any], task_id: str) -> str:
    """The function's own source, dedented, without its decorators."""
    if getattr(func, "__name__", "") == "<lambda>":
        raise DagDefinitionError(f"task {task_id!r}: a lambda cannot run in another Python")
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        raise DagDefinitionError(
            f"task {task_id!r}: the source of {func!r} cannot be read; define it with def in a file"
        ) from None
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(("def ", "async def "))]
    if not starts:
        raise DagDefinitionError(f"task {task_id!r}: no def found in the source of {func!r}")
    return "\n".join(lines[starts[0] :]) + "\n"


#: Accepted for files written for other orchestrators; arguments and results travel as JSON
#: whichever is named, so what JSON cannot hold fails with a clear error either way.
SERIALIZERS = ("pickle", "dill", "cloudpickle", "json")


class ExternalPythonOperator(PythonOperator):
    """Call ``python_callable`` with the interpreter at ``python`` (a path)."""

    ui_color = "#f4e4ff"

    def __init__(
        self,
        task_id: str,
        *,
        python: str = "",
        serializer: str | None = None,
        use_dill: bool = False,
        **kwargs: Any,
    ) -> None:
        if serializer is not None and serializer not in SERIALIZERS:
            raise DagDefinitionError(
                f"task {task_id!r}: serializer {serializer!r}: expected one of "
                f"{', '.join(SERIALIZERS)} (values travel as JSON in any case)"
            )
        super().__init__(task_id, **kwargs)
        self.python = python
        self.serializer = serializer or ("dill" if use_dill else "json")
        function_source(self.python_callable, self.task_id)  # fail at load, not at run

    def interpreter(self, context: dict[str, Any]) -> str:
        if not self.python or not os.access(self.python, os.X_OK):
            raise TaskError(f"task {self.task_id!r}: python {self.python!r} is not executable")
        return self.python

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context["ti"]
        args = resolve_xcom_args(self.op_args, ti.xcom_pull_one)
        kwargs = resolve_xcom_args(self.op_kwargs, ti.xcom_pull_one)
        wanted = inspect.signature(self.python_callable).parameters
        for name in _PLAIN_CONTEXT:
            if name in wanted and name not in kwargs and name in context:
                kwargs[name] = context[name]
        return run_in_interpreter(
            self.interpreter(context),
            function_source(self.python_callable, self.task_id),
            self.python_callable.__name__,
            args,
            kwargs,
            self.task_id,
        )


def run_in_interpreter(
    python: str, source: str, name: str, args: Sequence[Any], kwargs: dict[str, Any], task_id: str
) -> Any:
    """Run ``name(*args, **kwargs)`` from ``source`` with ``python``; return its JSON result."""
    script = _RUNNER.format(source=source, name=name)
    with tempfile.TemporaryDirectory(prefix="conveyor-call-") as scratch:
        folder = Path(scratch)
        try:
            (folder / "call.json").write_text(json.dumps({"args": list(args), "kwargs": kwargs}))
        except TypeError as exc:
            raise TaskError(f"task {task_id!r}: arguments must be JSON ({exc})") from None
        (folder / "script.py").write_text(script)
        code, _ = run_streaming(
            [python, str(folder / "script.py"), str(folder / "call.json"), str(folder / "out.json")]
        )
        if code != 0:
            raise TaskError(f"task {task_id!r}: the function failed in {python} (exit {code})")
        return json.loads((folder / "out.json").read_text())


class PythonVirtualenvOperator(ExternalPythonOperator):
    """Call ``python_callable`` in a cached virtualenv with ``requirements`` installed."""

    template_fields: ClassVar[Sequence[str]] = (*PythonOperator.template_fields, "requirements")

    def __init__(
        self,
        task_id: str,
        *,
        requirements: str | Sequence[str] | None = None,
        python_version: str | None = None,
        system_site_packages: bool = True,
        pip_install_options: Sequence[str] | None = None,
        index_urls: Sequence[str] | None = None,
        venv_cache_path: str | Path | None = None,
        trust_templated_requirements: bool = False,
        **kwargs: Any,
    ) -> None:
        """``trust_templated_requirements`` lets requirements that templates produce be pip
        options, paths and URLs: only for a DAG whose templates no one who triggers its runs
        can steer (a run's conf reaches templates)."""
        super().__init__(task_id, python="", **kwargs)
        # Where the virtualenvs are cached; default: $CONVEYOR_HOME/venvs.
        self.venv_cache_path = Path(venv_cache_path) if venv_cache_path else None
        if isinstance(requirements, str):
            requirements = [line for line in requirements.splitlines() if line.strip()]
        self.requirements = [str(r).strip() for r in requirements or []]
        # As the DAG wrote them: what templates produced is told apart from this.
        self.declared_requirements = tuple(self.requirements)
        self.trust_templated_requirements = bool(trust_templated_requirements)
        self.python_version = str(python_version) if python_version else None
        self.system_site_packages = bool(system_site_packages)
        self.pip_install_options = list(pip_install_options or [])
        if index_urls:  # the first is the index, the others extra indexes
            urls = list(index_urls)
            self.pip_install_options += ["--index-url", urls[0]]
            for url in urls[1:]:
                self.pip_install_options += ["--extra-index-url", url]

    def interpreter(self, context: dict[str, Any]) -> str:
        cache = self.venv_cache_path
        if cache is None:
            home = getattr(context["ti"], "home", None)
            if home is None:
                from conveyor.config import load_config

                home = load_config().settings.home
            cache = Path(home) / "venvs"
        requirements = checked_requirements(
            self.task_id,
            self.declared_requirements,
            self.requirements,
            trusted=self.trust_templated_requirements,
        )
        base = self._base_python()
        return str(
            ensure_venv(
                cache,
                base,
                requirements,
                system_site_packages=self.system_site_packages,
                pip_options=self.pip_install_options,
            )
        )

    def _base_python(self) -> str:
        if not self.python_version:
            return sys.executable
        found = shutil.which(f"python{self.python_version}")
        if found is None:
            raise TaskError(
                f"task {self.task_id!r}: python_version {self.python_version!r}: no "
                f"python{self.python_version} on PATH"
            )
        return found


def venv_key(
    base_python: str, requirements: Sequence[str], system_site_packages: bool, pip: Sequence[str]
) -> str:
    """What names a cached virtualenv: the same inputs always give the same folder."""
    version = subprocess.run(
        [base_python, "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    spec = {
        "python": version,
        "requirements": sorted(requirements),
        "system_site_packages": system_site_packages,
        "pip": list(pip),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def ensure_venv(
    cache: Path,
    base_python: str,
    requirements: Sequence[str],
    *,
    system_site_packages: bool = True,
    pip_options: Sequence[str] = (),
) -> Path:
    """The interpreter of the cached virtualenv for these inputs, creating it once."""
    key = venv_key(base_python, requirements, system_site_packages, pip_options)
    cache = _private_cache(cache)
    _own_private_folder(cache, "the virtualenv cache")
    folder = cache / key
    ready = folder / READY
    if _is_ready(folder):
        print(f"[conveyor] reusing virtualenv {folder}", flush=True)
        return folder / "bin" / "python"
    with _open_lock(cache / f"{key}.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another try creating it: wait, then reuse it
        if _is_ready(folder):
            print(f"[conveyor] reusing virtualenv {folder} (made meanwhile)", flush=True)
            return folder / "bin" / "python"
        _remove(folder)  # what a creation that died left behind
        try:
            _create(folder, base_python, requirements, system_site_packages, pip_options)
        except BaseException:
            _remove(folder)
            raise
        ready.write_text(json.dumps({"requirements": list(requirements)}))
    print(f"[conveyor] created virtualenv {folder}", flush=True)
    return folder / "bin" / "python"


def _private_cache(cache: Path) -> Path:
    """Where the virtualenvs of ``cache`` go. A shared folder with the sticky bit (``/tmp``,
    mode 1777: Airflow files pass ``venv_cache_path=tempfile.gettempdir()``) gets a folder of
    this user's inside it, which the sticky bit keeps others from renaming or removing; it
    is checked as any cache is. Any other folder is the cache itself."""
    try:
        found = os.lstat(cache)
    except FileNotFoundError:
        return cache
    shared = found.st_mode & stat.S_ISVTX and found.st_mode & 0o002
    if stat.S_ISDIR(found.st_mode) and shared:
        return cache / f"conveyor-venvs-{os.geteuid()}"
    return cache


def _own_private_folder(path: Path, what: str) -> None:
    """Make ``path`` (0700) or check that it is a folder of this user's that no one else may
    write to: whoever can write there chooses the code every try in it runs."""
    private_dir(path)
    found = os.lstat(path)
    problem = None
    if not stat.S_ISDIR(found.st_mode):
        problem = "is not a folder (a symbolic link?)"
    elif found.st_uid != os.geteuid():
        problem = f"belongs to user id {found.st_uid}, not to this user ({os.geteuid()})"
    elif found.st_mode & 0o022:
        problem = f"may be written by others (mode {stat.S_IMODE(found.st_mode):o})"
    if problem:
        raise TaskError(
            f"{what} {path} {problem}; Conveyor runs no code from it. Use a folder of your "
            f"own (chmod 700 {path}) or another venv_cache_path."
        )


def _is_ready(folder: Path) -> bool:
    """A finished virtualenv: a real folder of this user's with the ready marker in it."""
    try:
        found = os.lstat(folder)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
        raise TaskError(
            f"the cached virtualenv {folder} is not a folder of this user's; Conveyor runs no "
            "code from it (remove it and run the try again)"
        )
    return os.path.lexists(folder / READY)


def _open_lock(path: Path) -> Any:
    """The lock file, created 0600, never through a symbolic link (one could point the
    open at a file of the user's choosing elsewhere)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise TaskError(f"the virtualenv lock {path} cannot be opened safely: {exc}") from None
    return os.fdopen(fd, "r+")


def _remove(folder: Path) -> None:
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _create(
    folder: Path,
    base_python: str,
    requirements: Sequence[str],
    system_site_packages: bool,
    pip_options: Sequence[str],
) -> None:
    print(f"[conveyor] creating virtualenv with {requirements or 'no requirements'}", flush=True)
    command = [base_python, "-m", "venv", str(folder)]
    if system_site_packages:
        command.insert(3, "--system-site-packages")
    if not requirements:
        command.insert(3, "--without-pip")  # nothing to install: faster
    _run(command, "creating the virtualenv")
    if requirements:
        pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", *pip_options]
        _run([*pip, *requirements], f"pip install {' '.join(requirements)}")


def _run(command: list[str], what: str) -> None:
    code, _ = run_streaming(command)
    if code != 0:
        raise TaskError(f"{what} failed (exit {code})")


class BranchExternalPythonOperator(ExternalPythonOperator):
    """A branch whose function runs with another interpreter: it returns the ids of the
    direct downstream tasks to follow; the others are skipped."""

    is_branch = True


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator):
    """A branch whose function runs in a cached virtualenv (see PythonVirtualenvOperator)."""

    is_branch = True
