"""The templates ``generate`` renders, read from the package data."""

from __future__ import annotations

from volsync_kit.adapters.resources import data_dir


def component_templates(name: str = "repository") -> dict[str, str]:
    """File name -> template text of one component."""
    folder = data_dir("templates") / name
    return {entry.name: entry.read_text(encoding="utf-8") for entry in folder.iterdir() if entry.name.endswith(".yaml")}
