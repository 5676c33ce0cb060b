"""VK301-VK308 (across apps), VK401-VK402 (expectations from ``.volsync-kit.yaml``) and the config itself.

Each test copies examples/home-ops (which lints clean), makes one defect,
and compares the exact ``(rule, file, line, app)`` of the rule under test.

The lessons learned of the VolSync guide each have a test: a missing
``staticVolume`` is ``test_vk101_missing_static_volume`` in
test_exemplars.py; a rootPath that is not where the data is, a duplicated
app and a deleted component are below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lint_helpers import EXAMPLE, MEDIA_PV, REPO_PV, edit, example_copy, hits, line_of, lint, only, write
from typer.testing import CliRunner

from volsync_kit.cli import app
from volsync_kit.core.model import Severity

COMPONENT_APPS = sorted(["cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr"])
KS = {
    "cloudbeaver": "kubernetes/apps/database/cloudbeaver/ks.yaml",
    "pgadmin": "kubernetes/apps/database/pgadmin/ks.yaml",
    "home-assistant": "kubernetes/apps/default/home-assistant/ks.yaml",
    "paperless": "kubernetes/apps/default/paperless/ks.yaml",
    "jellyfin": "kubernetes/apps/media/jellyfin/ks.yaml",
    "radarr": "kubernetes/apps/media/radarr/ks.yaml",
    "sonarr": "kubernetes/apps/media/sonarr/ks.yaml",
}
MEDIA_KUSTOMIZATION = "kubernetes/apps/media/kustomization.yaml"
CLUSTER_KS = "kubernetes/flux/cluster/ks.yaml"
OLDAPP_KS = "kubernetes/apps/media/oldapp/ks.yaml"
CONFIG = ".volsync-kit.yaml"
MY_RULES = ["VK301", "VK302", "VK303", "VK304", "VK305", "VK307", "VK308", "VK401", "VK402"]

runner = CliRunner()


def per_app(rule: str, path: str, line: int, apps: list[str] = COMPONENT_APPS) -> list[tuple[str, str, int, str]]:
    return [(rule, path, line, a) for a in sorted(apps)]


def duplicate_radarr(root: Path) -> None:
    """A copy of radarr under a new Kustomization name, with the same APP value."""
    shutil.copytree(root / "kubernetes/apps/media/radarr", root / "kubernetes/apps/media/radarr-copy")
    copy = "kubernetes/apps/media/radarr-copy/ks.yaml"
    edit(root, copy, "name: &app radarr", "name: &app radarr-copy")
    edit(root, copy, "APP: *app", "APP: radarr")
    edit(root, copy, "media/radarr/app", "media/radarr-copy/app")
    edit(root, MEDIA_KUSTOMIZATION, "  - ./radarr/ks.yaml\n", "  - ./radarr/ks.yaml\n  - ./radarr-copy/ks.yaml\n")


def add_sonarr_pv(root: Path, name: str) -> str:
    """Sonarr renders its own static PV of the shared media library."""
    path = "kubernetes/apps/media/sonarr/app/media-pv.yaml"
    text = (root / MEDIA_PV).read_text(encoding="utf-8")
    write(
        root, path, text.replace("name: media-share", f"name: {name}").replace("Handle: media-share", f"Handle: {name}")
    )
    listed = "  - ./helmrelease.yaml\n"
    edit(root, "kubernetes/apps/media/sonarr/app/kustomization.yaml", listed, listed + "  - ./media-pv.yaml\n")
    return path


@pytest.mark.parametrize("rule", [r for r in MY_RULES if r != "VK307"])
def test_example_passes(rule: str) -> None:
    assert hits(lint(EXAMPLE), rule) == []


# -- VK301 unique-root-path ----------------------------------------------------------


def test_vk301_vk303_duplicated_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    duplicate_radarr(root)
    result = lint(root)
    assert hits(result, "VK301") == [("VK301", REPO_PV, line_of(root, REPO_PV, "rootPath:"), "radarr")] * 2
    assert sorted(f.message.split(": both")[0] for f in only(result, "VK301")) == [
        "rootPath /volsync/radarr (clusterID rook-ceph, fsName cephfs) is also the rootPath of "
        f"PersistentVolume/volsync-radarr-repo-pv of Kustomization media/{other}"
        for other in ("radarr", "radarr-copy")
    ]
    assert hits(result, "VK303") == [("VK303", REPO_PV, line_of(root, REPO_PV, "name: volsync-"), "radarr")] * 2
    assert {str(f.kustomization) for f in only(result, "VK303")} == {"media/radarr", "media/radarr-copy"}
    assert hits(result, "VK302") == []  # one cluster object: VK303's finding, not a second handle
    assert result.failed


def test_vk301_shared_root_path_names_the_other_apps(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /volsync/shared")
    result = lint(root)
    assert hits(result, "VK301") == per_app("VK301", REPO_PV, line_of(root, REPO_PV, "rootPath:"))
    jellyfin = next(f for f in only(result, "VK301") if f.app == "jellyfin")
    assert "PersistentVolume/volsync-sonarr-repo-pv of sonarr" in jellyfin.message
    assert "of jellyfin" not in jellyfin.message


OPERATIONS = "kubernetes/flux/components/volsync/operations"


def share_repository(root: Path, *movers: tuple[str, str]) -> None:
    """Every app's repository volume at one rootPath, with the movers of the
    component's files switched as ``movers`` says: (file, mover)."""
    edit(root, REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /volsync/shared")
    edit(root, CONFIG, "rootPath: /volsync/${APP}", "rootPath: /volsync/shared")
    for name, mover in movers:
        edit(root, f"{OPERATIONS}/{name}", "\n  restic:\n", f"\n  {mover}:\n")


def test_vk301_passes_on_one_kopia_repository_for_every_app(tmp_path: Path) -> None:
    """kopia sources share a repository, each as its own username@hostname
    (perfectra1n/volsync docs/usage/kopia/multi-tenancy.rst)."""
    root = example_copy(tmp_path)
    share_repository(root, ("replicationsource.yaml", "kopia"), ("replicationdestination.yaml", "kopia"))
    result = lint(root)
    assert hits(result, "VK301") == []
    assert not result.failed


def test_vk301_kopia_sources_sharing_a_repository_as_one_client(tmp_path: Path) -> None:
    """One explicit ``username`` for the sources of a namespace (whose name is
    their hostname): one kopia client, mixed snapshots."""
    root = example_copy(tmp_path)
    share_repository(root, ("replicationsource.yaml", "kopia"), ("replicationdestination.yaml", "kopia"))
    sources = f"{OPERATIONS}/replicationsource.yaml"
    edit(root, sources, "\n  kopia:\n", "\n  kopia:\n    username: shared\n")
    result = lint(root)
    assert hits(result, "VK301") == per_app("VK301", REPO_PV, line_of(root, REPO_PV, "rootPath:"))
    by_app = {f.app: f.message for f in only(result, "VK301")}
    assert by_app["sonarr"].startswith(
        "ReplicationSource media/sonarr connects to the kopia repository at rootPath /volsync/shared as "
        "shared@media, as ReplicationSource media/jellyfin, ReplicationSource media/radarr do: their snapshots "
        "would mix;"
    )
    assert " as ReplicationSource database/pgadmin does: " in by_app["cloudbeaver"]
    edit(root, sources, "    username: shared\n", "    username: ${APP}\n")
    assert hits(lint(root), "VK301") == []


def test_vk301_a_repository_restic_also_mounts_is_not_shared(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    share_repository(root, ("replicationsource.yaml", "kopia"))  # the destinations stay restic
    assert hits(lint(root), "VK301") == per_app("VK301", REPO_PV, line_of(root, REPO_PV, "rootPath:"))


def test_vk301_passes_on_shared_data_volumes(tmp_path: Path) -> None:
    """Two apps' PVs of one media library (not a restic repository) may share a rootPath."""
    root = example_copy(tmp_path)
    add_sonarr_pv(root, "media-share-sonarr")
    result = lint(root)
    assert hits(result, "VK301") == []
    assert hits(result, "VK302") == []
    assert hits(result, "VK303") == []


def mount_by_mover(root: Path, mover: str) -> None:
    """Sonarr's own media volume becomes a repository: a claim binds it, and
    a ReplicationSource mounts that claim through ``spec.<mover>.moverVolumes``."""
    add_sonarr_pv(root, "media-share-sonarr")
    write(
        root,
        "kubernetes/apps/media/sonarr/app/repository.yaml",
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: sonarr-media\nspec:\n"
        "  accessModes: [ReadWriteMany]\n  resources:\n    requests:\n      storage: 10Ti\n"
        '  storageClassName: ""\n  volumeName: media-share-sonarr\n'
        "---\napiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: sonarr-media\n"
        f"spec:\n  sourcePVC: sonarr\n  {mover}:\n    moverVolumes:\n      - mountPath: repository\n"
        "        volumeSource:\n          persistentVolumeClaim:\n            claimName: sonarr-media\n",
    )
    listed = "  - ./media-pv.yaml\n"
    edit(root, "kubernetes/apps/media/sonarr/app/kustomization.yaml", listed, listed + "  - ./repository.yaml\n")


@pytest.mark.parametrize("mover", ["restic", "kopia", "rclone", "rsyncTLS", "syncthing"])
def test_vk301_a_volume_any_mover_mounts_is_a_repository(tmp_path: Path, mover: str) -> None:
    """Each mover whose spec has VolSync's MoverConfig mounts its ``moverVolumes``."""
    root = example_copy(tmp_path)
    mount_by_mover(root, mover)
    sonarr_pv = "kubernetes/apps/media/sonarr/app/media-pv.yaml"
    assert hits(lint(root), "VK301") == [
        ("VK301", MEDIA_PV, line_of(root, MEDIA_PV, "rootPath:"), "jellyfin"),
        ("VK301", sonarr_pv, line_of(root, sonarr_pv, "rootPath:"), "sonarr"),
    ]


@pytest.mark.parametrize("mover", ["rsync", "external"])
def test_vk301_reads_no_mover_volumes_where_volsync_has_none(tmp_path: Path, mover: str) -> None:
    """rsync and external have no ``moverVolumes``: the CRD's schema prunes
    one written there, and nothing mounts the claim."""
    root = example_copy(tmp_path)
    mount_by_mover(root, mover)
    assert hits(lint(root), "VK301") == []


def test_vk301_reads_movers_only_where_kustomizations_share_a_root_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which PV holds a repository is read from the app's movers, and only
    asked of PVs whose rootPath another Kustomization's PV has."""
    from volsync_kit.core.rules import vk301_unique_root_path as vk301

    asked: list[str | None] = []
    original = vk301._repository_pvs
    monkeypatch.setattr(vk301, "_repository_pvs", lambda group, ctx: asked.append(group.app) or original(group, ctx))
    assert hits(lint(EXAMPLE), "VK301") == []
    assert asked == []
    root = example_copy(tmp_path)
    duplicate_radarr(root)
    assert len(hits(lint(root), "VK301")) == 2
    assert asked == ["radarr", "radarr"]


# -- VK302 unique-volume-handle ---------------------------------------------------------


def test_vk302_one_handle_in_every_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "volumeHandle: volsync-${APP}-repo-pv", "volumeHandle: volsync-repo")
    found = hits(lint(root), "VK302")
    assert found == per_app("VK302", REPO_PV, line_of(root, REPO_PV, "volumeHandle"))


def test_vk302_two_volumes_of_one_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, "volumeHandle: media-share", "volumeHandle: volsync-jellyfin-repo-pv")
    result = lint(root)
    assert hits(result, "VK302") == [
        ("VK302", MEDIA_PV, line_of(root, MEDIA_PV, "volumeHandle"), "jellyfin"),
        ("VK302", REPO_PV, line_of(root, REPO_PV, "volumeHandle"), "jellyfin"),
    ]
    messages = {f.loc.file if f.loc else "": f.message for f in only(result, "VK302")}
    assert messages[MEDIA_PV].startswith(
        "volumeHandle volsync-jellyfin-repo-pv is also the handle of PersistentVolume/volsync-jellyfin-repo-pv:"
    )


# -- VK303 unique-pv-name (the duplicated app is above) -------------------------------------


def test_vk303_one_pv_name_in_two_apps(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    sonarr_pv = add_sonarr_pv(root, "media-share")
    result = lint(root)
    assert hits(result, "VK303") == [
        ("VK303", MEDIA_PV, line_of(root, MEDIA_PV, "name: media-share"), "jellyfin"),
        ("VK303", sonarr_pv, line_of(root, sonarr_pv, "name: media-share"), "sonarr"),
    ]
    jellyfin = next(f for f in only(result, "VK303") if f.app == "jellyfin")
    assert "also rendered by Kustomization media/sonarr (sonarr)" in jellyfin.message
    assert hits(result, "VK302") == []


LAYOUTS = Path(__file__).resolve().parents[1] / "fixtures" / "layouts"


def test_vk302_vk303_compare_each_cluster_with_itself(tmp_path: Path) -> None:
    """multi-cluster-gotk: prod and staging build the same apps (one ks.yaml each,
    in apps/base), so each cluster has volsync-mealie-repo-pv: two API servers,
    two volumes.  Within one cluster, the same name is still one object."""
    root = tmp_path / "repo"
    shutil.copytree(LAYOUTS / "multi-cluster-gotk", root)
    result = lint(root)
    assert hits(result, "VK303") == []
    assert hits(result, "VK302") == []
    # A second Kustomization in prod with the same APP: one volume name in one cluster.
    prod = "apps/prod/kustomization.yaml"
    write(root, prod, (root / prod).read_text(encoding="utf-8") + "  - ../base/mealie-copy/ks.yaml\n")
    ks = (root / "apps/base/mealie/ks.yaml").read_text(encoding="utf-8")
    write(root, "apps/base/mealie-copy/ks.yaml", ks.replace("&app mealie", "mealie-copy").replace("*app", "mealie"))
    copied = lint(root)
    assert {str(f.kustomization) for f in only(copied, "VK303")} == {
        "prod:flux-system/mealie",
        "prod:flux-system/mealie-copy",
    }


# -- VK304 unresolved-variable -------------------------------------------------------------


def test_vk304_undefined_variable_once_per_app(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /volsync/${APP}/${REPO_SUBDIR}")
    result = lint(root)
    assert hits(result, "VK304") == per_app("VK304", REPO_PV, line_of(root, REPO_PV, "rootPath:"))
    assert 'variable not set (strict mode): "REPO_SUBDIR"' in only(result, "VK304")[0].message
    assert hits(result, "VK308") == []


def test_substitute_source_not_in_git_is_one_info_not_an_error(tmp_path: Path) -> None:
    """Flux applies a source that git does not hold once it exists in the
    cluster, so its variables are unknown: no VK304, one VK902 for all apps."""
    root = example_copy(tmp_path)
    edit(root, CLUSTER_KS, "                name: cluster-settings", "                name: cluster-settingz")
    line = line_of(root, CLUSTER_KS, "- kind: ConfigMap", occurrence=2)
    result = lint(root)
    assert hits(result, "VK304") == []
    notes = [f for f in result.findings if f.rule == "VK902" and "cluster-settingz" in f.message]
    assert [(f.loc.file, f.loc.line, f.app) for f in notes if f.loc] == [(CLUSTER_KS, line, None)]
    assert "ConfigMap/cluster-settingz is not in the repository (did you mean cluster-settings?)" in notes[0].message
    assert "in 10 Kustomizations" in notes[0].message


def test_vk304_invalid_variable_name(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, KS["paperless"], "      APP: *app\n", "      APP: *app\n      bad-name: x\n")
    result = lint(root)
    assert hits(result, "VK304") == [
        ("VK304", KS["paperless"], line_of(root, KS["paperless"], "bad-name"), "paperless")
    ]
    assert hits(result, "VK308") == []


# -- VK305 app-name ------------------------------------------------------------------------------


def test_vk305_app_values_that_are_not_labels(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, KS["radarr"], "APP: *app", "APP: radarr_movies")
    edit(root, KS["sonarr"], "APP: *app", f"APP: {'s' * 64}")
    result = lint(root)
    assert hits(result, "VK305") == [
        ("VK305", KS["radarr"], line_of(root, KS["radarr"], "APP:"), "radarr_movies"),
        ("VK305", KS["sonarr"], line_of(root, KS["sonarr"], "APP:"), "s" * 64),
    ]
    messages = sorted(f.message for f in only(result, "VK305"))
    assert messages[0].startswith("APP has characters other than lowercase letters, digits and '-';")
    assert messages[1].startswith("APP is 64 characters long, over the limit of 63;")


def test_vk305_passes_on_a_label(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, KS["radarr"], "APP: *app", "APP: radarr-4k")
    assert hits(lint(root), "VK305") == []


# -- VK307 inactive-kustomization ------------------------------------------------------------------


def test_vk307_reports_the_disabled_app_once() -> None:
    result = lint(EXAMPLE)
    assert hits(result, "VK307") == [("VK307", OLDAPP_KS, line_of(EXAMPLE, OLDAPP_KS, "apiVersion"), "oldapp")]
    assert only(result, "VK307")[0].severity is Severity.INFO
    assert not result.failed


def test_vk307_passes_once_the_app_is_listed(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, MEDIA_KUSTOMIZATION, "  # - ./oldapp/ks.yaml", "  - ./oldapp/ks.yaml")
    result = lint(root)
    assert hits(result, "VK307") == []
    assert result.apps == 8


# -- VK308 render-failed -----------------------------------------------------------------------------


def test_vk308_path_not_found(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, KS["sonarr"], "path: ./kubernetes/apps/media/sonarr/app", "path: ./kubernetes/apps/media/sonar/app")
    result = lint(root)
    assert hits(result, "VK308") == [("VK308", KS["sonarr"], line_of(root, KS["sonarr"], "path:"), "sonarr")]
    assert "kustomization path not found" in only(result, "VK308")[0].message


def test_deleted_component_is_vk306_not_vk308(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    shutil.rmtree(root / "kubernetes/flux/components/volsync/repository")
    result = lint(root)
    assert hits(result, "VK306") == sorted(
        ("VK306", KS[a], line_of(root, KS[a], "volsync/repository"), a) for a in COMPONENT_APPS
    )
    assert hits(result, "VK308") == []
    assert [f for f in result.findings if f.rule in ("VK301", "VK302", "VK303", "VK304")] == []


# -- VK401 expected-values -----------------------------------------------------------------------------


def test_vk401_driver_and_cluster_id(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    write(root, CONFIG, "expect:\n  driver: cephfs.csi.ceph.com\n  clusterID: ceph\n")
    result = lint(root)
    # Literal values are reported once, in the file; the clusterID template per app.
    assert hits(result, "VK401") == [
        ("VK401", MEDIA_PV, line_of(root, MEDIA_PV, "driver:"), None),
        ("VK401", MEDIA_PV, line_of(root, MEDIA_PV, "clusterID:"), None),
        ("VK401", REPO_PV, line_of(root, REPO_PV, "driver:"), None),
        *per_app("VK401", REPO_PV, line_of(root, REPO_PV, "clusterID:")),
    ]
    messages = {f.message for f in only(result, "VK401")}
    assert (
        "spec.csi.driver is 'rook-ceph.cephfs.csi.ceph.com'; .volsync-kit.yaml expects 'cephfs.csi.ceph.com' "
        "(expect.driver): change it to the expected value, or fix the config"
    ) in messages


def test_vk401_secret_and_storage_class(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    write(
        root,
        CONFIG,
        "expect:\n  fsName: cephfs\n  storageClassName: cephfs-static\n"
        "  nodeStageSecret: {name: csi-cephfs-node, namespace: rook-ceph}\n",
    )
    assert hits(lint(root), "VK401") == [
        ("VK401", path, line_of(root, path, needle), None)
        for path in (MEDIA_PV, REPO_PV)
        for needle in ("name: rook-csi-cephfs-node", "storageClassName:")
    ]


def test_vk401_passes_on_the_pinned_values(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    write(
        root,
        CONFIG,
        "expect:\n  driver: rook-ceph.cephfs.csi.ceph.com\n  clusterID: rook-ceph\n  fsName: cephfs\n"
        '  storageClassName: ""\n  nodeStageSecret: {name: rook-csi-cephfs-node, namespace: rook-ceph}\n',
    )
    result = lint(root)
    assert hits(result, "VK401") == []
    assert not result.failed


# -- VK402 root-path-template ------------------------------------------------------------------------------


def test_vk402_root_path_not_where_the_data_is(tmp_path: Path) -> None:
    """Lesson learned: rootPath /volsync/${APP} while the data is at /k8s-backups/volsync/${APP}."""
    root = example_copy(tmp_path)
    write(root, CONFIG, "expect:\n  rootPath: /k8s-backups/volsync/${APP}\n")
    result = lint(root)
    line = line_of(root, REPO_PV, "rootPath:")
    assert hits(result, "VK402") == per_app("VK402", REPO_PV, line)  # media-share is no repository
    jellyfin = next(f for f in only(result, "VK402") if f.app == "jellyfin")
    assert jellyfin.message.startswith(
        "rootPath is /volsync/jellyfin; expected /k8s-backups/volsync/jellyfin "
        "(from .volsync-kit.yaml expect.rootPath /k8s-backups/volsync/${APP}):"
    )

    edit(root, REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /k8s-backups/volsync/${APP}")
    assert hits(lint(root), "VK402") == []


def test_vk402_custom_pv_name_template(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    write(root, CONFIG, "expect:\n  rootPath: /volsync/${APP}\n  pvName: media-share\n")
    # Only jellyfin renders a PV of that name, and its rootPath is /media.
    assert hits(lint(root), "VK402") == [("VK402", MEDIA_PV, line_of(root, MEDIA_PV, "rootPath:"), "jellyfin")]


# -- the config ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("expect:\n  rootPath: 5\n", "2:13", "invalid config at expect.rootPath: 5 is not of type 'string'"),
        ("expect:\n  rootpath: /volsync/${APP}\n", "2:3", "invalid config at expect: Additional properties"),
        ("lint:\n  rules:\n    VK301: fatal\n", "3:12", "invalid config at lint.rules.VK301: 'fatal' is not one of"),
    ],
    ids=["wrong-type", "unknown-key", "bad-severity"],
)
def test_invalid_config_exits_2_naming_the_line(tmp_path: Path, text: str, where: str, says: str) -> None:
    root = example_copy(tmp_path)
    write(root, CONFIG, text)
    result = runner.invoke(app, ["lint", "--repo", str(root)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"volsync-kit: error: .volsync-kit.yaml:{where}: {says}")


def test_config_rule_off_and_severity(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, KS["radarr"], "APP: *app", "APP: Radarr")
    write(
        root,
        CONFIG,
        "expect:\n  rootPath: /k8s-backups/volsync/${APP}\nlint:\n  rules:\n    VK402: off\n    app-name: warning\n",
    )
    result = lint(root)
    assert hits(result, "VK402") == []
    assert [f.rule for f in result.suppressed] == []  # off is not suppressed: it never runs
    assert [(f.rule, f.severity) for f in only(result, "VK305")] == [("VK305", Severity.WARNING)]


def test_config_turns_vk106_off(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, "      mounter: kernel\n", "      mounter: kernel\n      pool: cephfs-data0\n")
    assert hits(lint(root), "VK106") == [("VK106", REPO_PV, line_of(root, REPO_PV, "pool:"), None)]
    write(root, CONFIG, "lint:\n  rules:\n    VK106: off\n")
    result = lint(root)
    assert hits(result, "VK106") == []
    assert result.suppressed == ()


def test_config_ignore_by_path(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, KS["radarr"], "APP: *app", "APP: Radarr")
    edit(root, KS["home-assistant"], "APP: *app", "APP: Home_Assistant")
    write(root, CONFIG, 'lint:\n  ignore:\n    - path: "kubernetes/apps/media/**"\n      rules: [VK305]\n')
    result = lint(root)
    ha = KS["home-assistant"]
    assert hits(result, "VK305") == [("VK305", ha, line_of(root, ha, "APP:"), "Home_Assistant")]
    assert [(f.rule, f.app, f.suppressed) for f in result.suppressed] == [("VK305", "Radarr", "config")]
