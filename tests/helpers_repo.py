"""Small, real Flux repositories written into a temporary folder.

The files are shaped like the home-ops repositories volsync-kit is written
for: ``kubernetes/apps/<ns>/<app>/ks.yaml`` with YAML anchors, VolSync
components under ``kubernetes/flux/components/volsync`` that use ``${APP}``
and ``${VAR:-default}``, and an entry point Flux starts from.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core import flux
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.model import Problem, Resource, Severity

REPO_COMPONENT = "kubernetes/flux/components/volsync/repository"
OPS_COMPONENT = "kubernetes/flux/components/volsync/operations"


def write_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: text}`` below ``root``; text is dedented."""
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "home-ops"
# A fixed identity and clock: commits, and so plan headers, are the same on every run.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
    "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z",
}


def git(repo: Path, *args: str) -> None:
    """Run git in ``repo`` with the test identity, whatever GIT_* the caller has set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", *args], cwd=repo, check=True, env={**env, **GIT_ENV}, capture_output=True)


def committed_example(tmp_path: Path) -> Path:
    """A copy of the example repository, committed once (the base plan compares with)."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def generated_repo(out: Path, apps: int, *flags: str) -> Path:
    """A repository of ``apps`` apps written and committed by benchmarks/make_repo.py
    (``--defects``, ``--plan-change``: see its docstring)."""
    make_repo = Path(__file__).resolve().parents[1] / "benchmarks" / "make_repo.py"
    subprocess.run([sys.executable, str(make_repo), str(apps), str(out), *flags], check=True, capture_output=True)
    return out


def git_init(root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the ``occurrence``-th line containing ``needle``
    in ``text`` as written by :func:`write_repo` (dedented, leading newlines
    removed)."""
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    seen = 0
    for number, line in enumerate(lines, 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


# -- the VolSync components, as in home-ops -----------------------------------------

COMPONENT_KUSTOMIZATION_REPO = """
---
# yaml-language-server: $schema=https://json.schemastore.org/kustomization
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./pv.yaml
  - ./pvc.yaml
"""

PV = """
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: volsync-${APP}-repo-pv
spec:
  accessModes:
    - ReadWriteMany
  capacity:
    storage: 5Ti
  csi:
    driver: rook-ceph.cephfs.csi.ceph.com
    volumeHandle: volsync-${APP}-repo-pv
    volumeAttributes:
      clusterID: "${CEPH_CLUSTER_ID:-rook-ceph}"
      fsName: "${CEPHFS_NAME:-cephfs}"
      staticVolume: "true"
      rootPath: /volsync/${APP}
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  volumeMode: Filesystem
"""
PV_ROOTPATH_LINE = 18  # the line of ``rootPath:`` in PV
PV_ROOTPATH_COL = 17  # the column of its value

REPO_PVC = """
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: volsync-${APP}-repo
spec:
  accessModes:
    - ReadWriteMany
  resources:
    requests:
      storage: 5Ti
  storageClassName: ""
  volumeName: volsync-${APP}-repo-pv
"""

COMPONENT_KUSTOMIZATION_OPS = """
---
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./pvc.yaml
  - ./replicationsource.yaml
"""

DATA_PVC = """
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${APP}
spec:
  accessModes: ["${VOLSYNC_ACCESSMODES:=ReadWriteOnce}"]
  resources:
    requests:
      storage: "${VOLSYNC_CAPACITY:-5Gi}"
  storageClassName: "${VOLSYNC_STORAGECLASS:-ceph-block}"
"""

REPLICATION_SOURCE = """
---
apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata:
  name: ${APP}
spec:
  sourcePVC: ${APP}
  trigger:
    schedule: "0 * * * *"
  restic:
    copyMethod: "${VOLSYNC_COPYMETHOD:=Snapshot}"
    repository: ${APP}-volsync-secret
    moverSecurityContext:
      runAsUser: ${VOLSYNC_PUID:-1000}
      runAsGroup: ${VOLSYNC_PGID:-1000}
    moverVolumes:
      - mountPath: repository
        volumeSource:
          persistentVolumeClaim:
            claimName: volsync-${APP}-repo
"""


def components() -> dict[str, str]:
    return {
        f"{REPO_COMPONENT}/kustomization.yaml": COMPONENT_KUSTOMIZATION_REPO,
        f"{REPO_COMPONENT}/pv.yaml": PV,
        f"{REPO_COMPONENT}/pvc.yaml": REPO_PVC,
        f"{OPS_COMPONENT}/kustomization.yaml": COMPONENT_KUSTOMIZATION_OPS,
        f"{OPS_COMPONENT}/pvc.yaml": DATA_PVC,
        f"{OPS_COMPONENT}/replicationsource.yaml": REPLICATION_SOURCE,
    }


# -- apps ---------------------------------------------------------------------------


def app_ks(
    namespace: str,
    app: str,
    *,
    substitute: dict[str, str] | None = None,
    post_build_extra: str = "",
    spec_extra: str = "",
    components: tuple[str, ...] = (
        "../../../../flux/components/volsync/repository",
        "../../../../flux/components/volsync/operations",
    ),
    path: str | None = None,
) -> str:
    """An app's ``ks.yaml``, as written in home-ops repositories."""
    subst = "".join(f'      {k}: "{v}"\n' for k, v in (substitute or {}).items())
    comps = "".join(f"    - {c}\n" for c in components)
    comps_block = f"  components:\n{comps}" if components else ""
    return (
        "---\n"
        "# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/kustomize.toolkit.fluxcd.io/kustomization_v1.json\n"
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
        "kind: Kustomization\n"
        "metadata:\n"
        f"  name: &app {app}\n"
        f"  namespace: &namespace {namespace}\n"
        "spec:\n"
        "  commonMetadata:\n"
        "    labels:\n"
        "      app.kubernetes.io/name: *app\n"
        f"{comps_block}"
        "  interval: 1h\n"
        f"  path: {path or f'./kubernetes/apps/{namespace}/{app}/app'}\n"
        "  postBuild:\n"
        "    substitute:\n"
        "      APP: *app\n"
        f"{subst}"
        f"{post_build_extra}"
        "  prune: true\n"
        "  sourceRef:\n"
        "    kind: GitRepository\n"
        "    name: flux-system\n"
        "    namespace: flux-system\n"
        "  targetNamespace: *namespace\n"
        f"{spec_extra}"
    )


def app_folder(namespace: str, app: str) -> dict[str, str]:
    """The app's own ``app/`` folder: a kustomization and a HelmRelease."""
    base = f"kubernetes/apps/{namespace}/{app}/app"
    return {
        f"{base}/kustomization.yaml": """
            ---
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
              - ./helmrelease.yaml
        """,
        f"{base}/helmrelease.yaml": f"""
            ---
            apiVersion: helm.toolkit.fluxcd.io/v2
            kind: HelmRelease
            metadata:
              name: {app}
            spec:
              interval: 1h
              chartRef:
                kind: OCIRepository
                name: app-template
                namespace: flux-system
        """,
    }


def namespace_kustomization(namespace: str, apps: list[str]) -> str:
    resources = "".join(f"  - ./{a}/ks.yaml\n" for a in apps)
    return (
        "---\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"namespace: {namespace}\n"
        "resources:\n"
        f"{resources}"
    )


CLUSTER_KS = """
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""

FLUX_INSTANCE = """
---
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  distribution:
    version: 2.x
  sync:
    kind: GitRepository
    url: https://github.com/example/home-ops
    ref: refs/heads/main
    path: kubernetes/flux/cluster
"""


def home_ops(
    apps: dict[str, list[str]],
    *,
    ks_overrides: dict[tuple[str, str], str] | None = None,
    entry: bool = True,
    per_namespace: bool = False,
) -> dict[str, str]:
    """A whole repository: a FluxInstance entry, ``cluster-apps``, one folder
    per namespace listing its apps, every app with the VolSync components.

    With ``per_namespace``, the cluster folder holds one parent Flux
    Kustomization per namespace (``apps-<ns>``) instead of ``cluster-apps``,
    so that a namespace whose build fails does not take the others along."""
    files: dict[str, str] = components()
    if entry:
        files["kubernetes/flux/instance/fluxinstance.yaml"] = FLUX_INSTANCE
    namespaces = sorted(apps)
    if per_namespace:
        files["kubernetes/flux/cluster/ks.yaml"] = "".join(
            CLUSTER_KS.replace("name: cluster-apps", f"name: apps-{ns}").replace(
                "path: ./kubernetes/apps", f"path: ./kubernetes/apps/{ns}"
            )
            for ns in namespaces
        )
    else:
        files["kubernetes/flux/cluster/ks.yaml"] = CLUSTER_KS
        files["kubernetes/apps/kustomization.yaml"] = (
            "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            + "".join(f"  - ./{ns}\n" for ns in namespaces)
        )
    for ns in namespaces:
        files[f"kubernetes/apps/{ns}/kustomization.yaml"] = namespace_kustomization(ns, apps[ns])
        for app in apps[ns]:
            files.update(app_folder(ns, app))
            files[f"kubernetes/apps/{ns}/{app}/ks.yaml"] = (ks_overrides or {}).get((ns, app)) or app_ks(ns, app)
    return files


# -- running ------------------------------------------------------------------------


def walk(root: Path) -> RepoModel:
    return flux.walk(FileRepo(root))


def result(model: RepoModel, name: str, namespace: str | None = None) -> KsResult:
    found = [
        r for r in model.results if r.ks.ref.name == name and (namespace is None or r.ks.ref.namespace == namespace)
    ]
    assert len(found) == 1, f"{name}: {[(r.ks.ref, r.status) for r in model.results]}"
    return found[0]


def resource(res: KsResult, kind: str, name: str) -> Resource:
    found = [r for r in res.resources if r.kind == kind and r.name == name]
    assert len(found) == 1, f"{kind}/{name} not in {[(r.kind, r.name) for r in res.resources]}"
    return found[0]


def codes(problems: tuple[Problem, ...] | list[Problem], severity: Severity | None = None) -> list[str]:
    return [p.code for p in problems if severity is None or p.severity is severity]


def all_problems(model: RepoModel) -> list[Problem]:
    out = list(model.problems)
    for r in model.results:
        out.extend(r.problems)
    return out


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m volsync_kit ARGS`` in a real process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "volsync_kit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
