"""VK101, VK201, VK306 and VK901: the exemplar rules, and the example's clean bill."""

from __future__ import annotations

from pathlib import Path

from lint_helpers import REPO_PV, REPO_PVC, edit, example_copy, hits, line_of, lint, only

from volsync_kit.core.model import Severity


def test_example_lints_clean() -> None:
    from lint_helpers import EXAMPLE

    result = lint(EXAMPLE)
    assert [f for f in result.findings if f.severity is not Severity.INFO] == []
    assert result.apps == 7


def test_vk101_missing_static_volume(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, '      staticVolume: "true" # required, otherwise the CSI driver tries to provision\n', "")
    result = lint(root)
    line = line_of(root, REPO_PV, "volumeAttributes:")
    assert hits(result, "VK101") == [("VK101", REPO_PV, line, None)]
    assert "missing required field monitors" in only(result, "VK101")[0].message
    assert result.failed


def test_vk101_unquoted_boolean(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, 'staticVolume: "true"', "staticVolume: true")
    result = lint(root)
    assert hits(result, "VK101") == [("VK101", REPO_PV, line_of(root, REPO_PV, "staticVolume"), None)]


def test_vk101_passes_on_the_string_true(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    assert hits(lint(root), "VK101") == []


def test_vk101_substituted_value_is_reported_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, 'staticVolume: "true"', 'staticVolume: "${STATIC:-yes}"')
    found = hits(lint(root), "VK101")
    line = line_of(root, REPO_PV, "staticVolume")
    assert [f[:3] for f in found] == [("VK101", REPO_PV, line)] * 7
    assert {f[3] for f in found} == {
        "cloudbeaver",
        "pgadmin",
        "home-assistant",
        "paperless",
        "jellyfin",
        "radarr",
        "sonarr",
    }


def test_vk201_pvc_without_volume_name(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, "  volumeName: volsync-${APP}-repo-pv\n", "")
    assert hits(lint(root), "VK201") == [("VK201", REPO_PVC, line_of(root, REPO_PVC, "spec:"), None)]


def test_vk201_volume_name_typo(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, "volumeName: volsync-${APP}-repo-pv", "volumeName: volsync-${APP}-repo")
    found = hits(lint(root), "VK201")
    assert found[0][:3] == ("VK201", REPO_PVC, line_of(root, REPO_PVC, "volumeName"))


def test_vk306_deleted_component_is_reported_once_per_app(tmp_path: Path) -> None:
    import shutil

    root = example_copy(tmp_path)
    shutil.rmtree(root / "kubernetes/flux/components/volsync/operations")
    found = hits(lint(root), "VK306")
    assert len(found) == 7
    assert {f[1] for f in found} == {
        f"kubernetes/apps/{ns}/{app}/ks.yaml"
        for ns, app in [
            ("database", "cloudbeaver"), ("database", "pgadmin"), ("default", "home-assistant"),
            ("default", "paperless"), ("media", "jellyfin"), ("media", "radarr"), ("media", "sonarr"),
        ]
    }  # fmt: skip


def test_inline_suppression_and_unused_suppression(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, 'staticVolume: "true"', "staticVolume: true  # volsync-kit: disable=VK101")
    edit(root, REPO_PV, "      mounter: kernel\n", "      mounter: kernel  # volsync-kit: disable=static-volume\n")
    result = lint(root)
    assert hits(result, "VK101") == []
    assert [(f.rule, f.suppressed) for f in result.suppressed] == [("VK101", "inline")]
    assert hits(result, "VK901") == [("VK901", REPO_PV, line_of(root, REPO_PV, "mounter"), None)]
    assert not result.failed
