"""Builds the store keeps with the bodies no walk reads packed apart.

An entry holds the bodies of objects such as HelmReleases and claims, and
what a build was made of, as pickles of their own, read back when something
first looks inside (``volsync_kit.adapters.cache``: "builds, packed").  These
tests hold what that must not change: the objects read back are equal to
those built, their identity is known without opening them, a body passed on
unopened is written as the same bytes, only equal bytes pass as equal, and
the bodies two revisions write alike are read as one.
"""

from __future__ import annotations

import gc
import subprocess
from pathlib import Path

import pytest
from helpers_repo import committed_example, generated_repo
from test_cache import outputs, run

from volsync_kit.adapters.cache import DiskCache
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.app import run_lint, run_plan, walk
from volsync_kit.core import diff as diff_module
from volsync_kit.core import runmemo
from volsync_kit.core.buildmemo import Stored
from volsync_kit.core.flux import RepoModel
from volsync_kit.core.model import (
    LazyMap,
    Loc,
    Map,
    Resource,
    Scalar,
    Sharing,
    same_unbuilt,
    written_strings,
    written_texts,
)
from volsync_kit.core.planner import Plan

DATA_PVC = "kubernetes/flux/components/volsync/operations/pvc.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_repo(tmp_path_factory.mktemp("gen") / "repo", 12, "--defects")


def _walks(repo: Path, cache_dir: Path) -> tuple[RepoModel, RepoModel]:
    """A cold walk that fills the store, and a warm one that reads it."""
    cold = walk(FileRepo(repo), None, DiskCache(cache_dir, repo))
    return cold, walk(FileRepo(repo), None, DiskCache(cache_dir, repo))


def _unopened(res: Resource) -> bool:
    return type(res.node) is LazyMap and res.node.source() is not None


def _resources(model: RepoModel) -> list[Resource]:
    return [res for result in model.results for res in result.resources]


def test_read_back_objects_equal_the_built_ones_and_only_the_unread_kinds_stay_packed(
    generated: Path, tmp_path: Path
) -> None:
    cold, warm = _walks(generated, tmp_path / "cache")
    read_back = _resources(warm)
    packed = {res.kind for res in read_back if _unopened(res)}
    # A walk reads no body of these: each is still packed after it.
    assert {"HelmRelease", "PersistentVolumeClaim", "PersistentVolume", "ReplicationSource",
            "ReplicationDestination", "ExternalSecret"} <= packed  # fmt: skip
    # Flux's own and what substitution reads come back whole (cache._kept_whole).
    assert not packed & {"Kustomization", "ConfigMap", "Secret"}
    # The identity is known without opening the body ...
    identities = [(res.kind, res.api_version, res.name, res.namespace) for res in read_back]
    assert all(_unopened(res) for res in read_back if res.kind in packed)
    # ... and is the one the body says, as every object equals the one built.
    built = _resources(cold)
    assert identities == [(res.kind, res.api_version, res.name, res.namespace) for res in built]
    assert read_back == built
    assert not any(_unopened(res) for res in read_back)  # comparing opened them


def test_the_facts_every_run_reads_come_back_with_a_packed_body_and_leave_it_unopened(
    generated: Path, tmp_path: Path
) -> None:
    """The store keeps what each ExternalSecret makes, what each mover names
    and the volume each claim names (volsync_kit.core.facts) with its packed
    body: the walk indexes the Secrets for substituteFrom, and plan finds the
    restic Secrets, the movers of a claim and the claims of a volume, without
    opening one; each fact is what the opened body says."""
    from volsync_kit.core import facts, variables
    from volsync_kit.core.checklist import movers

    cold, warm = _walks(generated, tmp_path / "cache")
    kinds = ("ExternalSecret", "ReplicationSource", "ReplicationDestination", "PersistentVolumeClaim")
    read_back = [res for res in _resources(warm) if res.kind in kinds]
    assert {res.kind for res in read_back} == set(kinds)
    assert all(_unopened(res) and res.facts for res in read_back)
    tracked = diff_module.tracked_objects(warm)  # which restic Secrets' makers plan compares
    assert any(res.kind == "ExternalSecret" for res, _ in tracked.values())
    claims = {
        (res.namespace, claim)
        for res in read_back
        for claim in (facts.mover_facts(res) or facts.MoverFacts((), (), ())).mounted
    }
    assert claims
    changes = diff_module.Diff((), (), warm, warm)
    assert {res.kind for res in movers(changes, claims)} == {"ReplicationSource", "ReplicationDestination"}
    bound = {facts.claim_volume(res) for res in read_back if res.kind == "PersistentVolumeClaim"}
    assert any(name and name.endswith("-repo-pv") for name in bound)
    restored = {facts.claim_restored_from(res) for res in read_back if res.kind == "PersistentVolumeClaim"}
    assert None in restored
    assert any(name and name.endswith("-dst") for name in restored)
    assert all(_unopened(res) for res in read_back)
    for res in read_back:
        opened = Resource(Map(dict(res.node.items), res.node.loc, res.node.key_locs), res.origin)
        assert variables.produced(opened) == variables.produced(res)
        assert facts.mover_facts(opened) == facts.mover_facts(res)
        assert facts.claim_volume(opened) == facts.claim_volume(res)
        assert facts.claim_without_class(opened) == facts.claim_without_class(res)
        assert facts.claim_restored_from(opened) == facts.claim_restored_from(res)
    assert warm == cold


def test_lint_finds_the_claims_of_static_volumes_without_opening_the_others(generated: Path, tmp_path: Path) -> None:
    """lint's rendered view picks each app's static CephFS PVs and the claims
    that go with them (volumedocs.related_objects) from the facts kept with each
    claim: an app's data claim, which no rule reads, stays packed, and the
    view is the one the built objects give."""
    from volsync_kit.core.volumedocs import related_objects

    cold, warm = _walks(generated, tmp_path / "cache")
    left_alone = 0
    for built, read in zip(cold.results, warm.results, strict=True):
        picked = related_objects(read.resources)
        assert picked == related_objects(built.resources)
        for res in read.resources:
            if res.kind == "PersistentVolumeClaim" and all(res is not p for p in picked):
                assert _unopened(res), f"{res.name} was opened"
                left_alone += 1
    assert left_alone > 0


def test_the_scan_reads_its_files_back_packed_and_opens_only_the_entry_points(generated: Path, tmp_path: Path) -> None:
    """The scan for entry points keeps each file's objects in the store packed,
    with their facts (flux._scanned): read back, it finds what parsing every
    file finds, and opens only the Kustomizations that sync their own folder."""
    from volsync_kit.core import flux

    fresh = flux._scan(FileRepo(generated))
    cache_dir = tmp_path / "cache"
    _walks(generated, cache_dir)
    store = DiskCache(cache_dir, generated)
    repo = FileRepo(generated)
    repo.cache = store
    found = flux._scan(repo, store)
    assert store.writes == 0
    declared = [res for _, res in found.declared]
    assert len(declared) > 10
    opened = {id(res) for res in declared if not _unopened(res)}
    assert opened <= {id(entry.ks) for entry in found.selfsync}
    assert (found.declared, found.problems) == (fresh.declared, fresh.problems)
    assert (found.instances, found.selfsync, found.sources) == (fresh.instances, fresh.selfsync, fresh.sources)


def test_what_a_build_was_made_of_is_read_back_only_when_asked(generated: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cold, _ = _walks(generated, cache_dir)
    store = DiskCache(cache_dir, generated)
    at = Loc("kubernetes/apps/a/ks.yaml", 3, 5)
    made_of = (Map({"kind": Scalar("Kustomization", at)}, at), "root")
    store.put("slot", "inputs", Stored("material", (), tuple(_resources(cold)[:3]), (), frozenset(), made_of))
    store.flush()
    back = DiskCache(cache_dir, generated).get("slot", "inputs")
    assert isinstance(back, Stored)
    assert back.knows_made_of
    assert not isinstance(back.kept_of, tuple)  # known, not read
    assert back.made_of == made_of
    assert back.kept_of == made_of  # read once
    never = Stored("material", (), (), (), frozenset())
    store.put("none", "inputs", never)
    again = store.get("none", "inputs")
    assert isinstance(again, Stored)
    assert not again.knows_made_of
    assert again.made_of == ()


def test_a_body_passed_on_unopened_is_written_as_the_same_bytes(generated: Path, tmp_path: Path) -> None:
    _, warm = _walks(generated, tmp_path / "cache")
    claims = [res for res in _resources(warm) if res.kind == "PersistentVolumeClaim" and _unopened(res)]
    assert claims
    store = DiskCache(tmp_path / "other", generated)
    store.put("slot", "inputs", Stored("m", (), tuple(claims), (), frozenset()))
    back = store.get("slot", "inputs")
    assert isinstance(back, Stored)
    for before, after in zip(claims, back.resources, strict=True):
        assert _unopened(before)
        assert _unopened(after)
        assert same_unbuilt(before.node, after.node)  # equal bytes, neither opened
        assert _unopened(before)
        assert _unopened(after)
        assert after == before


def test_only_bodies_written_alike_pass_as_equal_unopened(generated: Path, tmp_path: Path) -> None:
    """A claim that differs in one field is not equal by its bytes, and the
    diff then finds the field."""
    _, warm = _walks(generated, tmp_path / "cache")
    claim = next(res for res in _resources(warm) if res.kind == "PersistentVolumeClaim" and _unopened(res))
    spec = claim.node.items["spec"]
    assert isinstance(spec, Map)
    changed = claim.with_node(
        Map({**claim.node.items, "spec": Map({**spec.items, "storageClassName": Scalar("other")}, spec.loc)},
            claim.node.loc, claim.node.key_locs)
    )  # fmt: skip
    store = DiskCache(tmp_path / "other", generated)
    store.put("a", "i", Stored("m", (), (claim,), (), frozenset()))
    store.put("b", "i", Stored("m", (), (changed,), (), frozenset()))
    a, b = store.get("a", "i"), store.get("b", "i")
    assert isinstance(a, Stored)
    assert isinstance(b, Stored)
    assert not same_unbuilt(a.resources[0].node, b.resources[0].node)
    fields = diff_module.field_changes("PersistentVolumeClaim", a.resources[0], b.resources[0], {})
    assert [f.path for f in fields] == ["spec.storageClassName"]
    assert not same_unbuilt(claim.node, claim.with_node(Map(dict(claim.node.items))).node)  # built: never


def test_what_render_keeps_holds_no_body_unopened(generated: Path, tmp_path: Path) -> None:
    """render's record is kept shared (model.Sharing): a body the walk read
    back unopened is opened there once, not read again on every warm run."""
    _, warm = _walks(generated, tmp_path / "cache")
    claim = next(res for res in _resources(warm) if _unopened(res))
    kept = Sharing().resource(claim)
    assert type(kept.node) is Map
    assert kept == claim


def test_a_change_to_a_packed_body_is_planned_as_without_the_cache(tmp_path: Path) -> None:
    """Every app's data claim gains a label: plan reads both revisions' claims
    back from the store, packed, opens them because their bytes differ, and
    says what it says without the cache."""
    repo = committed_example(tmp_path)
    cache_dir = tmp_path / "cache"
    pvc = repo / DATA_PVC
    pvc.write_text(pvc.read_text().replace("  name: ${APP}\n", "  name: ${APP}\n  labels:\n    tier: data\n", 1))
    without = outputs(repo, None)
    first = outputs(repo, cache_dir)
    warm = outputs(repo, cache_dir)
    assert first == without
    assert warm == without
    assert without["plan"][1].count('"path": "metadata.labels.tier"') >= 3
    subprocess.run(["git", "-C", str(repo), "add", DATA_PVC], check=True)
    staged = [run(["plan", "--repo", str(repo), "--staged", *extra], cache_dir) for extra in ([], [], ["--no-cache"])]
    assert staged[0].stdout == staged[1].stdout == staged[2].stdout
    assert "metadata.labels.tier" in staged[0].stdout
    assert staged[0].returncode == staged[2].returncode


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared rootPath moved in the work tree: plan replaces every app's PV."""
    return generated_repo(tmp_path_factory.mktemp("moved") / "repo", 6, "--plan-change")


def _warm_plan(repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Plan:
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(cache_dir))
    run_lint(repo)  # fills the store: the work tree's builds, as the hook writes them ...
    run_plan(repo)  # ... and the base's, as plan writes them
    # Walked again: the plan's own record would answer without the models these tests read.
    monkeypatch.setattr(runmemo, "reuse", lambda *args, **kwargs: None)
    return run_plan(repo)


# The bodies of each generated app that the moved rootPath leaves alone.
UNMOVED = {"HelmRelease": 1, "PersistentVolumeClaim": 2, "ReplicationSource": 2, "ReplicationDestination": 1,
           "ExternalSecret": 2}  # fmt: skip


def test_plan_holds_a_body_both_revisions_write_alike_once(
    moved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both revisions' builds of an app come from the store, the work tree's
    written by lint and the base's by plan; each body the change leaves alone
    is one node (the movers and ExternalSecrets a walk and the diff read
    too), and the moved PV is read from each."""
    plan = _warm_plan(moved, tmp_path / "cache", monkeypatch)
    base = {(r.ks.ref.name, res.kind, res.name): res for r in plan.diff.base_model.results for res in r.resources}
    head = {(r.ks.ref.name, res.kind, res.name): res for r in plan.diff.head_model.results for res in r.resources}
    apps = {key[0] for key in head if key[1] == "PersistentVolume"}
    assert len(apps) == 6
    shared = 0
    for key, res in head.items():
        if key[0] not in apps:
            continue
        assert base[key] is not res  # each revision has its own objects ...
        if key[1] == "PersistentVolume":
            assert base[key].node is not res.node  # ... the moved rootPath is read from each
            assert base[key].node != res.node
        elif key[1] in UNMOVED:
            assert base[key].node is res.node, key  # ... and a body written alike is one
            shared += 1
    assert shared == 6 * sum(UNMOVED.values())
    replaced = {(c.kind, c.name) for c in plan.diff.changes if c.action == "replace"}
    assert {kind for kind, _ in replaced} == {"PersistentVolume", "PersistentVolumeClaim"}
    assert len(replaced) == 12
    fresh = run_plan(moved, cache=False)
    assert (plan.diff.changes, plan.steps) == (fresh.diff.changes, fresh.steps)


def test_asking_a_packed_body_for_its_strings_leaves_it_unopened(generated: Path, tmp_path: Path) -> None:
    """plan asks every release whether it may name a claim (checklist.workloads):
    the answer is read apart, and the release's body stays packed."""
    _, warm = _walks(generated, tmp_path / "cache")
    release = next(res for res in _resources(warm) if res.kind == "HelmRelease" and _unopened(res))
    strings = list(written_strings(release.node))
    assert _unopened(release)
    assert strings == list(written_strings(Map(dict(release.node.items))))  # the same, read from the opened body
    assert "HelmRelease" in strings
    assert not _unopened(release)


def test_reading_a_body_apart_leaves_nothing_for_the_collector(generated: Path, tmp_path: Path) -> None:
    """The CLI runs without the cyclic collector (cli.py): a release's text,
    read apart from the run's shared tables (plan asks it of every release),
    is freed by its count alone.  (A table of unpickling's globals kept on
    cache._Shared held each such _Shared in a cycle with its bound methods.)"""
    _, warm = _walks(generated, tmp_path / "cache")
    releases = [res for res in _resources(warm) if res.kind == "HelmRelease" and _unopened(res)]
    assert releases
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        assert all(written_texts(res.node) is not None for res in releases)
        assert all(list(written_strings(res.node)) for res in releases)
        assert all(_unopened(res) for res in releases)
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()
