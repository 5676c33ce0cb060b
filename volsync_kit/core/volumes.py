"""What a volume object is, read from a rendering: where a CephFS PV points,
whether it moved, and whether it holds a restic repository or an app's data.

A static CephFS PV is one of two things, and the plan words each danger,
gate and data-safety note for what it is:

- a **restic repository volume**: its claim is mounted by VolSync movers,
  through ``moverVolumes``, or injected by name (``volsync-<app>-repo``) by an
  admission policy when the mover's repository is a path;
- a **static data volume** that only apps mount (a media library, an
  object store's data): no ``config`` file of restic's is ever there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from volsync_kit.core.diff import Change, Diff
from volsync_kit.core.facts import mover_facts
from volsync_kit.core.model import Resource, str_at

REPOSITORY_ATTRIBUTES = ("rootPath", "fsName", "clusterID")

# The convention every layout we know follows for repository objects.
REPOSITORY_NAME = re.compile(r"^volsync-.+-repo(-pv)?$")


def attr(res: Resource | None, name: str) -> str | None:
    return str_at(res.node, "spec", "csi", "volumeAttributes", name) if res else None


def repository_moved(change: Change) -> bool:
    """A PV that exists on both sides and points somewhere else (a new app's
    repository is created, a removed app's stays where it is: neither moves)."""
    if change.base is None or change.head is None:
        return False
    return change.kind == "PersistentVolume" and any(
        attr(change.base, a) != attr(change.head, a) for a in REPOSITORY_ATTRIBUTES
    )


def mover_claims(resources: Iterable[Resource]) -> set[tuple[str, str]]:
    """(namespace, claim) of every claim a VolSync mover mounts as its repository."""
    out: set[tuple[str, str]] = set()
    for res in resources:
        facts = mover_facts(res)
        if facts is None:
            continue
        out.update((res.namespace, claim) for claim in facts.mounted)
        app = res.name.removesuffix("-dst") if res.kind == "ReplicationDestination" else res.name
        if facts.repositories:
            out.add((res.namespace, f"volsync-{app}-repo"))
    return out


def is_repository_volume(change: Change, diff: Diff) -> bool:
    """Whether the PV of ``change`` holds a restic repository (see the module)."""
    if REPOSITORY_NAME.match(change.name):
        return True
    movers: set[tuple[str, str]] = set()
    claims: set[tuple[str, str]] = set()
    for model in (diff.base_model, diff.head_model):
        for result in model.results:
            movers |= mover_claims(result.resources)
            for res in result.resources:
                if res.kind == "PersistentVolumeClaim" and str_at(res.node, "spec", "volumeName") == change.name:
                    claims.add((res.namespace, res.name))
    return bool(claims & movers)
