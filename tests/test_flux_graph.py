"""The Flux graph: entry points, the bundled example, post-build substitution,
duplicates and parent patches, on small real repositories."""

from __future__ import annotations

import base64
import posixpath
from pathlib import Path

import pytest
from helpers_repo import (
    CLUSTER_KS,
    FLUX_INSTANCE,
    PV_ROOTPATH_COL,
    PV_ROOTPATH_LINE,
    all_problems,
    app_folder,
    app_ks,
    codes,
    git_init,
    home_ops,
    line_of,
    namespace_kustomization,
    resource,
    result,
    run_cli,
    walk,
    write_repo,
)
from typer.testing import CliRunner

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.cli import app as cli_app
from volsync_kit.core import flux, render
from volsync_kit.core.model import KsRef, Loc, Scalar, Severity, node_at, str_at, to_plain
from volsync_kit.core.sources import SourceId

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "home-ops"
RUNNER = CliRunner()


def rendered_names(model: flux.RepoModel) -> set[str]:
    return {f"{r.ks.ref.namespace}/{r.ks.ref.name}" for r in model.results if r.status == "rendered"}


def cli(*args: str):
    return RUNNER.invoke(cli_app, list(args))


def app_names(stdout: str) -> list[str]:
    return sorted({line.split()[2] for line in stdout.splitlines() if line.startswith("# app: ")})


# -- entry detection -----------------------------------------------------------------


def test_entry_from_flux_instance_sync_path(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]})
    # on disk, but not listed in media/kustomization.yaml
    files.update(app_folder("media", "lidarr"))
    files["kubernetes/apps/media/lidarr/ks.yaml"] = app_ks("media", "lidarr")
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    assert model.entries == (
        flux.Entry(
            "kubernetes/flux/cluster",
            "FluxInstance spec.sync.path",
            Loc("kubernetes/flux/instance/fluxinstance.yaml", line_of(FLUX_INSTANCE, "path:"), 11),
            # flux-operator names the source after the instance's namespace
            SourceId("GitRepository", "flux-system", "flux-system"),
            url="https://github.com/example/home-ops",
            label="flux",
        ),
    )
    assert [c.name for c in model.clusters] == ["default"]
    assert rendered_names(model) == {"flux-system/flux-system", "flux-system/cluster-apps", "media/sonarr"}
    assert result(model, "sonarr").parent == KsRef("cluster-apps", "flux-system", "kubernetes/flux/cluster/ks.yaml")
    assert model.inactive == (KsRef("lidarr", "media", "kubernetes/apps/media/lidarr/ks.yaml"),)


def test_entry_from_flux_operator_helmrelease_values(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]}, entry=False)
    helmrelease = """
        ---
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata:
          name: flux-instance
        spec:
          interval: 1h
          chartRef:
            kind: OCIRepository
            name: flux-instance
            namespace: flux-system
          values:
            instance:
              distribution:
                version: 2.x
              sync:
                kind: GitRepository
                url: https://github.com/example/home-ops
                ref: refs/heads/main
                path: kubernetes/flux/cluster
    """
    files["kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml"] = helmrelease
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    assert [(e.path, e.how) for e in model.entries] == [("kubernetes/flux/cluster", "flux-instance HelmRelease values")]
    assert model.entries[0].loc == Loc(
        "kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", line_of(helmrelease, "path:"), 15
    )
    assert "media/sonarr" in rendered_names(model)


def test_entry_from_flux_instance_helm_values_file(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]}, entry=False)
    values = """
        ---
        instance:
          distribution:
            version: 2.6.4
          sync:
            kind: GitRepository
            url: https://github.com/example/home-ops
            ref: refs/heads/main
            path: kubernetes/flux/cluster
            interval: 1h
    """
    files["kubernetes/apps/flux-system/flux-instance/app/helm/values.yaml"] = values
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    assert [(e.path, e.how) for e in model.entries] == [("kubernetes/flux/cluster", "flux-instance Helm values")]
    assert model.entries[0].loc == Loc(
        "kubernetes/apps/flux-system/flux-instance/app/helm/values.yaml", line_of(values, "path:"), 11
    )
    assert rendered_names(model) == {"flux-system/flux-system", "flux-system/cluster-apps", "media/sonarr"}


GOTK_SYNC = """
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: flux-system
  url: ssh://git@github.com/example/home-ops
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/main
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""


def gotk_repo() -> dict[str, str]:
    files = home_ops({"media": ["sonarr"]}, entry=False)
    del files["kubernetes/flux/cluster/ks.yaml"]
    files.update(
        {
            "clusters/main/flux-system/gotk-components.yaml": """
                ---
                apiVersion: v1
                kind: Namespace
                metadata:
                  name: flux-system
            """,
            "clusters/main/flux-system/gotk-sync.yaml": GOTK_SYNC,
            "clusters/main/flux-system/kustomization.yaml": """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - gotk-components.yaml
                  - gotk-sync.yaml
            """,
            "clusters/main/apps.yaml": CLUSTER_KS,
        }
    )
    return files


def test_entry_from_flux_system_gotk_sync(tmp_path: Path) -> None:
    write_repo(tmp_path, gotk_repo())

    model = walk(tmp_path)

    assert len(model.entries) == 1
    entry = model.entries[0]
    assert entry.how == "Kustomization flux-system syncs its own folder"
    assert posixpath.normpath(entry.path) == "clusters/main"
    assert entry.loc == Loc("clusters/main/flux-system/gotk-sync.yaml", line_of(GOTK_SYNC, "path:"), 9)
    # the sync Kustomization is the root; its own declaration in gotk-sync.yaml
    # is the same object, neither a duplicate nor inactive
    assert rendered_names(model) == {"flux-system/flux-system", "flux-system/cluster-apps", "media/sonarr"}
    assert model.inactive == ()
    assert "kustomization-duplicate" not in codes(model.problems)
    assert result(model, "sonarr").parent == KsRef("cluster-apps", "flux-system", "clusters/main/apps.yaml")


def test_flux_instance_and_gotk_sync_elsewhere_are_two_clusters(tmp_path: Path) -> None:
    """Both would create flux-system/flux-system, so one cluster cannot hold
    both: each is its own cluster, named by the folder it syncs."""
    files = gotk_repo()
    files["kubernetes/flux/cluster/ks.yaml"] = CLUSTER_KS
    files["kubernetes/flux/instance/fluxinstance.yaml"] = FLUX_INSTANCE
    write_repo(tmp_path, files)

    entries = flux.detect_entries(FileRepo(tmp_path))
    model = walk(tmp_path)

    assert [(e.path, e.how) for e in entries] == [
        ("kubernetes/flux/cluster", "FluxInstance spec.sync.path"),
        ("./clusters/main", "Kustomization flux-system syncs its own folder"),
    ]
    assert [c.name for c in model.clusters] == ["kubernetes/flux/cluster", "clusters/main"]
    assert {str(r.ks.ref) for r in model.results} >= {
        "kubernetes/flux/cluster:flux-system/cluster-apps",
        "clusters/main:flux-system/cluster-apps",
    }
    assert "kustomization-duplicate" not in codes(all_problems(model))


def staging_repo(tmp_path: Path) -> Path:
    """The FluxInstance syncs kubernetes/flux/cluster (media); a second folder
    kubernetes/flux/staging syncs only the default namespace."""
    files = home_ops({"media": ["sonarr"], "default": ["paperless"]})
    files["kubernetes/flux/cluster/ks.yaml"] = CLUSTER_KS.replace("./kubernetes/apps", "./kubernetes/apps/media")
    files["kubernetes/flux/staging/ks.yaml"] = CLUSTER_KS.replace("cluster-apps", "staging-apps").replace(
        "./kubernetes/apps", "./kubernetes/apps/default"
    )
    return write_repo(tmp_path, files)


def test_entry_option_overrides_detection(tmp_path: Path) -> None:
    root = staging_repo(tmp_path)

    detected = cli("render", "--repo", str(root))
    chosen = cli("render", "--repo", str(root), "--entry", "kubernetes/flux/staging", "-v")
    absolute = cli("render", "--repo", str(root), "--entry", str(root / "kubernetes/flux/staging"))

    assert detected.exit_code == 0, detected.stderr
    assert app_names(detected.stdout) == ["sonarr"]
    assert chosen.exit_code == 0, chosen.stderr
    assert app_names(chosen.stdout) == ["paperless"]
    assert absolute.exit_code == 0, absolute.stderr
    assert app_names(absolute.stdout) == ["paperless"]
    # everything the chosen entry does not reach is inactive, and says so with -v
    assert (
        "kubernetes/apps/media/sonarr/ks.yaml:3:1: info [kustomization-inactive] "
        "Kustomization sonarr is not reached from the entry point; treated as inactive (Kustomization media/sonarr)"
    ) in chosen.stderr.splitlines()


def test_entry_option_in_walk_marks_other_kustomizations_inactive(tmp_path: Path) -> None:
    root = staging_repo(tmp_path)
    from volsync_kit.app import entry_point

    model = flux.walk(FileRepo(root), (entry_point(root, "kubernetes/flux/staging"),))

    assert rendered_names(model) == {"flux-system/flux-system", "flux-system/staging-apps", "default/paperless"}
    assert {(r.name, r.file) for r in model.inactive} == {
        ("cluster-apps", "kubernetes/flux/cluster/ks.yaml"),
        ("sonarr", "kubernetes/apps/media/sonarr/ks.yaml"),
    }


def test_no_entry_every_flux_kustomization_is_a_root(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]}, entry=False)
    files.update(app_folder("default", "paperless"))
    files["kubernetes/apps/default/paperless/config/configmap.yaml"] = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: paperless-env
        data:
          PAPERLESS_PORT: "8000"
    """
    # one file, three documents: a ConfigMap, a v1beta2 and a v1 Kustomization
    files["kubernetes/apps/default/paperless/ks.yaml"] = """
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: paperless-notes
          namespace: default
        data:
          note: not a Kustomization
        ---
        apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
        kind: Kustomization
        metadata:
          name: &app paperless
          namespace: default
        spec:
          interval: 1h
          path: ./kubernetes/apps/default/paperless/app
          components:
            - ../../../../flux/components/volsync/repository
          postBuild:
            substitute:
              APP: *app
          prune: true
          sourceRef:
            kind: GitRepository
            name: flux-system
        ---
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: paperless-config
        spec:
          interval: 1h
          path: ./kubernetes/apps/default/paperless/config
          prune: true
          sourceRef:
            kind: GitRepository
            name: flux-system
    """
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    assert model.entries == ()
    assert model.inactive == ()
    assert rendered_names(model) == {
        "flux-system/cluster-apps",
        "media/sonarr",
        "default/paperless",
        # no metadata.namespace: the root lands in "default"
        "default/paperless-config",
    }
    assert all(r.parent is None for r in model.results)
    assert "kustomization-duplicate" not in codes(model.problems)
    paperless = result(model, "paperless")
    assert paperless.ks.node.items["apiVersion"].value == "kustomize.toolkit.fluxcd.io/v1beta2"
    assert resource(paperless, "PersistentVolume", "volsync-paperless-repo-pv").kind == "PersistentVolume"
    assert [r.name for r in result(model, "paperless-config").resources] == ["paperless-env"]


def test_default_repo_is_the_git_top_level(tmp_path: Path) -> None:
    write_repo(tmp_path, home_ops({"media": ["sonarr"]}))
    git_init(tmp_path)

    proc = run_cli("render", cwd=tmp_path / "kubernetes" / "apps" / "media")

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert app_names(proc.stdout) == ["sonarr"]
    assert "# app: sonarr (Kustomization media/sonarr, kubernetes/apps/media/sonarr/ks.yaml)" in proc.stdout


# -- the bundled example -----------------------------------------------------------------

EXAMPLE_APPS = {
    # app: (namespace, data PVC size, mover uid)
    "cloudbeaver": ("database", "5Gi", 1000),
    "pgadmin": ("database", "2Gi", 5050),
    "home-assistant": ("default", "8Gi", 1000),
    "paperless": ("default", "20Gi", 1000),
    "jellyfin": ("media", "15Gi", 1000),
    "radarr": ("media", "5Gi", 1000),
    "sonarr": ("media", "10Gi", 1000),
}


@pytest.fixture(scope="module")
def example() -> flux.RepoModel:
    return walk(EXAMPLE)


def test_example_renders_exactly_these_kustomizations(example: flux.RepoModel) -> None:
    assert [(r.ks.ref.namespace, r.ks.ref.name, r.status) for r in example.results] == [
        ("database", "cloudbeaver", "rendered"),
        ("database", "pgadmin", "rendered"),
        ("default", "home-assistant", "rendered"),
        ("default", "paperless", "rendered"),
        ("default", "paperless-config", "rendered"),
        ("flux-system", "cluster-apps", "rendered"),
        ("flux-system", "cluster-meta", "rendered"),
        ("flux-system", "flux-instance", "rendered"),
        ("flux-system", "flux-system", "rendered"),
        ("media", "jellyfin", "rendered"),
        ("media", "radarr", "rendered"),
        ("media", "sonarr", "rendered"),
        ("volsync-system", "volsync", "rendered"),
    ]
    assert [(e.path, e.how) for e in example.entries] == [("kubernetes/flux/cluster", "flux-instance Helm values")]
    assert not [p for r in example.results for p in r.problems if p.severity is Severity.ERROR]


def test_example_oldapp_is_inactive(example: flux.RepoModel) -> None:
    assert example.inactive == (KsRef("oldapp", "media", "kubernetes/apps/media/oldapp/ks.yaml"),)
    inactive = [p for p in example.problems if p.code == "kustomization-inactive"]
    assert len(inactive) == 1
    assert inactive[0].severity is Severity.INFO
    assert inactive[0].loc == Loc("kubernetes/apps/media/oldapp/ks.yaml", 4, 1)
    assert all(r.ks.ref.name != "oldapp" for r in example.results)
    assert "oldapp" not in {a.app for a in render.render(example).apps}


def test_example_render_apps(example: flux.RepoModel) -> None:
    out = render.render(example)
    assert sorted(a.app for a in out.apps) == sorted(EXAMPLE_APPS)
    assert not out.has_errors


@pytest.mark.parametrize("app", sorted(EXAMPLE_APPS))
def test_example_volumes_per_app(example: flux.RepoModel, app: str) -> None:
    namespace, size, uid = EXAMPLE_APPS[app]
    res = result(example, app, namespace)

    pv = resource(res, "PersistentVolume", f"volsync-{app}-repo-pv")
    attrs = node_at(pv.node, "spec", "csi", "volumeAttributes")
    plain_attrs = to_plain(attrs)
    assert plain_attrs["rootPath"] == f"/volsync/{app}"
    assert plain_attrs["staticVolume"] == "true"  # a string, not a boolean
    assert isinstance(plain_attrs["staticVolume"], str)
    assert plain_attrs["clusterID"] == "rook-ceph"
    assert plain_attrs["fsName"] == "cephfs"

    data_pvc = resource(res, "PersistentVolumeClaim", app)
    assert str_at(data_pvc.node, "spec", "resources", "requests", "storage") == size
    assert str_at(data_pvc.node, "spec", "dataSourceRef", "name") == f"{app}-dst"

    repo_pvc = resource(res, "PersistentVolumeClaim", f"volsync-{app}-repo")
    assert str_at(repo_pvc.node, "spec", "volumeName") == f"volsync-{app}-repo-pv"

    for kind, name in (
        ("ReplicationSource", app),
        ("ReplicationSource", f"{app}-r2"),
        ("ReplicationDestination", f"{app}-dst"),
    ):
        obj = resource(res, kind, name)
        ctx = to_plain(node_at(obj.node, "spec", "restic", "moverSecurityContext"))
        assert ctx == {"runAsUser": uid, "runAsGroup": uid, "fsGroup": uid}
        assert type(ctx["runAsUser"]) is int

    # owner labels and commonMetadata, on every object, PV included
    for obj in res.resources:
        labels = to_plain(node_at(obj.node, "metadata", "labels"))
        assert labels["kustomize.toolkit.fluxcd.io/name"] == app
        assert labels["kustomize.toolkit.fluxcd.io/namespace"] == namespace
        assert labels["app.kubernetes.io/name"] == app

    # targetNamespace: namespaced objects get it, the PersistentVolume does not
    assert pv.namespace == ""
    assert "namespace" not in to_plain(pv.node)["metadata"]
    for obj in res.resources:
        if obj.kind != "PersistentVolume":
            assert obj.namespace == namespace, (obj.kind, obj.name)


def test_example_scalar_locations_point_at_the_template(example: flux.RepoModel) -> None:
    pv = resource(result(example, "sonarr"), "PersistentVolume", "volsync-sonarr-repo-pv")
    root_path = node_at(pv.node, "spec", "csi", "volumeAttributes", "rootPath")
    assert isinstance(root_path, Scalar)
    assert root_path.loc == Loc("kubernetes/flux/components/volsync/repository/pv.yaml", 24, 17)
    assert pv.origin == Loc("kubernetes/flux/components/volsync/repository/pv.yaml", 5, 1)

    storage = node_at(
        resource(result(example, "pgadmin"), "PersistentVolumeClaim", "pgadmin").node,
        "spec",
        "resources",
        "requests",
        "storage",
    )
    assert isinstance(storage, Scalar)
    assert storage.loc == Loc("kubernetes/flux/components/volsync/operations/pvc.yaml", 16, 16)


def test_example_cli_exit_zero_and_inactive_note_with_verbose() -> None:
    quiet = cli("render", "--repo", str(EXAMPLE))
    verbose = cli("render", "--repo", str(EXAMPLE), "-v")

    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert app_names(quiet.stdout) == sorted(EXAMPLE_APPS)
    assert verbose.exit_code == 0
    assert (
        "kubernetes/apps/media/oldapp/ks.yaml:4:1: info [kustomization-inactive] Kustomization oldapp is not "
        "reached from the entry point; treated as inactive (Kustomization media/oldapp)"
    ) in verbose.stderr.splitlines()


def test_example_rootpath_location_in_small_repo(tmp_path: Path) -> None:
    write_repo(tmp_path, home_ops({"media": ["sonarr"]}))
    pv = resource(result(walk(tmp_path), "sonarr"), "PersistentVolume", "volsync-sonarr-repo-pv")
    root_path = node_at(pv.node, "spec", "csi", "volumeAttributes", "rootPath")
    assert isinstance(root_path, Scalar)
    assert root_path.value == "/volsync/sonarr"
    assert root_path.loc == Loc(
        "kubernetes/flux/components/volsync/repository/pv.yaml", PV_ROOTPATH_LINE, PV_ROOTPATH_COL
    )


# -- substituteFrom --------------------------------------------------------------------

SETTINGS = """
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-settings
data:
  CEPHFS_NAME: cephfs-from-configmap
  VOLSYNC_CAPACITY: "7Gi"
  ONLY_IN_CONFIGMAP: cm
"""

SECRETS = f"""
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
type: Opaque
stringData:
  CEPHFS_NAME: cephfs-from-secret
  VOLSYNC_PUID: "2000"
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets-b64
type: Opaque
data:
  CEPH_CLUSTER_ID: {base64.b64encode(b"ceph-from-base64").decode()}
"""

SOPS_SECRET = """
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
type: Opaque
stringData:
  SECRET_DOMAIN: ENC[AES256_GCM,data:Zm9vYmFy,iv:aXY=,tag:dGFn,type:str]
sops:
  age:
    - recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhYmMK
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2024-05-01T10:00:00Z"
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.8.1
"""


def substitute_from(*sources: tuple[str, str, bool]) -> str:
    out = "    substituteFrom:\n"
    for kind, name, optional in sources:
        out += f"      - kind: {kind}\n        name: {name}\n"
        if optional:
            out += "        optional: true\n"
    return out


def settings_repo(
    sonarr_ks: str, *, extra: dict[str, str] | None = None, media_resources: tuple[str, ...] = ()
) -> dict[str, str]:
    """media/ holds the ConfigMap and Secrets (in namespace media, as Flux
    reads substituteFrom sources from the Kustomization's namespace)."""
    files = home_ops({"media": ["sonarr", "radarr"]}, ks_overrides={("media", "sonarr"): sonarr_ks})
    files["kubernetes/apps/media/settings.yaml"] = SETTINGS
    files["kubernetes/apps/media/secrets.yaml"] = SECRETS
    files["kubernetes/apps/media/kustomization.yaml"] = namespace_kustomization(
        "media", ["sonarr", "radarr"]
    ) + "".join(f"  - ./{r}\n" for r in ("settings.yaml", "secrets.yaml", *media_resources))
    files.update(extra or {})
    return files


def volume_attrs(res: flux.KsResult, app: str = "sonarr") -> dict:
    pv = resource(res, "PersistentVolume", f"volsync-{app}-repo-pv")
    return to_plain(node_at(pv.node, "spec", "csi", "volumeAttributes"))


def test_substitute_from_configmap_and_secrets_later_wins(tmp_path: Path) -> None:
    ks = app_ks(
        "media",
        "sonarr",
        post_build_extra=substitute_from(
            ("ConfigMap", "cluster-settings", False),
            ("Secret", "cluster-secrets", False),
            ("Secret", "cluster-secrets-b64", False),
        ),
    )
    write_repo(tmp_path, settings_repo(ks))

    model = walk(tmp_path)
    sonarr = result(model, "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    assert sonarr.problems == ()
    assert dict(sonarr.variables) == {
        "CEPHFS_NAME": "cephfs-from-secret",  # the Secret comes after the ConfigMap
        "VOLSYNC_CAPACITY": "7Gi",
        "ONLY_IN_CONFIGMAP": "cm",
        "VOLSYNC_PUID": "2000",
        "CEPH_CLUSTER_ID": "ceph-from-base64",  # Secret data is base64
        "APP": "sonarr",
    }
    attrs = volume_attrs(sonarr)
    assert attrs["fsName"] == "cephfs-from-secret"
    assert attrs["clusterID"] == "ceph-from-base64"
    data_pvc = resource(sonarr, "PersistentVolumeClaim", "sonarr")
    assert str_at(data_pvc.node, "spec", "resources", "requests", "storage") == "7Gi"
    rs = resource(sonarr, "ReplicationSource", "sonarr")
    assert to_plain(node_at(rs.node, "spec", "restic", "moverSecurityContext", "runAsUser")) == 2000
    # radarr has no substituteFrom: defaults apply
    assert volume_attrs(result(model, "radarr"), "radarr")["fsName"] == "cephfs"


def test_substitute_from_order_reversed(tmp_path: Path) -> None:
    ks = app_ks(
        "media",
        "sonarr",
        post_build_extra=substitute_from(
            ("Secret", "cluster-secrets", False), ("ConfigMap", "cluster-settings", False)
        ),
    )
    write_repo(tmp_path, settings_repo(ks))

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.variables["CEPHFS_NAME"] == "cephfs-from-configmap"
    assert volume_attrs(sonarr)["fsName"] == "cephfs-from-configmap"


def test_inline_substitute_wins_over_substitute_from(tmp_path: Path) -> None:
    ks = app_ks(
        "media",
        "sonarr",
        substitute={"CEPHFS_NAME": "cephfs-inline"},
        post_build_extra=substitute_from(
            ("ConfigMap", "cluster-settings", False), ("Secret", "cluster-secrets", False)
        ),
    )
    write_repo(tmp_path, settings_repo(ks))

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.variables["CEPHFS_NAME"] == "cephfs-inline"
    assert volume_attrs(sonarr)["fsName"] == "cephfs-inline"


def test_substitute_source_not_in_git_is_unknown_not_an_error(tmp_path: Path) -> None:
    """A required source that git does not hold must exist in the cluster (a
    bootstrap Secret, a controller's output) or Flux would not apply at all:
    its variables are unknown, kept as written, and said once."""
    extra = substitute_from(("ConfigMap", "cluster-settings", False), ("ConfigMap", "not-there", False))
    ks = app_ks("media", "sonarr", post_build_extra=extra)
    write_repo(tmp_path, settings_repo(ks))

    model = walk(tmp_path)
    sonarr = result(model, "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    notes = [p for p in model.problems if p.code == "variables-unknown"]
    assert len(notes) == 1
    assert notes[0].severity is Severity.INFO
    assert notes[0].message.startswith("substituteFrom ConfigMap/not-there is not in the repository")
    assert notes[0].loc is not None
    line = line_of(ks, "name: not-there") - 1
    assert (notes[0].loc.file, notes[0].loc.line) == ("kubernetes/apps/media/sonarr/ks.yaml", line)
    assert result(model, "radarr").status == "rendered"
    assert {a.app for a in render.render(model).apps} == {"radarr", "sonarr"}
    assert not render.render(model).has_errors


def test_optional_missing_substitute_source_is_fine(tmp_path: Path) -> None:
    extra = substitute_from(("ConfigMap", "not-there", True), ("ConfigMap", "cluster-settings", False))
    write_repo(tmp_path, settings_repo(app_ks("media", "sonarr", post_build_extra=extra)))

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "rendered"
    assert sonarr.problems == ()
    assert volume_attrs(sonarr)["fsName"] == "cephfs-from-configmap"


def test_substitute_source_from_repository_file_without_entry(tmp_path: Path) -> None:
    """Without an entry point, sources are looked up in the repository files."""
    files = home_ops({"media": ["sonarr"]}, entry=False)
    del files["kubernetes/flux/cluster/ks.yaml"]
    files["kubernetes/apps/media/kustomization.yaml"] = namespace_kustomization("media", ["sonarr"])
    files["kubernetes/flux/meta/settings/cluster-settings.yaml"] = SETTINGS.replace(
        "  name: cluster-settings\n", "  name: cluster-settings\n  namespace: media\n"
    )
    files["kubernetes/apps/media/sonarr/ks.yaml"] = app_ks(
        "media", "sonarr", post_build_extra=substitute_from(("ConfigMap", "cluster-settings", False))
    )
    write_repo(tmp_path, files)

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    assert volume_attrs(sonarr)["fsName"] == "cephfs-from-configmap"


def test_sops_encrypted_secret_keeps_variables_as_written(tmp_path: Path) -> None:
    ks = app_ks("media", "sonarr", post_build_extra=substitute_from(("Secret", "cluster-secrets", False)))
    extra = {
        "kubernetes/apps/media/secrets.yaml": SOPS_SECRET,
        "kubernetes/apps/media/sonarr/app/kustomization.yaml": """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
              - ./helmrelease.yaml
              - ./nfs-pv.yaml
        """,
        "kubernetes/apps/media/sonarr/app/nfs-pv.yaml": """
            apiVersion: v1
            kind: PersistentVolume
            metadata:
              name: ${APP}-nfs
            spec:
              nfs:
                server: nas.${SECRET_DOMAIN}
                path: /export/${APP}
        """,
    }
    write_repo(tmp_path, settings_repo(ks, extra=extra))

    model = walk(tmp_path)
    sonarr = result(model, "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    nfs = resource(sonarr, "PersistentVolume", "sonarr-nfs")
    assert to_plain(node_at(nfs.node, "spec", "nfs")) == {"server": "nas.${SECRET_DOMAIN}", "path": "/export/sonarr"}
    assert sonarr.problems == ()
    notes = [p for p in model.problems if p.code == "variables-unknown"]
    assert [(p.severity, p.code) for p in notes] == [(Severity.INFO, "variables-unknown")]
    assert notes[0].message.startswith("substituteFrom Secret/cluster-secrets is SOPS-encrypted")
    # at the encrypted Secret, which every reader shares, for sonarr
    assert notes[0].loc is not None
    assert (notes[0].loc.file, notes[0].loc.line) == ("kubernetes/apps/media/secrets.yaml", 2)
    assert notes[0].kustomization == sonarr.ks.ref
    assert not render.render(model).has_errors


# -- opting out, strategies, strict mode ------------------------------------------------


def test_substitute_opt_out_label_and_annotation(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]})
    files["kubernetes/apps/media/sonarr/app/kustomization.yaml"] = """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - ./pvcs.yaml
    """
    files["kubernetes/apps/media/sonarr/app/pvcs.yaml"] = """
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: by-label
          labels:
            kustomize.toolkit.fluxcd.io/substitute: disabled
        spec:
          storageClassName: ${APP}-label
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: by-annotation
          annotations:
            kustomize.toolkit.fluxcd.io/substitute: disabled
        spec:
          storageClassName: ${APP}-annotation
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: substituted
        spec:
          storageClassName: ${APP}-plain
    """
    write_repo(tmp_path, files)

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    classes = {
        name: str_at(resource(sonarr, "PersistentVolumeClaim", name).node, "spec", "storageClassName")
        for name in ("by-label", "by-annotation", "substituted")
    }
    assert classes == {"by-label": "${APP}-label", "by-annotation": "${APP}-annotation", "substituted": "sonarr-plain"}
    # owner labels are still added to opted-out objects
    labels = to_plain(node_at(resource(sonarr, "PersistentVolumeClaim", "by-label").node, "metadata", "labels"))
    assert labels["kustomize.toolkit.fluxcd.io/name"] == "sonarr"


def strategy_ks(strategy: str | None) -> str:
    line = f"    substituteStrategy: {strategy}\n" if strategy else ""
    return f"""\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: sonarr
  namespace: media
spec:
  interval: 1h
  path: ./kubernetes/apps/media/sonarr/app
  components:
    - ../../../../flux/components/volsync/repository
  postBuild:
{line}    substituteFrom:
      - kind: ConfigMap
        name: sonarr-vars
        optional: true
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: media
"""


def test_default_strategy_skips_substitution_when_no_variable_resolves(tmp_path: Path) -> None:
    write_repo(tmp_path, home_ops({"media": ["sonarr"]}, ks_overrides={("media", "sonarr"): strategy_ks(None)}))

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "rendered", sonarr.problems
    assert dict(sonarr.variables) == {}
    pv = resource(sonarr, "PersistentVolume", "volsync-${APP}-repo-pv")
    attrs = to_plain(node_at(pv.node, "spec", "csi", "volumeAttributes"))
    assert attrs["rootPath"] == "/volsync/${APP}"
    assert attrs["fsName"] == "${CEPHFS_NAME:-cephfs}"


def test_always_strategy_substitutes_and_is_strict(tmp_path: Path) -> None:
    write_repo(tmp_path, home_ops({"media": ["sonarr"]}, ks_overrides={("media", "sonarr"): strategy_ks("Always")}))

    sonarr = result(walk(tmp_path), "sonarr")

    assert sonarr.status == "failed"
    assert sonarr.resources == ()
    assert [(p.severity, p.code) for p in sonarr.problems] == [(Severity.ERROR, "substitution")]
    assert 'variable not set (strict mode): "APP"' in sonarr.problems[0].message
    assert sonarr.problems[0].loc == Loc("kubernetes/flux/components/volsync/repository/pv.yaml", 5, 9)


def test_always_strategy_applies_defaults(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]}, ks_overrides={("media", "sonarr"): strategy_ks("Always")})
    files["kubernetes/flux/components/volsync/repository/kustomization.yaml"] = """
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        resources:
          - ./pvc-defaults.yaml
    """
    files["kubernetes/flux/components/volsync/repository/pvc-defaults.yaml"] = """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: cache
        spec:
          storageClassName: "${CLASS:-ceph-block}"
          resources:
            requests:
              storage: "${SIZE:=1Gi}"
    """
    write_repo(tmp_path, files)
    always = result(walk(tmp_path), "sonarr")
    write_repo(tmp_path, {"kubernetes/apps/media/sonarr/ks.yaml": strategy_ks(None)})
    default = result(walk(tmp_path), "sonarr")

    assert always.status == "rendered", always.problems
    pvc = resource(always, "PersistentVolumeClaim", "cache")
    assert to_plain(pvc.node)["spec"] == {
        "storageClassName": "ceph-block",
        "resources": {"requests": {"storage": "1Gi"}},
    }
    pvc = resource(default, "PersistentVolumeClaim", "cache")
    assert to_plain(pvc.node)["spec"] == {
        "storageClassName": "${CLASS:-ceph-block}",
        "resources": {"requests": {"storage": "${SIZE:=1Gi}"}},
    }


def test_strict_undefined_variable_fails_only_that_app(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr", "radarr"], "default": ["paperless"]})
    nfs = """
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: ${APP}-media
        spec:
          accessModes: ["ReadWriteMany"]
          storageClassName: ${NFS_STORAGECLASS}
          resources:
            requests:
              storage: 1Ti
    """
    files["kubernetes/apps/media/sonarr/app/media-pvc.yaml"] = nfs
    files["kubernetes/apps/media/sonarr/app/kustomization.yaml"] = """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - ./helmrelease.yaml
          - ./media-pvc.yaml
    """
    write_repo(tmp_path, files)

    model = walk(tmp_path)
    sonarr = result(model, "sonarr")

    assert sonarr.status == "failed"
    assert sonarr.resources == ()
    assert len(sonarr.problems) == 1
    problem = sonarr.problems[0]
    assert problem.code == "substitution"
    assert problem.severity is Severity.ERROR
    assert 'variable not set (strict mode): "NFS_STORAGECLASS"' in problem.message
    assert problem.loc == Loc("kubernetes/apps/media/sonarr/app/media-pvc.yaml", line_of(nfs, "storageClassName"), 21)
    assert problem.kustomization == KsRef("sonarr", "media", "kubernetes/apps/media/sonarr/ks.yaml")
    assert result(model, "radarr").status == "rendered"
    assert result(model, "paperless").status == "rendered"
    out = render.render(model)
    assert sorted(a.app for a in out.apps) == ["paperless", "radarr"]
    assert out.has_errors


# -- duplicates and parent patches ------------------------------------------------------


def test_duplicate_kustomization_reached_twice(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr", "radarr"]})
    # an old copy of the app, with the same name, synced by a second parent
    files["kubernetes/apps/media/sonarr-bak/ks.yaml"] = app_ks(
        "media", "sonarr", path="./kubernetes/apps/media/sonarr/app"
    )
    files["kubernetes/flux/cluster/ks.yaml"] = CLUSTER_KS + CLUSTER_KS.replace(
        "cluster-apps", "cluster-apps-bak"
    ).replace("./kubernetes/apps", "./kubernetes/apps/media/sonarr-bak")
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    duplicates = [p for p in model.problems if p.code == "kustomization-duplicate"]
    assert len(duplicates) == 1
    dup = duplicates[0]
    assert dup.severity is Severity.ERROR
    assert dup.loc is not None
    assert dup.loc.file == "kubernetes/apps/media/sonarr-bak/ks.yaml"
    assert "kubernetes/apps/media/sonarr/ks.yaml" in dup.message
    assert dup.kustomization == KsRef("sonarr", "media", "kubernetes/apps/media/sonarr-bak/ks.yaml")
    assert result(model, "sonarr").ks.ref.file == "kubernetes/apps/media/sonarr/ks.yaml"
    assert render.render(model).has_errors


def test_duplicate_kustomization_without_entry(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr"]}, entry=False)
    files["kubernetes/apps/media/sonarr-bak/ks.yaml"] = app_ks(
        "media", "sonarr", path="./kubernetes/apps/media/sonarr/app"
    )
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    assert [(p.code, p.loc.file if p.loc else None) for p in model.problems if p.code == "kustomization-duplicate"] == [
        ("kustomization-duplicate", "kubernetes/apps/media/sonarr-bak/ks.yaml")
    ]


def test_parent_patches_apply_to_every_child_kustomization(tmp_path: Path) -> None:
    files = home_ops({"media": ["sonarr", "radarr"]})
    files["kubernetes/flux/cluster/ks.yaml"] = (
        CLUSTER_KS
        + """\
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: not-used
        spec:
          postBuild:
            substituteFrom:
              - kind: ConfigMap
                name: cluster-settings
      target:
        group: kustomize.toolkit.fluxcd.io
        kind: Kustomization
"""
    )
    files["kubernetes/apps/media/settings.yaml"] = SETTINGS
    files["kubernetes/apps/media/kustomization.yaml"] = (
        namespace_kustomization("media", ["sonarr", "radarr"]) + "  - ./settings.yaml\n"
    )
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    for app in ("sonarr", "radarr"):
        res = result(model, app)
        assert res.status == "rendered", res.problems
        assert to_plain(node_at(res.ks.node, "spec", "postBuild")) == {
            "substitute": {"APP": app},
            "substituteFrom": [{"kind": "ConfigMap", "name": "cluster-settings"}],
        }
        assert res.variables == {
            "CEPHFS_NAME": "cephfs-from-configmap",
            "VOLSYNC_CAPACITY": "7Gi",
            "ONLY_IN_CONFIGMAP": "cm",
            "APP": app,
        }
        assert volume_attrs(res, app)["fsName"] == "cephfs-from-configmap"
        pvc = resource(res, "PersistentVolumeClaim", app)
        assert str_at(pvc.node, "spec", "resources", "requests", "storage") == "7Gi"


def test_duplicate_copy_is_not_also_reported_inactive(tmp_path: Path) -> None:
    """The -bak copy *is* reached (that is what makes it a duplicate); calling
    it "not reached from the entry point" contradicts the duplicate error."""
    files = home_ops({"media": ["sonarr"]})
    files["kubernetes/apps/media/sonarr-bak/ks.yaml"] = app_ks(
        "media", "sonarr", path="./kubernetes/apps/media/sonarr/app"
    )
    files["kubernetes/flux/cluster/ks.yaml"] = CLUSTER_KS + CLUSTER_KS.replace(
        "cluster-apps", "cluster-apps-bak"
    ).replace("./kubernetes/apps", "./kubernetes/apps/media/sonarr-bak")
    write_repo(tmp_path, files)

    model = walk(tmp_path)

    assert codes(model.problems) == ["kustomization-duplicate"]
    assert model.inactive == ()
