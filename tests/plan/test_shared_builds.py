"""plan builds an app the change leaves alone once, not once per revision (issue 16, item 3).

The head is walked first; the base walk takes the head's build of a
Kustomization when it is the same Kustomization, with the same variables,
and every answer the build relied on (file digests, folder listings) is the
same in the base's git tree (volsync_kit.core.buildmemo.SharedBuilds).
These tests count the builds each walk makes and compare every plan with
one made with sharing turned off: only the work may differ.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_repo import generated_repo
from typer.testing import CliRunner

from volsync_kit.cli import app
from volsync_kit.core import buildmemo, flux, runmemo

APPS = 12


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return generated_repo(tmp_path / "repo", APPS)


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every plan walks: a plan repeated on an unchanged work tree is otherwise
    answered from its run record (tests/test_runmemo.py), and these tests
    count what the walks build."""
    monkeypatch.setattr(runmemo, "reuse", lambda *args, **kwargs: None)


class Builds:
    """Which Kustomizations ``flux.rebuild`` (every build goes through it) built,
    walk by walk (instrumentation, not a stand-in)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        real = flux.rebuild

        def counted(repo, ks, variables, root=""):  # type: ignore[no-untyped-def]
            self.names.append(ks.ref.name)
            return real(repo, ks, variables, root)

        monkeypatch.setattr(flux, "rebuild", counted)


def plan(repo: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["plan", "--repo", str(repo), "--format", "json", *extra])
    return result.exit_code, result.stdout


def plan_both_ways(repo: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[list[str], str]:
    """The plan with sharing, the builds it made, and a check that the plan
    without sharing is the same."""
    builds = Builds(monkeypatch)
    shared = plan(repo, *extra)
    made = list(builds.names)
    with monkeypatch.context() as off:
        off.setattr(buildmemo.SharedBuilds, "offers", lambda self, ref: [])
        assert plan(repo, *extra) == shared
    return made, shared[1]


def apps(repo: Path) -> Iterator[Path]:
    return iter(sorted(repo.glob("kubernetes/apps/*/*/ks.yaml")))


def test_an_unchanged_tree_is_built_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made, out = plan_both_ways(repo, monkeypatch, "--no-cache")
    assert json.loads(out)["changes"] == []
    assert len(made) == len(set(made))  # the base built nothing again
    assert len(made) > APPS


def test_an_edited_app_is_built_again_and_only_it(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = next(apps(repo)).parent / "app" / "kustomization.yaml"
    target.write_text(target.read_text() + "commonLabels:\n  edited: 'yes'\n")
    made, _ = plan_both_ways(repo, monkeypatch, "--no-cache")
    twice = sorted({name for name in made if made.count(name) > 1})
    assert twice == [target.parent.parent.name]


def test_a_shared_component_change_builds_every_app_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    pv.write_text(pv.read_text().replace("/volsync/${APP}", "/volsync/repos/${APP}"))
    made, out = plan_both_ways(repo, monkeypatch, "--no-cache")
    names = {p.parent.name for p in apps(repo) if "volsync/repository" in p.read_text()}
    assert len(names) == APPS
    twice = {name for name in made if made.count(name) > 1}
    assert twice == names  # every app reads the component; nothing else is built twice
    assert [c["action"] for c in json.loads(out)["changes"]] == ["replace"] * 2 * APPS


def test_sharing_and_the_disk_cache_agree(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, walks: None
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = next(apps(repo)).parent / "app" / "kustomization.yaml"
    target.write_text(target.read_text() + "commonLabels:\n  edited: 'yes'\n")
    cold, _ = plan_both_ways(repo, monkeypatch)
    warm, out = plan_both_ways(repo, monkeypatch)
    assert plan(repo, "--no-cache")[1] == out
    assert len(cold) == len(set(cold)) + 1
    assert warm == []  # both revisions come from the cache, each from its own slot


def test_a_warm_base_takes_the_heads_builds_and_holds_no_copy(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, walks: None
) -> None:
    """With the cache, the base's build of an app the change leaves alone is
    the head's, in memory (not a second copy read from the base's slot), and
    the diff knows it unchanged without comparing it."""
    from volsync_kit import app as services
    from volsync_kit.core import diff

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = next(apps(repo)).parent / "app" / "kustomization.yaml"
    target.write_text(target.read_text() + "commonLabels:\n  edited: 'yes'\n")
    services.run_plan(repo)  # cold: fills the cache
    warm = services.run_plan(repo)
    assert warm == services.run_plan(repo, cache=False)
    base, head = (diff.tracked_objects(m) for m in (warm.diff.base_model, warm.diff.head_model))
    edited = target.parent.parent.name
    copies = {key for key in base if key in head and base[key][0] is not head[key][0]}
    assert copies == {key for key, (_, owner) in head.items() if owner.ks.ref.name == edited}
    assert len(base) - len(copies) >= 4 * (APPS - 1)


def test_an_app_built_again_holds_the_other_revisions_tree_of_each_unchanged_object(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared component's change builds every app again at the base, yet
    leaves every object but the PV as it was: without the cache too, the
    base takes the head's tree of each, and the diff passes over it."""
    from volsync_kit import app as services
    from volsync_kit.core import diff

    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    pv.write_text(pv.read_text().replace("/volsync/${APP}", "/volsync/repos/${APP}"))
    planned = services.run_plan(repo, cache=False)
    base, head = (diff.tracked_objects(m) for m in (planned.diff.base_model, planned.diff.head_model))
    both = [key for key in head if key in base and base[key][0] is not head[key][0]]
    moved = {key for key in both if key[1] == "PersistentVolume"}
    assert len(moved) == APPS
    assert all(base[key][0].node is not head[key][0].node for key in moved)
    assert len(both) - len(moved) >= 3 * APPS  # claims, movers and their Secrets' makers
    assert all(base[key][0].node is head[key][0].node for key in both if key not in moved)
    with monkeypatch.context() as off:
        off.setattr(buildmemo.SharedBuilds, "offers", lambda self, ref: [])
        assert services.run_plan(repo, cache=False) == planned


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_the_base_scans_only_the_files_the_change_touched(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: bool, walks: None
) -> None:
    """The scan for entry points reads each Kustomization file once: the base
    takes the head's objects of a file that is the same at both revisions."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    edited = next(apps(repo))
    edited.write_text(edited.read_text().replace("interval: 1h", "interval: 2h"))
    flags = () if cache else ("--no-cache",)
    if cache:
        plan(repo)  # the store is filled: the next run reads each file's objects from it
    scanned: dict[str, list[tuple[object, ...]]] = {}
    real = flux._scanned

    def kept(reader, path, memo, shared, *rest):  # type: ignore[no-untyped-def]
        found = real(reader, path, memo, shared, *rest)
        scanned.setdefault(path, []).append(found)
        return found

    monkeypatch.setattr(flux, "_scanned", kept)
    code, out = plan(repo, *flags)
    assert code == 0
    assert len(scanned) > APPS
    assert all(len(found) == 2 for found in scanned.values())  # each file, at each revision
    apart = {path for path, (head, base) in scanned.items() if head is not base}
    assert apart == {str(edited.relative_to(repo))}  # one file differs; the base took the head's objects of every other
    monkeypatch.setattr(flux, "_scanned", real)
    with monkeypatch.context() as off:
        off.setattr(buildmemo.SharedBuilds, "__init__", _no_scan_sharing(buildmemo.SharedBuilds.__init__))
        assert plan(repo, *flags) == (code, out)


def _no_scan_sharing(init):  # type: ignore[no-untyped-def]
    def without(self):  # type: ignore[no-untyped-def]
        init(self)
        self.scanned = _Forgetful()

    return without


class _Forgetful(dict):  # type: ignore[type-arg]
    """A memo that keeps nothing: every walk scans every file itself."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


@pytest.mark.usefixtures("walks")
def test_the_offers_are_released_after_the_base_walk_and_the_plan_is_the_same(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the last walk nothing takes an offer: plan releases them before
    the diff (their builds' questions were 16 MB of a 2,000-app plan's peak),
    and says what it said while it held them."""
    from volsync_kit.core import diff

    held: list[int] = []
    seen: list[buildmemo.SharedBuilds] = []
    real_release, real_diff = buildmemo.SharedBuilds.release, diff.diff

    def release(self: buildmemo.SharedBuilds) -> None:
        seen.append(self)
        held.append(len(self._offers))
        real_release(self)

    def diffed(base: flux.RepoModel, head: flux.RepoModel) -> diff.Diff:
        assert seen, "the diff ran before the offers were released"
        assert not seen[-1]._offers
        assert not seen[-1].scanned
        return real_diff(base, head)

    kept = plan(repo)
    monkeypatch.setattr(buildmemo.SharedBuilds, "release", release)
    monkeypatch.setattr(diff, "diff", diffed)
    assert plan(repo) == kept
    assert len(held) == 1
    assert held[0] > APPS  # every app's build was offered, by the head's walk and the base's


def test_a_plan_keeps_no_tracked_objects_on_its_models_and_says_the_same(repo: Path) -> None:
    """diff.release drops what tracked_objects kept on the models for the
    planner; asked again, they are found again, the same."""
    from volsync_kit import app as services
    from volsync_kit.core import diff, planner
    from volsync_kit.report import plan_out

    made = services.run_plan(repo, cache=False)
    assert made.diff.base_model.tracked is None
    assert made.diff.head_model.tracked is None
    again = diff.tracked_objects(made.diff.head_model)
    assert again
    assert dict(again) == diff._tracked_objects(made.diff.head_model)
    assert plan_out.to_json(made) == plan_out.to_json(planner.reported(made))
