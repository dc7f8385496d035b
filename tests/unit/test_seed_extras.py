"""The third seed, "a production install with the postgres, gcp_api, samba, s3 and slack
extras": each of those extras exists under Airflow's name and brings the client its provider
imports (the DAG that uses them together is in tests/integration/test_seed_pipelines.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

#: Extra -> the distributions it must bring.
SEED_EXTRAS = {
    "postgres": {"psycopg"},
    "gcp_api": {"google-cloud-bigquery", "google-cloud-storage", "google-auth"},
    "samba": {"smbprotocol"},
    "s3": {"boto3"},  # S3Hook, as Airflow's own s3 extra brings the amazon provider
    "slack": {"httpx"},
}


@pytest.mark.parametrize("extra", sorted(SEED_EXTRAS))
def test_the_seed_extras_bring_their_clients(extra: str) -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert extra in extras, f"pyproject.toml has no {extra!r} extra"
    brought = {Requirement(r).name for r in extras[extra]}
    assert SEED_EXTRAS[extra] <= brought, (extra, brought)
