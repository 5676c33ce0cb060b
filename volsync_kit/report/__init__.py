"""Renderers: result objects in, strings out."""

from __future__ import annotations

from collections.abc import Sequence

from volsync_kit.core.model import KsRef

SHOWN_NAMES = 3  # a longer list is cut: the count says how many there are


def ks_json(ks: KsRef) -> dict[str, str]:
    """A Flux Kustomization as every JSON output names it (schemas/*: ``kustomization``)."""
    return {"name": ks.name, "namespace": ks.namespace, "file": ks.file, "cluster": ks.cluster}


def several(names: Sequence[str], plural: str) -> str:
    """``a``; ``2 apps: a, b``; ``31 apps: a, b, c, …`` (the first few, then the count says the rest)."""
    if len(names) == 1:
        return names[0]
    shown = list(names[:SHOWN_NAMES]) + (["…"] if len(names) > SHOWN_NAMES else [])
    return f"{len(names)} {plural}: {', '.join(shown)}"
