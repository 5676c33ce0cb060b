"""What a volume object is, read from a rendering: where a CephFS PV points,
whether it moved, and whether it holds a repository (restic's, or kopia's:
:func:`repository_tool`) or an app's data.

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
from volsync_kit.core.facts import claim_volume, mover_facts
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
    return set(_claims_by_mover(resources))


def _claims_by_mover(resources: Iterable[Resource]) -> dict[tuple[str, str], set[str]]:
    """The movers (restic, kopia...) that mount each (namespace, claim) as their repository."""
    out: dict[tuple[str, str], set[str]] = {}
    for res in resources:
        facts = mover_facts(res)
        if facts is None:
            continue
        app = res.name.removesuffix("-dst") if res.kind == "ReplicationDestination" else res.name
        claims = [*facts.mounted, f"volsync-{app}-repo"] if facts.repositories else facts.mounted
        for claim in claims:
            out.setdefault((res.namespace, claim), set()).add(facts.mover)
    return out


_KOPIA_ONLY = frozenset({"kopia"})


def repository_tool(change: Change, diff: Diff) -> str:
    """Which tool's repository the PV of ``change`` holds: "kopia" when only
    kopia movers mount its claims (perfectra1n/volsync), else "restic" (a
    volume only named like a repository, too)."""
    return "kopia" if volume_tools(change.name, diff) == _KOPIA_ONLY else "restic"


def shared_by_kopia(volumes: Iterable[str], diff: Diff) -> bool:
    """Whether only kopia movers mount the claims of each of ``volumes``: kopia
    sources may share one repository (core.rules.vk301_unique_root_path)."""
    return all(volume_tools(name, diff) == _KOPIA_ONLY for name in volumes)


def volume_tools(volume: str, diff: Diff) -> frozenset[str]:
    """The movers that mount the claims of the PV ``volume``, in either rendering."""
    if diff.tools is None:
        object.__setattr__(diff, "tools", _tools_by_volume(diff))
    tools: dict[str, frozenset[str]] = diff.tools  # type: ignore[assignment]
    return tools.get(volume, frozenset())


def _tools_by_volume(diff: Diff) -> dict[str, frozenset[str]]:
    """What both renderings say of every volume, made once per plan: a rootPath
    that one component moves replaces every app's volume (2,000 at 2,000 apps)."""
    movers: dict[tuple[str, str], set[str]] = {}
    volumes: dict[str, set[tuple[str, str]]] = {}
    for model in (diff.base_model, diff.head_model):
        for result in model.results:
            for claim, used in _claims_by_mover(result.resources).items():
                movers.setdefault(claim, set()).update(used)
            for res in result.resources:
                volume = claim_volume(res) if res.kind == "PersistentVolumeClaim" and not res.group else None
                if volume:
                    volumes.setdefault(volume, set()).add((res.namespace, res.name))
    return {
        volume: frozenset(tool for claim in claims for tool in movers.get(claim, ()))
        for volume, claims in volumes.items()
    }


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
