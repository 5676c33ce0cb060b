"""Write a synthetic Flux repository of N apps shaped like examples/home-ops.

    python benchmarks/make_repo.py N OUT_DIR [--defects] [--plan-change]

The repository has the example's entry (flux-instance Helm values -> kubernetes/flux/cluster),
its cluster-settings, shared components (kubernetes/flux/components/volsync/{repository,operations},
kubernetes/components/common) and its flux-system and volsync-system apps, copied verbatim.
Then N apps over ceil(N/100) namespaces, each with ks.yaml (``name: &app``, both volsync
components, ``postBuild.substitute`` with APP and, for every third app, VOLSYNC_CAPACITY),
app/kustomization.yaml and app/helmrelease.yaml: about 3 YAML files per app.

``--defects`` adds three deliberate mistakes (needs N >= 4):

- the last app's ks.yaml says ``APP: <first app>`` (a copy-paste slip): its component PV is
  fine, but two apps now render the same rootPath (VK301) and PV name;
- the second-to-last app is commented out of its namespace's kustomization.yaml (VK307);
- the third-to-last app ships its own CephFS PV without ``staticVolume`` (VK101).

The tree is committed on ``main`` with a fixed author and date. ``--plan-change`` then edits the
working tree (not committed): the shared repository component's rootPath moves from
``/volsync/${APP}`` to ``/volsync/repos/${APP}`` (and ``.volsync-kit.yaml`` expects the new one),
so ``volsync-kit plan`` replaces every app's repository volume.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "home-ops"
COPIED = (
    ".volsync-kit.yaml",
    "kubernetes/flux",
    "kubernetes/components",
    "kubernetes/apps/flux-system",
    "kubernetes/apps/volsync-system",
)
NAMESPACES = ("media", "default", "database", "home-automation", "downloads", "observability", "tools", "games")
BASES = ("radarr", "sonarr", "jellyfin", "paperless", "immich", "gitea", "vaultwarden", "grafana", "esphome", "bazarr")
OLD_ROOT, NEW_ROOT = "rootPath: /volsync/${APP}", "rootPath: /volsync/repos/${APP}"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
}

KS = """\
---
# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/kustomize.toolkit.fluxcd.io/kustomization_v1.json
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: &app {app}
  namespace: &namespace {ns}
spec:
  commonMetadata:
    labels:
      app.kubernetes.io/name: *app
  components:
    - ../../../../flux/components/volsync/repository
    - ../../../../flux/components/volsync/operations
  dependsOn:
    - name: volsync
      namespace: volsync-system
  interval: 1h
  path: ./kubernetes/apps/{ns}/{app}/app
  postBuild:
    substitute:
      APP: {app_value}{overrides}
  prune: true
  retryInterval: 2m
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: *namespace
  timeout: 5m
  wait: false
"""

APP_KUSTOMIZATION = """\
---
# yaml-language-server: $schema=https://json.schemastore.org/kustomization
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
{resources}"""

HELMRELEASE = """\
---
# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/helm.toolkit.fluxcd.io/helmrelease_v2.json
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
  install:
    remediation:
      retries: -1
  upgrade:
    cleanupOnFail: true
    remediation:
      retries: 3
  values:
    controllers:
      {app}:
        annotations:
          reloader.stakater.com/auto: "true"
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/{base}
              tag: {tag}
            env:
              TZ: ${{TIMEZONE:-Etc/UTC}}
            resources:
              requests:
                cpu: 10m
              limits:
                memory: {memory}Mi
    defaultPodOptions:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        fsGroupChangePolicy: OnRootMismatch
    service:
      app:
        ports:
          http:
            port: {port}
    route:
      app:
        hostnames: ["{{{{ .Release.Name }}}}.${{CLUSTER_DOMAIN}}"]
        parentRefs:
          - name: envoy-internal
            namespace: network
    persistence:
      config:
        # data PVC created by the volsync operations component
        existingClaim: ${{APP}}
        globalMounts:
          - path: /config
      tmp:
        type: emptyDir
"""

NAMESPACE_KUSTOMIZATION = """\
---
# yaml-language-server: $schema=https://json.schemastore.org/kustomization
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {ns}
components:
  - ../../components/common
resources:
{resources}"""

# Defect: a CephFS PV of the app's own, without staticVolume (ceph-csi would try to provision it).
MEDIA_PV = """\
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: media-{app}
spec:
  accessModes: [ReadWriteMany]
  capacity:
    storage: 1Ti
  csi:
    driver: rook-ceph.cephfs.csi.ceph.com
    volumeHandle: media-{app}
    nodeStageSecretRef:
      name: rook-csi-cephfs-node
      namespace: rook-ceph
    volumeAttributes:
      clusterID: rook-ceph
      fsName: cephfs
      rootPath: /media/{app}
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  volumeMode: Filesystem
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: media-{app}
spec:
  accessModes: [ReadWriteMany]
  resources:
    requests:
      storage: 1Ti
  storageClassName: ""
  volumeName: media-{app}
"""


def namespace_name(k: int) -> str:
    base = NAMESPACES[k % len(NAMESPACES)]
    return base if k < len(NAMESPACES) else f"{base}-{k // len(NAMESPACES)}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _items(entries: list[str]) -> str:
    return "".join(f"  {e}\n" for e in entries)


def make_repo(n: int, out: Path, *, defects: bool = False, plan_change: bool = False) -> Path:
    """Write and commit the repository in ``out`` (created; must not exist or be empty)."""
    if n < 1 or (defects and n < 4):
        raise ValueError("need N >= 1 (N >= 4 with --defects)")
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise ValueError(f"{out} is not empty")
    for rel in COPIED:
        src = EXAMPLE / rel
        if src.is_dir():
            shutil.copytree(src, out / rel)
        else:
            shutil.copy2(src, out / rel)

    apps = [f"{BASES[i % len(BASES)]}-{i:04d}" for i in range(n)]
    per_ns = math.ceil(n / math.ceil(n / 100))
    for k in range(math.ceil(n / 100)):
        ns = namespace_name(k)
        entries: list[str] = []
        for i in range(k * per_ns, min(n, (k + 1) * per_ns)):
            app = apps[i]
            app_value = apps[0] if defects and i == n - 1 else "*app"
            overrides = ""
            if i % 3 == 0:
                overrides += f"\n      VOLSYNC_CAPACITY: {i % 20 + 1}Gi"
            if i % 10 == 0:
                overrides += "\n      VOLSYNC_CACHE_CAPACITY: 2Gi"
            folder = out / "kubernetes" / "apps" / ns / app
            _write(folder / "ks.yaml", KS.format(app=app, ns=ns, app_value=app_value, overrides=overrides))
            resources = ["- ./helmrelease.yaml"]
            if defects and i == n - 3:
                resources.append("- ./media-pv.yaml")
                _write(folder / "app" / "media-pv.yaml", MEDIA_PV.format(app=app))
            _write(folder / "app" / "kustomization.yaml", APP_KUSTOMIZATION.format(resources=_items(resources)))
            base = BASES[i % len(BASES)]
            tag, memory, port = f"1.{i % 40}.{i % 7}", 256 + 128 * (i % 8), 8000 + i % 1000
            _write(
                folder / "app" / "helmrelease.yaml",
                HELMRELEASE.format(app=app, base=base, tag=tag, memory=memory, port=port),
            )
            entry = f"- ./{app}/ks.yaml"
            entries.append(f"# {entry}" if defects and i == n - 2 else entry)
        _write(
            out / "kubernetes" / "apps" / ns / "kustomization.yaml",
            NAMESPACE_KUSTOMIZATION.format(ns=ns, resources=_items(entries)),
        )

    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "--no-gpg-sign", "-m", f"{n} apps"]):
        subprocess.run(["git", "-C", str(out), *args], check=True, env=env)
    if plan_change:
        for rel in ("kubernetes/flux/components/volsync/repository/pv.yaml", ".volsync-kit.yaml"):
            path = out / rel
            text = path.read_text()
            if OLD_ROOT not in text:
                raise RuntimeError(f"{rel} has no '{OLD_ROOT}' to change")
            path.write_text(text.replace(OLD_ROOT, NEW_ROOT))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, metavar="N", help="number of apps")
    parser.add_argument("out", type=Path, metavar="OUT_DIR", help="new or empty folder")
    parser.add_argument("--defects", action="store_true", help="add the three deliberate defects")
    parser.add_argument("--plan-change", action="store_true", help="move the shared rootPath in the working tree")
    args = parser.parse_args()
    try:
        make_repo(args.n, args.out, defects=args.defects, plan_change=args.plan_change)
    except ValueError as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
