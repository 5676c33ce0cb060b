"""The file view covers only what Flux reads.

Small home-ops repositories written from scratch: a Helm chart whose
``templates/`` hold ``{{ .Values.x }}`` PersistentVolumes, and a fill-in
VolSync template folder that is judged only once a Flux Kustomization lists
it (as a component, or through an app's ``kustomization.yaml``).
"""

from __future__ import annotations

from pathlib import Path

from helpers_repo import REPO_COMPONENT, app_ks, home_ops, line_of, write_repo
from lint_helpers import hits, lint

from volsync_kit.core.findings import LintResult

APPS = {"media": ["radarr", "sonarr"], "default": ["paperless"]}
CHART = "kubernetes/charts/media-volumes"
TEMPLATE = "kubernetes/templates/volsync-media"
TEMPLATE_PV = f"{TEMPLATE}/pv.yaml"
VOLSYNC_COMPONENTS = (
    "../../../../flux/components/volsync/repository",
    "../../../../flux/components/volsync/operations",
)

# A Helm chart in the repository, as some home-ops keep one for a HelmRelease
# with a GitRepository chart source: Go templates, not Kubernetes YAML.
CHART_FILES = {
    f"{CHART}/Chart.yaml": """
        ---
        apiVersion: v2
        name: media-volumes
        version: 0.1.0
    """,
    f"{CHART}/values.yaml": """
        ---
        name: media
        rootPath: /media
    """,
    # does not parse as YAML: {{ }} is a flow mapping
    f"{CHART}/templates/pv.yaml": """
        ---
        apiVersion: v1
        kind: PersistentVolume
        metadata:
          name: {{ .Values.name }}-pv
        spec:
          csi:
            driver: rook-ceph.cephfs.csi.ceph.com
            volumeHandle: {{ .Values.name }}-pv
            volumeAttributes:
              {{- toYaml .Values.attributes | nindent 6 }}
    """,
    # parses, and would break VK101 and VK102
    f"{CHART}/templates/pv-quoted.yaml": """
        ---
        apiVersion: v1
        kind: PersistentVolume
        metadata:
          name: "{{ .Values.name }}-quoted-pv"
        spec:
          accessModes: ["ReadWriteMany"]
          capacity:
            storage: 1Ti
          csi:
            driver: rook-ceph.cephfs.csi.ceph.com
            volumeHandle: "{{ .Values.name }}-quoted-pv"
          storageClassName: ""
    """,
    # mentions Flux's API group: the scan for Kustomizations parses it
    f"{CHART}/templates/ks.yaml": """
        ---
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: {{ .Values.name }}-volumes
    """,
}

TEMPLATE_KUSTOMIZATION = """
---
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./pv.yaml
"""

# A fill-in template: staticVolume is the YAML boolean (VK101).
FILL_IN_PV = """
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${APP}-media-pv
spec:
  accessModes: ["ReadWriteMany"]
  capacity:
    storage: 1Ti
  csi:
    driver: rook-ceph.cephfs.csi.ceph.com
    volumeHandle: ${APP}-media-pv
    volumeAttributes:
      clusterID: rook-ceph
      fsName: cephfs
      staticVolume: true
      rootPath: /media/${APP}
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
"""
FILL_IN_LINE = line_of(FILL_IN_PV, "staticVolume")


def repo(tmp_path: Path, extra: dict[str, str], **ks: str) -> Path:
    files = home_ops(APPS, ks_overrides={("media", "radarr"): ks["radarr"]} if "radarr" in ks else None)
    return write_repo(tmp_path / "home-ops", {**files, **extra})


def in_folder(result: LintResult, folder: str) -> list[str]:
    return [f"{f.rule} {f.loc}" for f in result.findings if f.loc and f.loc.file.startswith(folder + "/")]


def test_helm_chart_templates_are_not_judged(tmp_path: Path) -> None:
    root = repo(tmp_path, CHART_FILES)
    result = lint(root)
    assert in_folder(result, CHART) == []
    assert hits(result, "VK001") == []
    assert result.apps == 3


def test_unlisted_fill_in_template_is_not_judged(tmp_path: Path) -> None:
    root = repo(tmp_path, {f"{TEMPLATE}/kustomization.yaml": TEMPLATE_KUSTOMIZATION, TEMPLATE_PV: FILL_IN_PV})
    assert in_folder(lint(root), TEMPLATE) == []


def test_fill_in_template_listed_as_a_component_is_judged(tmp_path: Path) -> None:
    radarr = app_ks("media", "radarr", components=(*VOLSYNC_COMPONENTS, "../../../../templates/volsync-media"))
    root = repo(
        tmp_path, {f"{TEMPLATE}/kustomization.yaml": TEMPLATE_KUSTOMIZATION, TEMPLATE_PV: FILL_IN_PV}, radarr=radarr
    )
    # the file view reports it once; radarr's rendering repeats it at the same place
    assert hits(lint(root), "VK101") == [("VK101", TEMPLATE_PV, FILL_IN_LINE, None)]


def test_component_of_an_app_that_fails_to_render_is_still_judged_as_written(tmp_path: Path) -> None:
    radarr = app_ks(
        "media",
        "radarr",
        components=(*VOLSYNC_COMPONENTS, "../../../../templates/volsync-media"),
        path="./kubernetes/apps/media/radarr/missing",
    )
    root = repo(
        tmp_path, {f"{TEMPLATE}/kustomization.yaml": TEMPLATE_KUSTOMIZATION, TEMPLATE_PV: FILL_IN_PV}, radarr=radarr
    )
    result = lint(root)
    assert [f.app for f in result.findings if f.rule == "VK308"] == ["radarr"]
    assert hits(result, "VK101") == [("VK101", TEMPLATE_PV, FILL_IN_LINE, None)]


def test_fill_in_left_in_an_app_folder_is_judged_once_its_kustomization_lists_it(tmp_path: Path) -> None:
    pv = "kubernetes/apps/media/radarr/app/pv.yaml"
    root = repo(tmp_path, {pv: FILL_IN_PV})
    assert in_folder(lint(root), "kubernetes/apps/media/radarr/app") == []

    kustomization = root / "kubernetes/apps/media/radarr/app/kustomization.yaml"
    text = kustomization.read_text(encoding="utf-8")
    kustomization.write_text(text.replace("  - ./helmrelease.yaml\n", "  - ./helmrelease.yaml\n  - ./pv.yaml\n"))
    assert hits(lint(root), "VK101") == [("VK101", pv, FILL_IN_LINE, None)]


def test_yaml_syntax_of_a_file_flux_reads_is_still_reported(tmp_path: Path) -> None:
    root = repo(tmp_path, {})
    pv = f"{REPO_COMPONENT}/pv.yaml"
    text = (root / pv).read_text(encoding="utf-8")
    (root / pv).write_text(text.replace("  name: volsync-${APP}-repo-pv\n", "  name: {volsync-${APP}-repo-pv\n"))
    assert {f.loc.file for f in lint(root).findings if f.rule == "VK001" and f.loc} == {pv}
