"""doctor, driven from dumps in the exact shape ``kubectl get -o json`` returns
(``make_dumps.py`` writes them from the example), and through a fake kubectl
that serves a dump and records every call it gets."""

from __future__ import annotations

import datetime
import json
import os
import stat
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from volsync_kit.adapters import kube
from volsync_kit.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "home-ops"
DUMPS = Path(__file__).resolve().parent / "dumps"
NOW = "2026-11-28T12:00:00Z"
SCHEMA = json.loads((ROOT / "schemas" / "doctor.schema.json").read_text())

EXPECTED = {
    "healthy": [],
    "stuck-cache": [("D101", "stuck-claim")],
    "mount-root-path": [("D201", "mount-root-path")],
    "mount-static-volume": [("D202", "mount-static-volume")],
    "mount-fs-name": [("D203", "mount-fs-name")],
    "released": [("D301", "volume-released")],
    "orphan": [("D302", "orphan-volume")],
    "drift": [("D401", "drift")],
    "sync-failing": [("D501", "sync-failing")],
    "sync-late": [("D502", "sync-late")],
    "restic-locked": [("D503", "restic-locked")],
}


def doctor(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["doctor", "--repo", str(EXAMPLE), "--no-cache", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_diagnosis_from_a_dump(scenario: str, golden) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = doctor("--from", str(DUMPS / f"{scenario}.json"), "--now", NOW, "--format", "json")
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["version"] == 1
    assert [(d["id"], d["code"]) for d in doc["diagnoses"]] == EXPECTED[scenario]
    assert code == (0 if scenario == "healthy" else 1)
    assert doc["healthy"] is (scenario == "healthy")
    for d in doc["diagnoses"]:
        assert d["evidence"], d  # every finding quotes what shows it
        assert d["steps"], d  # and says what to do
    code, text, _ = doctor("--from", str(DUMPS / f"{scenario}.json"), "--now", NOW)
    golden(f"doctor/{scenario}.txt", text)
    code, markdown, _ = doctor("--from", str(DUMPS / f"{scenario}.json"), "--now", NOW, "--format", "markdown")
    golden(f"doctor/{scenario}.md", markdown)


def test_evidence_quotes_the_events_and_status() -> None:
    _, out, _ = doctor("--from", str(DUMPS / "stuck-cache.json"), "--now", NOW, "--format", "json")
    (d,) = json.loads(out)["diagnoses"]
    assert d["objects"] == ["PersistentVolumeClaim media/volsync-src-sonarr-cache"]
    assert "ProvisioningFailed" in d["evidence"][0]
    assert "already exists (x23)" in d["evidence"][0]
    commands = [c for s in d["steps"] for c in s["commands"]]
    assert "kubectl -n media delete pvc volsync-src-sonarr-cache --ignore-not-found --wait=false" in commands
    _, out, _ = doctor("--from", str(DUMPS / "drift.json"), "--now", NOW, "--format", "json")
    (d,) = json.loads(out)["diagnoses"]
    assert any("'/k8s-backups/volsync/sonarr'" in e and "'/volsync/sonarr'" in e for e in d["evidence"])
    commands = [c for s in d["steps"] for c in s["commands"]]
    assert commands.index("flux suspend kustomization sonarr -n media") < commands.index(
        "kubectl delete pv volsync-sonarr-repo-pv --ignore-not-found --timeout=10m"
    )


def test_a_late_sync_is_measured_against_the_time_given() -> None:
    code, out, _ = doctor("--from", str(DUMPS / "healthy.json"), "--now", "2026-11-28T14:30:00Z", "--format", "json")
    late = {d["objects"][0] for d in json.loads(out)["diagnoses"] if d["code"] == "sync-late"}
    assert code == 1
    assert late  # every hourly source is now 3.5 h behind
    code, _, _ = doctor("--from", str(DUMPS / "healthy.json"), "--now", "2026-11-28T13:00:00Z")
    assert code == 0  # two missed runs are needed before it is late


def test_a_folder_of_dumps_and_yaml(tmp_path: Path) -> None:
    import yaml

    doc = json.loads((DUMPS / "released.json").read_text())
    half = len(doc["items"]) // 2
    (tmp_path / "a.json").write_text(json.dumps({**doc, "items": doc["items"][:half]}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({**doc, "items": doc["items"][half:]}))
    _, out, _ = doctor("--from", str(tmp_path), "--now", NOW, "--format", "json")
    assert [d["id"] for d in json.loads(out)["diagnoses"]] == ["D301"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON (line 1"),
        ("[]", "no Kubernetes objects in it"),
    ],
)
def test_a_bad_dump_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "dump.json"
    bad.write_text(content)
    code, out, err = doctor("--from", str(bad))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert str(bad) in err


def test_a_missing_dump_and_conflicting_options_are_exit_2(tmp_path: Path) -> None:
    code, _, err = doctor("--from", str(tmp_path / "nope.json"))
    assert (code, "no such file" in err) == (2, True)
    code, _, err = doctor("--from", str(DUMPS / "healthy.json"), "--dump", str(tmp_path / "x.json"))
    assert (code, "exclude each other" in err) == (2, True)
    code, _, err = doctor("--from", str(DUMPS / "healthy.json"), "--now", "yesterday")
    assert (code, "not a time" in err) == (2, True)


# -- the live path, through a fake kubectl ------------------------------------------------

FAKE_KUBECTL = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if {fail!r}:
    print("Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused", file=sys.stderr)
    sys.exit(1)
resource = args[args.index("get") + 1]
kinds = {{
    "persistentvolumes": "PersistentVolume", "persistentvolumeclaims": "PersistentVolumeClaim",
    "replicationsources.volsync.backube": "ReplicationSource",
    "replicationdestinations.volsync.backube": "ReplicationDestination",
    "events": "Event", "jobs.batch": "Job", "pods": "Pod",
    "kustomizations.kustomize.toolkit.fluxcd.io": "Kustomization",
    "volumesnapshots.snapshot.storage.k8s.io": "VolumeSnapshot",
}}
if resource in os.environ.get("FAKE_MISSING", "").split(","):
    print(f'error: the server doesn\\'t have a resource type "{{resource}}"', file=sys.stderr)
    sys.exit(1)
dump = json.load(open({dump!r}))
items = [i for i in dump["items"] if i["kind"] == kinds[resource]]
print(json.dumps({{"apiVersion": "v1", "kind": "List", "items": items, "metadata": {{"resourceVersion": ""}}}}))
"""


def fake_kubectl(tmp_path: Path, dump: Path, fail: bool = False) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "calls.jsonl"
    script = folder / "kubectl"
    script.write_text(FAKE_KUBECTL.format(python=sys.executable, log=str(log), dump=str(dump), fail=fail))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_live_path_runs_read_only_gets_and_equals_the_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_kubectl(tmp_path, DUMPS / "drift.json")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    code, live, err = doctor("--context", "home", "--kubeconfig", "/etc/kube/config", "--now", NOW, "--format", "json")
    _, offline, _ = doctor("--from", str(DUMPS / "drift.json"), "--now", NOW, "--format", "json")
    assert code == 1, err
    live_doc, offline_doc = json.loads(live), json.loads(offline)
    assert live_doc["diagnoses"] == offline_doc["diagnoses"]
    assert live_doc["notes"] == []
    recorded = calls(log)
    assert [c[c.index("get") + 1] for c in recorded] == [r for r, _ in kube.RESOURCES]
    for call in recorded:
        assert call[:4] == ["--kubeconfig", "/etc/kube/config", "--context", "home"]
        verbs = [
            a
            for a in call
            if not a.startswith("-")
            and a in {"get", "delete", "patch", "apply", "edit", "create", "replace", "scale", "annotate", "label"}
        ]
        assert verbs == ["get"], call  # read-only, always
        assert call[call.index("-o") + 1] == "json"


def test_dump_saves_what_was_read_and_diagnoses_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kubectl(tmp_path, DUMPS / "restic-locked.json")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MISSING", "kustomizations.kustomize.toolkit.fluxcd.io")  # a cluster without Flux
    saved = tmp_path / "out" / "cluster.json"
    code, live, _ = doctor("--dump", str(saved), "--now", NOW, "--format", "json")
    assert code == 1
    notes = json.loads(live)["notes"]
    assert notes[0] == "the cluster has no kustomizations.kustomize.toolkit.fluxcd.io; skipped"
    assert notes[-1].startswith("wrote ")
    doc = json.loads(saved.read_text())
    assert doc["kind"] == "List"
    assert doc["metadata"]["annotations"][kube.DUMPED_AT] == NOW
    _, again, _ = doctor("--from", str(saved), "--format", "json")  # the dump's own time
    assert json.loads(again)["diagnoses"] == json.loads(live)["diagnoses"]


def test_a_dump_never_holds_secret_data() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "sonarr-volsync", "namespace": "media", "managedFields": [{"manager": "kubectl"}]},
        "data": {"RESTIC_PASSWORD": "aHVudGVyMg==", "RESTIC_REPOSITORY": "L3JlcG9zaXRvcnkvc29uYXJy"},
        "stringData": {"extra": "plain"},
    }
    scrubbed = kube.scrub(secret)
    assert scrubbed["data"] == {"RESTIC_PASSWORD": "", "RESTIC_REPOSITORY": ""}
    assert scrubbed["stringData"] == {"extra": ""}
    assert "managedFields" not in scrubbed["metadata"]
    assert secret["data"]["RESTIC_PASSWORD"] == "aHVudGVyMg=="  # the input is left alone


def test_kubectl_failing_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kubectl(tmp_path, DUMPS / "healthy.json", fail=True)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    code, out, err = doctor()
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "volsync-kit: error: kubectl get persistentvolumes failed: Unable to connect to the server: "
        "dial tcp 10.0.0.1:6443: connect: connection refused"
    )


def test_no_kubectl_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = doctor()
    assert code == 2
    assert "kubectl is not on PATH" in err


def test_no_volume_is_called_an_orphan_while_the_repository_does_not_build(tmp_path: Path) -> None:
    """A failed build hides the volumes it would render: calling them orphans would
    hand out `kubectl delete pv` for volumes that are in use."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    pv.write_text(pv.read_text().replace("kind: PersistentVolume", "kind: [PersistentVolume"))
    result = CliRunner().invoke(
        app, ["doctor", "--repo", str(repo), "--from", str(DUMPS / "healthy.json"), "--now", NOW, "--format", "json"]
    )
    doc = json.loads(result.stdout)
    assert [d["code"] for d in doc["diagnoses"]] == []
    assert any("fail to render or to apply" in n and "orphans are not checked" in n for n in doc["notes"])
    assert result.exit_code == 0


def _failing_source(mover: str, logs: str) -> dict[str, object]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "sonarr", "namespace": "media"},
        "spec": {"sourcePVC": "sonarr", mover: {"copyMethod": "Snapshot"}},
        "status": {"latestMoverStatus": {"result": "Failed", "logs": logs}},
    }


# Where each mover logs (backube/volsync internal/controller/mover/*/mover.go; kopia: perfectra1n/volsync).
MOVER_LOGS = {
    "restic": ("back up", "logs job/volsync-src-sonarr "),
    "kopia": ("back up", "logs job/volsync-src-sonarr "),
    "rclone": ("sync", "logs job/volsync-rclone-src-sonarr "),
    "rsync": ("sync", "logs job/volsync-rsync-src-sonarr "),
    "rsyncTLS": ("sync", "logs job/volsync-rsync-tls-src-sonarr "),
    "syncthing": ("sync", "logs deployment/volsync-sonarr "),
}


@pytest.mark.parametrize("mover", sorted(MOVER_LOGS))
def test_a_failing_source_names_what_it_does_and_where_its_mover_logs(mover: str) -> None:
    from volsync_kit.core import doctor as core

    (d,) = core.replication(
        [_failing_source(mover, "Fatal: boom")], datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
    )
    does, logs = MOVER_LOGS[mover]
    assert (d.id, d.code) == ("D501", "sync-failing")
    assert d.title == f"ReplicationSource media/sonarr fails to {does}"
    commands = [c for s in d.steps for c in s.commands]
    assert [c for c in commands if " logs " in c] == [f"kubectl -n media {logs.strip()} --tail=50"]


def test_a_lock_message_is_restic_locked_under_restic_only() -> None:
    """D503's fix is restic's ``spec.restic.unlock``; under another mover the same words are a failure."""
    from volsync_kit.core import doctor as core

    now = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
    locked = "unable to create lock in backend: repository is already locked by PID 42"
    assert [d.code for d in core.replication([_failing_source("restic", locked)], now)] == ["restic-locked"]
    assert [d.code for d in core.replication([_failing_source("kopia", locked)], now)] == ["sync-failing"]
