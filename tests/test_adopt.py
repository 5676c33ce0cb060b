"""`generate --adopt` takes over a hand-written repository component without
changing any object Kubernetes holds (issue 17, items 1-4).

Each test commits a repository shaped like examples/home-ops with a
hand-written component, adopts it, and asks `plan` (the working tree against
the commit) what changed: adoption must show no replacement and no deletion,
and a second `generate` must change nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from helpers_repo import EXAMPLE, REPO_COMPONENT, git
from typer.testing import CliRunner

from volsync_kit.cli import app

runner = CliRunner()


def cli(repo: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--repo", str(repo)])
    return result.exit_code, result.stdout, result.stderr


def example(tmp_path: Path, component: dict[str, str] | None = None, config_extra: str = "") -> Path:
    """The example with ``component`` (file name -> text) as its repository component, committed."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    if component is not None:
        folder = repo / REPO_COMPONENT
        shutil.rmtree(folder)
        folder.mkdir()
        for name, text in component.items():
            (folder / name).write_text(textwrap.dedent(text).lstrip("\n"))
    if config_extra:
        config = repo / ".volsync-kit.yaml"
        config.write_text(config.read_text() + textwrap.dedent(config_extra))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def plan_changes(repo: Path) -> list[dict[str, object]]:
    code, out, err = cli(repo, "plan", "--format", "json", "--no-cache")
    assert code == 0, err
    changes: list[dict[str, object]] = json.loads(out)["changes"]
    return changes


def changed_files(repo: Path) -> list[str]:
    done = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True)
    return sorted(line[3:] for line in done.stdout.splitlines())


def adopt_and_check(repo: Path) -> str:
    """Adopt, and check the promises: no object changes, a second generate changes nothing."""
    code, _, err = cli(repo, "generate", "--adopt")
    assert code == 0, err
    assert "next: `volsync-kit plan`" in err
    assert plan_changes(repo) == []
    assert cli(repo, "generate") == (0, "", "volsync-kit: up to date\n")
    assert cli(repo, "generate", "--check")[0] == 0
    return err


def test_the_examples_split_component_is_adopted_unchanged(tmp_path: Path) -> None:
    """Repository and operations in two components, as examples/home-ops has them."""
    repo = example(tmp_path)
    original = (repo / ".volsync-kit.yaml").read_text()
    err = adopt_and_check(repo)
    assert (repo / ".volsync-kit.yaml").read_text().startswith(original)  # the user's lines kept as written
    assert changed_files(repo) == [
        ".volsync-kit.yaml",
        f"{REPO_COMPONENT}/kustomization.yaml",
        f"{REPO_COMPONENT}/pv.yaml",
        f"{REPO_COMPONENT}/pvc.yaml",
    ]
    config = (repo / ".volsync-kit.yaml").read_text()
    assert f"operations: {REPO_COMPONENT.rsplit('/', 1)[0]}/operations" in config
    assert "clusterID: ${CEPH_CLUSTER_ID:-rook-ceph}" in config
    assert "pvName" not in config  # the default, not repeated
    assert "regenerated" in err
    assert cli(repo, "lint", "-q")[0] == 0


PV_OWN_NAMES = """
    ---
    apiVersion: v1
    kind: PersistentVolume
    metadata:
      name: volsync-${APP}-repo-pv
      labels:
        app.kubernetes.io/part-of: volsync
    spec:
      accessModes: ["ReadWriteMany"]
      capacity:
        storage: "${VOLSYNC_CAPACITY:-5Gi}"
      csi:
        driver: rook-ceph.cephfs.csi.ceph.com
        volumeHandle: volsync-${APP}-repo
        nodeStageSecretRef:
          name: rook-csi-cephfs-node
          namespace: rook-ceph
        volumeAttributes:
          clusterID: rook-ceph
          fsName: cephfs
          staticVolume: "true"
          rootPath: /volsync/${APP}
      mountOptions: ["noatime"]
      storageClassName: ""
"""
PVC_OWN_NAMES = """
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: volsync-${APP}-repo
      annotations:
        kustomize.toolkit.fluxcd.io/prune: disabled
    spec:
      accessModes: ["ReadWriteMany"]
      resources:
        requests:
          storage: "${VOLSYNC_CAPACITY:-5Gi}"
      storageClassName: ""
      volumeName: volsync-${APP}-repo-pv
"""
KUSTOMIZATION = """
    ---
    apiVersion: kustomize.config.k8s.io/v1alpha1
    kind: Component
    resources:
{resources}
"""


# The sections generate renders from, for the example's component (fsName left to fill in).
GENERATE_SECTIONS = """
    repository:
      clusterID: rook-ceph
      fsName: ${FS}
      rootPath: /volsync/${APP}
      nodeStageSecret: {name: rook-csi-cephfs-node, namespace: rook-ceph}
    components:
      repository: kubernetes/flux/components/volsync/repository
"""


def kustomization(*files: str) -> str:
    return KUSTOMIZATION.format(resources="\n".join(f"      - ./{f}" for f in files))


def test_a_component_with_its_own_names_keeps_them_in_its_own_files(tmp_path: Path) -> None:
    """volumeHandle volsync-${APP}-repo, repository-pv.yaml and repository-pvc.yaml,
    labels, annotations, mountOptions and a ${VOLSYNC_CAPACITY:-5Gi} capacity."""
    repo = example(
        tmp_path,
        {
            "kustomization.yaml": kustomization("repository-pv.yaml", "repository-pvc.yaml"),
            "repository-pv.yaml": PV_OWN_NAMES,
            "repository-pvc.yaml": PVC_OWN_NAMES,
        },
    )
    adopt_and_check(repo)
    folder = repo / REPO_COMPONENT
    assert sorted(p.name for p in folder.iterdir()) == [
        "kustomization.yaml",
        "repository-pv.yaml",
        "repository-pvc.yaml",
    ]
    pv = (folder / "repository-pv.yaml").read_text()
    assert pv.startswith("# Generated by `volsync-kit generate`")
    assert "volumeHandle: volsync-${APP}-repo\n" in pv
    config = (repo / ".volsync-kit.yaml").read_text()
    assert "volumeHandle: volsync-${APP}-repo\n" in config
    assert "capacityVariable: VOLSYNC_CAPACITY" in config
    assert "pv: repository-pv.yaml" in config


def test_a_component_holding_more_than_the_volume_keeps_its_kustomization(tmp_path: Path) -> None:
    """PV and PVC in one file, next to an object of the user's own that the
    component's kustomization also lists: generate writes the one file only."""
    extra = """
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${APP}-restic-notes
        data:
          note: kept by hand
    """
    repo = example(
        tmp_path,
        {
            "kustomization.yaml": kustomization("repository.yaml", "notes.yaml"),
            "repository.yaml": PV_OWN_NAMES + PVC_OWN_NAMES.replace("    ---\n", "    ---\n", 1),
            "notes.yaml": extra,
        },
    )
    before = (repo / REPO_COMPONENT / "kustomization.yaml").read_text()
    adopt_and_check(repo)
    assert (repo / REPO_COMPONENT / "kustomization.yaml").read_text() == before
    assert changed_files(repo) == [".volsync-kit.yaml", f"{REPO_COMPONENT}/repository.yaml"]
    config = (repo / ".volsync-kit.yaml").read_text()
    assert "kustomization: false" in config
    text = (repo / REPO_COMPONENT / "repository.yaml").read_text()
    assert text.count("kind: PersistentVolume\n") == 1
    assert text.count("kind: PersistentVolumeClaim\n") == 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('  storageClassName: ""\n', "", "the claim's storageClassName differs"),
        (
            "  mountOptions:",
            "  claimRef:\n    name: volsync-${APP}-repo\n    namespace: default\n  mountOptions:",
            "PersistentVolume spec.claimRef: the template cannot write it",
        ),
        ('storage: "${VOLSYNC_CAPACITY:-5Gi}"', 'storage: "${VOLSYNC_CAPACITY}"', "spec.capacity.storage is"),
    ],
)
def test_what_the_template_cannot_write_is_said_and_nothing_is_written(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    written = textwrap.dedent(PV_OWN_NAMES)
    pv = written.replace(old, new)
    assert pv != written
    repo = example(
        tmp_path,
        {"kustomization.yaml": kustomization("pv.yaml", "pvc.yaml"), "pv.yaml": pv, "pvc.yaml": PVC_OWN_NAMES},
    )
    code, _, err = cli(repo, "generate", "--adopt")
    assert code == 1
    assert expected in err
    assert re.search(rf"^volsync-kit: {re.escape(REPO_COMPONENT)}/pvc?\.yaml:\d+: ", err, re.MULTILINE)
    assert "nothing written" in err
    assert changed_files(repo) == []


def test_generate_over_a_hand_written_component_says_adopt_first(tmp_path: Path) -> None:
    repo = example(
        tmp_path,
        config_extra=GENERATE_SECTIONS.replace("${FS}", "cephfs"),
    )
    code, _, err = cli(repo, "generate", "--check")
    assert code == 1
    assert "volsync-kit did not write the component: to keep every volume as it is, remove repository:" in err
    code, _, err = cli(repo, "generate")
    assert code == 2
    assert f"refusing to overwrite {REPO_COMPONENT}/pv.yaml: volsync-kit did not write it" in err
    assert "generate --adopt" in err
    assert changed_files(repo) == []
    code, _, err = cli(repo, "generate", "--adopt")
    assert code == 2
    assert "already has repository: and components:" in err


def test_a_config_without_the_generate_sections_names_adopt(tmp_path: Path) -> None:
    repo = example(tmp_path)
    code, _, err = cli(repo, "generate")
    assert code == 2
    assert err.count("\n") == 1
    assert "has no repository: and components: section" in err
    assert "`volsync-kit generate --adopt`" in err


def test_generate_reports_the_files_its_kustomization_no_longer_lists(tmp_path: Path) -> None:
    repo = example(
        tmp_path,
        {
            "kustomization.yaml": kustomization("repository-pv.yaml", "repository-pvc.yaml"),
            "repository-pv.yaml": PV_OWN_NAMES,
            "repository-pvc.yaml": PVC_OWN_NAMES,
        },
        config_extra=GENERATE_SECTIONS.replace("${FS}", "cephfs"),
    )
    code, _, err = cli(repo, "generate", "--force")
    assert code == 0, err
    for name in ("repository-pv.yaml", "repository-pvc.yaml"):
        assert f"{REPO_COMPONENT}/{name} is no longer listed by the component; delete it" in err
        assert (repo / REPO_COMPONENT / name).exists()  # reported, never deleted


def test_lint_expects_what_the_repository_section_generates(tmp_path: Path) -> None:
    """Without expect:, lint holds the component to repository: (here, another fsName)."""
    repo = example(tmp_path)
    config = repo / ".volsync-kit.yaml"
    text = config.read_text()
    config.write_text(
        text[: text.index("expect:")]
        + text[text.index("operator:") :]
        + textwrap.dedent(GENERATE_SECTIONS.replace("${FS}", "otherfs"))
    )
    code, out, _ = cli(repo, "lint", "--format", "json", "--no-cache")
    assert code == 1
    findings = json.loads(out)["findings"]
    fs_name = [f for f in findings if f["rule"] == "VK401" and "fsName" in f["message"]]
    assert f"{REPO_COMPONENT}/pv.yaml" in {f["path"] for f in fs_name}, findings


def test_a_component_that_does_not_parse_is_named_with_its_error(tmp_path: Path) -> None:
    broken = textwrap.dedent(PV_OWN_NAMES).replace("  accessModes:", "\taccessModes:")
    repo = example(
        tmp_path,
        {"kustomization.yaml": kustomization("pv.yaml", "pvc.yaml"), "pv.yaml": broken, "pvc.yaml": PVC_OWN_NAMES},
    )
    code, _, err = cli(repo, "generate", "--adopt")
    assert code == 2
    assert err.count("\n") == 1
    assert re.match(rf"volsync-kit: error: {re.escape(REPO_COMPONENT)}/pv\.yaml:\d+:\d+: .*tab", err)
    assert err.rstrip().endswith("fix it, then run `volsync-kit generate --adopt` again")
    assert changed_files(repo) == []


def test_without_a_config_adopt_writes_a_new_one(tmp_path: Path) -> None:
    repo = example(tmp_path)
    (repo / ".volsync-kit.yaml").unlink()
    git(repo, "commit", "-qam", "no config")
    adopt_and_check(repo)
    config = (repo / ".volsync-kit.yaml").read_text()
    assert config.startswith("# Written by `volsync-kit generate --adopt`")
    assert "repository:\n" in config
