"""A CephFS PV whose handle is a ceph-csi volume ID rebinds a dynamic subvolume.

Some home-ops keep the PV the provisioner wrote (and its claim) in Git, so
that a rebuilt cluster binds the same subvolume again.  ceph-csi decodes its
handle and never takes the static path: the static-volume rules must not
judge it, while a static PV next to it still is.
"""

from __future__ import annotations

from pathlib import Path

from helpers_repo import home_ops, line_of, write_repo
from lint_helpers import hits, lint

from volsync_kit.core.findings import LintResult

APP = "kubernetes/apps/media/jellyfin/app"
UUID = "9b7c4f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
HANDLE = f"0001-0009-rook-ceph-0000000000000001-{UUID}"

KUSTOMIZATION = """
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./helmrelease.yaml
  - ./config-pv.yaml
  - ./config-pvc.yaml
  - ./media-pv.yaml
"""

# What the provisioner wrote, kept: no staticVolume, no rootPath.
REBOUND_PV = f"""
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pvc-2f0c1a8e-5b7d-4c1e-9f3a-6d8e7b1c2a90
  annotations:
    pv.kubernetes.io/provisioned-by: rook-ceph.cephfs.csi.ceph.com
spec:
  accessModes:
    - ReadWriteMany
  capacity:
    storage: 10Gi
  csi:
    driver: rook-ceph.cephfs.csi.ceph.com
    volumeHandle: {HANDLE}
    nodeStageSecretRef:
      name: rook-csi-cephfs-node
      namespace: rook-ceph
    volumeAttributes:
      clusterID: rook-ceph
      fsName: cephfs
      pool: cephfs-data0
      subvolumeName: csi-vol-{UUID}
      subvolumePath: /volumes/csi/csi-vol-{UUID}/c8a3c7e1-0b2d-4f6e-8a1b-3c5d7e9f1a2b
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ceph-filesystem
  volumeMode: Filesystem
"""

REBOUND_PVC = """
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: jellyfin-config
spec:
  accessModes:
    - ReadWriteMany
  resources:
    requests:
      storage: 10Gi
  storageClassName: ceph-filesystem
  volumeName: pvc-2f0c1a8e-5b7d-4c1e-9f3a-6d8e7b1c2a90
"""

# A static PV beside it, without staticVolume (VK101).
STATIC_PV = """
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: media-share
spec:
  accessModes:
    - ReadWriteMany
  capacity:
    storage: 10Ti
  csi:
    driver: rook-ceph.cephfs.csi.ceph.com
    volumeHandle: media-share
    nodeStageSecretRef:
      name: rook-csi-cephfs-node
      namespace: rook-ceph
    volumeAttributes:
      clusterID: rook-ceph
      fsName: cephfs
      rootPath: /media
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  volumeMode: Filesystem
"""


def repo(tmp_path: Path, rebound_pv: str = REBOUND_PV) -> Path:
    files = home_ops({"media": ["jellyfin"]})
    files[f"{APP}/kustomization.yaml"] = KUSTOMIZATION
    files[f"{APP}/config-pv.yaml"] = rebound_pv
    files[f"{APP}/config-pvc.yaml"] = REBOUND_PVC
    files[f"{APP}/media-pv.yaml"] = STATIC_PV
    return write_repo(tmp_path / "home-ops", files)


def located(result: LintResult, name: str) -> list[str]:
    return [f"{f.rule} {f.loc} {f.message}" for f in result.findings if f.loc and f.loc.file == f"{APP}/{name}"]


def test_rebound_dynamic_volume_is_not_judged(tmp_path: Path) -> None:
    result = lint(repo(tmp_path))
    assert located(result, "config-pv.yaml") == []
    assert located(result, "config-pvc.yaml") == []


def test_static_volume_beside_it_is_still_judged(tmp_path: Path) -> None:
    result = lint(repo(tmp_path))
    line = line_of(STATIC_PV, "volumeAttributes:")
    assert hits(result, "VK101") == [("VK101", f"{APP}/media-pv.yaml", line, None)]


def test_volume_id_handle_on_a_pv_meant_to_be_static_is_still_vk110(tmp_path: Path) -> None:
    """rootPath says the PV was meant to be static: its handle defeats that."""
    meant_static = REBOUND_PV.replace("      pool: cephfs-data0\n", "      rootPath: /volumes/csi\n")
    result = lint(repo(tmp_path, meant_static))
    assert hits(result, "VK110") == [("VK110", f"{APP}/config-pv.yaml", line_of(meant_static, "volumeHandle"), None)]
    assert hits(result, "VK101") == [
        ("VK101", f"{APP}/config-pv.yaml", line_of(meant_static, "volumeAttributes:"), None),
        ("VK101", f"{APP}/media-pv.yaml", line_of(STATIC_PV, "volumeAttributes:"), None),
    ]
