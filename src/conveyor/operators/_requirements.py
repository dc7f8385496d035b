"""Which requirements of a ``PythonVirtualenvOperator`` a template may produce.

``requirements`` is a templated field, and templates read a run's conf, which is whatever
the op or API client who triggered the run typed. pip reads far more than package names
there: ``-r <home>/fernet.key`` prints the file's lines into the try's log, ``--index-url``,
``-e``, a path or ``name @ URL`` install code of the op's choosing. So a requirement that a
template produced must be a package requirement (a name, extras, a version specifier, a
marker: PEP 508 without a URL), unless the DAG says it trusts its templates.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.requirements import InvalidRequirement, Requirement

from conveyor.exceptions import TaskError


def _templated(declared: str) -> bool:
    return "{{" in declared or "{%" in declared


def checked_requirements(
    task_id: str, declared: Sequence[str], rendered: Sequence[str], *, trusted: bool
) -> list[str]:
    """The requirements to install, one per item: each rendered entry split into its lines.

    ``declared`` are the requirements as the DAG wrote them, ``rendered`` the same after
    templates ran. A line that a template produced (its entry differs from what the DAG
    wrote, or holds template syntax) must be a package requirement unless ``trusted``.
    """
    found: list[str] = []
    for index, text in enumerate(rendered):
        written = declared[index] if index < len(declared) else text
        from_template = _templated(written) or written != text
        for line in (part.strip() for part in str(text).splitlines()):
            if not line:
                continue
            if from_template and not trusted:
                _check_package(task_id, line, written)
            found.append(line)
    return found


def _check_package(task_id: str, line: str, written: str) -> None:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        requirement = None
    if requirement is not None and requirement.url is None and not line.startswith("-"):
        return
    raise TaskError(
        f"task {task_id!r}: requirement {line[:200]!r}, rendered from {written[:200]!r}, is "
        "not a package requirement: a requirement a template produces may only name a "
        "package, its extras and versions (like 'pandas[sql]>=2.2'), never a pip option, a "
        "path or a URL. Write such requirements into the DAG itself, or pass "
        "trust_templated_requirements=True if no one who triggers runs may choose them."
    )
