"""The simulation is strict enough to fail a wrong procedure: each test breaks
one rule of the generated script and shows the damage the end-to-end tests
would report. Without these, a passing end-to-end run could mean a lenient
simulation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import Cluster, Edit, Run, cluster, lost, stopped_by_hand
from sim.world import World
from test_end_to_end import (
    KOPIA,
    OFFSITE,
    REMOVE_RADARR,
    ROOT_PATH,
    RSYNC_TLS,
    backing_up_sonarr,
    copying_offsite,
    replicating_over_tls,
)


def broken(c: Cluster, old: str, new: str) -> None:
    text = c.script.read_text()
    assert old in text, old
    c.script.write_text(text.replace(old, new))


def test_without_suspending_flux_recreates_what_is_deleted_and_the_resume_fails(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH)
    broken(c, '  fluxcli suspend "$kind" "$name" -n "$ns"\n', "  :\n")
    run = c.run()
    # Flux re-creates the claim from the base commit at once; after the push the old
    # volume cannot be changed in place (immutable), and the Kustomization fails.
    assert run.code != 0 or c.world().differs_from_git() != []


PAUSE = """  kube -n "$ns" patch "$res" "$name" --type merge -p '{"spec":{"paused":true}}'\n"""
WAIT = '    kube -n "$1" wait --for=delete $pods --timeout="$TIMEOUT"\n'


# A mover of sonarr's repository claim that runs when the operator starts, the setup that
# starts it, and the prefix of its pods' names (each mover's Job: sim.world._job).
RUNNING: dict[str, tuple[list[Edit] | None, Callable[[World], None], str]] = {
    "restic": (None, backing_up_sonarr, "volsync-src-sonarr-"),
    "kopia": (KOPIA, backing_up_sonarr, "volsync-src-sonarr-"),
    "rclone": (OFFSITE, copying_offsite, "volsync-rclone-src-sonarr-offsite-"),
    "rsyncTLS": (RSYNC_TLS, replicating_over_tls, "volsync-rsync-tls-src-sonarr-rsync-"),
}


def unpaused_backup(tmp: Path, mover: str, *skipped: tuple[str, str]) -> tuple[Run, dict[str, Any]]:
    """The rootPath plan while a mover of sonarr's repository claim runs, with the steps
    ``skipped``; the run and sonarr's repository claim after it."""
    prepare, setup, _ = RUNNING[mover]
    c = cluster(tmp, ROOT_PATH, prepare, setup)
    for old, new in skipped:
        broken(c, old, new)
    run = c.run()
    claim = c.world().get("PersistentVolumeClaim", "volsync-sonarr-repo", "media")
    assert claim is not None
    return run, claim


@pytest.mark.parametrize("mover", sorted(RUNNING))
def test_without_pausing_a_running_backup_the_wait_for_its_pod_stops_the_run(tmp_path: Path, mover: str) -> None:
    run, claim = unpaused_backup(tmp_path, mover, (PAUSE, "  :\n"))
    assert run.code != 0
    assert "step 3/8" in run.stderr
    assert "step 4/8" not in run.stderr
    assert f"timed out waiting for the condition on pods/{RUNNING[mover][2]}" in run.stderr
    assert "deletionTimestamp" not in claim["metadata"]  # stopped before deleting anything


@pytest.mark.parametrize("mover", sorted(RUNNING))
def test_without_pausing_or_waiting_a_running_backup_holds_its_claim_terminating(tmp_path: Path, mover: str) -> None:
    run, claim = unpaused_backup(tmp_path, mover, (PAUSE, "  :\n"), (WAIT, "    :\n"))
    # pvc-protection keeps the claim a running mover pod mounts; the guard lets VolSync's
    # own pods through, as pausing is what stops them.
    assert run.code != 0
    assert "timed out waiting for the condition on persistentvolumeclaims/volsync-sonarr-repo" in run.stderr
    assert "deletionTimestamp" in claim["metadata"]


def test_a_manual_trigger_left_behind_stops_the_schedule(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH)
    broken(
        c,
        """    kube -n "$ns" patch "$res" "$name" --type merge -p '{"spec":{"trigger":{"manual":null}}}'\n""",
        "    :\n",
    )
    run = c.run()
    assert run.code == 0, run.stderr
    assert any("trigger volsync-kit-" in item for item in stopped_by_hand(c.world()))


def test_waiting_for_mover_pods_by_selector_fails_when_none_runs(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH)
    by_selector = 'kube -n "$1" wait --for=delete pod -l "job-name=$2" --timeout="$TIMEOUT"'
    broken(c, '  if [ -n "$pods" ]; then\n    # shellcheck disable=SC2086 # one word per pod\n    kube -n "$1" wait',
           f'  if true; then\n    {by_selector}\n    : wait')  # fmt: skip
    run = c.run()
    assert run.code != 0
    assert "no matching resources found" in run.stderr


def test_without_the_retain_rescue_a_removed_apps_data_is_lost(tmp_path: Path) -> None:
    c = cluster(tmp_path, REMOVE_RADARR)
    broken(c, "  retain_volume media radarr\n", "  :\n")
    run = c.run()
    assert run.code == 0, run.stderr
    assert lost(c.world()) != []


def test_resuming_what_was_suspended_before_is_caught(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH, None, lambda w: w.suspend("Kustomization", "media", "sonarr"))
    broken(c, '  if [ "$(recall "suspended/$kind/$ns/$name")" = true ]; then\n    say "$kind $ns/$name stays',
           '  if false; then\n    say "$kind $ns/$name stays')  # fmt: skip
    run = c.run()
    # Resumed, sonarr's Kustomization applies the head's volume over the one it kept: it fails.
    assert run.code == 1
    assert "immutable" in run.stdout
    assert "Kustomization media/sonarr" not in c.world().suspended()


def test_answering_the_gate_without_the_repositories_at_their_new_place_starts_new_ones(tmp_path: Path) -> None:
    """The script cannot see CephFS: an operator who confirms the gate without copying
    the repositories lets each app's first backup initialise an empty one at the new
    place (restic init), splitting its history, which check_end_state refuses."""
    c = cluster(tmp_path, ROOT_PATH)
    run = c.run(move=False)
    assert run.code == 0, run.stderr
    new = sorted(place for _, place in c.moves())
    assert len(new) == 7
    assert sorted(set(c.world().initialised()) & set(new)) == new
