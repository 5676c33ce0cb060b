"""Never green by accident: what a lint run could not check is said on stderr.

Through the CLI, as pre-commit and CI run it, on small home-ops repositories
written from scratch: a run that checks no app, and named files (FILES) that
no rendered app reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_repo import CLUSTER_KS, app_ks, home_ops, write_repo
from lint_helpers import EXAMPLE, REPO_PV
from typer.testing import CliRunner

from volsync_kit.cli import app as cli

runner = CliRunner()
NO_APP = "volsync-kit: checked 0 apps: no Flux Kustomization rendered a VolSync volume"
TEMPLATE = "kubernetes/templates/volsync-media"
REPOSITORY = "../../../../flux/components/volsync/repository"

# A component two apps list, whose kustomization names a file that is not there:
# both apps fail to render.
TEMPLATE_FILES = {
    f"{TEMPLATE}/kustomization.yaml": """
        ---
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        resources:
          - ./pv.yaml
          - ./replicationsource.yaml
    """,
    f"{TEMPLATE}/pv.yaml": """
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
              staticVolume: "true"
              rootPath: /media/${APP}
          persistentVolumeReclaimPolicy: Retain
          storageClassName: ""
    """,
}
LEFTOVER = """
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: leftover
"""


def run(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(root)  # FILES relative to the work tree, as pre-commit passes them
    result = runner.invoke(cli, ["lint", "--repo", ".", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_run_that_checks_no_app_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apps = {"media": ["radarr", "sonarr"]}
    no_volsync = {("media", app): app_ks("media", app, components=()) for app in apps["media"]}
    root = write_repo(tmp_path / "home-ops", home_ops(apps, ks_overrides=no_volsync))
    code, out, err = run(root, monkeypatch)
    assert code == 0
    assert err == NO_APP + "\n"
    summary = out.splitlines()[-1]
    assert summary.startswith("0 error(s), 0 warning(s), 0 info, 0 suppressed; 0 app(s), ")
    assert summary.endswith(" file(s); incomplete: 1 note on stderr")
    code, out, err = run(root, monkeypatch, "--format", "json")
    assert (code, err) == (0, NO_APP + "\n")
    assert json.loads(out)["summary"]["apps"] == 0


def test_a_run_whose_apps_all_fail_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = home_ops({"media": ["radarr"]})
    files["kubernetes/flux/cluster/ks.yaml"] = CLUSTER_KS.replace("path: ./kubernetes/apps", "path: ./kubernetes/appz")
    root = write_repo(tmp_path / "home-ops", files)
    code, _, err = run(root, monkeypatch)
    assert code == 1  # VK308: cluster-apps' path is not there
    assert err == NO_APP + ", and 1 failed to render\n"


def test_named_files_no_rendered_app_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apps = {"media": ["radarr", "sonarr"], "default": ["paperless"]}
    with_template = {
        ("media", app): app_ks("media", app, components=(REPOSITORY, "../../../../templates/volsync-media"))
        for app in apps["media"]
    }
    files = {
        **home_ops(apps, ks_overrides=with_template),
        **TEMPLATE_FILES,
        "kubernetes/apps/media/radarr/app/leftover.yaml": LEFTOVER,
        "kubernetes/apps/default/paperless/app/leftover.yaml": LEFTOVER,
        "Taskfile.yaml": "version: '3'\n",
    }
    root = write_repo(tmp_path / "home-ops", files)
    named = [
        f"{TEMPLATE}/kustomization.yaml",
        f"{TEMPLATE}/pv.yaml",
        "kubernetes/apps/media/radarr/app/leftover.yaml",
        "kubernetes/apps/default/paperless/app/leftover.yaml",
        "kubernetes/apps/default/paperless/app/helmrelease.yaml",  # paperless renders: checked
        "Taskfile.yaml",  # not Flux's input: no note
    ]
    code, out, err = run(root, monkeypatch, *named)
    assert code == 1  # VK308: radarr and sonarr fail on the missing replicationsource.yaml
    assert err.splitlines() == [
        "volsync-kit: kubernetes/apps/default/paperless/app/leftover.yaml: not checked: no Flux Kustomization reads it",
        "volsync-kit: kubernetes/apps/media/radarr/app/leftover.yaml: not checked: "
        "every app that may read it failed to render (1 app)",
        f"volsync-kit: {TEMPLATE}/kustomization.yaml: not checked: "
        "every app that may read it failed to render (2 apps)",
        f"volsync-kit: {TEMPLATE}/pv.yaml: checked only as written: "
        "every app that may read it failed to render (2 apps)",
    ]
    summary = out.splitlines()[-1]
    assert "; 1 app(s), " in summary
    assert summary.endswith(" file(s); incomplete: 4 notes on stderr")


def test_a_clean_run_has_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(EXAMPLE, monkeypatch, REPO_PV)
    assert (code, err) == (0, "")
    assert "incomplete" not in out
