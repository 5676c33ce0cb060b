"""doctor --tree tells the truth: the live conditions that matter and doctor's findings on
the object they are about, drift as live against git, orphan volumes listed, and a kind
doctor did not read marked ``not read``, never ``not present``."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_doctor import DUMPS, NOW, SCHEMA, doctor, fake_kubectl

from volsync_kit.core.doctor import object_ident

ROOT = Path(__file__).resolve().parents[2]
TREE_SCHEMA = json.loads((ROOT / "schemas" / "tree.schema.json").read_text())
NODE_SCHEMA = {"$defs": TREE_SCHEMA["$defs"], "$ref": "#/$defs/node"}
SCENARIOS = ("sync-failing", "restic-locked", "drift", "orphan")


def tree_text(dump: Path, *extra: str) -> str:
    code, out, err = doctor("--from", str(dump), "--now", NOW, "--tree", *extra)
    assert code in (0, 1), err
    return out


def line(text: str, *needles: str) -> str:
    """The one tree line that holds every needle."""
    (found,) = [x for x in text.splitlines() if all(n in x for n in needles)]
    return found


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from nodes(child)


def tree_json(dump: Path) -> dict[str, Any]:
    _, out, _ = doctor("--from", str(dump), "--now", NOW, "--tree", "--format", "json")
    doc: dict[str, Any] = json.loads(out)
    return doc


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_tree_of_each_problem_golden_and_valid(scenario: str, golden) -> None:  # type: ignore[no-untyped-def]
    dump = DUMPS / f"{scenario}.json"
    golden(f"doctor/{scenario}.tree.txt", tree_text(dump))
    doc = tree_json(dump)
    jsonschema.validate(doc, SCHEMA)
    for entry in doc["trees"]:
        jsonschema.validate(entry["tree"], NODE_SCHEMA)
    for node in doc["unclaimed"]:
        jsonschema.validate(node, NODE_SCHEMA)
    _, markdown, _ = doctor("--from", str(dump), "--now", NOW, "--tree", "--format", "markdown")
    from test_tree import check_mermaid

    check_mermaid(markdown.split("```mermaid\n", 1)[1].split("```", 1)[0])


def test_a_locked_repository_shows_its_code_and_the_failed_mover() -> None:
    text = tree_text(DUMPS / "restic-locked.json")
    source = line(text, "ReplicationSource home-assistant —")
    assert "[D503 restic-locked]" in source
    assert "last mover Failed" in source  # Synchronizing alone still says WaitingForSchedule
    assert "Synchronizing=False WaitingForSchedule" in source
    job = line(text, "Job volsync-src-home-assistant —")
    assert "<active 1, succeeded 0, failed 3>" in job


def test_a_failing_mover_shows_the_error_condition_and_its_job() -> None:
    text = tree_text(DUMPS / "sync-failing.json")
    source = line(text, "ReplicationSource jellyfin —")
    assert "Synchronizing=False Error: job volsync-src-jellyfin failed: BackoffLimitExceeded" in source
    assert "last mover Failed" in source
    assert "[D501 sync-failing]" in source
    job = line(text, "Job volsync-src-jellyfin —")
    assert "active 0, succeeded 0, failed 9" in job
    assert "Failed=True BackoffLimitExceeded: Job has reached the specified backoff limit" in job
    # the Job kind was read: the other movers' Jobs are absent, and said so
    assert "<not present>" in line(text, "Job volsync-src-sonarr —")


def test_a_condition_other_than_synchronizing_that_fails_is_shown(tmp_path: Path) -> None:
    doc = json.loads((DUMPS / "healthy.json").read_text())
    rs = next(i for i in doc["items"] if i["kind"] == "ReplicationSource" and i["metadata"]["name"] == "radarr")
    rs["status"]["conditions"].append(
        {
            "type": "Reconciled",
            "status": "False",
            "reason": "Error",
            "message": "secret radarr-volsync-secret not found",
        }
    )
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(doc))
    source = line(tree_text(dump), "ReplicationSource radarr —")
    assert "Reconciled=False Error: secret radarr-volsync-secret not found" in source


def test_drift_shows_the_live_value_and_gits_on_the_node() -> None:
    text = tree_text(DUMPS / "drift.json")
    pvs = [x for x in text.splitlines() if "PersistentVolume volsync-sonarr-repo-pv —" in x]
    assert pvs  # under the source and the destination
    for pv in pvs:
        assert "static CephFS, rootPath /k8s-backups/volsync/sonarr" in pv  # the cluster's, not git's
        assert "[drift: spec.csi.volumeAttributes.rootPath /k8s-backups/volsync/sonarr (git: /volsync/sonarr)]" in pv
        assert "[D401 drift]" in pv
    claims = [x for x in text.splitlines() if "PersistentVolumeClaim volsync-sonarr-repo <" in x]
    assert claims
    assert all("[D401 drift]" in c and "[drift:" not in c for c in claims)  # replaced with its volume, not drifted
    assert "<Ready=False ReconciliationFailed>" in line(text, "Kustomization media/sonarr —")
    assert "<Ready=True ReconciliationSucceeded>" in line(text, "Kustomization media/radarr —")
    assert "MISSING" not in text


def test_an_orphan_repository_volume_is_listed_apart() -> None:
    text = tree_text(DUMPS / "orphan.json")
    group = text.split("# not in git:", 1)[1]
    orphan = line(group, "PersistentVolume volsync-lidarr-repo-pv")
    assert orphan.startswith("◇ ")
    assert "orphan: rendered by no app" in orphan
    assert "rootPath /volsync/lidarr" in orphan
    assert "<Available>" in orphan
    assert "[D302 orphan-volume]" in orphan
    (node,) = tree_json(DUMPS / "orphan.json")["unclaimed"]
    assert (node["kind"], node["name"], node["origin"], node["findings"]) == (
        "PersistentVolume",
        "volsync-lidarr-repo-pv",
        "cluster",
        ["D302 orphan-volume"],
    )
    assert "# not in git" not in tree_text(DUMPS / "healthy.json")  # nothing unclaimed, no group


@pytest.mark.parametrize("scenario", ["healthy", *SCENARIOS])
def test_only_kinds_that_were_read_are_called_missing(scenario: str) -> None:
    doc = tree_json(DUMPS / f"{scenario}.json")
    read = set(doc["checked"])
    statuses: dict[str, set[str]] = {}
    for entry in doc["trees"]:
        for node in nodes(entry["tree"]):
            statuses.setdefault(node["kind"], set()).add(node["status"] or "")
            if node["status"] in ("MISSING", "not present"):
                assert node["kind"] in read, node
            if node["kind"] not in read:
                assert node["status"] == "not read", node
    assert "VolumeSnapshot" not in read  # no dump holds one: none was read
    assert statuses["VolumeSnapshot"] == {"not read"}


def test_a_kind_read_empty_is_not_present_and_a_missing_crd_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--dump records the kinds it read, empty ones too: read back, an absent Job is
    "not present"; a cluster without the snapshot CRD is skipped with a note, and its
    VolumeSnapshots are "not read"."""
    fake_kubectl(tmp_path, DUMPS / "healthy.json")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MISSING", "volumesnapshots.snapshot.storage.k8s.io")
    saved = tmp_path / "cluster.json"
    code, live, _ = doctor("--dump", str(saved), "--now", NOW, "--tree", "--format", "json")
    assert code == 0
    doc = json.loads(live)
    assert "the cluster has no volumesnapshots.snapshot.storage.k8s.io; skipped" in doc["notes"]
    assert doc["checked"]["Job"] == 0  # read, none there
    assert "VolumeSnapshot" not in doc["checked"]
    text = tree_text(saved)
    assert "<not present>" in line(text, "Job volsync-src-sonarr —")
    assert "<not read>" in line(text, "VolumeSnapshot volsync-sonarr-src —")
    monkeypatch.setenv("FAKE_MISSING", "")  # the CRD is there, with no snapshot yet
    code, live, _ = doctor("--now", NOW, "--tree")
    assert "<not present>" in line(live, "VolumeSnapshot volsync-sonarr-src —")
    assert re.search(r"checked .*0 VolumeSnapshot", live)


@pytest.mark.parametrize(
    ("ref", "ident"),
    [
        ("PersistentVolume volsync-sonarr-repo-pv", ("PersistentVolume", "", "volsync-sonarr-repo-pv")),
        ("ReplicationSource media/sonarr", ("ReplicationSource", "media", "sonarr")),
    ],
)
def test_a_diagnosis_object_names_its_node(ref: str, ident: tuple[str, str, str]) -> None:
    assert object_ident(ref) == ident
