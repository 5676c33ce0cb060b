"""The simulation is strict enough to fail a wrong procedure: each test breaks
one rule of the generated script and shows the damage the end-to-end tests
would report. Without these, a passing end-to-end run could mean a lenient
simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import Cluster, Edit, Run, cluster, lost, stopped_by_hand
from test_end_to_end import KOPIA, REMOVE_RADARR, ROOT_PATH, backing_up_sonarr


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


def unpaused_backup(tmp: Path, movers: list[Edit] | None, *skipped: tuple[str, str]) -> tuple[Run, dict[str, Any]]:
    """The rootPath plan while sonarr's backup runs, with the steps ``skipped``; the run
    and sonarr's repository claim after it."""
    c = cluster(tmp, ROOT_PATH, movers, backing_up_sonarr)
    for old, new in skipped:
        broken(c, old, new)
    run = c.run()
    claim = c.world().get("PersistentVolumeClaim", "volsync-sonarr-repo", "media")
    assert claim is not None
    return run, claim


@pytest.mark.parametrize("movers", [None, KOPIA], ids=["restic", "kopia"])
def test_without_pausing_a_running_backup_the_wait_for_its_pod_stops_the_run(
    tmp_path: Path, movers: list[Edit] | None
) -> None:
    run, claim = unpaused_backup(tmp_path, movers, (PAUSE, "  :\n"))
    assert run.code != 0
    assert "step 3/8" in run.stderr
    assert "step 4/8" not in run.stderr
    assert "timed out waiting for the condition on pods/volsync-src-sonarr-" in run.stderr
    assert "deletionTimestamp" not in claim["metadata"]  # stopped before deleting anything


@pytest.mark.parametrize("movers", [None, KOPIA], ids=["restic", "kopia"])
def test_without_pausing_or_waiting_a_running_backup_holds_its_claim_terminating(
    tmp_path: Path, movers: list[Edit] | None
) -> None:
    run, claim = unpaused_backup(tmp_path, movers, (PAUSE, "  :\n"), (WAIT, "    :\n"))
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
