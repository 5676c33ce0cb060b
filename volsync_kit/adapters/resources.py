"""The JSON Schemas and templates shipped inside the package.

In a wheel they live in ``volsync_kit/schemas`` and ``volsync_kit/templates``
(mapped from the top-level folders at build time); in a source checkout or
an editable install they are read from the top-level folders directly.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any


def data_dir(name: str) -> Traversable:
    packaged = resources.files("volsync_kit") / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name


@cache
def schema_text(name: str) -> str:
    return (data_dir("schemas") / name).read_text(encoding="utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(name))
    return loaded
