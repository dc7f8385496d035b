"""``/api/v2/config``: the configuration, to admins, where the setting ``api_expose_config``
allows it (Airflow's ``[api] expose_config``); otherwise 403, as Airflow answers with
exposure off.

Airflow's sections and keys come first, each read from the Conveyor setting it stands for
(the one mapping ``airflow.configuration.conf`` reads, docs/airflow.md lists it:
``[core] dags_folder``, ``[database] sql_alchemy_conn`` ...); Airflow's sensitive keys read
``< hidden >``, as Airflow masks them. Then the section ``conveyor`` holds Conveyor's own
settings under their own names, secrets (passwords in URLs, ``secret_key``, any setting whose
name looks secret) as ``***``. ``Accept: text/plain`` gets INI text.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from conveyor.airflow_compat.configuration import SENSITIVE, airflow_options
from conveyor.config import Settings, mask
from conveyor.connections.masking import MASK, looks_secret
from conveyor.web.airflow_api.common import Administrator
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_settings

router = APIRouter(prefix="/config", tags=["Config"])

#: The section of Conveyor's own settings, after Airflow's.
SECTION = "conveyor"
#: How Airflow shows a sensitive value.
HIDDEN = "< hidden >"


class ConfigOption(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    value: str


class ConfigSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    options: list[ConfigOption]


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sections: list[ConfigSection]


def _sections(request: Request) -> list[ConfigSection]:
    """Airflow's sections, in its order of names, then Conveyor's own; 403 unless exposed."""
    settings = get_settings(request)
    if not settings.api_expose_config:
        raise HTTPException(
            403,
            "Your Conveyor administrator chose not to expose the configuration, most likely "
            "for security reasons (setting api_expose_config)",
        )
    sections: dict[str, list[ConfigOption]] = {}
    for section, key, value in airflow_options(settings):
        hidden = (section, key) in SENSITIVE or looks_secret(key)
        sections.setdefault(section, []).append(
            ConfigOption(key=key, value=HIDDEN if hidden else value)
        )
    sections[SECTION] = _own(settings)
    return [ConfigSection(name=name, options=options) for name, options in sections.items()]


def _own(settings: Settings) -> list[ConfigOption]:
    shown = settings.model_dump()
    return [ConfigOption(key=key, value=_shown(key, value)) for key, value in sorted(shown.items())]


def _shown(key: str, value: Any) -> str:
    # Settings added later with a secret-looking name (a bind password, a client secret)
    # are hidden whole without being listed anywhere.
    if looks_secret(key) and isinstance(value, str) and value:
        return MASK
    return mask(key, value)


def _answer(config: Config, accept: str) -> Any:
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if any(k in ("application/json", "*/*", "application/*") for k in kinds):
        return config
    if "text/plain" in kinds or "text/*" in kinds:
        lines: list[str] = []
        for section in config.sections:
            lines.append(f"[{section.name}]")
            lines += [f"{o.key} = {o.value}" for o in section.options]
            lines.append("")
        return PlainTextResponse("\n".join(lines))
    raise HTTPException(
        406, "Content not available for Accept header: answer is JSON or text/plain"
    )


Accept = Annotated[str, Header(max_length=1000)]


@router.get(
    "",
    response_model=Config,
    openapi_extra=differs(
        "admins only, and 403 unless the setting api_expose_config is on; Airflow's keys "
        "that Conveyor's settings stand for (sensitive ones as < hidden >), then a section "
        "conveyor with Conveyor's own settings, secrets as ***"
    ),
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_config(
    request: Request,
    user: Administrator,
    section: Annotated[str | None, Query(max_length=250)] = None,
    accept: Accept = "*/*",
) -> Any:
    sections = _sections(request)
    if section is not None:
        sections = [s for s in sections if s.name == section]
        if not sections:
            raise HTTPException(
                404, f"Section {section} not found (docs/airflow.md lists the keys served)"
            )
    return _answer(Config(sections=sections), accept)


@router.get(
    "/section/{section}/option/{option}",
    response_model=Config,
    openapi_extra=differs("as GET /config: Airflow's keys Conveyor's settings stand for"),
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_config_value(
    request: Request,
    user: Administrator,
    section: Annotated[str, Path(max_length=250)],
    option: Annotated[str, Path(max_length=250)],
    accept: Accept = "*/*",
) -> Any:
    found = [
        ConfigSection(name=s.name, options=[o for o in s.options if o.key == option])
        for s in _sections(request)
        if s.name == section
    ]
    if not found or not found[0].options:
        raise HTTPException(
            404, f"Option [{section}/{option}] not found (docs/airflow.md lists the keys served)"
        )
    return _answer(Config(sections=found), accept)
