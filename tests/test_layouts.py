"""The Flux layouts of real repositories, each a fixture written from scratch.

Every fixture's CASE.md says what Flux applies: which clusters there are,
which Kustomizations are active in which, and the value of every
variable-bearing field.  These tests hold the model to it, through the
core and through the CLI; tests/test_differential.py checks the same
renders against the real kustomize plus Flux's substitution.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers_repo import git, git_init, run_cli

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core import render
from volsync_kit.core.flux import RepoModel, walk
from volsync_kit.core.model import Severity, node_at, to_plain

LAYOUTS = Path(__file__).resolve().parent / "fixtures" / "layouts"


def model_of(name: str) -> RepoModel:
    return walk(FileRepo(LAYOUTS / name))


def errors(model: RepoModel) -> list[str]:
    found = [*model.problems, *(p for r in model.results for p in r.problems)]
    return [f"{p.where()} {p.code} {p.message}" for p in found if p.severity is Severity.ERROR]


def active(model: RepoModel) -> set[str]:
    return {str(r.ks.ref) for r in model.results if r.status == "rendered"}


def value(model: RepoModel, cluster: str, kind: str, name: str, *path: str | int) -> Any:
    for result in model.results:
        if result.ks.ref.cluster != cluster:
            continue
        for res in result.resources:
            if res.kind == kind and res.name == name:
                return to_plain(node_at(res.node, *path))
    raise AssertionError(f"{cluster}:{kind}/{name} not rendered")


ATTR = ("spec", "csi", "volumeAttributes")
SCHEDULE = ("spec", "trigger", "schedule")

# (layout, cluster, kind, name, path, value), from each CASE.md.
EXPECTED: list[tuple[str, str, str, str, tuple[str | int, ...], Any]] = [
    ("multi-cluster-gotk", "prod", "PersistentVolume", "volsync-mealie-repo-pv", (*ATTR, "fsName"), "cephfs"),
    ("multi-cluster-gotk", "staging", "PersistentVolume", "volsync-mealie-repo-pv", (*ATTR, "fsName"), "staging-fs"),
    ("multi-cluster-gotk", "staging", "PersistentVolume", "volsync-kavita-repo-pv", (*ATTR, "clusterID"), "rook-ceph-staging"),
    ("multi-cluster-gotk", "prod", "ReplicationSource", "mealie", SCHEDULE, "0 * * * *"),
    ("multi-cluster-gotk", "staging", "ReplicationSource", "mealie", SCHEDULE, "0 */6 * * *"),
    ("multi-cluster-instances", "main", "PersistentVolume", "volsync-navidrome-repo-pv", (*ATTR, "rootPath"), "/volsync/navidrome"),
    ("multi-cluster-instances", "main", "ReplicationSource", "navidrome", ("spec", "restic", "cacheCapacity"), "5Gi"),
    ("multi-cluster-instances", "main", "ReplicationSource", "tautulli", ("spec", "restic", "cacheCapacity"), "2Gi"),
    ("multi-cluster-instances", "utility", "PersistentVolume", "volsync-uptime-kuma-repo-pv", (*ATTR, "fsName"), "nas-fs"),
    ("multi-cluster-instances", "utility", "ReplicationSource", "uptime-kuma", SCHEDULE, "15 */2 * * *"),
    ("multi-cluster-instances", "kind", "PersistentVolume", "volsync-echo-repo-pv", (*ATTR, "clusterID"), "rook-ceph"),
    ("multi-cluster-instances", "kind", "ReplicationSource", "echo", SCHEDULE, "0 */6 * * *"),
    ("oci-sync", "", "PersistentVolume", "volsync-prowlarr-repo-pv", (*ATTR, "mounter"), "kernel"),
    ("oci-sync", "", "ReplicationSource", "prowlarr", SCHEDULE, "0 * * * *"),
    ("oci-sync", "", "ReplicationSource", "bazarr", ("spec", "restic", "cacheCapacity"), "3Gi"),
    ("external-secret-vars", "", "ReplicationSource", "memos", SCHEDULE, "0 * * * *"),
    ("external-secret-vars", "", "ReplicationSource", "actual", SCHEDULE, "15 * * * *"),
    # bootstrap-vars is in no file: whatever it may define stays unknown
    ("external-secret-vars", "", "ReplicationSource", "zigbee2mqtt", SCHEDULE, "${VOLSYNC_SCHEDULE:-0 * * * *}"),
    ("external-secret-vars", "", "PersistentVolume", "volsync-memos-repo-pv", (*ATTR, "clusterID"), "rook-ceph"),
    ("external-secret-vars", "", "PersistentVolume", "volsync-memos-repo-pv", ("metadata", "labels", "volsync.example.io/tier"), "fallback"),
    ("external-secret-vars", "", "ReplicationSource", "memos-s3", ("metadata", "annotations", "volsync.example.io/bucket"), "${SECRET_S3_BUCKET}"),
    ("generator-vars", "", "PersistentVolume", "volsync-jellystat-repo-pv", (*ATTR, "rootPath"), "/backups/volsync/jellystat"),
    ("generator-vars", "", "PersistentVolume", "volsync-jellystat-repo-pv", (*ATTR, "fsName"), "cephfs"),
    ("generator-vars", "", "ReplicationSource", "jellystat", SCHEDULE, "45 * * * *"),
    ("generator-vars", "", "ReplicationSource", "vaultwarden", ("spec", "restic", "cacheCapacity"), "4Gi"),
    ("flux-cluster-template", "", "PersistentVolumeClaim", "linkding", ("spec", "resources", "requests", "storage"), "5Gi"),
    ("flux-cluster-template", "", "PersistentVolumeClaim", "atuin", ("spec", "resources", "requests", "storage"), "2Gi"),
    ("external-sources", "", "ReplicationSource", "freshrss", SCHEDULE, "20 3 * * *"),
    ("external-sources", "", "PersistentVolume", "volsync-freshrss-repo-pv", (*ATTR, "fsName"), "cephfs"),
    ("yaml-quirks", "", "PersistentVolume", "volsync-photos-library-repo-pv", (*ATTR, "rootPath"), "/volsync/photos-library"),
]  # fmt: skip


@pytest.mark.parametrize(("layout", "cluster", "kind", "name", "path", "expected"), EXPECTED)
def test_rendered_values_are_those_flux_applies(
    layout: str, cluster: str, kind: str, name: str, path: tuple[str | int, ...], expected: Any
) -> None:
    assert value(model_of(layout), cluster, kind, name, *path) == expected


@pytest.mark.parametrize("layout", sorted(p.name for p in LAYOUTS.iterdir() if p.is_dir()))
def test_no_error_where_flux_applies_cleanly(layout: str) -> None:
    model = model_of(layout)
    assert errors(model) == []
    assert render.render(model).apps, "no app rendered"


def test_clusters_of_gotk_syncs_are_walked_apart() -> None:
    model = model_of("multi-cluster-gotk")
    assert [(c.name, c.entry.folder) for c in model.clusters] == [
        ("prod", "clusters/prod"),
        ("staging", "clusters/staging"),
    ]
    names = active(model)
    assert {"prod:flux-system/apps", "staging:flux-system/apps", "staging:flux-system/kavita"} <= names
    assert "prod:flux-system/kavita" not in names
    # the same Kustomization in two clusters is not a duplicate, and not inactive
    assert model.inactive == ()


def test_every_flux_instance_is_a_cluster_the_throwaway_one_too() -> None:
    model = model_of("multi-cluster-instances")
    assert [c.name for c in model.clusters] == ["main", "utility", "kind"]
    assert {str(r.ks.ref) for r in model.results if r.ks.ref.name == "cluster-apps"} == {
        "main:flux-system/cluster-apps",
        "utility:flux-system/cluster-apps",
        "kind:flux-system/cluster-apps",
    }


def test_flux_cluster_template_root_is_its_own_source() -> None:
    model = model_of("flux-cluster-template")
    (cluster,) = model.clusters
    assert cluster.entry.source is not None
    assert (cluster.entry.source.kind, cluster.entry.source.name) == ("GitRepository", "home-kubernetes")
    assert cluster.entry.folder == "kubernetes/flux"
    names = active(model)
    assert {"flux-system/cluster", "flux-system/cluster-apps", "flux-system/linkding", "flux-system/atuin"} <= names
    # archive/ is neither reached nor in the artifact; wikijs is commented out
    assert sorted(r.name for r in model.inactive) == ["paperless", "wikijs"]
    # flux.yaml builds Flux itself from an OCI artifact: reported, never built from here
    flux = next(r for r in model.results if r.ks.ref.name == "flux")
    assert flux.status == "not-followed"
    assert [p.code for p in flux.problems] == ["source-not-followed"]


def test_sops_keys_are_unknown_every_other_variable_takes_its_default() -> None:
    model = model_of("flux-cluster-template")
    notes = [p for p in model.problems if p.code == "variables-unknown"]
    # one note for each Kustomization reading the Secret, all at the encrypted Secret itself
    readers = sorted(
        str(r.ks.ref) for r in model.results if any(s.name == "cluster-secrets" for s, *_ in r.sources_unread)
    )
    assert sorted(str(p.kustomization) for p in notes) == readers
    assert len(readers) > 1
    assert {p.message for p in notes} == {
        "substituteFrom Secret/cluster-secrets is SOPS-encrypted: the variables it defines keep their ${...} "
        "and are judged unknown"
    }
    assert len({p.loc for p in notes}) == 1
    # SECRET_DOMAIN is a key of the encrypted Secret; VOLSYNC_CAPACITY is not
    linkding = next(r for r in model.results if r.ks.ref.name == "linkding")
    annotations = [
        to_plain(node_at(res.node, "metadata", "annotations"))
        for res in linkding.resources
        if res.kind == "ReplicationSource"
    ]
    assert any("${SECRET_DOMAIN}" in str(a) for a in annotations)
    assert "SECRET_DOMAIN" in linkding.unknown


def test_oci_artifact_paths_are_relative_to_the_pushed_folder() -> None:
    model = model_of("oci-sync")
    (cluster,) = model.clusters
    assert (cluster.entry.root, cluster.entry.folder) == ("kubernetes", "kubernetes/flux/cluster")
    assert {r.root for r in model.results} == {"kubernetes"}


def test_other_sources_are_reported_once_and_not_built() -> None:
    model = model_of("external-sources")
    elsewhere = {str(r.ks.ref): r for r in model.results if r.status == "not-followed"}
    assert sorted(elsewhere) == ["rook-ceph/rook-crds", "vendor/acme-operator"]
    for result in elsewhere.values():
        assert [(p.severity, p.code) for p in result.problems] == [(Severity.INFO, "source-not-followed")]
        assert result.resources == ()


def test_one_place_per_unknown_source_not_one_per_app() -> None:
    """A source written in the repository is noted at the object, once for each
    reader (outputs print one line for them all); one not in the repository
    gets one note, at its first reader."""
    model = model_of("external-secret-vars")
    notes = [p for p in model.problems if p.code == "variables-unknown"]
    by_source: dict[str, list[str]] = {}
    for p in notes:
        assert p.loc is not None
        by_source.setdefault(f"{p.message.split(':')[0]} @ {p.loc.file}", []).append(str(p.kustomization))
    meta = "kubernetes/flux/meta"
    assert {k: sorted(v) for k, v in by_source.items()} == {
        "substituteFrom Secret/bootstrap-vars is not in the repository @ kubernetes/apps/home/zigbee2mqtt/ks.yaml": [
            "None"
        ],
        # the ClusterExternalSecret's Secret, read in two namespaces, is at one place
        f"substituteFrom Secret/cluster-secrets is made by ClusterExternalSecret cluster-secrets @ {meta}/"
        "cluster-secrets-apps.yaml": ["default/actual", "default/memos", "home/zigbee2mqtt"],
        f"substituteFrom Secret/cluster-secrets is made by ExternalSecret flux-system/cluster-secrets @ {meta}/"
        "cluster-secrets.yaml": ["flux-system/cluster-apps"],
    }
    bootstrap = next(p for p in notes if p.kustomization is None)
    assert bootstrap.message.endswith("judged unknown in Kustomization home/zigbee2mqtt")


def test_reused_anchor_and_null_lists_are_kustomizes() -> None:
    model = model_of("yaml-quirks")
    assert {a.app for a in render.render(model).apps} == {"notes", "photos-library"}


def test_json_keys_each_app_by_its_cluster() -> None:
    run = run_cli("render", "--repo", str(LAYOUTS / "multi-cluster-gotk"), "--format", "json", "--no-cache")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["version"] == 2
    assert sorted((a["kustomization"]["cluster"], a["app"]) for a in data["apps"]) == [
        ("prod", "audiobookshelf"),
        ("prod", "mealie"),
        ("staging", "audiobookshelf"),
        ("staging", "kavita"),
        ("staging", "mealie"),
    ]


def test_cluster_option_keeps_one_and_names_the_others() -> None:
    repo = str(LAYOUTS / "multi-cluster-instances")
    run = run_cli("render", "--repo", repo, "--cluster", "utility", "--format", "json", "--no-cache")
    assert run.returncode == 0, run.stderr
    assert [a["app"] for a in json.loads(run.stdout)["apps"]] == ["uptime-kuma"]
    bad = run_cli("render", "--repo", repo, "--cluster", "prod", "--no-cache")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "volsync-kit: error: --cluster prod: no such cluster; the repository syncs: main, utility, kind"
    )


def test_no_entry_point_is_exit_2_naming_entry(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "pv.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    for command in ("render", "lint", "tree"):
        run = run_cli(command, "--repo", str(tmp_path), "--no-cache")
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        assert run.stderr.startswith("volsync-kit: error: no Flux entry point found"), run.stderr
        assert "pass --entry FOLDER" in run.stderr


def test_plan_covers_the_cluster_a_change_touches(tmp_path: Path) -> None:
    """A change to staging's settings replaces staging's volumes, and prod's
    objects of the same names are left alone."""
    root = tmp_path / "repo"
    shutil.copytree(LAYOUTS / "multi-cluster-gotk", root)
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    settings = root / "clusters" / "staging" / "cluster-settings.yaml"
    settings.write_text(settings.read_text().replace("CEPH_FS_NAME: staging-fs", "CEPH_FS_NAME: staging-fs2"))

    run = run_cli("plan", "--repo", str(root), "--format", "json", "--no-cache")

    assert run.returncode == 0, run.stderr
    changes = json.loads(run.stdout)["changes"]
    replaced = sorted(
        (c["kustomization"]["cluster"], c["kind"], c["name"]) for c in changes if c["action"] == "replace"
    )
    assert replaced == [
        ("staging", "PersistentVolume", "volsync-audiobookshelf-repo-pv"),
        ("staging", "PersistentVolume", "volsync-kavita-repo-pv"),
        ("staging", "PersistentVolume", "volsync-mealie-repo-pv"),
        ("staging", "PersistentVolumeClaim", "volsync-audiobookshelf-repo"),
        ("staging", "PersistentVolumeClaim", "volsync-kavita-repo"),
        ("staging", "PersistentVolumeClaim", "volsync-mealie-repo"),
    ]
    assert all(c["kustomization"]["cluster"] == "staging" for c in changes)

    markdown = run_cli("plan", "--repo", str(root), "--no-cache").stdout
    assert "| cluster | app | object | namespace | action | fields |" in markdown
    assert "| staging | mealie | pv/volsync-mealie-repo-pv | - | replace |" in markdown
    assert "Run against the cluster staging (select its kubectl context first)." in markdown


def test_an_oci_root_that_cannot_be_found_names_entry_and_entry_settles_it(tmp_path: Path) -> None:
    """Without the CI file, and with two top-level folders that hold the
    synced path, the artifact's folder is unknown: the error says what to
    pass, and --entry with that folder renders every app."""
    root = tmp_path / "repo"
    shutil.copytree(LAYOUTS / "oci-sync", root)
    shutil.rmtree(root / ".github")
    (root / "kubernetes").rename(root / "k8s")
    (root / "old" / "flux" / "cluster").mkdir(parents=True)

    failed = run_cli("render", "--repo", str(root), "--no-cache")
    assert failed.returncode == 2
    assert "an OCI artifact holds the folder CI pushed (flux push artifact --path), so pass" in failed.stderr
    assert "--entry <that folder>/flux/cluster" in failed.stderr

    settled = run_cli("render", "--repo", str(root), "--entry", "k8s/flux/cluster", "--format", "json", "--no-cache")
    assert settled.returncode == 0, settled.stderr
    assert sorted(a["app"] for a in json.loads(settled.stdout)["apps"]) == ["bazarr", "esphome", "prowlarr"]


def test_rules_never_judge_an_unknown_value(tmp_path: Path) -> None:
    """SECRET_DOMAIN is a key of the SOPS Secret: a capacity or rootPath made
    of it is unknown, so no rule calls it a bad quantity or a relative path."""
    root = tmp_path / "repo"
    shutil.copytree(LAYOUTS / "flux-cluster-template", root)
    component = root / "kubernetes" / "templates" / "volsync" / "repository.yaml"
    text = component.read_text()
    text = text.replace("    storage: 5Ti\n", '    storage: "${SECRET_DOMAIN}"\n', 1)
    text = text.replace('rootPath: "/volsync/${APP}"', 'rootPath: "${SECRET_DOMAIN}/${APP}"')
    component.write_text(text)

    run = run_cli("lint", "--repo", str(root), "--format", "json", "--no-cache")

    assert run.returncode == 0, run.stdout
    findings = json.loads(run.stdout)["findings"]
    assert [f["rule"] for f in findings if f["severity"] != "info"] == []
    rendered = run_cli("render", "--repo", str(root), "--app", "atuin", "--format", "json", "--no-cache")
    pv = next(o for o in json.loads(rendered.stdout)["apps"][0]["objects"] if o["kind"] == "PersistentVolume")
    assert pv["spec"]["capacity"]["storage"] == "${SECRET_DOMAIN}"
    assert pv["spec"]["csi"]["volumeAttributes"]["rootPath"] == "${SECRET_DOMAIN}/atuin"
