"""``/api/v2/config``: Conveyor's settings, to admins, where the setting
``api_expose_config`` allows it (Airflow's ``[api] expose_config``); otherwise 403, as
Airflow answers with exposure off. Secrets (passwords in URLs, ``secret_key``,
``fernet_key``, any setting whose name looks secret) are shown as ``***``. Conveyor's
settings have no sections: they are all in the section ``conveyor``, under their own names
(docs/airflow.md maps Airflow's options to them). ``Accept: text/plain`` gets INI text.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from conveyor.config import mask
from conveyor.connections.masking import MASK, looks_secret
from conveyor.web.airflow_api.common import Administrator
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_settings

router = APIRouter(prefix="/config", tags=["Config"])

SECTION = "conveyor"


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


def _options(request: Request) -> list[ConfigOption]:
    settings = get_settings(request)
    if not settings.api_expose_config:
        raise HTTPException(
            403,
            "Your Conveyor administrator chose not to expose the configuration, most likely "
            "for security reasons (setting api_expose_config)",
        )
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
    operation_id="get_config",
    openapi_extra=differs(
        "admins only, and 403 unless the setting api_expose_config is on; one section, "
        "conveyor, with Conveyor's settings, secrets as ***"
    ),
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_config(
    request: Request,
    user: Administrator,
    section: Annotated[str | None, Query(max_length=250)] = None,
    accept: Accept = "*/*",
) -> Any:
    options = _options(request)
    if section is not None and section != SECTION:
        raise HTTPException(
            404, f"Section {section} not found: Conveyor's settings are in {SECTION!r}"
        )
    return _answer(Config(sections=[ConfigSection(name=SECTION, options=options)]), accept)


@router.get(
    "/section/{section}/option/{option}",
    response_model=Config,
    operation_id="get_config_value",
    openapi_extra=differs("as GET /config: section conveyor"),
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_config_value(
    request: Request,
    user: Administrator,
    section: Annotated[str, Path(max_length=250)],
    option: Annotated[str, Path(max_length=250)],
    accept: Accept = "*/*",
) -> Any:
    options = [o for o in _options(request) if section == SECTION and o.key == option]
    if not options:
        raise HTTPException(
            404, f"Option [{section}/{option}] not found: Conveyor's settings are in {SECTION!r}"
        )
    return _answer(Config(sections=[ConfigSection(name=SECTION, options=options)]), accept)
