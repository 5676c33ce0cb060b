"""The plain commands of the markdown checklist, typed by a person in order,
end to end against the cluster simulation.

The script (``--format shell``) is the tested way to run a plan; the markdown
shows the same procedure as commands a person reads and may type. Those are
batched per kind and namespace (``kubectl -n media delete pvc a b``), so each
batch must be a command kubectl and flux accept, and the whole list must
reach the same end state: the head's objects, nothing left suspended, paused
or triggered, no data lost.

What a person fills in is filled in here: the push, the unique trigger, the
replicas each workload had, and the copy of each repository to its new place
that the gate asks for. A history where an app was suspended before
the plan is left out: plain commands cannot know it, which is why the
markdown sends people to the script.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from harness import Snapshot, cluster
from test_end_to_end import HISTORIES, check_end_state

from volsync_kit import app as services

# kubectl wait -l fails when nothing matches (kubernetes/kubernetes#96676); the
# pause step's note says this means no mover was running.
NOTHING_TO_WAIT_FOR = "error: no matching resources found\n"
SCALE_UP = re.compile(r"-l (?:app\.kubernetes\.io/instance=(\S+)|'app\.kubernetes\.io/instance in \(([^)]*)\)') ")


def _replicas(command: str, before: Snapshot) -> str:
    """``--replicas=<as before>``: the replicas the release's workloads had (one count per command)."""
    match = SCALE_UP.search(command)
    assert match, command
    releases = (match.group(1) or match.group(2)).split(",")
    counts = {v for k, v in before.replicas.items() if any(f"/{r}" in k for r in releases)}
    assert len(counts) == 1, (command, counts)
    return command.replace("<as before>", str(counts.pop()))


@pytest.mark.parametrize("name", sorted(set(HISTORIES) - {"already-suspended"}))
def test_the_markdown_commands_typed_in_order_reach_the_head(tmp_path: Path, name: str) -> None:
    change, prepare, setup = HISTORIES[name]
    c = cluster(tmp_path, change, prepare, setup)
    before = Snapshot.of(c.world())
    plan = services.run_plan(c.root, base=c.base, head=c.head, cache=False)
    typed = 0
    for step in plan.steps:
        if step.kind == "gate":  # the person makes each new place hold its repository
            world = c.world()
            for old, new in c.moves():
                world.copy_directory(old, new)
            world.save()
        for command in step.commands:
            if command == "git push":
                world = c.world()
                world.push(c.head)
                world.save()
                continue
            command = command.replace("<unique>", "by-hand")
            if "<as before>" in command:
                command = _replicas(command, before)
            done = subprocess.run(["bash", "-c", command], env=c.env, capture_output=True, text=True, check=False)
            typed += 1
            if done.returncode and " wait --for=delete pod -l " in command:
                assert done.stderr == NOTHING_TO_WAIT_FOR, (command, done.stderr)
                assert any("no matching resources found" in note for note in step.notes)
                continue
            assert done.returncode == 0, (step.kind, command, done.stderr)
    assert typed
    check_end_state(c, before)
