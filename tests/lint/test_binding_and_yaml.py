"""VK202-VK206 (PV/PVC binding), VK002/VK003 (YAML) and VK902 (not evaluated)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lint_helpers import MEDIA_PV, MEDIA_PVC, REPO_PV, REPO_PVC, edit, example_copy, hits, line_of, lint, only

APPS = ("cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr")
NOT_MEDIA = ("cloudbeaver", "home-assistant", "paperless", "pgadmin")
JELLYFIN_KS = "kubernetes/apps/media/jellyfin/ks.yaml"
JELLYFIN_KUSTOMIZATION = "kubernetes/apps/media/jellyfin/app/kustomization.yaml"
FLUX_INSTANCE_KUSTOMIZATION = "kubernetes/apps/flux-system/flux-instance/app/kustomization.yaml"


def per_app(rule: str, file: str, line: int, apps: tuple[str, ...] = APPS) -> list[tuple[str, str, int, str | None]]:
    return [(rule, file, line, app) for app in sorted(apps)]


# -- VK202 storage-class ---------------------------------------------------------------


def test_vk202_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK202") == []


def test_vk202_pvc_without_storage_class(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, '  storageClassName: ""\n', "")
    result = lint(root)
    assert hits(result, "VK202") == [("VK202", REPO_PVC, line_of(root, REPO_PVC, "spec:"), None)]
    assert 'set storageClassName: ""' in only(result, "VK202")[0].message
    assert result.failed


def test_vk202_named_class_against_a_class_less_pv(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PVC, 'storageClassName: ""', "storageClassName: ceph-filesystem")
    result = lint(root)
    assert hits(result, "VK202") == [("VK202", MEDIA_PVC, line_of(root, MEDIA_PVC, "storageClassName"), None)]
    assert "storageClassName does not match" in only(result, "VK202")[0].message


def test_vk202_same_named_class_on_both_passes(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, 'storageClassName: ""', "storageClassName: cephfs-static")
    edit(root, MEDIA_PVC, 'storageClassName: ""', "storageClassName: cephfs-static")
    assert hits(lint(root), "VK202") == []


def test_vk202_beta_annotation_counts_as_the_class(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        MEDIA_PVC,
        "  name: media-share\n",
        '  name: media-share\n  annotations:\n    volume.beta.kubernetes.io/storage-class: ""\n',
    )
    edit(root, MEDIA_PVC, '  storageClassName: ""\n', "")
    assert hits(lint(root), "VK202") == []


# -- VK203 capacity ------------------------------------------------------------------------


def test_vk203_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK203") == []


def test_vk203_request_larger_than_the_pv(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, "storage: 5Ti", "storage: 6Ti")
    result = lint(root)
    assert hits(result, "VK203") == [("VK203", REPO_PVC, line_of(root, REPO_PVC, "storage: 6Ti"), None)]
    assert "requested PV is too small" in only(result, "VK203")[0].message


def test_vk203_compares_quantities_not_text(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PVC, "storage: 10Ti", "storage: 10240Gi")  # exactly 10Ti
    assert hits(lint(root), "VK203") == []
    edit(root, MEDIA_PVC, "storage: 10240Gi", "storage: 11000000000000")  # 11e12 bytes > 10 * 2**40
    assert hits(lint(root), "VK203") == [("VK203", MEDIA_PVC, line_of(root, MEDIA_PVC, "storage:"), None)]


def test_vk203_unparsable_quantity(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "storage: 10Ti", "storage: 10TB")
    result = lint(root)
    assert hits(result, "VK203") == [("VK203", MEDIA_PV, line_of(root, MEDIA_PV, "storage: 10TB"), None)]
    assert "not a Kubernetes quantity" in only(result, "VK203")[0].message


def test_vk203_substituted_request_is_reported_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, "storage: 5Ti", "storage: ${VOLSYNC_REPO_SIZE:-10Ti}")
    edit(root, JELLYFIN_KS, "      APP: *app\n", "      APP: *app\n      VOLSYNC_REPO_SIZE: 2Ti\n")
    line = line_of(root, REPO_PVC, "VOLSYNC_REPO_SIZE")
    apps = tuple(a for a in APPS if a != "jellyfin")
    assert hits(lint(root), "VK203") == per_app("VK203", REPO_PVC, line, apps)


# -- VK204 access-modes --------------------------------------------------------------------


def test_vk204_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK204") == []


def test_vk204_mode_the_pv_does_not_offer(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PVC, "- ReadWriteMany", "- ReadWriteOnce")
    result = lint(root)
    assert hits(result, "VK204") == [("VK204", MEDIA_PVC, line_of(root, MEDIA_PVC, "ReadWriteOnce"), None)]
    assert "incompatible accessMode" in only(result, "VK204")[0].message


def test_vk204_subset_of_the_pv_modes_passes(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "    - ReadWriteMany\n", "    - ReadWriteMany\n    - ReadOnlyMany\n")
    edit(root, MEDIA_PVC, "- ReadWriteMany", "- ReadOnlyMany")
    assert hits(lint(root), "VK204") == []


def test_vk204_read_write_once_pod_combined(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "    - ReadWriteMany\n", "    - ReadWriteMany\n    - ReadWriteOncePod\n")
    assert hits(lint(root), "VK204") == [("VK204", REPO_PV, line_of(root, REPO_PV, "ReadWriteOncePod"), None)]


def test_vk204_pvc_without_access_modes(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, "  accessModes:\n    - ReadWriteMany\n", "")
    assert hits(lint(root), "VK204") == [("VK204", REPO_PVC, line_of(root, REPO_PVC, "spec:"), None)]


# -- VK205 volume-mode-match --------------------------------------------------------------------


def test_vk205_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK205") == []


def test_vk205_block_pv_with_a_default_claim(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "volumeMode: Filesystem", "volumeMode: Block")
    result = lint(root)
    # reported at the claim, the subject (a Block CephFS PV is also VK112's finding, at its own line)
    assert hits(result, "VK205") == [("VK205", REPO_PVC, line_of(root, REPO_PVC, "spec:"), None)]
    assert "incompatible volumeMode" in only(result, "VK205")[0].message


def test_vk205_block_claim(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PVC, "  volumeName: media-share\n", "  volumeName: media-share\n  volumeMode: Block\n")
    assert hits(lint(root), "VK205") == [("VK205", MEDIA_PVC, line_of(root, MEDIA_PVC, "volumeMode"), None)]


def test_vk205_absent_means_filesystem(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "  volumeMode: Filesystem\n", "")
    edit(root, MEDIA_PVC, "  volumeName: media-share\n", "  volumeName: media-share\n  volumeMode: Filesystem\n")
    assert hits(lint(root), "VK205") == []


# -- VK206 claim-ref ---------------------------------------------------------------------------


def _claim_ref(root: Path, path: str, ref: str) -> None:
    edit(
        root,
        path,
        "  persistentVolumeReclaimPolicy: Retain\n",
        f"  claimRef:\n{ref}  persistentVolumeReclaimPolicy: Retain\n",
    )


def test_vk206_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK206") == []


def test_vk206_matching_claim_ref_passes(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    _claim_ref(root, MEDIA_PV, "    name: media-share\n    namespace: media\n")
    assert hits(lint(root), "VK206") == []


def test_vk206_wrong_name_in_the_file(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    _claim_ref(root, MEDIA_PV, "    name: media-shared\n    namespace: media\n")
    result = lint(root)
    assert hits(result, "VK206") == [("VK206", MEDIA_PV, line_of(root, MEDIA_PV, "name: media-shared"), None)]
    assert only(result, "VK206")[0].object == "PersistentVolume/media-share"


def test_vk206_wrong_namespace_after_rendering(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    _claim_ref(root, MEDIA_PV, "    name: media-share\n    namespace: default\n")
    result = lint(root)
    assert hits(result, "VK206") == [("VK206", MEDIA_PV, line_of(root, MEDIA_PV, "namespace: default"), "jellyfin")]
    assert "targetNamespace" in only(result, "VK206")[0].message


def test_vk206_missing_namespace_after_rendering(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    _claim_ref(root, MEDIA_PV, "    name: media-share\n")
    assert hits(lint(root), "VK206") == [("VK206", MEDIA_PV, line_of(root, MEDIA_PV, "claimRef:"), "jellyfin")]


def test_vk206_name_prefix_does_not_rewrite_claim_ref(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    _claim_ref(root, MEDIA_PV, "    name: media-share\n    namespace: media\n")
    edit(root, JELLYFIN_KS, "  prune: true\n", "  namePrefix: jf-\n  prune: true\n")
    result = lint(root)
    assert hits(result, "VK206") == [("VK206", MEDIA_PV, line_of(root, MEDIA_PV, "name: media-share", 2), "jellyfin")]
    assert "jf-media-share" in only(result, "VK206")[0].message


def test_vk206_component_claim_ref_in_one_namespace(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    _claim_ref(root, REPO_PV, "    name: volsync-${APP}-repo\n    namespace: media\n")
    line = line_of(root, REPO_PV, "namespace: media")
    assert hits(lint(root), "VK206") == per_app("VK206", REPO_PV, line, NOT_MEDIA)


# -- VK002 yaml-duplicate-key, VK003 yaml-tab ------------------------------------------------------


def test_vk002_duplicate_key(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "  volumeMode: Filesystem\n", "  volumeMode: Filesystem\n  volumeMode: Filesystem\n")
    result = lint(root)
    assert hits(result, "VK002") == per_app("VK002", REPO_PV, line_of(root, REPO_PV, "volumeMode", 2))
    assert "already defined" in only(result, "VK002")[0].message
    assert hits(result, "VK001") == []


def test_vk002_passes_on_the_example(tmp_path: Path) -> None:
    assert hits(lint(example_copy(tmp_path)), "VK002") == []


# PyYAML's pure-Python parser, whose messages name the tab ("found character '\\t' ...").
_PurePythonLoader = type("_PurePythonLoader", (yaml.SafeLoader,), {"yaml_implicit_resolvers": {}})


def test_vk003_tab_indentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("volsync_kit.adapters.yamlio._Loader", _PurePythonLoader)
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "  volumeMode: Filesystem\n", "\tvolumeMode: Filesystem\n")
    result = lint(root)
    assert hits(result, "VK003") == per_app("VK003", REPO_PV, line_of(root, REPO_PV, "\tvolumeMode"))
    assert hits(result, "VK001") == []


def test_vk003_tab_indentation_with_libyaml(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "  volumeMode: Filesystem\n", "\tvolumeMode: Filesystem\n")
    result = lint(root)
    assert hits(result, "VK003") == per_app("VK003", REPO_PV, line_of(root, REPO_PV, "\tvolumeMode"))
    assert hits(result, "VK001") == []


def test_vk003_passes_on_other_syntax_errors(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "  name: volsync-${APP}-repo-pv\n", "  name: {volsync-${APP}-repo-pv\n")
    result = lint(root)
    assert hits(result, "VK003") == []
    assert hits(result, "VK001") != []


# -- VK902 not-evaluated ---------------------------------------------------------------------------


def test_vk902_passes_on_a_config_map_generator(tmp_path: Path) -> None:
    """flux-instance's configMapGenerator cannot produce volumes: nothing to vouch for."""
    root = example_copy(tmp_path)
    assert "configMapGenerator" in (root / FLUX_INSTANCE_KUSTOMIZATION).read_text()
    assert hits(lint(root), "VK902") == []


def test_vk902_transformers_and_remote_resource(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(
        root,
        JELLYFIN_KUSTOMIZATION,
        "  - ./media-pvc.yaml\n",
        "  - ./media-pvc.yaml\n  - https://github.com/example/storage//volumes?ref=v1.0.0\n"
        "transformers:\n  - ./transformer.yaml\n",
    )
    result = lint(root)
    expected: list[tuple[str, str, int, str | None]] = [
        ("VK902", JELLYFIN_KUSTOMIZATION, line_of(root, JELLYFIN_KUSTOMIZATION, "github.com/example"), "jellyfin"),
        ("VK902", JELLYFIN_KUSTOMIZATION, line_of(root, JELLYFIN_KUSTOMIZATION, "- ./transformer.yaml"), "jellyfin"),
    ]
    assert hits(result, "VK902") == expected
    assert not result.failed
