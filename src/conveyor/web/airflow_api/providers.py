"""``/api/v2/providers``: the Airflow provider packages whose hooks and operators Conveyor
carries itself (``conveyor.providers``), so that a client asking "is the postgres provider
there?" gets the answer a DAG file would. They are part of Conveyor: the version is
Conveyor's, and each description says which module stands in for the package. Airflow's own
provider packages installed beside Conveyor whose modules answer their imports
(``airflow_compat/installed_providers.py``) are listed too, at their own version."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from conveyor import __version__
from conveyor.airflow_compat import installed_providers
from conveyor.providers import discovery
from conveyor.web.airflow_api.common import Limit, Offset, Viewer
from conveyor.web.airflow_api.differences import differs

router = APIRouter(prefix="/providers", tags=["Provider"])

#: The standard provider's operators are Conveyor's own (``conveyor.operators``), not a
#: provider package.
STANDARD = ("apache-airflow-providers-standard", "conveyor.operators")


def carried() -> dict[str, str]:
    """Airflow provider package -> the Conveyor module that serves its import paths: each
    declared provider's (``providers/discovery.py``) and the standard provider."""
    found = {f.provider.package: f.module for f in discovery.found() if f.provider.listed}
    return dict(sorted({**found, STANDARD[0]: STANDARD[1]}.items()))


class ProviderResponse(BaseModel):
    package_name: str
    description: str
    version: str
    documentation_url: str | None


class ProviderCollectionResponse(BaseModel):
    providers: list[ProviderResponse]
    total_entries: int


@router.get(
    "",
    openapi_extra=differs(
        "the Airflow provider packages Conveyor carries itself, at Conveyor's version"
    ),
)
def get_providers(
    user: Viewer, limit: Limit = 50, offset: Offset = 0
) -> ProviderCollectionResponse:
    installed = {p.package: p for p in installed_providers.installed_packages() if p.used}
    responses = {
        name: ProviderResponse(
            package_name=name,
            description=f"carried by Conveyor as {module} (docs/airflow.md says what it covers)",
            version=__version__,
            documentation_url=None,
        )
        for name, module in carried().items()
        if name not in installed
    }
    for name, package in installed.items():
        responses[name] = ProviderResponse(
            package_name=name,
            description=f"Airflow's own package, installed: airflow.providers.{package.provider}",
            version=package.version,
            documentation_url=None,
        )
    found = [responses[name] for name in sorted(responses)]
    shown = found[offset : offset + min(limit, 100)]
    return ProviderCollectionResponse(providers=shown, total_entries=len(found))
