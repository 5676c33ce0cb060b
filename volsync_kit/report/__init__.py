"""Renderers: result objects in, strings out."""

from __future__ import annotations

from volsync_kit.core.model import KsRef


def ks_json(ks: KsRef) -> dict[str, str]:
    """A Flux Kustomization as every JSON output names it (schemas/*: ``kustomization``)."""
    return {"name": ks.name, "namespace": ks.namespace, "file": ks.file, "cluster": ks.cluster}
