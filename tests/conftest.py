from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every command the tests run (in-process or not) caches into a folder of
    this session, never the user's ~/.cache; so the suite also runs the warm
    path whenever two tests build the same repository."""
    os.environ["VOLSYNC_KIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare text with a golden file; UPDATE_GOLDEN=1 rewrites it instead."""

    def check(relative: str, actual: str) -> None:
        path = ROOT / "tests" / "golden" / relative
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
        assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
        assert actual == path.read_text(encoding="utf-8")

    return check
