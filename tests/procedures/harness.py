"""Run a ``plan --format shell`` script end to end against the cluster simulation.

A history is the bundled example repository committed to a real git
repository, then one change committed on top.  volsync-kit renders both
commits; the simulation (``tests/sim``) starts as a settled cluster at the
base commit; the script runs with the simulation's ``kubectl`` and ``flux``
first on PATH.  When the script asks the operator to push, the harness
pushes the head commit to the simulated remote (Flux's source picks it up
at once, the pessimistic case), then answers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.world import KsRender, World, install_bin

from volsync_kit import app as services
from volsync_kit.core.flux import RepoModel
from volsync_kit.core.model import to_plain

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "home-ops"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
CONTEXT = "home"
# Kinds the simulation's root applies itself (Kustomizations), or that are the root.
ROOT_KUSTOMIZATION = ("flux-system", "flux-system")

Edit = tuple[str, str, str]  # path, old text, new text ("" old: append; None-like removal via new "")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})  # fmt: skip
    return done.stdout.strip()


def edit(root: Path, path: str, old: str, new: str) -> None:
    file = root / path
    if old == "" and not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(new)
        return
    text = file.read_text()
    assert old in text, (path, old)
    file.write_text(text.replace(old, new, 1))


def history(tmp: Path, change: list[Edit], prepare: list[Edit] | None = None) -> tuple[Path, str, str]:
    """The example at a base commit (after ``prepare``) and a head commit (after ``change``)."""
    root = tmp / "ops"
    shutil.copytree(EXAMPLE, root)
    git(root, "init", "-q", "-b", "main")
    for path, old, new in prepare or []:
        edit(root, path, old, new)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    base = git(root, "rev-parse", "HEAD")
    for path, old, new in change:
        edit(root, path, old, new)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the change")
    return root, base, git(root, "rev-parse", "HEAD")


def renders(model: RepoModel) -> list[KsRender]:
    """What each Flux Kustomization applies, as the simulation takes it."""
    out: list[KsRender] = []
    seen: set[tuple[str, str, str]] = set()
    for result in model.results:
        ref = result.ks.ref
        if (ref.namespace, ref.name) == ROOT_KUSTOMIZATION or result.status != "rendered":
            continue
        suspend = result.ks.spec("suspend")
        prune = result.ks.spec("prune")
        # An object two Kustomizations render (the example's cluster-settings) would have them
        # fight over its labels in the simulation as in Flux: the first keeps it.
        fresh = [r for r in result.resources if r.kind != "Kustomization" and (r.kind, r.namespace, r.name) not in seen]
        seen.update((r.kind, r.namespace, r.name) for r in fresh)
        objects = [to_plain(r.node) for r in fresh]
        out.append(
            {
                "namespace": ref.namespace,
                "name": ref.name,
                "suspend": getattr(suspend, "value", None) if suspend is not None else None,
                "prune": bool(getattr(prune, "value", False)),
                "objects": [o for o in objects if isinstance(o, dict)],
            }
        )
    return out


@dataclass
class Run:
    code: int
    stderr: str
    stdout: str
    questions: list[str] = field(default_factory=list)


@dataclass
class Cluster:
    """One simulated cluster and the plan's script for one history."""

    tmp: Path
    root: Path
    base: str
    head: str
    script: Path
    state: Path
    env: dict[str, str]

    def world(self) -> World:
        return World.load(self.state)

    def moves(self) -> list[tuple[str, str]]:
        """(old, new) "fsName:rootPath" of each static CephFS volume the change moves."""
        world = self.world()
        base, head = world.static_paths(self.base), world.static_paths(self.head)
        return sorted((base[name], head[name]) for name in base.keys() & head.keys() if base[name] != head[name])

    def run(
        self, *args: str, answer: Callable[[str], str] | None = None, kill_after: str = "", move: bool = True
    ) -> Run:
        """Run the script; ``answer`` gets each question and returns the answer (default: yes).
        ``kill_after`` names a step: the run is killed (SIGKILL, as a lost terminal) at the
        first kubectl or flux call after that step is recorded done.  At the gate of a
        rootPath change the operator copies each directory to its new place (not when
        ``move`` is false: an operator who answers without doing it)."""
        env = {**self.env, "VK_KILL_AFTER": kill_after}
        proc = subprocess.Popen(
            ["bash", str(self.script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert proc.stdin
        assert proc.stdout
        assert proc.stderr
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else ""))
        reader.start()
        err: list[str] = []
        questions: list[str] = []
        for line in proc.stderr:
            err.append(line)
            if line.rstrip().endswith("[y/N]"):
                questions.append(line.strip())
                if "push" in line:
                    world = self.world()
                    world.push(self.head)  # the operator's git push
                    world.save()
                if GATE in line and move:
                    world = self.world()
                    for old, new in self.moves():
                        world.copy_directory(old, new)
                    world.save()
                reply = answer(line) if answer else "y"
                try:
                    proc.stdin.write(reply + "\n")
                    proc.stdin.flush()
                except BrokenPipeError:
                    pass
        code = proc.wait(timeout=600)
        reader.join()
        return Run(code, "".join(err), "".join(out), questions)


GATE = "Did you check every path above?"  # the gate step's question (report/plan_shell.py)

KILLER = """#!/bin/sh
# The simulation's {tool}, killing the whole script first once the step named
# by $VK_KILL_AFTER is recorded done: an operator's terminal lost between steps.
if [ -n "$VK_KILL_AFTER" ] && cat "$VOLSYNC_KIT_STATE_DIR"/*.state 2>/dev/null | grep -qx "done	$VK_KILL_AFTER"; then
  kill -KILL 0
fi
exec {sim} "$@"
"""


def cluster(tmp: Path, change: list[Edit], prepare: list[Edit] | None = None,
            setup: Callable[[World], None] | None = None, *plan_args: str) -> Cluster:  # fmt: skip
    root, base, head = history(tmp, change, prepare)
    plan = services.run_plan(root, base=base, head=head, cache=False)
    state = tmp / "cluster.json"
    world = World.create(state, {base: renders(plan.diff.base_model), head: renders(plan.diff.head_model)}, base,
                         context=CONTEXT)  # fmt: skip
    if setup:
        setup(world)
        world.settle()
        world.save()
    script = tmp / "plan.sh"
    script.write_text(shell_text(root, base, head, *plan_args))
    sim_bin = tmp / "sim-bin"
    env = install_bin(sim_bin, state)
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for tool in ("kubectl", "flux"):
        wrapper = bin_dir / tool
        wrapper.write_text(KILLER.format(tool=tool, sim=sim_bin / tool))
        wrapper.chmod(0o755)
    env = {
        **os.environ,
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}",
        "VOLSYNC_KIT_STATE_DIR": str(tmp / "state"),
        "VOLSYNC_KIT_POLL": "0",
    }
    return Cluster(tmp, root, base, head, script, state, env)


def shell_text(root: Path, base: str, head: str, *plan_args: str) -> str:
    from typer.testing import CliRunner

    from volsync_kit.cli import app

    result = CliRunner().invoke(app, ["plan", "--repo", str(root), "--base", base, "--head", head,
                                      "--format", "shell", "--no-cache", *plan_args])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stdout


def scenario_cluster(tmp: Path, scenario: str, setup: Callable[[World], None] | None = None) -> Cluster:
    """A cluster at the example's commit, and the script of ``plan --scenario``."""
    from typer.testing import CliRunner

    from volsync_kit.cli import app

    c = cluster(tmp, [("README.md", "", "unrelated\n")], None, setup)
    result = CliRunner().invoke(app, ["plan", "--repo", str(c.root), "--format", "shell", "--scenario", scenario])
    assert result.exit_code == 0, result.stderr
    c.script.write_text(result.stdout)
    return c


# -- what the end state must be -----------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What the invariants compare: specs (not status) of every object, what is suspended,
    paused or triggered, replicas, the data, the CephFS paths and what offsite copies hold."""

    specs: dict[str, Any]
    suspended: frozenset[str]
    replicas: dict[str, Any]
    cephfs: dict[str, list[str]]
    contents: dict[str, str]
    remotes: dict[str, Any]

    @classmethod
    def of(cls, world: World) -> Snapshot:
        objects = world.state["objects"]
        specs = {k: {"spec": o.get("spec"), "labels": o["metadata"].get("labels")} for k, o in objects.items()
                 if o.get("kind") not in ("Pod", "Event")}  # fmt: skip
        replicas = {k: o["spec"].get("replicas") for k, o in objects.items() if o.get("kind") in ("Deployment",
                    "StatefulSet")}  # fmt: skip
        return cls(
            specs, frozenset(world.suspended()), replicas, world.cephfs(), claim_contents(world), world.remotes()
        )


def claim_contents(world: World) -> dict[str, str]:
    """``namespace/claim`` -> the data its live volume holds."""
    volumes = {pv["metadata"]["name"]: pv for pv in world.list("PersistentVolume")}
    out: dict[str, str] = {}
    for claim in world.list("PersistentVolumeClaim"):
        pv = volumes.get((claim.get("spec") or {}).get("volumeName") or "")
        if pv is None:
            continue
        handle = ((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle") or pv["metadata"]["name"]
        backing = world.state["backing"].get(handle)
        if backing and not backing["deleted"]:
            out[f"{claim['metadata']['namespace']}/{claim['metadata']['name']}"] = backing["content"]
    return out


def lost(world: World) -> list[str]:
    """Data that no volume holds any more: a deleted volume's content that no
    live volume has (a claim replaced and restored from a fresh backup holds
    the same data again)."""
    live = {b["content"] for b in world.state["backing"].values() if not b["deleted"]}
    return [item for item in world.data_lost() if item.rsplit(" (", 1)[1].rstrip(")") not in live]


def stopped_by_hand(world: World) -> list[str]:
    """Movers paused or left with a manual trigger that git does not set."""
    out = []
    for kind in ("ReplicationSource", "ReplicationDestination"):
        for o in world.list(kind):
            spec = o.get("spec") or {}
            name = f"{kind}/{o['metadata'].get('namespace')}/{o['metadata']['name']}"
            if spec.get("paused"):
                out.append(f"{name} paused")
            manual = (spec.get("trigger") or {}).get("manual")
            if manual and str(manual).startswith("volsync-kit-"):
                out.append(f"{name} trigger {manual}")
    return out


def kill(pid: int) -> None:
    os.killpg(pid, signal.SIGKILL)
