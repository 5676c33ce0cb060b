"""The safety invariants README states (issue 7), each on real plans and runs.

1. No command in any plan deletes data on CephFS: the shell plan runs kubectl
   and flux only, on named objects; no rm, no ceph.
2. Every deletion in a plan comes after the suspension of the Flux
   Kustomization that would re-create the object.
3. ``generate`` writes atomically: a run killed at any moment leaves each file
   either as it was or as generated, never in between.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers_repo import committed_example
from test_properties import check_command, shell_commands

from volsync_kit import app as services
from volsync_kit.core.planner import Plan
from volsync_kit.report import plan_shell

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
PV = "kubernetes/flux/components/volsync/repository/pv.yaml"
PVC = "kubernetes/flux/components/volsync/repository/pvc.yaml"
KIND_ALIASES = {"pv": "PersistentVolume", "pvc": "PersistentVolumeClaim"}
KIND_ALIASES |= {"replicationsource": "ReplicationSource", "replicationdestination": "ReplicationDestination"}


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))


CHANGES = {
    "root-path-moved": lambda r: edit(r, PV, "rootPath: /volsync/${APP}", "rootPath: /volsync/moved/${APP}"),
    "fs-name-changed": lambda r: edit(r, PV, 'fsName: "${CEPHFS_NAME:-cephfs}"', "fsName: cephfs-new"),
    "app-removed": lambda r: edit(r, "kubernetes/apps/media/kustomization.yaml", "  - ./sonarr/ks.yaml\n", ""),
    "claim-only": lambda r: edit(r, PVC, "ReadWriteMany", "ReadWriteOnce"),
    "component-dropped": lambda r: edit(
        r, "kubernetes/apps/media/radarr/ks.yaml", "    - ../../../../flux/components/volsync/repository\n", ""
    ),
}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return committed_example(tmp_path)


def plans(repo: Path, change: str) -> list[Plan]:
    CHANGES[change](repo)
    return [
        services.run_plan(repo, cache=False),
        services.run_plan(repo, cache=False, scenario="full-reset"),
        services.run_plan(repo, cache=False, scenario="stuck-cache"),
    ]


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_no_command_of_any_plan_deletes_cephfs_data(example: Path, change: str) -> None:
    for plan in plans(example, change):
        script = plan_shell.to_shell(plan, yes=True)
        commands = shell_commands(script)
        for argv in commands:
            check_command(argv)  # kubectl or flux, on valid names only
        for step in plan.steps:
            for command in step.commands:
                words = shlex.split(command)
                assert "rm" not in words
                assert "ceph" not in words
                assert "subvolume" not in words
                if words[:1] in (["kubectl"], ["flux"]) and "delete" in words:
                    kind = words[words.index("delete") + 1]
                    assert kind in ("pvc", "pv", "replicationsource", "replicationdestination", "pod", "job"), command


def _deleted(command: str) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of each object of a ``kubectl [-n ns] delete <kind> <name>...`` command."""
    words = shlex.split(command)
    if words[:1] != ["kubectl"] or "delete" not in words:
        return []
    namespace = words[words.index("-n") + 1] if "-n" in words else ""
    at = words.index("delete")
    kind = KIND_ALIASES.get(words[at + 1], words[at + 1])
    rest = words[at + 2 :]
    names = rest[: next((i for i, w in enumerate(rest) if w.startswith("-")), len(rest))]
    return [(kind, namespace, name) for name in names]


SUSPEND = re.compile(r"^flux suspend kustomization ((?:[a-z0-9.-]+ )+)-n (\S+)$")


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_deletion_follows_the_suspension_of_its_kustomization(example: Path, change: str) -> None:
    plan = plans(example, change)[0]
    owners = {(c.kind, c.namespace, c.name): c.ks for c in plan.diff.changes}
    suspended: set[tuple[str, str]] = set()
    deletions = 0
    for step in plan.steps:
        for command in step.commands:
            if match := SUSPEND.match(command):
                suspended.update((match.group(2), name) for name in match.group(1).split())
            for target in _deleted(command):
                if target not in owners:
                    continue
                deletions += 1
                ks = owners[target]
                if change == "app-removed" or any(c.ks_removed for c in plan.diff.changes if c.ks == ks):
                    continue  # its Kustomization is gone from git: nothing re-creates the object
                assert (ks.namespace, ks.name) in suspended, f"{command} before suspending {ks}"
    # Flux prunes what it no longer renders; everything else the plan deletes itself.
    if any(c.action == "replace" or (c.action == "delete" and not c.prune) for c in plan.diff.changes):
        assert deletions


def test_generate_killed_at_any_moment_leaves_old_or_new_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    settings = yaml.safe_load((ROOT / "tests" / "fixtures" / "generate" / "volsync-kit.yaml").read_text())
    config = repo / ".volsync-kit.yaml"
    config.write_text(config.read_text() + yaml.safe_dump({k: settings[k] for k in ("repository", "components")}))
    folder = repo / "kubernetes/flux/components/volsync/repository"
    old = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = subprocess.run(
        [sys.executable, "-m", "volsync_kit", "generate", "--force", "--repo", str(repo)], capture_output=True
    )
    assert done.returncode == 0, done.stderr
    new = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert new != old
    outcomes = set()
    for delay in [0.05 * i for i in range(16)]:
        for name, data in old.items():
            (folder / name).write_bytes(data)
        proc = subprocess.Popen(
            [sys.executable, "-m", "volsync_kit", "generate", "--force", "--repo", str(repo)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in folder.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                continue  # SIGKILL leaves a temporary file, never a half-written target
            assert path.read_bytes() in (old.get(path.name), new.get(path.name)), f"{path.name} is half-written"
            outcomes.add("new" if path.read_bytes() == new.get(path.name) else "old")
        for leftover in folder.glob(".*.tmp"):
            leftover.unlink()  # SIGKILL cannot clean up; the file was never the target
    assert "old" in outcomes
