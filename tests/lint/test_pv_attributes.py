"""VK102-VK112: the attributes of one static CephFS PersistentVolume.

Each rule gets a defect in the VolSync repository PV (the file view: no
app), in the non-VolSync media PV, or in a substituted value that is only
wrong once rendered (reported for each of the 7 apps), and a passing case.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_helpers import MEDIA_PV, REPO_PV, edit, example_copy, hits, line_of, lint, only

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import is_csi_volume_id

APPS = {"cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr"}
UUID = "9b7c4f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
CSI_ID = f"0001-0009-rook-ceph-0000000000000001-{UUID}"


def per_app(found: list[tuple[str, str, int, str | None]], rule: str, path: str, line: int) -> None:
    """The same template line, reported once for each app."""
    assert [f[:3] for f in found] == [(rule, path, line)] * len(APPS)
    assert {f[3] for f in found} == APPS


# -- VK102 required-attributes ------------------------------------------------------


def test_vk102_missing_fs_name(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, '      fsName: "${CEPHFS_NAME:-cephfs}"\n', "")
    result = lint(root)
    assert hits(result, "VK102") == [("VK102", REPO_PV, line_of(root, REPO_PV, "volumeAttributes:"), None)]
    assert "missing required field fsName" in only(result, "VK102")[0].message
    assert result.failed


def test_vk102_one_finding_per_missing_attribute(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "      clusterID: rook-ceph\n      fsName: cephfs\n", "")
    line = line_of(root, MEDIA_PV, "volumeAttributes:")
    result = lint(root)
    assert hits(result, "VK102") == [("VK102", MEDIA_PV, line, None)] * 2
    assert sorted(f.message.split(" ")[0] for f in only(result, "VK102")) == [
        "volumeAttributes.clusterID",
        "volumeAttributes.fsName",
    ]


def test_vk102_empty_root_path_is_reported_once(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "rootPath: /media", 'rootPath: ""')
    result = lint(root)
    assert hits(result, "VK102") == [("VK102", MEDIA_PV, line_of(root, MEDIA_PV, "rootPath"), None)]
    assert "parameter 'rootPath' cannot be empty" in only(result, "VK102")[0].message
    assert hits(result, "VK103") == []
    assert hits(result, "VK105") == []


def test_vk102_value_that_renders_empty_is_reported_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, 'fsName: "${CEPHFS_NAME:-cephfs}"', 'fsName: "${CEPHFS_FS:-}"')
    result = lint(root)
    per_app(hits(result, "VK102"), "VK102", REPO_PV, line_of(root, REPO_PV, "fsName"))
    assert hits(result, "VK105") == []


def test_vk102_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK102") == []


# -- VK103 root-path-absolute -------------------------------------------------------


def test_vk103_relative_root_path(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "rootPath: /media", "rootPath: media")
    result = lint(root)
    assert hits(result, "VK103") == [("VK103", MEDIA_PV, line_of(root, MEDIA_PV, "rootPath"), None)]
    assert "'/media'" in only(result, "VK103")[0].message


def test_vk103_substituted_relative_root_path_is_reported_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "rootPath: /volsync/${APP}", "rootPath: ${VOLSYNC_ROOT:-volsync}/${APP}")
    per_app(hits(lint(root), "VK103"), "VK103", REPO_PV, line_of(root, REPO_PV, "rootPath"))


def test_vk103_passes_on_absolute_paths(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "rootPath: /volsync/${APP}", "rootPath: ${VOLSYNC_ROOT:-/volsync}/${APP}")
    assert hits(lint(root), "VK103") == []


# -- VK104 mounter ----------------------------------------------------------------


def test_vk104_unknown_mounter(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "mounter: kernel", "mounter: kernal")
    result = lint(root)
    assert hits(result, "VK104") == [("VK104", REPO_PV, line_of(root, REPO_PV, "mounter"), None)]
    assert "unknown mounter 'kernal'. Valid options are 'fuse' and 'kernel'" in only(result, "VK104")[0].message


def test_vk104_substituted_mounter_is_reported_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "mounter: kernel", 'mounter: "${CEPHFS_MOUNTER:-ceph-fuse}"')
    per_app(hits(lint(root), "VK104"), "VK104", REPO_PV, line_of(root, REPO_PV, "mounter"))


@pytest.mark.parametrize("mounter", ["kernel", "fuse"])
def test_vk104_passes_on_kernel_and_fuse(tmp_path: Path, mounter: str) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "mounter: kernel", f"mounter: {mounter}")
    edit(root, MEDIA_PV, "      rootPath: /media\n", f"      rootPath: /media\n      mounter: {mounter}\n")
    assert hits(lint(root), "VK104") == []


# -- VK105 attribute-values -------------------------------------------------------


def test_vk105_empty_null_and_non_string_values(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        REPO_PV,
        "      mounter: kernel\n",
        '      mounter: kernel\n      subvolumeGroup: ""\n      kernelMountOptions: 3\n      fuseMountOptions:\n',
    )
    result = lint(root)
    assert hits(result, "VK105") == [
        ("VK105", REPO_PV, line_of(root, REPO_PV, "subvolumeGroup"), None),
        ("VK105", REPO_PV, line_of(root, REPO_PV, "kernelMountOptions"), None),
        ("VK105", REPO_PV, line_of(root, REPO_PV, "fuseMountOptions"), None),
    ]
    messages = [f.message for f in sorted(only(result, "VK105"), key=lambda f: f.loc.line if f.loc else 0)]
    assert "parameter 'subvolumeGroup' cannot be empty" in messages[0]
    assert 'kernelMountOptions: "3"' in messages[1]
    assert "null" in messages[2]


def test_vk105_non_string_required_attribute_is_its_own(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "fsName: cephfs", "fsName: 42")
    edit(root, MEDIA_PV, 'staticVolume: "true"', "staticVolume: true")
    result = lint(root)
    assert hits(result, "VK105") == [("VK105", MEDIA_PV, line_of(root, MEDIA_PV, "fsName"), None)]
    assert hits(result, "VK102") == []
    assert hits(result, "VK101") == [("VK101", MEDIA_PV, line_of(root, MEDIA_PV, "staticVolume"), None)]


def test_vk105_value_that_renders_as_a_number_is_reported_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "      mounter: kernel\n", '      mounter: kernel\n      subvolumeGroup: "${SVG:-100}"\n')
    result = lint(root)
    per_app(hits(result, "VK105"), "VK105", REPO_PV, line_of(root, REPO_PV, "subvolumeGroup"))
    assert all("re-types substituted values" in f.message for f in only(result, "VK105"))


def test_vk105_passes_on_the_example(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "      rootPath: /media\n", '      rootPath: /media\n      subvolumeGroup: "100"\n')
    assert hits(lint(root), "VK105") == []


# -- VK106 ignored-attributes -----------------------------------------------------


def test_vk106_monitors_pool_and_provision_volume(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        MEDIA_PV,
        "      rootPath: /media\n",
        "      rootPath: /media\n"
        "      monitors: 10.0.0.1:6789\n"
        "      pool: cephfs-data0\n"
        '      provisionVolume: "false"\n',
    )
    result = lint(root)
    assert hits(result, "VK106") == [
        ("VK106", MEDIA_PV, line_of(root, MEDIA_PV, "monitors"), None),
        ("VK106", MEDIA_PV, line_of(root, MEDIA_PV, "pool"), None),
        ("VK106", MEDIA_PV, line_of(root, MEDIA_PV, "provisionVolume"), None),
    ]
    assert {f.severity for f in only(result, "VK106")} == {Severity.WARNING}
    assert all("legacy path" in f.message for f in only(result, "VK106"))
    pool = next(f for f in only(result, "VK106") if "pool" in f.message.split(" ")[0])
    assert "never changes the mount path" in pool.message
    assert hits(result, "VK105") == []
    assert not result.failed


def test_vk106_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK106") == []


# -- VK107 node-stage-secret ------------------------------------------------------


def test_vk107_missing_node_stage_secret(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "    nodeStageSecretRef:\n      name: rook-csi-cephfs-node\n      namespace: rook-ceph\n", "")
    result = lint(root)
    assert hits(result, "VK107") == [("VK107", REPO_PV, line_of(root, REPO_PV, "csi:"), None)]
    assert "stage secrets cannot be nil or empty" in only(result, "VK107")[0].message


def test_vk107_missing_namespace_and_empty_name(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "      name: rook-csi-cephfs-node\n      namespace: rook-ceph\n", '      name: ""\n')
    assert hits(lint(root), "VK107") == [
        ("VK107", MEDIA_PV, line_of(root, MEDIA_PV, "nodeStageSecretRef:"), None),
        ("VK107", MEDIA_PV, line_of(root, MEDIA_PV, 'name: ""'), None),
    ]


def test_vk107_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK107") == []


# -- VK108 reclaim-policy ---------------------------------------------------------


def test_vk108_delete_policy(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "persistentVolumeReclaimPolicy: Retain", "persistentVolumeReclaimPolicy: Delete")
    assert hits(lint(root), "VK108") == [
        ("VK108", REPO_PV, line_of(root, REPO_PV, "persistentVolumeReclaimPolicy"), None)
    ]


def test_vk108_passes_when_the_policy_defaults_to_retain(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "  persistentVolumeReclaimPolicy: Retain\n", "")
    assert hits(lint(root), "VK108") == []


# -- VK109 provisioner-annotations ------------------------------------------------


def test_vk109_annotations_of_a_copied_dynamic_pv(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        MEDIA_PV,
        "  name: media-share\n",
        "  name: media-share\n"
        "  annotations:\n"
        "    pv.kubernetes.io/provisioned-by: rook-ceph.cephfs.csi.ceph.com\n"
        "    volume.kubernetes.io/provisioner-deletion-secret-name: rook-csi-cephfs-provisioner\n"
        "    volume.kubernetes.io/provisioner-deletion-secret-namespace: rook-ceph\n",
    )
    assert hits(lint(root), "VK109") == [
        ("VK109", MEDIA_PV, line_of(root, MEDIA_PV, "provisioned-by"), None),
        ("VK109", MEDIA_PV, line_of(root, MEDIA_PV, "deletion-secret-name"), None),
        ("VK109", MEDIA_PV, line_of(root, MEDIA_PV, "deletion-secret-namespace"), None),
    ]


def test_vk109_passes_on_other_annotations(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "  name: media-share\n", "  name: media-share\n  annotations:\n    team: media\n")
    assert hits(lint(root), "VK109") == []


# -- VK110 volume-handle ----------------------------------------------------------


def test_vk110_csi_id_shaped_handle(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "volumeHandle: media-share", f"volumeHandle: {CSI_ID}")
    result = lint(root)
    assert hits(result, "VK110") == [("VK110", MEDIA_PV, line_of(root, MEDIA_PV, "volumeHandle"), None)]
    assert "ceph-csi volume ID" in only(result, "VK110")[0].message


def test_vk110_missing_handle(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "    volumeHandle: volsync-${APP}-repo-pv\n", "")
    assert hits(lint(root), "VK110") == [("VK110", REPO_PV, line_of(root, REPO_PV, "csi:"), None)]


def test_vk110_passes_on_a_handle_of_the_wrong_length(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "volumeHandle: media-share", f"volumeHandle: 0001-0008-rook-ceph-0000000000000001-{UUID}")
    assert hits(lint(root), "VK110") == []


def test_vk110_csi_id_layout() -> None:
    assert is_csi_volume_id(CSI_ID)
    assert is_csi_volume_id(f"0001-0024-{'a' * 36}-00000000000000FF-{UUID}")
    assert is_csi_volume_id(f"0001-0000--0000000000000001-{UUID}")  # an empty clusterID still decodes
    assert not is_csi_volume_id(f"0001-000a-rook-ceph-0000000000000001-{UUID}")  # length mismatch
    assert not is_csi_volume_id(f"0001-0009-rook-ceph-000000000000000g-{UUID}")  # location not hex
    assert not is_csi_volume_id(f"v001-0009-rook-ceph-0000000000000001-{UUID}")  # version not hex
    assert not is_csi_volume_id("volsync-jellyfin-repo-pv")
    assert not is_csi_volume_id("")
    # DecomposeCSIID takes the length as a uint16: 65,536 bytes more wrap around to a valid ID
    assert is_csi_volume_id(CSI_ID + "x" * 65536)


# -- VK111 claim-ref-uid ----------------------------------------------------------


def test_vk111_claim_ref_with_uid_and_resource_version(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        MEDIA_PV,
        "  persistentVolumeReclaimPolicy: Retain\n",
        "  claimRef:\n"
        "    namespace: media\n"
        "    name: media-share\n"
        "    uid: 2f1c6a34-6c3e-4b8e-9d9a-1b2c3d4e5f60\n"
        '    resourceVersion: "123456"\n'
        "  persistentVolumeReclaimPolicy: Retain\n",
    )
    result = lint(root)
    assert hits(result, "VK111") == [
        ("VK111", MEDIA_PV, line_of(root, MEDIA_PV, "uid:"), None),
        ("VK111", MEDIA_PV, line_of(root, MEDIA_PV, "resourceVersion"), None),
    ]
    assert "Released" in min(only(result, "VK111"), key=lambda f: f.loc.line if f.loc else 0).message


def test_vk111_passes_on_a_name_only_claim_ref(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        MEDIA_PV,
        "  persistentVolumeReclaimPolicy: Retain\n",
        "  claimRef:\n    namespace: media\n    name: media-share\n  persistentVolumeReclaimPolicy: Retain\n",
    )
    assert hits(lint(root), "VK111") == []


# -- VK112 volume-mode ------------------------------------------------------------


def test_vk112_block_volume_mode(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "volumeMode: Filesystem", "volumeMode: Block")
    assert hits(lint(root), "VK112") == [("VK112", REPO_PV, line_of(root, REPO_PV, "volumeMode"), None)]


def test_vk112_passes_when_volume_mode_is_left_out(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "  volumeMode: Filesystem\n", "")
    assert hits(lint(root), "VK112") == []
