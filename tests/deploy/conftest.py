"""The image every test here runs, built once per session (``containers.build_image``)."""

from __future__ import annotations

import pytest
from containers import Image, build_image


@pytest.fixture(scope="session")
def image() -> Image:
    built = build_image()
    took = "reused" if built.built_seconds is None else f"{built.built_seconds:.0f}s"
    print(f"\n== image {built.name}: build {took}, {built.size_bytes / 1e6:.0f} MB")
    return built
