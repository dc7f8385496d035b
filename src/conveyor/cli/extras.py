"""Which ``pip install 'conveyor[...]'`` extra brings a missing optional package.

A plain install has no Celery, Flower or S3 client. A command that needs one must not die
with an import traceback: the top-level handler (``main.ConveyorGroup``) asks ``extra_for``
about any ``ModuleNotFoundError`` and prints one line naming the extra instead.
"""

from __future__ import annotations

from conveyor.install_hint import pip_install

#: Top-level module -> the extra that installs it (see pyproject.toml).
EXTRAS = {
    "celery": "celery",
    "kombu": "celery",
    "billiard": "celery",
    "redis": "celery",
    "flower": "flower",
    "tornado": "flower",
    "obstore": "s3",
    "pymysql": "mysql",
    "httpx": "http",
    "boto3": "amazon",
    "botocore": "amazon",
    "paramiko": "ssh",
    "hvac": "hashicorp",
    "openlineage": "lineage",
    "openlineage_sql": "lineage",
}

#: Commands whose extra brings more than the missing package: Flower also needs Celery, and
#: its extra installs both.
COMMAND_EXTRAS = {"flower": "flower"}


def extra_for(module: str | None, command: str | None = None) -> str | None:
    """The extra that provides ``module`` (a dotted name is judged by its package), or None;
    ``command``, the subcommand that needed it, may call for a larger extra."""
    if not module or module.partition(".")[0] not in EXTRAS:
        return None
    return COMMAND_EXTRAS.get(command or "") or EXTRAS[module.partition(".")[0]]


def missing_extra_message(command: str, module: str, extra: str) -> str:
    return (
        f"{command} needs the Python package {module.partition('.')[0]!r}, which is not "
        f"installed: {pip_install(extra)}"
    )
