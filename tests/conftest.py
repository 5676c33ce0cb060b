from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
