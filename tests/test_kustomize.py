"""The offline kustomize build: failures with kustomize's reasons, transforms,
patches, target selectors, Flux's generated kustomization and component order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers_repo import app_ks, codes, home_ops, line_of, resource, result, walk, write_repo

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core import render
from volsync_kit.core.kustomize import Build, Overlay, build_directory
from volsync_kit.core.model import Loc, ModelError, Resource, Severity, node_at, str_at, to_plain

PV = """
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: repo-pv
  labels:
    app.kubernetes.io/component: repository
spec:
  capacity:
    storage: 5Ti
  csi:
    driver: rook-ceph.cephfs.csi.ceph.com
    volumeHandle: repo-pv
    volumeAttributes:
      staticVolume: "true"
      rootPath: /volsync/app
  storageClassName: ""
"""

PVC = """
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: repo
  labels:
    app.kubernetes.io/component: repository
spec:
  accessModes:
    - ReadWriteMany
  resources:
    requests:
      storage: 5Ti
  storageClassName: ""
  volumeName: repo-pv
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  labels:
    app.kubernetes.io/component: data
spec:
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 5Gi
  storageClassName: ceph-block
"""


EMPTY_COMPONENT = "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"


def kust(body: str, kind: str = "Kustomization") -> str:
    api = "kustomize.config.k8s.io/v1alpha1" if kind == "Component" else "kustomize.config.k8s.io/v1beta1"
    return f"---\napiVersion: {api}\nkind: {kind}\n{body}"


def base_files(app_kustomization_body: str = "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n") -> dict[str, str]:
    return {
        "app/pv.yaml": PV,
        "app/pvc.yaml": PVC,
        "app/kustomization.yaml": kust(app_kustomization_body),
    }


def build(root: Path, directory: str = "app", overlay: Overlay | None = None, *, flux_root: bool = False) -> Build:
    return build_directory(FileRepo(root), directory, overlay, flux_root=flux_root)


def build_error(
    root: Path, directory: str = "app", overlay: Overlay | None = None, *, flux_root: bool = False
) -> ModelError:
    with pytest.raises(ModelError) as info:
        build(root, directory, overlay, flux_root=flux_root)
    return info.value


def by_name(b: Build) -> dict[str, Resource]:
    return {f"{r.kind}/{r.name}": r for r in b.resources}


def labels(res: Resource) -> dict:
    return to_plain(node_at(res.node, "metadata", "labels")) or {}


# -- failures, with kustomize's reasons ---------------------------------------------------


def test_component_folder_without_kustomization_file(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\ncomponents:\n  - ../components/volsync\n"
    write_repo(tmp_path, {**base_files(body), "components/volsync/pvc.yaml": PVC})

    err = build_error(tmp_path)

    assert err.code == "kustomization-missing"
    assert err.message == (
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' "
        "in directory 'components/volsync'"
    )
    assert err.loc == Loc("app/kustomization.yaml", 7, 5)


def test_component_cut_down_to_apiversion_and_kind_is_empty(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\ncomponents:\n  - ../components/volsync\n"
    write_repo(
        tmp_path,
        {
            **base_files(body),
            "components/volsync/kustomization.yaml": EMPTY_COMPONENT,
            "components/volsync/pvc.yaml": PVC,
        },
    )

    err = build_error(tmp_path)

    assert err.code == "kustomization-empty"
    assert err.message == "kustomization.yaml is empty"
    assert err.loc is not None
    assert err.loc.file == "components/volsync/kustomization.yaml"


def test_component_listed_under_resources(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\n  - ../components/volsync\n"
    write_repo(
        tmp_path,
        {
            **base_files(body),
            "components/volsync/kustomization.yaml": kust("resources:\n  - ./pvc.yaml\n", "Component"),
            "components/volsync/pvc.yaml": PVC,
        },
    )

    err = build_error(tmp_path)

    assert err.code == "component-kind"
    assert err.message == "expected kind != 'Component' for path 'components/volsync'"
    assert err.loc == Loc("app/kustomization.yaml", 6, 5)


def test_kustomization_listed_under_components(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\ncomponents:\n  - ../base\n"
    write_repo(
        tmp_path,
        {**base_files(body), "base/kustomization.yaml": kust("resources:\n  - ./pvc.yaml\n"), "base/pvc.yaml": PVC},
    )

    err = build_error(tmp_path)

    assert err.code == "component-kind"
    assert err.message == "expected kind 'Component' for path 'base' but got 'Kustomization'"
    assert err.loc == Loc("app/kustomization.yaml", 7, 5)


def test_missing_component_path(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\ncomponents:\n  - ../components/nope\n"
    write_repo(tmp_path, base_files(body))

    err = build_error(tmp_path)

    assert err.code == "component-missing"
    assert "component '../components/nope' is not a folder" in err.message
    assert err.loc == Loc("app/kustomization.yaml", 7, 5)


def test_component_path_outside_the_repository(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\ncomponents:\n  - ../../outside/volsync\n"
    write_repo(tmp_path / "repo", base_files(body))
    write_repo(tmp_path / "outside/volsync", {"kustomization.yaml": kust("resources: []\n", "Component")})

    err = build_error(tmp_path / "repo")

    assert err.code == "path-outside"
    assert "'../../outside/volsync' leaves the repository" in err.message
    assert err.loc == Loc("app/kustomization.yaml", 7, 5)


def test_component_symlink_leaving_the_repository_reads_as_missing(tmp_path: Path) -> None:
    body = "resources:\n  - ./pv.yaml\ncomponents:\n  - ./linked\n"
    write_repo(tmp_path / "repo", base_files(body))
    write_repo(tmp_path / "outside", {"kustomization.yaml": kust("resources: []\n", "Component")})
    os.symlink(tmp_path / "outside", tmp_path / "repo/app/linked")

    err = build_error(tmp_path / "repo")

    assert err.code == "component-missing"
    assert err.loc == Loc("app/kustomization.yaml", 7, 5)


def test_remote_resource_and_component_are_reported_not_followed(tmp_path: Path) -> None:
    body = (
        "resources:\n"
        "  - ./pv.yaml\n"
        "  - https://github.com/backube/volsync//config/crd?ref=v0.11.0\n"
        "components:\n"
        "  - github.com/example/components//volsync?ref=main\n"
    )
    write_repo(tmp_path, base_files(body))

    b = build(tmp_path)

    assert [r.name for r in b.resources] == ["repo-pv"]
    assert [(n.severity, n.code, n.loc) for n in b.notes] == [
        (Severity.WARNING, "remote-not-followed", Loc("app/kustomization.yaml", 6, 5)),
        (Severity.WARNING, "remote-not-followed", Loc("app/kustomization.yaml", 8, 5)),
    ]


def test_config_map_generator_is_evaluated_generator_plugins_are_not(tmp_path: Path) -> None:
    body = (
        "resources:\n"
        "  - ./pv.yaml\n"
        "configMapGenerator:\n"
        "  - name: settings\n"
        "    literals:\n"
        "      - A=b\n"
        "generators:\n"
        "  - ./generator.yaml\n"
    )
    write_repo(tmp_path, base_files(body))

    b = build(tmp_path)

    # the ConfigMap's name carries kustomize's hash of its data (kubectl kustomize gives the same)
    assert [(r.kind, r.name) for r in b.resources] == [
        ("PersistentVolume", "repo-pv"),
        ("ConfigMap", "settings-b9t2424hkf"),
    ]
    notes = sorted((n.code, n.severity.value, n.message, n.loc.line if n.loc else None) for n in b.notes)
    assert notes == [
        # each points at the start of the key's value
        ("not-evaluated", "warning", "kustomize 'generators' is not evaluated", 11),
    ]


def test_duplicate_object_fails_like_kustomize(tmp_path: Path) -> None:
    write_repo(tmp_path, {**base_files("resources:\n  - ./pv.yaml\n  - ./copy.yaml\n"), "app/copy.yaml": PV})

    err = build_error(tmp_path)

    assert err.code == "kustomize-build"
    assert err.message == "may not add resource with an already registered id: PersistentVolume/repo-pv"
    assert err.loc == Loc("app/copy.yaml", 2, 1)


def test_failed_build_is_failed_with_no_resources_not_an_empty_render(tmp_path: Path) -> None:
    ks = app_ks(
        "media", "sonarr", components=("../../../../flux/components/volsync/repository", "../../../../components/nfs")
    )
    files = home_ops({"media": ["sonarr", "radarr"]}, ks_overrides={("media", "sonarr"): ks})
    files["kubernetes/components/nfs/pv.yaml"] = PV  # no kustomization.yaml
    write_repo(tmp_path, files)

    model = walk(tmp_path)
    sonarr = result(model, "sonarr")

    assert sonarr.status == "failed"
    assert sonarr.resources == ()
    assert [(p.severity, p.code) for p in sonarr.problems] == [(Severity.ERROR, "kustomization-missing")]
    assert sonarr.problems[0].loc == Loc("kubernetes/apps/media/sonarr/ks.yaml", line_of(ks, "components/nfs"), 7)
    out = render.render(model)
    assert out.has_errors
    assert [a.app for a in out.apps] == ["radarr"]


@pytest.mark.parametrize(
    ("component_files", "code"),
    [
        ({}, "component-missing"),
        (
            {"kustomization.yaml": EMPTY_COMPONENT},
            "kustomization-empty",
        ),
        ({"kustomization.yaml": kust("resources:\n  - ./pv.yaml\n"), "pv.yaml": PV}, "component-kind"),
    ],
)
def test_failed_component_in_flux_kustomization(tmp_path: Path, component_files: dict[str, str], code: str) -> None:
    ks = app_ks("media", "sonarr", components=("../../../../components/nfs",))
    files = home_ops({"media": ["sonarr"]}, ks_overrides={("media", "sonarr"): ks})
    files.update({f"kubernetes/components/nfs/{k}": v for k, v in component_files.items()})
    write_repo(tmp_path, files)

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "failed"
    assert sonarr.resources == ()
    assert codes(sonarr.problems) == [code]


# -- transforms ---------------------------------------------------------------------------


def test_namespace_prefix_suffix_labels_annotations(tmp_path: Path) -> None:
    body = (
        "namespace: media\n"
        "namePrefix: volsync-\n"
        "nameSuffix: -v2\n"
        "resources:\n"
        "  - ./pv.yaml\n"
        "  - ./pvc.yaml\n"
        "  - ./namespace.yaml\n"
        "labels:\n"
        "  - pairs:\n"
        "      app.kubernetes.io/part-of: sonarr\n"
        "commonLabels:\n"
        "  app.kubernetes.io/managed-by: volsync-kit\n"
        "commonAnnotations:\n"
        "  example.com/owner: storage-team\n"
        "  example.com/retain: true\n"
    )
    namespace = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: _\n"
    write_repo(tmp_path, {**base_files(body), "app/namespace.yaml": namespace})

    objs = by_name(build(tmp_path))

    assert sorted(objs) == [
        "Namespace/media",
        "PersistentVolume/volsync-repo-pv-v2",
        "PersistentVolumeClaim/volsync-data-v2",
        "PersistentVolumeClaim/volsync-repo-v2",
    ]
    pv = objs["PersistentVolume/volsync-repo-pv-v2"]
    assert pv.namespace == ""  # cluster-scoped
    assert objs["PersistentVolumeClaim/volsync-repo-v2"].namespace == "media"
    assert objs["PersistentVolumeClaim/volsync-data-v2"].namespace == "media"
    for obj in objs.values():
        assert labels(obj)["app.kubernetes.io/part-of"] == "sonarr"
        assert labels(obj)["app.kubernetes.io/managed-by"] == "volsync-kit"
        assert to_plain(node_at(obj.node, "metadata", "annotations")) == {
            "example.com/owner": "storage-team",
            "example.com/retain": "true",
        }
    assert labels(pv)["app.kubernetes.io/component"] == "repository"
    # original names stay known to patches that run later
    assert pv.original_name == "repo-pv"


def test_pvc_volume_name_follows_renamed_pv(tmp_path: Path) -> None:
    write_repo(tmp_path, base_files("namePrefix: sonarr-\nresources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"))

    objs = by_name(build(tmp_path))

    assert str_at(objs["PersistentVolumeClaim/sonarr-repo"].node, "spec", "volumeName") == "sonarr-repo-pv"
    # an empty storageClassName is not a reference
    assert str_at(objs["PersistentVolumeClaim/sonarr-repo"].node, "spec", "storageClassName") == ""
    assert str_at(objs["PersistentVolumeClaim/sonarr-data"].node, "spec", "storageClassName") == "ceph-block"


def test_volume_name_follows_rename_in_a_parent_kustomization(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            **base_files(),
            "overlay/kustomization.yaml": kust("nameSuffix: -prod\nresources:\n  - ../app\n"),
        },
    )

    objs = by_name(build(tmp_path, "overlay"))

    assert str_at(objs["PersistentVolumeClaim/repo-prod"].node, "spec", "volumeName") == "repo-pv-prod"


def test_flux_overlay_namespace_and_prefix_override_the_file(tmp_path: Path) -> None:
    write_repo(
        tmp_path, base_files("namespace: from-file\nnamePrefix: file-\nresources:\n  - ./pv.yaml\n  - ./pvc.yaml\n")
    )

    objs = by_name(build(tmp_path, overlay=Overlay(namespace="media", name_prefix="flux-"), flux_root=True))

    assert sorted(objs) == [
        "PersistentVolume/flux-repo-pv",
        "PersistentVolumeClaim/flux-data",
        "PersistentVolumeClaim/flux-repo",
    ]
    assert objs["PersistentVolumeClaim/flux-repo"].namespace == "media"
    assert str_at(objs["PersistentVolumeClaim/flux-repo"].node, "spec", "volumeName") == "flux-repo-pv"


# -- strategic merge patches ---------------------------------------------------------------


def test_strategic_merge_inline_without_target(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"
        "patches:\n"
        "  - patch: |\n"
        "      apiVersion: v1\n"
        "      kind: PersistentVolumeClaim\n"
        "      metadata:\n"
        "        name: data\n"
        "      spec:\n"
        "        resources:\n"
        "          requests:\n"
        "            storage: 20Gi\n"
        "        storageClassName: null\n"
    )
    write_repo(tmp_path, base_files(body))

    objs = by_name(build(tmp_path))

    data = objs["PersistentVolumeClaim/data"]
    assert to_plain(data.node)["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "20Gi"}},
    }
    storage = node_at(data.node, "spec", "resources", "requests", "storage")
    # the patched value points at the patch text inside kustomization.yaml
    assert storage is not None
    assert storage.loc == Loc("app/kustomization.yaml", 16, 22)
    assert str_at(objs["PersistentVolumeClaim/repo"].node, "spec", "resources", "requests", "storage") == "5Ti"


def test_strategic_merge_inline_with_target(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"
        "patches:\n"
        "  - target:\n"
        "      kind: PersistentVolumeClaim\n"
        "    patch: |-\n"
        "      apiVersion: v1\n"
        "      kind: PersistentVolumeClaim\n"
        "      metadata:\n"
        "        name: not-used\n"
        "        annotations:\n"
        '          example.com/patched: "yes"\n'
    )
    write_repo(tmp_path, base_files(body))

    objs = by_name(build(tmp_path))

    for name in ("PersistentVolumeClaim/data", "PersistentVolumeClaim/repo"):
        assert to_plain(node_at(objs[name].node, "metadata", "annotations")) == {"example.com/patched": "yes"}
    assert node_at(objs["PersistentVolume/repo-pv"].node, "metadata", "annotations") is None
    # a patch's own name never renames its targets
    assert sorted(objs) == ["PersistentVolume/repo-pv", "PersistentVolumeClaim/data", "PersistentVolumeClaim/repo"]


def test_strategic_merge_from_file_and_patches_strategic_merge(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"
        "patches:\n"
        "  - path: ./patches/pv-root.yaml\n"
        "patchesStrategicMerge:\n"
        "  - ./patches/pvc-size.yaml\n"
    )
    pv_patch = (
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: repo-pv\n"
        "spec:\n  csi:\n    volumeAttributes:\n      rootPath: /volsync/patched\n"
    )
    pvc_patch = (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: repo\n"
        "spec:\n  resources:\n    requests:\n      storage: 1Ti\n"
    )
    write_repo(
        tmp_path, {**base_files(body), "app/patches/pv-root.yaml": pv_patch, "app/patches/pvc-size.yaml": pvc_patch}
    )

    b = build(tmp_path)
    objs = by_name(b)

    attrs = to_plain(node_at(objs["PersistentVolume/repo-pv"].node, "spec", "csi", "volumeAttributes"))
    assert attrs == {"staticVolume": "true", "rootPath": "/volsync/patched"}
    root_path = node_at(objs["PersistentVolume/repo-pv"].node, "spec", "csi", "volumeAttributes", "rootPath")
    assert root_path is not None
    assert root_path.loc == Loc("app/patches/pv-root.yaml", 8, 17)
    assert str_at(objs["PersistentVolumeClaim/repo"].node, "spec", "resources", "requests", "storage") == "1Ti"
    assert {"app/patches/pv-root.yaml", "app/patches/pvc-size.yaml"} <= b.files


def test_strategic_merge_patch_delete(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"
        "patches:\n"
        "  - patch: |\n"
        "      $patch: delete\n"
        "      apiVersion: v1\n"
        "      kind: PersistentVolumeClaim\n"
        "      metadata:\n"
        "        name: data\n"
        "  - target:\n"
        "      kind: PersistentVolume\n"
        "    patch: |\n"
        "      apiVersion: v1\n"
        "      kind: PersistentVolume\n"
        "      metadata:\n"
        "        name: any\n"
        "      spec:\n"
        "        csi:\n"
        "          volumeAttributes:\n"
        "            $patch: delete\n"
    )
    write_repo(tmp_path, base_files(body))

    objs = by_name(build(tmp_path))

    assert sorted(objs) == ["PersistentVolume/repo-pv", "PersistentVolumeClaim/repo"]
    assert "volumeAttributes" not in to_plain(objs["PersistentVolume/repo-pv"].node)["spec"]["csi"]


def test_strategic_merge_without_matching_object_fails(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n"
        "patches:\n"
        "  - patch: |\n"
        "      apiVersion: v1\n"
        "      kind: PersistentVolumeClaim\n"
        "      metadata:\n"
        "        name: missing\n"
    )
    write_repo(tmp_path, base_files(body))

    err = build_error(tmp_path)

    assert err.code == "patch-target-missing"
    assert err.message == "no matches for patch target PersistentVolumeClaim/missing"
    assert err.loc is not None
    assert err.loc.file == "app/kustomization.yaml"


def test_patch_file_missing(tmp_path: Path) -> None:
    write_repo(tmp_path, base_files("resources:\n  - ./pv.yaml\npatches:\n  - path: ./nope.yaml\n"))

    err = build_error(tmp_path)

    assert err.code == "patch-missing"
    assert err.loc == Loc("app/kustomization.yaml", 7, 11)


# -- JSON 6902 ------------------------------------------------------------------------------


def test_json6902_add_replace_remove(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"
        "patches:\n"
        "  - target:\n"
        "      kind: PersistentVolume\n"
        "      name: repo-pv\n"
        "    patch: |-\n"
        "      - op: add\n"
        "        path: /spec/csi/volumeAttributes/mounter\n"
        "        value: kernel\n"
        "      - op: replace\n"
        "        path: /spec/csi/volumeAttributes/rootPath\n"
        "        value: /volsync/replaced\n"
        "      - op: remove\n"
        "        path: /metadata/labels\n"
        "      - op: add\n"
        "        path: /spec/accessModes\n"
        "        value: [ReadWriteMany]\n"
        "      - op: test\n"
        "        path: /spec/capacity/storage\n"
        "        value: 5Ti\n"
    )
    write_repo(tmp_path, base_files(body))

    objs = by_name(build(tmp_path))

    pv = to_plain(objs["PersistentVolume/repo-pv"].node)
    assert pv["spec"]["csi"]["volumeAttributes"] == {
        "staticVolume": "true",
        "rootPath": "/volsync/replaced",
        "mounter": "kernel",
    }
    assert "labels" not in pv["metadata"]
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    # the PVCs are not targets
    assert labels(objs["PersistentVolumeClaim/repo"]) == {"app.kubernetes.io/component": "repository"}


def test_json6902_test_failure_fails_the_build(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n"
        "patches:\n"
        "  - target:\n"
        "      kind: PersistentVolume\n"
        "    patch: |-\n"
        "      - op: test\n"
        "        path: /spec/capacity/storage\n"
        "        value: 1Ti\n"
        "      - op: replace\n"
        "        path: /spec/capacity/storage\n"
        "        value: 2Ti\n"
    )
    write_repo(tmp_path, base_files(body))

    err = build_error(tmp_path)

    assert err.code == "patch-failed"
    assert err.message == "test operation does not apply: testing value failed at '/spec/capacity/storage'"
    assert err.loc == Loc("app/kustomization.yaml", 10, 9)


def test_json6902_remove_missing_path_fails(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n"
        "patchesJson6902:\n"
        "  - target:\n"
        "      version: v1\n"
        "      kind: PersistentVolume\n"
        "      name: repo-pv\n"
        "    path: ./patches/remove.yaml\n"
    )
    ops = "- op: replace\n  path: /spec/capacity/storage\n  value: 1Ti\n- op: remove\n  path: /spec/nfs/server\n"
    write_repo(tmp_path, {**base_files(body), "app/patches/remove.yaml": ops})

    err = build_error(tmp_path)

    assert err.code == "patch-failed"
    assert err.message.startswith("remove operation does not apply")
    assert err.loc == Loc("app/patches/remove.yaml", 4, 3)


def test_patches_json6902_from_file(tmp_path: Path) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n"
        "patchesJson6902:\n"
        "  - target:\n"
        "      version: v1\n"
        "      kind: PersistentVolume\n"
        "      name: repo-pv\n"
        "    path: ./patches/ops.yaml\n"
    )
    ops = "- op: replace\n  path: /spec/capacity/storage\n  value: 1Ti\n"
    write_repo(tmp_path, {**base_files(body), "app/patches/ops.yaml": ops})

    objs = by_name(build(tmp_path))

    storage = node_at(objs["PersistentVolume/repo-pv"].node, "spec", "capacity", "storage")
    assert storage is not None
    assert (storage.value, storage.loc) == ("1Ti", Loc("app/patches/ops.yaml", 3, 10))


# -- target selectors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patched"),
    [
        ("kind: PersistentVolumeClaim", {"PersistentVolumeClaim/data", "PersistentVolumeClaim/repo"}),
        ("name: repo.*", {"PersistentVolume/repo-pv", "PersistentVolumeClaim/repo"}),
        ("name: repo", {"PersistentVolumeClaim/repo"}),  # anchored: not repo-pv
        ("kind: PersistentVolumeClaim\n      name: (data|other)", {"PersistentVolumeClaim/data"}),
        (
            "labelSelector: app.kubernetes.io/component=repository",
            {"PersistentVolume/repo-pv", "PersistentVolumeClaim/repo"},
        ),
        ("labelSelector: app.kubernetes.io/component!=repository", {"PersistentVolumeClaim/data"}),
        ("labelSelector: app.kubernetes.io/component in (data, cache)", {"PersistentVolumeClaim/data"}),
        ("group: volsync.backube", set()),
    ],
)
def test_patch_target_selectors(tmp_path: Path, target: str, patched: set[str]) -> None:
    body = (
        "resources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"
        "patches:\n"
        "  - target:\n"
        f"      {target}\n"
        "    patch: |-\n"
        "      - op: add\n"
        "        path: /metadata/annotations\n"
        '        value: {example.com/patched: "true"}\n'
    )
    write_repo(tmp_path, base_files(body))

    objs = by_name(build(tmp_path))

    got = {name for name, obj in objs.items() if node_at(obj.node, "metadata", "annotations") is not None}
    assert got == patched


def test_target_selects_by_original_name_after_prefix(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            **base_files("namePrefix: app-\nresources:\n  - ./pv.yaml\n  - ./pvc.yaml\n"),
            "overlay/kustomization.yaml": kust(
                "resources:\n  - ../app\n"
                "patches:\n"
                "  - target:\n"
                "      kind: PersistentVolumeClaim\n"
                "      name: data\n"
                "    patch: |-\n"
                "      - op: replace\n"
                "        path: /spec/resources/requests/storage\n"
                "        value: 9Gi\n"
            ),
        },
    )

    objs = by_name(build(tmp_path, "overlay"))

    assert str_at(objs["PersistentVolumeClaim/app-data"].node, "spec", "resources", "requests", "storage") == "9Gi"
    assert str_at(objs["PersistentVolumeClaim/app-repo"].node, "spec", "resources", "requests", "storage") == "5Ti"


# -- Flux's generated kustomization ----------------------------------------------------------


def test_flux_generates_a_kustomization_for_a_bare_folder(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            "apps/sonarr/pv.yaml": PV,
            "apps/sonarr/notes.md": "not yaml",
            "apps/sonarr/plain/pvc.yml": PVC,
            # a sub-folder with its own kustomization is one unit: only what it lists
            "apps/sonarr/unit/kustomization.yaml": kust("namePrefix: unit-\nresources:\n  - ./listed.yaml\n"),
            "apps/sonarr/unit/listed.yaml": PV.replace("repo-pv", "listed-pv"),
            "apps/sonarr/unit/unlisted.yaml": PV.replace("repo-pv", "unlisted-pv"),
            "apps/sonarr/unit/deeper/ignored.yaml": PV.replace("repo-pv", "ignored-pv"),
        },
    )

    b = build(tmp_path, "apps/sonarr", Overlay(namespace="media"), flux_root=True)

    assert sorted(by_name(b)) == [
        "PersistentVolume/repo-pv",
        "PersistentVolume/unit-listed-pv",
        "PersistentVolumeClaim/data",
        "PersistentVolumeClaim/repo",
    ]
    assert by_name(b)["PersistentVolumeClaim/data"].namespace == "media"
    assert "apps/sonarr/unit/unlisted.yaml" not in b.files


def test_bare_folder_without_flux_root_is_missing_kustomization(tmp_path: Path) -> None:
    write_repo(tmp_path, {"apps/sonarr/pv.yaml": PV})

    err = build_error(tmp_path, "apps/sonarr")

    assert err.code == "kustomization-missing"


def test_flux_kustomization_spec_path_without_kustomization_file(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]})
    del files["kubernetes/apps/media/sonarr/app/kustomization.yaml"]
    files["kubernetes/apps/media/sonarr/app/extra/kustomization.yaml"] = kust("resources:\n  - ./pvc.yaml\n")
    files["kubernetes/apps/media/sonarr/app/extra/pvc.yaml"] = PVC
    write_repo(tmp_path, files)

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    names = sorted(f"{r.kind}/{r.name}" for r in sonarr.resources)
    assert names == [
        "HelmRelease/sonarr",
        "PersistentVolume/volsync-sonarr-repo-pv",
        "PersistentVolumeClaim/data",
        "PersistentVolumeClaim/repo",
        "PersistentVolumeClaim/sonarr",
        "PersistentVolumeClaim/volsync-sonarr-repo",
        "ReplicationSource/sonarr",
    ]
    assert resource(sonarr, "PersistentVolumeClaim", "data").namespace == "media"


# -- components ---------------------------------------------------------------------------------


def label_component(value: str, kind: str = "PersistentVolume") -> str:
    return kust(
        "patches:\n"
        "  - target:\n"
        f"      kind: {kind}\n"
        "    patch: |-\n"
        "      - op: add\n"
        "        path: /metadata/labels/order\n"
        f"        value: {value}\n",
        "Component",
    )


def test_flux_components_apply_in_order_after_the_files_own(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            **base_files("resources:\n  - ./pv.yaml\ncomponents:\n  - ../components/own\n"),
            "components/own/kustomization.yaml": label_component("own"),
            "components/first/kustomization.yaml": label_component("first"),
            "components/second/kustomization.yaml": label_component("second"),
        },
    )
    repo = FileRepo(tmp_path)

    only_file = by_name(build_directory(repo, "app", Overlay(), flux_root=True))
    both = by_name(
        build_directory(
            repo,
            "app",
            Overlay(components=(("../components/first", None), ("../components/second", None))),
            flux_root=True,
        )
    )
    swapped = by_name(
        build_directory(
            repo,
            "app",
            Overlay(components=(("../components/second", None), ("../components/first", None))),
            flux_root=True,
        )
    )

    assert labels(only_file["PersistentVolume/repo-pv"])["order"] == "own"
    assert labels(both["PersistentVolume/repo-pv"])["order"] == "second"
    assert labels(swapped["PersistentVolume/repo-pv"])["order"] == "first"


def test_component_transformers_see_only_what_was_accumulated_before(tmp_path: Path) -> None:
    adds_pvc = kust("resources:\n  - ./pvc.yaml\n", "Component")
    write_repo(
        tmp_path,
        {
            **base_files("resources:\n  - ./pv.yaml\n"),
            "components/adds-pvc/kustomization.yaml": adds_pvc,
            "components/adds-pvc/pvc.yaml": PVC,
            "components/labels-pvc/kustomization.yaml": label_component("labelled", "PersistentVolumeClaim"),
        },
    )
    repo = FileRepo(tmp_path)

    after = by_name(
        build_directory(
            repo,
            "app",
            Overlay(components=(("../components/adds-pvc", None), ("../components/labels-pvc", None))),
            flux_root=True,
        )
    )
    before = by_name(
        build_directory(
            repo,
            "app",
            Overlay(components=(("../components/labels-pvc", None), ("../components/adds-pvc", None))),
            flux_root=True,
        )
    )

    assert labels(after["PersistentVolumeClaim/data"]).get("order") == "labelled"
    assert "order" not in labels(before["PersistentVolumeClaim/data"])


def test_files_own_transformers_run_after_its_components(tmp_path: Path) -> None:
    body = (
        "namePrefix: sonarr-\n"
        "resources:\n  - ./pv.yaml\n"
        "components:\n  - ../components/adds-pvc\n"
        "patches:\n"
        "  - target:\n"
        "      kind: PersistentVolumeClaim\n"
        "      name: data\n"
        "    patch: |-\n"
        "      - op: replace\n"
        "        path: /spec/resources/requests/storage\n"
        "        value: 50Gi\n"
    )
    write_repo(
        tmp_path,
        {
            **base_files(body),
            "components/adds-pvc/kustomization.yaml": kust("resources:\n  - ./pvc.yaml\n", "Component"),
            "components/adds-pvc/pvc.yaml": PVC,
        },
    )

    objs = by_name(build(tmp_path))

    assert sorted(objs) == [
        "PersistentVolume/sonarr-repo-pv",
        "PersistentVolumeClaim/sonarr-data",
        "PersistentVolumeClaim/sonarr-repo",
    ]
    assert str_at(objs["PersistentVolumeClaim/sonarr-data"].node, "spec", "resources", "requests", "storage") == "50Gi"
    assert str_at(objs["PersistentVolumeClaim/sonarr-repo"].node, "spec", "volumeName") == "sonarr-repo-pv"


def test_nested_components(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            **base_files("resources:\n  - ./pv.yaml\ncomponents:\n  - ../components/outer\n"),
            "components/outer/kustomization.yaml": kust(
                "resources:\n  - ./pvc.yaml\ncomponents:\n  - ../inner\n", "Component"
            ),
            "components/outer/pvc.yaml": PVC,
            "components/inner/kustomization.yaml": label_component("inner", "PersistentVolumeClaim"),
        },
    )

    objs = by_name(build(tmp_path))

    assert labels(objs["PersistentVolumeClaim/data"])["order"] == "inner"
    assert "order" not in labels(objs["PersistentVolume/repo-pv"])


def test_flux_spec_patches_run_after_flux_components(tmp_path: Path) -> None:
    """spec.patches of the app's Flux Kustomization see the objects its
    spec.components added, and run before post-build substitution."""
    patches = (
        "  patches:\n"
        "    - target:\n"
        "        kind: PersistentVolume\n"
        "        name: volsync-.*-repo-pv\n"
        "      patch: |-\n"
        "        - op: add\n"
        "          path: /spec/csi/volumeAttributes/mounter\n"
        "          value: fuse-${APP}\n"
    )
    ks = app_ks("media", "sonarr", spec_extra=patches)
    write_repo(tmp_path, home_ops({"media": ["sonarr"]}, ks_overrides={("media", "sonarr"): ks}))

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    pv = resource(sonarr, "PersistentVolume", "volsync-sonarr-repo-pv")
    mounter = node_at(pv.node, "spec", "csi", "volumeAttributes", "mounter")
    assert mounter is not None
    assert mounter.value == "fuse-sonarr"
    assert mounter.loc == Loc("kubernetes/apps/media/sonarr/ks.yaml", line_of(ks, "value: fuse-"), 18)
