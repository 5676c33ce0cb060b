"""The JSON Schemas and templates shipped inside the package.

In a wheel they live in ``volsync_kit/schemas`` and ``volsync_kit/templates``
(mapped from the top-level folders at build time); in a source checkout or
an editable install they are read from the top-level folders directly.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def data_dir(name: str) -> Traversable:
    package = Path(__file__).resolve().parents[1]
    for folder in (package / name, package.parent / name):
        if folder.is_dir():
            return folder
    # A package that is not a folder (a zip): importlib.resources reads it.
    # It is not imported otherwise: with the tempfile, zipfile and random
    # modules it loads, it costs 5 ms of every hook run.
    from importlib import resources

    return resources.files("volsync_kit") / name


@cache
def schema_text(name: str) -> str:
    return (data_dir("schemas") / name).read_text(encoding="utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    import json  # a warm run reads no schema: the config's validation is cached

    loaded: dict[str, Any] = json.loads(schema_text(name))
    return loaded
