"""Static CephFS volumes and the claims that go with them, and the volume
documents of one file, as lint reads them.

Kept apart from the lint engine (:mod:`volsync_kit.core.lint`), which imports
the rules: a recorded run asks these of every build it makes again and of
every file it reads again (:mod:`volsync_kit.core.runmemo`: lint's projection,
and a "derived" question), and the fastest warm run, after one HelmRelease
edit, loads no rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from volsync_kit.core.facts import claim_volume, claim_without_class, kopia_identity, mounts
from volsync_kit.core.lintreport import PV_WORD
from volsync_kit.core.lintreport import VOLUME_DOCUMENTS as VOLUME_DOCUMENTS
from volsync_kit.core.model import Map, ModelError, Problem, Resource, Severity, map_at, str_at
from volsync_kit.core.ports import RepoReader

CEPHFS_DRIVER = "cephfs.csi.ceph.com"
ATTRS = ("spec", "csi", "volumeAttributes")  # where a static CephFS PV's attributes live


def is_cephfs_driver(driver: str | None) -> bool:
    """``cephfs.csi.ceph.com`` or a prefixed name such as Rook's ``rook-ceph.cephfs.csi.ceph.com``."""
    return bool(driver) and (driver == CEPHFS_DRIVER or str(driver).endswith("." + CEPHFS_DRIVER))


# ceph-csi's volume ID (ceph/ceph-csi internal/util/volid.go, ComposeCSIID):
#   <version: 4 hex>-<clusterID length: 4 hex>-<clusterID>-<location ID: 16 hex>-<object UUID: 36>
# e.g. 0001-0009-rook-ceph-0000000000000001-<uuid>; the location ID is the
# pool's ID for RBD and the file system's ID (FSCID) for CephFS.
CSI_ID_FIXED = 64  # 4+1 + 4+1 + 1 + 16+1 + 36: every field but the clusterID
CSI_ID_UUID = 36


def _hex(data: bytes) -> bool:
    return re.fullmatch(rb"[0-9a-fA-F]*", data) is not None


def is_csi_volume_id(handle: str) -> bool:
    """Whether ceph-csi's ``DecomposeCSIID`` decodes ``handle`` as one of its volume IDs.

    A step by step port of ``DecomposeCSIID`` (ceph/ceph-csi
    ``internal/util/volid.go``), which checks no more than this: the version
    and the clusterID length are hex, the 16-character location ID is hex,
    and the length left for the UUID is exactly 36.  Separators and the
    UUID's shape are not checked.  Lengths are in bytes, and the total is
    taken as a ``uint16`` as in Go.
    """
    data = handle.encode("utf-8")
    remaining = len(data) & 0xFFFF  # bytesToProcess := uint16(len(composedCSIID))
    if remaining < CSI_ID_FIXED or not (_hex(data[0:4]) and _hex(data[5:9])):
        return False
    cluster_len = int(data[5:9], 16)
    remaining -= 10  # version and length, each with its separator
    if remaining < cluster_len + 1:
        return False
    remaining -= cluster_len + 1
    location = 10 + cluster_len + 1
    if remaining < 17 or not _hex(data[location : location + 16]):
        return False
    return remaining - 17 == CSI_ID_UUID


def _is_cephfs_pv(res: Resource) -> bool:
    # The kind first: reading the driver of every object would build the
    # lazy trees of documents no rule reads (HelmRelease values).
    if res.kind != "PersistentVolume" or res.group:
        return False
    return is_cephfs_driver(str_at(res.node, "spec", "csi", "driver")) and not rebinds_dynamic_volume(res)


def rebinds_dynamic_volume(res: Resource) -> bool:
    """Whether a CephFS PV rebinds a dynamically provisioned subvolume.

    Its ``volumeHandle`` is a ceph-csi volume ID, and it sets neither
    ``staticVolume`` nor ``rootPath`` (the PV a provisioner wrote, kept in
    Git to bind the same subvolume again after a rebuild).  ceph-csi's node
    plugin decodes such a handle first and then looks the subvolume up in its
    journal; it never reaches the static path (ceph/ceph-csi
    ``internal/cephfs/nodeserver.go``, ``getVolumeOptions``, and
    ``internal/cephfs/store/volumeoptions.go``, ``NewVolumeOptionsFromVolID``).

    The views leave such a PV (and so its claim) out, rather than each rule
    skipping it: every rule, of a PV, a group or the whole repository, is
    about static volumes, and one place keeps them all from judging it.  A
    PV that does set ``staticVolume`` or ``rootPath`` was meant to be static:
    it stays in, and VK110 says that its handle defeats that.
    """
    handle = str_at(res.node, "spec", "csi", "volumeHandle")
    if handle is None or not is_csi_volume_id(handle):
        return False
    attributes = map_at(res.node, *ATTRS)
    return attributes is None or not ({"staticVolume", "rootPath"} & set(attributes.items))


def related_objects(resources: Iterable[Resource]) -> list[Resource]:
    """Static CephFS PVs and the claims that go with them."""
    resources = list(resources)
    pvs = [r for r in resources if _is_cephfs_pv(r)]
    if not pvs:
        return []
    names = {pv.name for pv in pvs}
    other_pvs = {r.name for r in resources if r.kind == "PersistentVolume" and r.name not in names}
    claimed = {str_at(pv.node, "spec", "claimRef", "name") for pv in pvs}
    out: list[Resource] = list(pvs)
    for res in resources:
        if res.kind != "PersistentVolumeClaim" or res.group:
            continue
        # Facts kept with the claim: a claim read back from the store stays
        # packed unless it goes with one of the PVs (an app's data claim).
        volume = claim_volume(res)
        static_class = claim_without_class(res) and volume not in other_pvs
        if volume in names or res.name in claimed or f"{res.name}-pv" in names or static_class:
            out.append(res)
    return out


def partly_read(res: Resource) -> tuple[object, ...]:
    """What lint reads of a claim that :func:`related_objects` leaves out (what
    says whether it goes with a static volume: the volume it names, whether it
    names no class), and of a VolSync mover (the claims it mounts, under which
    mover, and kopia's explicit identity: VK301).
    A recorded run compares this, not the whole object (core.runmemo.LINT,
    :func:`volume_facts`)."""
    if res.kind == "PersistentVolumeClaim":
        return ("claim", claim_volume(res), claim_without_class(res))
    return ("mover", mounts(res.node), kopia_identity(res.node))


def volume_documents(repo: RepoReader, path: str) -> tuple[Resource | Problem, ...]:
    """The PersistentVolume and PersistentVolumeClaim documents of one file, as
    the file view reads them, or the problem that stops reading it."""
    try:
        if not repo.mentions(path, PV_WORD):
            return ()
        docs = repo.documents(path)
    except ModelError as err:
        return (Problem(Severity.ERROR, err.code, err.message, err.loc),)
    return tuple(
        Resource(doc.node, doc.loc, str_at(doc.node, "metadata", "name") or "")
        for doc in docs
        if isinstance(doc.node, Map) and str_at(doc.node, "kind") in ("PersistentVolume", "PersistentVolumeClaim")
    )


def volume_facts(made: tuple[Resource | Problem, ...]) -> tuple[object, ...]:
    """What a recorded run keeps of :func:`volume_documents`: each volume
    whole, and of a claim what tells whether it goes with one
    (:func:`related_objects`).  The file view notes a file holding an object
    it judges whole besides (``lint.file_view``), so an edit of a claim that
    goes with no static volume (an app's data claim) keeps the record."""
    return tuple(
        (item.kind, item.api_version, item.name, partly_read(item))
        if isinstance(item, Resource) and item.kind == "PersistentVolumeClaim"
        else item
        for item in made
    )
