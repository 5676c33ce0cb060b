"""Facts read of every object of a kind, kept with the object.

A build read back from the store holds most objects' bodies packed, opened
when something first reads them (``volsync_kit.adapters.cache``: "builds,
packed").  A few small facts are read of *every* object of a kind on every
run: which Secret an ExternalSecret writes (the walk indexes it for
``substituteFrom``), which Secrets and claims a VolSync mover names (plan
tracks the Secrets, and stops the movers that mount a claim it replaces), and
which volume a claim is bound to (plan replaces the claims bound to a volume it
replaces, and orders and checks each claim's steps by its volume), and
whether a claim names no storage class (lint finds the claims of a static
volume).
Opening 6,000 mover bodies and 4,000 ExternalSecrets to learn that was a
third of a warm plan at 2,000 apps, for objects the change left alone.

Each fact is read of the body once (:func:`volsync_kit.core.model.remembered`)
and kept with the :class:`~volsync_kit.core.model.Resource`; :func:`learn`
reads them all as the store writes a build, and it keeps them with the
packed body.  A fact is a pure function of the object, so one read back
with its body is the fact that reading the body gives; ``tests/test_packed_builds.py``
compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass

from volsync_kit.core import variables
from volsync_kit.core.model import Map, Resource, map_at, remembered, seq_at, str_at
from volsync_kit.core.sources import BOOTSTRAP_NAME, FLUX_GROUP, SourceId, source_ref

# The movers whose spec names a repository Secret (``repository``).
WITH_REPOSITORY = ("restic", "kopia")
# The mover specs that mount ``moverVolumes``: VolSync's MoverConfig is inlined
# in restic, rclone, rsyncTLS and syncthing (backube/volsync
# api/v1alpha1/common_types.go; each mover's builder passes it on), and in
# kopia (perfectra1n/volsync).  rsync and external have no such field, and
# the CRD's structural schema prunes one written there: nothing mounts it.
MOUNTING = ("restic", "kopia", "rclone", "rsyncTLS", "syncthing")
# The destinations with ReplicationDestinationVolumeOptions (destinationPVC).
DESTINATIONS = ("restic", "kopia", "rclone", "rsync", "rsyncTLS")
# Every mover spec VolSync knows (one is set per object), kopia's included.
MOVER_SPECS = ("restic", "kopia", "rclone", "rsync", "rsyncTLS", "syncthing", "external")
VOLSYNC = "volsync.backube"
MOVER_KINDS = ("ReplicationSource", "ReplicationDestination")


@dataclass(frozen=True, slots=True)
class MoverFacts:
    """What a ReplicationSource or ReplicationDestination names, by name in its namespace."""

    repositories: tuple[str, ...]  # spec.<mover>.repository: the Secret of each mover set
    mounted: tuple[str, ...]  # spec.<MOUNTING>.moverVolumes[].volumeSource.persistentVolumeClaim.claimName
    data: tuple[str, ...]  # spec.sourcePVC and spec.<DESTINATIONS>.destinationPVC
    mover: str = ""  # the first of MOVER_SPECS its spec sets ("" for none): how its pods run

    # The store pickles one with many objects: through the constructor, not
    # the slotted dataclass's __setstate__, which looks its fields up each time.
    def __reduce__(self) -> tuple[type[MoverFacts], tuple[object, ...]]:
        return (MoverFacts, (self.repositories, self.mounted, self.data, self.mover))


def mover_facts(res: Resource) -> MoverFacts | None:
    """What a VolSync mover names (None for any other object)."""
    if res.group != VOLSYNC or res.kind not in MOVER_KINDS:
        return None
    return remembered(res, "mover", _read_mover)


def _read_mover(res: Resource) -> MoverFacts:
    node = res.node
    repositories = tuple(s for m in WITH_REPOSITORY if (s := str_at(node, "spec", m, "repository")))
    data = (str_at(node, "spec", "sourcePVC"), *(str_at(node, "spec", m, "destinationPVC") for m in DESTINATIONS))
    spec = map_at(node, "spec")
    mover = next((m for m in MOVER_SPECS if map_at(spec, m) is not None), "")
    return MoverFacts(repositories, mounted_claims(node), tuple(name for name in data if name), mover)


@dataclass(frozen=True, slots=True)
class SyncFacts:
    """What a Flux Kustomization syncs: the source, and ``spec.path`` as written."""

    source: SourceId | None
    path: str | None

    # The store pickles one with many objects: through the constructor, not
    # the slotted dataclass's __setstate__, which looks its fields up each time.
    def __reduce__(self) -> tuple[type[SyncFacts], tuple[object, ...]]:
        return (SyncFacts, (self.source, self.path))


def mounted_claims(node: Map) -> tuple[str, ...]:
    """The claims a VolSync mover mounts through ``moverVolumes`` of the movers
    that have them (:data:`MOUNTING`): what plan pauses a mover for (VK301 and
    lint's record read them with their mover: :func:`mounts`)."""
    spec = map_at(node, "spec")
    if spec is None:
        return ()
    return tuple(claim for mover in MOUNTING for claim in _claims_of(map_at(spec, mover)))


def mounts(node: Map) -> tuple[tuple[str, str], ...]:
    """(mover, claim) for each claim :func:`mounted_claims` gives: VK301 tells a
    kopia repository, which sources may share, from any other."""
    spec = map_at(node, "spec")
    if spec is None:
        return ()
    return tuple((mover, claim) for mover in MOUNTING for claim in _claims_of(map_at(spec, mover)))


def kopia_identity(node: Map) -> tuple[str | None, str | None]:
    """``spec.kopia.username`` and ``spec.kopia.hostname`` as written (None when
    unset: perfectra1n/volsync then takes the object's name and namespace, which
    no two sources share). VK301 reads them of sources sharing a repository."""
    return str_at(node, "spec", "kopia", "username"), str_at(node, "spec", "kopia", "hostname")


def _claims_of(config: Map | None) -> tuple[str, ...]:
    """The claims of a ``moverVolumes`` list (VolSync's MoverVolume) under ``config``."""
    return tuple(
        claim
        for volume in seq_at(config, "moverVolumes")
        if (claim := str_at(volume, "volumeSource", "persistentVolumeClaim", "claimName"))
    )


def maintenance_claims(res: Resource) -> tuple[str, ...]:
    """The claims a KopiaMaintenance (perfectra1n/volsync) mounts into its
    maintenance Jobs through ``spec.moverVolumes`` (kopiamaintenance_controller.go);
    () for any other object."""
    if res.group != VOLSYNC or res.kind != "KopiaMaintenance":
        return ()
    return _claims_of(map_at(res.node, "spec"))


def sync_facts(res: Resource) -> SyncFacts | None:
    """What a Flux Kustomization syncs (None for any other object): the scan
    for entry points asks it of every Kustomization of every file."""
    if res.kind != "Kustomization" or res.group != FLUX_GROUP:
        return None
    return remembered(res, "sync", _read_sync)


def _read_sync(res: Resource) -> SyncFacts:
    return SyncFacts(source_ref(res.node, res.namespace or BOOTSTRAP_NAME), str_at(res.node, "spec", "path"))


def claim_volume(res: Resource | None) -> str | None:
    """The PersistentVolume a claim names (``spec.volumeName``; None when it
    names none, and for no object or any other object): plan asks it of every
    claim of the base, to find those bound to a volume it replaces."""
    if res is None or res.kind != "PersistentVolumeClaim" or res.group:
        return None
    return remembered(res, "volume", _read_volume)


def _read_volume(res: Resource) -> str | None:
    return str_at(res.node, "spec", "volumeName")


def claim_without_class(res: Resource) -> bool:
    """Whether a claim sets ``spec.storageClassName: ""`` (no provisioner: it
    binds a PersistentVolume written for it).  lint asks it of every claim of
    every app, to find those that go with a static volume (core.volumedocs.related_objects)."""
    return res.kind == "PersistentVolumeClaim" and not res.group and remembered(res, "no-class", _read_no_class)


def _read_no_class(res: Resource) -> bool:
    return str_at(res.node, "spec", "storageClassName") == ""


def claim_restored_from(res: Resource | None) -> str | None:
    """The ReplicationDestination a claim is populated from (``spec.dataSourceRef``
    of that kind; "" when it names none), None when it is not: plan asks it of
    each claim it replaces, to refresh that destination's image first."""
    if res is None or res.kind != "PersistentVolumeClaim" or res.group:
        return None
    return remembered(res, "restored", _read_restored)


def _read_restored(res: Resource) -> str | None:
    if str_at(res.node, "spec", "dataSourceRef", "kind") != "ReplicationDestination":
        return None
    return str_at(res.node, "spec", "dataSourceRef", "name") or ""


def learn(res: Resource) -> None:
    """Read every fact of ``res`` now: the store does as it writes ``res``, so
    that it keeps them with its body."""
    variables.produced(res)
    mover_facts(res)
    sync_facts(res)
    claim_volume(res)
    claim_without_class(res)
    claim_restored_from(res)
