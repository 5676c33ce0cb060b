"""`plan` for changes to existing volume objects: replaced, updated in place, or only moved in the repository.

A PV's ``spec.csi`` is immutable (domain facts 2.1, 7): a rootPath or mounter
change replaces every app's repository PV, and with it the claim bound to it
(pv-protection).  Labels and the reclaim policy change in place.  Files that
move leave identical objects: nothing to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from plan_helpers import (
    APPS,
    COMMAND,
    COMPONENTS,
    MEDIA_PV,
    REPO_COMPONENT,
    REPO_PV,
    Repo,
    acts,
    change,
    change_root_path,
    commands,
    example_repo,
    ks_file,
    markdown_commands,
    named,
    plan,
    plan_json,
    plan_markdown,
    redact,
    rows,
    step,
)

from volsync_kit.app import run_plan

PAUSE = '--type merge -p \'{"spec":{"paused":true}}\''
UNPAUSE = '--type merge -p \'{"spec":{"paused":false}}\''
PUSH = [
    "git push",
    "flux reconcile source git flux-system -n flux-system",
    "flux get sources git flux-system -n flux-system",
]
# The checklist of a replacement, in this order (domain facts 7 and the cleanup guide).
REPLACE_STEPS = ["preflight", "suspend", "pause", "delete", "gate", "commit and push", "resume", "data safety"]


def repository_rows() -> set[tuple[str, str, str, str | None, str]]:
    out: set[tuple[str, str, str, str | None, str]] = set()
    for app, ns in APPS.items():
        out.add((app, "PersistentVolume", f"volsync-{app}-repo-pv", None, "replace"))
        out.add((app, "PersistentVolumeClaim", f"volsync-{app}-repo", ns, "replace"))
    return out


@pytest.fixture
def root_path_commit(tmp_path: Path) -> Repo:
    repo = example_repo(tmp_path)
    change_root_path(repo)
    repo.commit("move the restic repositories")
    return repo


@pytest.fixture
def root_path_plan(root_path_commit: Repo) -> dict[str, Any]:
    return plan_json(root_path_commit, "--base", "HEAD~1", "--head", "HEAD")


# -- rootPath in the shared repository component ------------------------------------------


def test_root_path_replaces_every_repository_pv_and_its_claim(root_path_commit: Repo, root_path_plan: dict) -> None:
    doc = root_path_plan
    assert doc["base"] == root_path_commit.sha("HEAD~1")
    assert doc["head"] == root_path_commit.sha("HEAD")
    assert rows(doc) == repository_rows()
    assert doc["failures"] == []
    for app, ns in APPS.items():
        pv = change(doc, "PersistentVolume", f"volsync-{app}-repo-pv")
        assert pv["fields"] == [
            {
                "path": "spec.csi.volumeAttributes.rootPath",
                "before": f"/volsync/{app}",
                "after": f"/k8s-backups/volsync/{app}",
                "forces_replacement": True,
            }
        ]
        assert pv["kustomization"] == {"name": app, "namespace": ns, "file": ks_file(app), "cluster": ""}
        assert pv["danger"] == ["repository-moved"]
        pvc = change(doc, "PersistentVolumeClaim", f"volsync-{app}-repo")
        assert pvc["kustomization"] == {"name": app, "namespace": ns, "file": ks_file(app), "cluster": ""}
        # the claim's own manifest is unchanged: it is replaced because its bound PV is
        assert [(f["path"], f["forces_replacement"]) for f in pvc["fields"]] == [("spec.volumeName", True)]


def test_root_path_leaves_the_data_claims_alone(root_path_plan: dict) -> None:
    names = {c["name"] for c in root_path_plan["changes"]}
    assert not names & set(APPS), "a data PVC (named like its app) must not change"
    for command in commands(root_path_plan):
        for app in APPS:
            assert f"pvc {app} " not in command
            assert not command.endswith(f"pvc {app}")
            assert f"pvc/{app} " not in command


def test_root_path_raises_repository_moved_once_per_app(root_path_plan: dict) -> None:
    dangers = sorted((d["code"], d["app"], d["object"]) for d in root_path_plan["dangers"])
    assert dangers == sorted(("repository-moved", app, f"PersistentVolume/volsync-{app}-repo-pv") for app in APPS)
    for d in root_path_plan["dangers"]:
        assert f"/volsync/{d['app']} -> /k8s-backups/volsync/{d['app']}" in d["message"]


def test_root_path_checklist_is_in_order(root_path_plan: dict) -> None:
    titles = [s["title"].lower() for s in root_path_plan["steps"]]
    assert len(titles) == len(REPLACE_STEPS), titles
    for title, prefix in zip(titles, REPLACE_STEPS, strict=True):
        assert title.startswith(prefix), (title, prefix)


def test_root_path_checklist_names_every_object_in_its_namespace(root_path_plan: dict) -> None:
    doc = root_path_plan
    _, preflight = step(doc, "preflight")
    _, suspend = step(doc, "suspend")
    _, _pause = step(doc, "pause")
    _, delete = step(doc, "delete")
    _, gate = step(doc, "gate")
    _, push = step(doc, "commit and push")
    _, resume = step(doc, "resume")
    _, safety = step(doc, "data safety")

    for command in preflight["commands"]:
        assert " get " in command, f"preflight must be read-only: {command}"
    assert {a for a in acts(suspend) if a[0] == "suspend"} == {
        ("suspend", "kustomization", ns, app) for app, ns in APPS.items()
    }
    # Markdown batches them: one flux command per namespace, naming each of its apps once.
    suspended = [(c.rsplit(" -n ", 1)[1], name) for c in suspend["commands"] for name in named(c, "kustomization")]
    assert sorted(suspended) == sorted((ns, app) for app, ns in APPS.items())
    assert len(suspend["commands"]) == len(set(APPS.values()))
    assert push["commands"] == PUSH
    assert gate["commands"] == []  # no gate command configured
    assert safety["commands"] == []

    order = [a for a in acts(delete) if a[0] != "guard"]
    for app, ns in APPS.items():
        pv, pvc = f"volsync-{app}-repo-pv", f"volsync-{app}-repo"
        assert ("show", "pv", "", pv) in acts(preflight)
        assert ("show", "pvc", ns, pvc) in acts(preflight)
        # pvc-protection and pv-protection: the claim goes first, and is gone before its volume is deleted
        delete_pvc = order.index(("delete", "pvc", ns, pvc))
        gone_pvc = order.index(("wait-deleted", "pvc", ns, pvc))
        delete_pv = order.index(("delete", "pv", "", pv))
        gone_pv = order.index(("wait-deleted", "pv", "", pv))
        assert delete_pvc < gone_pvc < delete_pv < gone_pv
        resumed = acts(resume)
        assert ("resume", "kustomization", ns, app) in resumed
        assert ("wait-bound", "pv", "", pv) in resumed
        assert ("wait-bound", "pvc", ns, pvc) in resumed
    assert len(order) == 4 * len(APPS)
    # A person types one waiting delete per kind and namespace: the claims, then the volumes.
    typed = delete["commands"]
    assert typed[-1].startswith("kubectl delete pv ")
    assert typed[-1].endswith("--ignore-not-found --timeout=10m")
    assert sorted(named(typed[-1], "pv")) == sorted(f"volsync-{app}-repo-pv" for app in APPS)
    assert len(typed) == len(set(APPS.values())) + 1


def test_root_path_pauses_the_local_movers_but_never_the_remote_one(root_path_plan: dict) -> None:
    _, pause = step(root_path_plan, "pause")
    _, resume = step(root_path_plan, "resume")
    expected, unpause, synced = set(), set(), set()
    for app, ns in APPS.items():
        expected |= {
            ("pause", "replicationsource", ns, app),
            ("pause", "replicationdestination", ns, f"{app}-dst"),
            ("wait-movers", "replicationsource", ns, app),
            ("wait-movers", "replicationdestination", ns, f"{app}-dst"),
        }
        unpause |= {("unpause", "replicationsource", ns, app), ("unpause", "replicationdestination", ns, f"{app}-dst")}
        synced.add(("sync", "replicationsource", ns, app))
    assert set(acts(pause)) == expected
    assert len(acts(pause)) == len(expected)
    jobs = {a["value"] for a in pause["actions"] if a["verb"] == "wait-movers"}
    assert jobs == {f"volsync-src-{app}" for app in APPS} | {f"volsync-dst-{app}-dst" for app in APPS}
    # every pause is sent before the first wait for the mover pods
    verbs = [a[0] for a in acts(pause)]
    assert verbs == sorted(verbs, key=lambda v: v == "wait-movers")
    kinds = ["wait" if " wait " in c else "patch" for c in pause["commands"]]
    assert kinds == sorted(kinds, key=lambda k: k == "wait")
    assert unpause <= set(acts(resume))
    # One backup per source (the script makes each trigger unique at run time).
    assert {a for a in acts(resume) if a[0] == "sync"} == synced
    for command in commands(root_path_plan):
        assert "-r2" not in command, f"the R2 source does not mount the repository: {command}"


EXTRA_MOVER = "kubernetes/apps/media/sonarr/app/extra-mover.yaml"


def mount_repository_by(repo: Repo, mover: str) -> None:
    """A second ReplicationSource of sonarr mounts its repository claim
    through ``spec.<mover>.moverVolumes``, committed before the rootPath moves."""
    repo.write(
        EXTRA_MOVER,
        "---\napiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: sonarr-extra\n"
        f"spec:\n  sourcePVC: sonarr\n  {mover}:\n    moverVolumes:\n      - mountPath: repository\n"
        "        volumeSource:\n          persistentVolumeClaim:\n            claimName: volsync-sonarr-repo\n",
    )
    listed = "  - ./helmrelease.yaml\n"
    repo.edit("kubernetes/apps/media/sonarr/app/kustomization.yaml", listed, listed + "  - ./extra-mover.yaml\n")
    repo.commit(f"a {mover} mover of sonarr's repository")
    change_root_path(repo)
    repo.commit("move the restic repositories")


# The Job each mover runs (backube/volsync internal/controller/mover/*/mover.go; kopia: perfectra1n/volsync).
MOVER_JOBS = {
    "restic": "volsync-src-sonarr-extra",
    "kopia": "volsync-src-sonarr-extra",
    "rclone": "volsync-rclone-src-sonarr-extra",
    "rsyncTLS": "volsync-rsync-tls-src-sonarr-extra",
}


@pytest.mark.parametrize("mover", sorted(MOVER_JOBS))
def test_each_mover_that_mounts_a_replaced_claim_is_paused_and_waited_for_by_its_job(
    tmp_path: Path, mover: str
) -> None:
    repo = example_repo(tmp_path)
    mount_repository_by(repo, mover)
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    _, pause = step(doc, "pause")
    _, resume = step(doc, "resume")
    assert ("pause", "replicationsource", "media", "sonarr-extra") in acts(pause)
    waits = {a["target"]["name"]: a["value"] for a in pause["actions"] if a["verb"] == "wait-movers"}
    assert waits["sonarr-extra"] == MOVER_JOBS[mover]
    assert waits["sonarr"] == "volsync-src-sonarr"  # the component's restic mover
    assert ("unpause", "replicationsource", "media", "sonarr-extra") in acts(resume)
    assert [d["code"] for d in doc["dangers"]].count("mover-not-paused") == 0
    # restic and kopia back up; an rclone or rsync source's one run is a replication
    run = "backup" if mover in ("restic", "kopia") else "sync"
    assert f"run one {run} each (then clear its manual trigger" in resume["title"]
    assert resume["notes"][0].startswith(f"Each {run} may take as long as the app's data needs")


def test_a_syncthing_mover_of_a_replaced_claim_is_a_danger_not_a_pause(tmp_path: Path) -> None:
    """syncthing runs a Deployment that ``paused`` does not stop: the plan says
    so rather than pause it and wait for nothing."""
    repo = example_repo(tmp_path)
    mount_repository_by(repo, "syncthing")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    _, pause = step(doc, "pause")
    assert [a for a in acts(doc) if a[3] == "sonarr-extra"] == []
    assert ("pause", "replicationsource", "media", "sonarr") in acts(pause)
    (danger,) = [d for d in doc["dangers"] if d["code"] == "mover-not-paused"]
    assert (danger["app"], danger["object"]) == ("sonarr", "ReplicationSource/sonarr-extra")
    assert "media/sonarr-extra (syncthing) mounts volsync-sonarr-repo, which this change deletes" in danger["message"]


def add_maintenance(repo: Repo, volume: str) -> None:
    """A KopiaMaintenance (perfectra1n/volsync) in sonarr's namespace that mounts ``volume``."""
    repo.write(
        EXTRA_MOVER,
        "---\napiVersion: volsync.backube/v1alpha1\nkind: KopiaMaintenance\nmetadata:\n  name: sonarr\n"
        "spec:\n  trigger:\n    schedule: 30 3 * * *\n  repository:\n    repository: sonarr-volsync-secret\n"
        f"  moverVolumes:\n    - mountPath: repository\n      volumeSource:\n{volume}",
    )
    listed = "  - ./helmrelease.yaml\n"
    repo.edit("kubernetes/apps/media/sonarr/app/kustomization.yaml", listed, listed + "  - ./extra-mover.yaml\n")
    repo.commit("kopia maintenance of sonarr's repository")
    change_root_path(repo)
    repo.commit("move the restic repositories")


def test_a_kopia_maintenance_of_a_replaced_claim_is_a_danger(tmp_path: Path) -> None:
    """Its Jobs run on its own schedule, and the checklist does not stop them."""
    repo = example_repo(tmp_path)
    add_maintenance(repo, "        persistentVolumeClaim:\n          claimName: volsync-sonarr-repo\n")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    (danger,) = [d for d in doc["dangers"] if d["code"] == "mover-not-paused"]
    assert (danger["app"], danger["object"]) == ("sonarr", "KopiaMaintenance/sonarr")
    assert danger["message"].startswith("KopiaMaintenance media/sonarr mounts volsync-sonarr-repo, which this change")
    assert "Set its spec.suspend to true in a commit before this one" in danger["message"]


def test_a_kopia_maintenance_of_another_volume_is_no_danger(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    add_maintenance(repo, "        nfs:\n          server: nas\n          path: /volsync\n")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert [d for d in doc["dangers"] if d["code"] == "mover-not-paused"] == []


def test_moverVolumes_of_a_mover_without_them_mount_nothing(tmp_path: Path) -> None:
    """rsync has no ``moverVolumes`` (the CRD's schema prunes them): nothing to pause."""
    repo = example_repo(tmp_path)
    mount_repository_by(repo, "rsync")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert [a for a in acts(doc) if a[3] == "sonarr-extra"] == []
    assert [d for d in doc["dangers"] if d["code"] == "mover-not-paused"] == []


def test_root_path_resumes_only_after_the_push_and_unpauses_last(root_path_plan: dict) -> None:
    at_push, _ = step(root_path_plan, "commit and push")
    at_resume, resume = step(root_path_plan, "resume")
    assert at_push < at_resume
    resumed = resume["commands"]
    last_resume = max(i for i, c in enumerate(resumed) if c.startswith("flux resume kustomization"))
    first_bound = min(i for i, c in enumerate(resumed) if "=Bound" in c)
    last_bound = max(i for i, c in enumerate(resumed) if "=Bound" in c)
    first_unpause = min(i for i, c in enumerate(resumed) if UNPAUSE in c)
    assert last_resume < first_bound <= last_bound < first_unpause


def test_root_path_golden(root_path_commit: Repo, golden) -> None:  # type: ignore[no-untyped-def]
    shas = {"base": root_path_commit.sha("HEAD~1"), "head": root_path_commit.sha("HEAD")}
    markdown = plan_markdown(root_path_commit, "--base", "HEAD~1", "--head", "HEAD")
    document = plan(root_path_commit, "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    assert document.exit_code == 0
    golden("plan/rootpath.md", redact(markdown, **shas))
    golden("plan/rootpath.json", redact(document.stdout, **shas))


def test_root_path_markdown_commands_are_single_command_lines(root_path_commit: Repo, root_path_plan: dict) -> None:
    markdown = plan_markdown(root_path_commit, "--base", "HEAD~1", "--head", "HEAD")
    lines = markdown_commands(markdown)
    assert lines == commands(root_path_plan)
    for line in lines:
        assert COMMAND.match(line), line


def test_root_path_in_the_work_tree_plans_the_same_changes(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    change_root_path(repo)
    doc = plan_json(repo)
    assert doc["head"] == "working-tree"
    assert doc["base"] == repo.sha()
    assert rows(doc) == repository_rows()


def test_run_plan_service(root_path_commit: Repo) -> None:
    result = run_plan(root_path_commit.root, base="HEAD~1", head="HEAD")
    assert result.base == root_path_commit.sha("HEAD~1")
    assert result.head == root_path_commit.sha("HEAD")
    assert result.has("replace")
    assert not result.has("delete")
    assert not result.has("create")
    assert not result.nothing_to_do
    assert {(c.kind, c.name) for c in result.changes} == {(k, n) for _, k, n, _, _ in repository_rows()}


def test_fail_on_replace(root_path_commit: Repo) -> None:
    base = ("--base", "HEAD~1", "--head", "HEAD")
    assert plan(root_path_commit, *base, "--fail-on", "replace").exit_code == 1
    assert plan(root_path_commit, *base, "--fail-on", "danger").exit_code == 1
    assert plan(root_path_commit, *base, "--fail-on", "delete").exit_code == 0


# -- other immutable attributes -----------------------------------------------------------


def test_mounter_change_replaces_every_repository_volume(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    repo.edit(REPO_PV, "mounter: kernel", "mounter: fuse")
    doc = plan_json(repo)
    assert rows(doc) == repository_rows()
    for app in APPS:
        pv = change(doc, "PersistentVolume", f"volsync-{app}-repo-pv")
        assert pv["fields"] == [
            {
                "path": "spec.csi.volumeAttributes.mounter",
                "before": "kernel",
                "after": "fuse",
                "forces_replacement": True,
            }
        ]
    # the repository stays where it is
    assert [d for d in doc["dangers"] if d["code"] == "repository-moved"] == []
    _, delete = step(doc, "delete")
    for app, ns in APPS.items():
        assert ("delete", "pvc", ns, f"volsync-{app}-repo") in acts(delete)
        assert ("delete", "pv", "", f"volsync-{app}-repo-pv") in acts(delete)


# -- in place ---------------------------------------------------------------------------------

MEDIA_PVC = "kubernetes/apps/media/jellyfin/app/media-pvc.yaml"


@pytest.mark.parametrize(
    ("path", "old", "new", "kind", "field"),
    [
        (
            MEDIA_PV,
            "persistentVolumeReclaimPolicy: Retain",
            "persistentVolumeReclaimPolicy: Delete",
            "PersistentVolume",
            "spec.persistentVolumeReclaimPolicy",
        ),
        (
            MEDIA_PV,
            "  name: media-share\n",
            "  name: media-share\n  labels:\n    tier: media\n",
            "PersistentVolume",
            "metadata.labels.tier",
        ),
        (
            MEDIA_PVC,
            "  name: media-share\n",
            "  name: media-share\n  labels:\n    tier: media\n",
            "PersistentVolumeClaim",
            "metadata.labels.tier",
        ),
    ],
    ids=["pv-reclaim-policy", "pv-label", "pvc-label"],
)
def test_in_place_change_is_an_update_without_deletion(
    tmp_path: Path, path: str, old: str, new: str, kind: str, field: str
) -> None:
    repo = example_repo(tmp_path)
    repo.edit(path, old, new)
    doc = plan_json(repo, "--fail-on", "replace", "--fail-on", "delete")
    namespace = None if kind == "PersistentVolume" else "media"
    assert rows(doc) == {("jellyfin", kind, "media-share", namespace, "update")}
    assert [(f["path"], f["forces_replacement"]) for f in change(doc, kind, "media-share")["fields"]] == [
        (field, False)
    ]
    assert commands(doc), "an update still needs a push"
    for command in commands(doc):
        assert "delete" not in command, command
    titles = [s["title"].lower() for s in doc["steps"]]
    assert not any(t.startswith(("suspend", "pause", "delete", "resume")) for t in titles), titles
    markdown = plan_markdown(repo)
    short = {"PersistentVolume": "pv", "PersistentVolumeClaim": "pvc"}[kind]
    assert "| jellyfin | " + f"{short}/media-share | {namespace or '-'} | update |" in markdown


# -- moved files --------------------------------------------------------------------------------


def move_repository_component(repo: Repo) -> int:
    """git mv the repository component and point every ks.yaml at its new place."""
    repo.git("mv", REPO_COMPONENT, f"{COMPONENTS}/repo-volume")
    edited = 0
    for file in sorted((repo.root / "kubernetes" / "apps").glob("*/*/ks.yaml")):
        text = file.read_text(encoding="utf-8")
        if "volsync/repository" in text:
            file.write_text(text.replace("volsync/repository", "volsync/repo-volume"), encoding="utf-8")
            edited += 1
    return edited


def test_moved_component_is_nothing_to_do(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    assert move_repository_component(repo) >= len(APPS)
    base = repo.sha()
    result = plan(repo, "--fail-on", "replace", "--fail-on", "delete", "--fail-on", "danger")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"volsync-kit plan: {base[:12]} -> working-tree: nothing to do; no volume object changes.\n"
    doc = plan_json(repo)
    assert (doc["changes"], doc["dangers"], doc["failures"], doc["steps"]) == ([], [], [], [])


def test_moved_component_committed_is_nothing_to_do(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    move_repository_component(repo)
    base = repo.sha()
    head = repo.commit("move the repository component")
    result = plan(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"volsync-kit plan: {base[:12]} -> {head[:12]}: nothing to do; no volume object changes.\n"
    )
    assert json.loads(plan(repo, "--base", "HEAD~1", "--head", "HEAD", "--format", "json").stdout)["changes"] == []


def test_every_manual_trigger_is_removed_after_its_backup(root_path_plan: dict) -> None:
    """While spec.trigger.manual is set VolSync ignores the schedule, and Flux
    never removes a field git does not set: each trigger the checklist sets is
    removed (a merge patch with null, which a rerun may repeat) after the wait for its backup."""
    cmds = commands(root_path_plan)
    triggered = [i for i, c in enumerate(cmds)
                 if '"manual":"' in c and "--type merge" in c and "replicationsource" in c]  # fmt: skip
    assert triggered
    seen: set[str] = set()
    for i in triggered:
        sources = named(cmds[i], "replicationsource")
        namespace = cmds[i].split("-n ", 1)[1].split(" ", 1)[0]
        wait = next(j for j, c in enumerate(cmds) if "lastManualSync" in c and named(c, "replicationsource") == sources)
        removal = (
            f"kubectl -n {namespace} patch replicationsource {' '.join(sources)} --type merge "
            """-p '{"spec":{"trigger":{"manual":null}}}'"""
        )
        assert removal in cmds, sources
        assert i < wait < cmds.index(removal)
        seen.update(sources)
    assert seen == set(APPS)  # every app's source is triggered, and each trigger removed


OPERATIONS = "kubernetes/flux/components/volsync/operations"


def kopia_movers(repo: Repo, *files: str) -> None:
    """The component's movers of ``files`` under ``spec.kopia`` (perfectra1n/volsync),
    committed: kopia keeps restic's shape."""
    for name in files:
        repo.edit(f"{OPERATIONS}/{name}", "\n  restic:\n", "\n  kopia:\n", count=2)
    repo.commit("kopia movers")


BOTH = ("replicationsource.yaml", "replicationdestination.yaml")


def test_a_kopia_repository_that_moves_is_named_as_kopia_s(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    kopia_movers(repo, *BOTH)
    change_root_path(repo)
    repo.commit("move the kopia repositories")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    moved = {d["app"]: d["message"] for d in doc["dangers"] if d["code"] == "repository-moved"}
    assert moved["sonarr"].startswith("The kopia repository of sonarr moves (rootPath /volsync/sonarr -> ")
    assert "kopia's mover silently creates an empty repository at the new place" in moved["sonarr"]
    _, gate = step(doc, "gate")
    assert any("already holds the kopia repository (its `kopia.repository.f` file)" in n for n in gate["notes"])
    assert not any("restic" in n for n in gate["notes"])
    _, safety = step(doc, "data safety")
    assert any(n.startswith("Preserved: the kopia data of each of the 7 apps") for n in safety["notes"])


def test_a_repository_restic_also_mounts_is_named_as_restic_s(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    kopia_movers(repo, "replicationsource.yaml")  # the destinations stay restic
    change_root_path(repo)
    repo.commit("move the repositories")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    moved = [d["message"] for d in doc["dangers"] if d["code"] == "repository-moved"]
    assert moved
    assert all(m.startswith("The restic repository of ") for m in moved)
    _, gate = step(doc, "gate")
    assert any("its `config` file" in n for n in gate["notes"])


def share_root_path(repo: Repo) -> None:
    repo.edit(REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /volsync/shared")
    repo.commit("one repository for every app")


def test_apps_sharing_one_kopia_repository_are_no_danger(tmp_path: Path) -> None:
    """kopia sources share a repository, each as its own username@hostname
    (perfectra1n/volsync docs/usage/kopia/multi-tenancy.rst)."""
    repo = example_repo(tmp_path)
    kopia_movers(repo, *BOTH)
    share_root_path(repo)
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert [d for d in doc["dangers"] if d["code"] == "shared-root-path"] == []
    assert [d for d in doc["dangers"] if d["code"] == "repository-moved"]  # each app's history stays behind


def test_apps_sharing_a_repository_restic_mounts_are_a_danger(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    kopia_movers(repo, "replicationsource.yaml")
    share_root_path(repo)
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    (shared,) = [d for d in doc["dangers"] if d["code"] == "shared-root-path"]
    assert shared["message"].endswith("end up on one rootPath /volsync/shared.")


EXTERNAL_SECRET = f"{OPERATIONS}/externalsecret.yaml"


@pytest.mark.parametrize("tool", ["restic", "kopia"])
def test_another_repository_or_password_in_the_mover_s_secret_is_a_danger(tmp_path: Path, tool: str) -> None:
    repo = example_repo(tmp_path)
    if tool == "kopia":
        kopia_movers(repo, *BOTH)
        repo.edit(EXTERNAL_SECRET, "RESTIC_", "KOPIA_", count=3)
        repo.commit("kopia's keys")
    key = f"{tool.upper()}_REPOSITORY"
    repo.edit(EXTERNAL_SECRET, f"{key}: /repository/${{APP}}", f"{key}: /repository/v2/${{APP}}")
    repo.commit("another repository")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    said = {d["app"]: d["message"] for d in doc["dangers"] if d["code"] == "repository-moved"}
    assert set(said) == set(APPS)
    assert said["sonarr"] == (
        f"{key} of sonarr changes in ExternalSecret/sonarr-volsync: {tool} starts a new repository "
        "or cannot open the old."
    )


def test_an_external_mover_of_a_replaced_claim_is_paused_but_not_waited_for(tmp_path: Path) -> None:
    """Another controller runs an external mover's pods: no VolSync Job to wait for."""
    repo = example_repo(tmp_path)
    repo.write(
        EXTRA_MOVER,
        "---\napiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: sonarr-extra\n"
        "spec:\n  sourcePVC: sonarr\n  external:\n    provider: example.com/mover\n",
    )
    listed = "  - ./helmrelease.yaml\n"
    repo.edit("kubernetes/apps/media/sonarr/app/kustomization.yaml", listed, listed + "  - ./extra-mover.yaml\n")
    repo.commit("an external mover of sonarr's data")
    repo.edit(f"{OPERATIONS}/pvc.yaml", "VOLSYNC_ACCESSMODES:=ReadWriteOnce", "VOLSYNC_ACCESSMODES:=ReadWriteMany")
    repo.commit("data claims ReadWriteMany")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    _, pause = step(doc, "pause")
    assert ("pause", "replicationsource", "media", "sonarr-extra") in acts(pause)
    waits = {a["target"]["name"]: a["value"] for a in pause["actions"] if a["verb"] == "wait-movers"}
    assert "sonarr-extra" not in waits
    assert waits["sonarr"] == "volsync-src-sonarr"


def test_the_safety_note_names_other_repositories_only_where_there_are(tmp_path: Path) -> None:
    """The example's ``${APP}-r2`` sources back up elsewhere; without them, the
    note says nothing of remote repositories."""
    repo = example_repo(tmp_path)
    sources = f"{OPERATIONS}/replicationsource.yaml"
    first, _remote = repo.read(sources).split("\n---\n", 1)
    repo.write(sources, first + "\n")
    repo.commit("no remote repository")
    change_root_path(repo)
    repo.commit("move the restic repositories")
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    _, safety = step(doc, "data safety")
    (preserved,) = [n for n in safety["notes"] if n.startswith("Preserved: the restic data")]
    assert preserved == (
        "Preserved: the restic data of each of the 7 apps at its rootPath. VolSync reconnects to the existing "
        "repositories only where the repository did not move."
    )
