"""``/api/v2/providers``: the Airflow provider packages whose hooks and operators Conveyor
carries itself (``conveyor.providers``), so that a client asking "is the postgres provider
there?" gets the answer a DAG file would. They are part of Conveyor: the version is
Conveyor's, and each description says which module stands in for the package."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from conveyor import __version__
from conveyor.web.airflow_api.common import Limit, Offset, Viewer
from conveyor.web.airflow_api.differences import differs

router = APIRouter(prefix="/providers", tags=["Provider"])

#: Airflow provider package -> the Conveyor module that serves its import paths.
CARRIED: dict[str, str] = {
    "apache-airflow-providers-amazon": "conveyor.providers.amazon",
    "apache-airflow-providers-apache-spark": "conveyor.providers.spark",
    "apache-airflow-providers-cncf-kubernetes": "conveyor.providers.kubernetes",
    "apache-airflow-providers-common-sql": "conveyor.providers.dbapi",
    "apache-airflow-providers-discord": "conveyor.providers.discord",
    "apache-airflow-providers-docker": "conveyor.providers.docker",
    "apache-airflow-providers-google": "conveyor.providers.google",
    "apache-airflow-providers-http": "conveyor.providers.http",
    "apache-airflow-providers-jdbc": "conveyor.providers.jdbc",
    "apache-airflow-providers-mysql": "conveyor.providers.mysql",
    "apache-airflow-providers-postgres": "conveyor.providers.postgres",
    "apache-airflow-providers-samba": "conveyor.providers.samba",
    "apache-airflow-providers-sftp": "conveyor.providers.sftp",
    "apache-airflow-providers-slack": "conveyor.providers.slack",
    "apache-airflow-providers-smtp": "conveyor.providers.smtp",
    "apache-airflow-providers-sqlite": "conveyor.providers.sqlite",
    "apache-airflow-providers-ssh": "conveyor.providers.ssh",
    "apache-airflow-providers-standard": "conveyor.operators",
}


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
    response_model=ProviderCollectionResponse,
    operation_id="get_providers",
    openapi_extra=differs(
        "the Airflow provider packages Conveyor carries itself, at Conveyor's version"
    ),
)
def get_providers(
    user: Viewer, limit: Limit = 50, offset: Offset = 0
) -> ProviderCollectionResponse:
    found = [
        ProviderResponse(
            package_name=name,
            description=f"carried by Conveyor as {module} (docs/airflow.md says what it covers)",
            version=__version__,
            documentation_url=None,
        )
        for name, module in sorted(CARRIED.items())
    ]
    shown = found[offset : offset + min(limit, 100)]
    return ProviderCollectionResponse(providers=shown, total_entries=len(found))
