"""A lint run that reuses the run recorded before says what a run without the cache says.

volsync_kit.core.runmemo answers a warm lint from the last run's record when
every build an edit touched still projects the same objects to the walk and
the rules.  Each test here records a run, edits a copy of a generated
repository in one of the ways operators do, lints it again with the cache,
and compares that with linting the same tree without any cache.  Edits that
change nothing lint reads must be answered from the record (or the fast path
would be untested); every other edit must fall back to a walk.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from helpers_repo import generated_repo

from volsync_kit import app
from volsync_kit.adapters import cache as cache_module
from volsync_kit.adapters import fs
from volsync_kit.adapters.cache import RACY_NS
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core import flux, runmemo
from volsync_kit.core.buildmemo import Stored
from volsync_kit.core.findings import LintResult
from volsync_kit.core.model import ModelError
from volsync_kit.core.planner import Plan
from volsync_kit.core.procedure import Target
from volsync_kit.report import plan_out, plan_shell

Edit = Callable[[Path], None]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_repo(tmp_path_factory.mktemp("gen") / "repo", 24, "--defects")


@pytest.fixture(params=["fresh", "settled"])
def clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``fresh``: files were just written, so no stamp vouches for them (they
    are racy) and every question is asked again; ``settled``: runs look at the
    files later, so stamps vouch for them and only moved paths are asked."""
    if request.param == "settled":
        real = time.time_ns
        monkeypatch.setattr(fs, "_clock", lambda: real() + 10 * RACY_NS)
    return str(request.param)


@pytest.fixture
def repo(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: str) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(generated, copy, symlinks=True)
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "cache"))
    return copy


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read from now on (a spy)."""
    read: list[str] = []
    original = FileRepo._read_bytes

    def counted(self: FileRepo, path: str) -> bytes:
        read.append(path)
        return original(self, path)

    monkeypatch.setattr(FileRepo, "_read_bytes", counted)
    return read


@pytest.fixture
def reuses(monkeypatch: pytest.MonkeyPatch) -> list[runmemo.Reuse | None]:
    """What each run's runmemo.reuse answered (a spy: the real function runs)."""
    seen: list[runmemo.Reuse | None] = []
    real = runmemo.reuse

    def spy(*args: object, **kwargs: object) -> runmemo.Reuse | None:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(found)
        return found

    monkeypatch.setattr(runmemo, "reuse", spy)
    return seen


def _apps(repo: Path) -> list[Path]:
    return sorted(p.parent for p in (repo / "kubernetes/apps").glob("*/*/ks.yaml") if "flux-system" not in str(p))


def _helmrelease(repo: Path) -> Path:
    return _apps(repo)[0] / "app/helmrelease.yaml"


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _sub(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert re.search(old, text), f"{old!r} not in {path}"
    path.write_text(re.sub(old, new, text, count=1), encoding="utf-8")


# -- edits lint does not see: answered from the record ---------------------------------


def comment(repo: Path) -> None:
    _append(_helmrelease(repo), "# a note\n")


def image_tag(repo: Path) -> None:
    _sub(_helmrelease(repo), r"tag: \S+", "tag: 9.9.9")


def touch(repo: Path) -> None:
    path = _helmrelease(repo)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))


def two_releases(repo: Path) -> None:
    for folder in _apps(repo)[:2]:
        _sub(folder / "app/helmrelease.yaml", r"memory: \S+", "memory: 2Gi")


def saved(repo: Path) -> None:
    """A comment saved as an editor's safe write, ``sed -i`` or a checkout
    save it: a new file renamed over the old one, which moves the folder's stamp."""
    path = _helmrelease(repo)
    new = path.with_name(f".{path.name}.saving")
    new.write_text(path.read_text(encoding="utf-8") + "# saved\n", encoding="utf-8")
    os.replace(new, path)


REUSED: dict[str, Edit] = {
    "comment": comment,
    "image-tag": image_tag,
    "touch": touch,
    "two-releases": two_releases,
    "saved": saved,
}
REBUILT = {"two-releases": 2, "touch": 0}  # apps each edit builds again; else 1


# -- edits of when and whether Flux reconciles an app, and of what it prunes
# (runmemo.UNREAD_FIELDS), which neither lint nor render reads: answered from the
# record, though the build of every ks.yaml is made again


def _ks(repo: Path) -> Path:
    return _apps(repo)[1] / "ks.yaml"


def ks_interval(repo: Path) -> None:
    _sub(_ks(repo), r"interval: \S+", "interval: 42m")


def ks_timeout_and_wait(repo: Path) -> None:
    _sub(_ks(repo), r"timeout: \S+", "timeout: 15m")
    _sub(_ks(repo), r"wait: \S+", "wait: true")


def ks_depends_on_renamed(repo: Path) -> None:
    _sub(_ks(repo), r"(dependsOn:\n\s*- name:) \S+", r"\1 rook-ceph-cluster")


def ks_prune(repo: Path) -> None:
    """Turned off, then on again."""
    if "prune: true" in _ks(repo).read_text(encoding="utf-8"):
        _sub(_ks(repo), r"prune: true", "prune: false")
    else:
        _sub(_ks(repo), r"prune: false", "prune: true")


def ks_suspended(repo: Path) -> None:
    """Suspended by a key added after the last one (no other line of the file
    moves), then resumed."""
    if "suspend: true" in _ks(repo).read_text(encoding="utf-8"):
        _sub(_ks(repo), r"suspend: true", "suspend: false")
    else:
        _sub(_ks(repo), r"(\n  wait: \S+\n)$", r"\1  suspend: true\n")


def root_interval(repo: Path) -> None:
    _sub(repo / "kubernetes/flux/cluster/ks.yaml", r"interval: 1h", "interval: 2h")


def ks_substituted_interval(repo: Path) -> None:
    """cluster-apps' post-build substitution reads it: that build is made again."""
    _sub(_ks(repo), r"interval: \S+", "interval: ${APP_INTERVAL:-42m}")


UNREAD_EDITS: dict[str, Edit] = {
    "ks-interval": ks_interval,
    "ks-timeout-and-wait": ks_timeout_and_wait,
    "ks-depends-on-renamed": ks_depends_on_renamed,
    "ks-prune": ks_prune,
    "ks-suspended": ks_suspended,
    "root-interval": root_interval,
    "ks-substituted-interval": ks_substituted_interval,
}
# Builds made again, and builds that only carry the edited fields through
# (runmemo._passed), after each edit; (0, 1) for the others: cluster-apps.
MADE_AND_PASSED = {"root-interval": (1, 1), "ks-substituted-interval": (1, 0)}


# -- edits lint sees, or may: walked again ----------------------------------------------


def release_adds_claim(repo: Path) -> None:
    _append(
        _helmrelease(repo),
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: volsync-${APP}-repo\nspec:\n"
        "  accessModes: [ReadWriteOnce]\n  storageClassName: ''\n  volumeName: volsync-${APP}-repo-pv\n"
        "  resources:\n    requests:\n      storage: 1Gi\n",
    )


def release_breaks(repo: Path) -> None:
    _append(_helmrelease(repo), "values: [unclosed\n")


def release_removed(repo: Path) -> None:
    _helmrelease(repo).unlink()


def release_unlisted(repo: Path) -> None:
    _sub(_apps(repo)[0] / "app/kustomization.yaml", r"\n\s*- \./helmrelease\.yaml", "")


def release_undefined_variable(repo: Path) -> None:
    _sub(_helmrelease(repo), r"tag: \S+", "tag: ${NOT_DEFINED_ANYWHERE}")


def root_path(repo: Path) -> None:
    _sub(repo / "kubernetes/flux/components/volsync/repository/pv.yaml", r"/volsync/\$\{APP\}", "/volsync/x/${APP}")


def app_value(repo: Path) -> None:
    _sub(_apps(repo)[1] / "ks.yaml", r"APP: \*app", "APP: renamed")


def cluster_setting(repo: Path) -> None:
    _sub(
        repo / "kubernetes/flux/meta/settings/cluster-settings.yaml", 'CEPHFS_NAME: "cephfs"', 'CEPHFS_NAME: "otherfs"'
    )


def directive(repo: Path) -> None:
    (pv,) = repo.glob("kubernetes/apps/*/*/app/media-pv.yaml")
    _sub(pv, r"\n(\s*)csi:", r"\n\1# volsync-kit: disable=VK101\n\1csi:")


def new_app(repo: Path) -> None:
    source = _apps(repo)[0]
    name = source.name
    target = source.parent / f"{name}-copy"
    shutil.copytree(source, target)
    for path in target.rglob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace(name, f"{name}-copy"), encoding="utf-8")
    _sub(
        source.parent / "kustomization.yaml", rf"- \./{name}/ks\.yaml", f"- ./{name}/ks.yaml\n  - ./{name}-copy/ks.yaml"
    )


def stray_file(repo: Path) -> None:
    (_apps(repo)[0] / "app/notes.yaml").write_text("kind: PersistentVolume\n", encoding="utf-8")


def ks_depends_on_added(repo: Path) -> None:
    """Lines move: every location after them in the file may be read."""
    _sub(_ks(repo), r"(dependsOn:\n)", r"\1    - name: rook-ceph-cluster\n      namespace: rook-ceph\n")


def ks_interval_broken(repo: Path) -> None:
    """The build that holds the ks.yaml substitutes into the interval too, and fails."""
    _sub(_ks(repo), r"interval: \S+", 'interval: "${BROKEN"')


WALKED: dict[str, Edit] = {
    "release-adds-claim": release_adds_claim,
    "release-breaks": release_breaks,
    "release-removed": release_removed,
    "release-unlisted": release_unlisted,
    "release-undefined-variable": release_undefined_variable,
    "root-path": root_path,
    "app-value": app_value,
    "cluster-setting": cluster_setting,
    "directive": directive,
    "new-app": new_app,
    "stray-file": stray_file,
    "ks-depends-on-added": ks_depends_on_added,
    "ks-interval-broken": ks_interval_broken,
}


def _lint(repo: Path, cache: bool = True, files: list[Path] | None = None) -> LintResult:
    return app.run_lint(repo, cache=cache, files=files)


@pytest.mark.parametrize("name", sorted(REUSED))
def test_an_edit_lint_does_not_see_is_answered_from_the_record(
    repo: Path, reuses: list[runmemo.Reuse | None], reads: list[str], clock: str, name: str
) -> None:
    recorded = _lint(repo)
    REUSED[name](repo)
    reads.clear()
    warm = _lint(repo)
    if clock == "settled":  # only the edited files are read, each once
        edited = {str(p.relative_to(repo)) for p in _apps(repo)[: 2 if name == "two-releases" else 1]}
        assert {path.rsplit("/app/", 1)[0] for path in reads} <= edited | {".volsync-kit.yaml"}
        assert len(reads) == len(set(reads))
    assert reuses[-1] is not None, "the record was not reused"
    assert reuses[-1].rebuilt == REBUILT.get(name, 1)
    assert warm == _lint(repo, cache=False) == recorded
    again = _lint(repo)
    assert reuses[-1] is not None
    assert reuses[-1].rebuilt == 0
    assert again == warm


@pytest.mark.parametrize("name", sorted(UNREAD_EDITS))
def test_an_edit_of_when_flux_reconciles_is_answered_from_the_record(
    repo: Path, reuses: list[runmemo.Reuse | None], reads: list[str], clock: str, name: str
) -> None:
    """The scan for entry points and the build that holds the ks.yaml both read
    it: the scan is judged by what it takes of it (runmemo._same_scan), and a
    build that reads it only as objects, and reads none of those fields, is
    not made again (runmemo._passed)."""
    recorded = _lint(repo)
    UNREAD_EDITS[name](repo)
    reads.clear()
    warm = _lint(repo)
    made, passed = MADE_AND_PASSED.get(name, (0, 1))
    root = "kubernetes/flux/cluster/ks.yaml"
    if clock == "settled":
        # The edited file, and the file whose inline patches cluster-apps
        # parses when it is built: nothing else, each once.
        edited = root if name == "root-interval" else str(_ks(repo).relative_to(repo))
        assert sorted(reads) == sorted({edited, root} if made else {edited})
    assert reuses[-1] is not None, "the record was not reused"
    # Every build that read the file: cluster-apps holds an app's ks.yaml, and
    # only carries its interval through.  The root's file is held by the
    # root's build, and cluster-apps reads its own inline patches from it:
    # that one is built.
    assert (reuses[-1].rebuilt, reuses[-1].passed) == (made, passed)
    assert warm == _lint(repo, cache=False) == recorded
    again = _lint(repo)
    assert reuses[-1] is not None
    assert reuses[-1].rebuilt == reuses[-1].passed == 0
    assert again == warm
    UNREAD_EDITS[name](repo)  # and again: the scan kept what it took of the edited text
    assert _lint(repo) == warm
    assert reuses[-1] is not None


# -- builds that may read the edited fields of a ks.yaml: made again, or walked ---------


def _interval(repo: Path) -> str:
    found = re.search(r"\n  interval: (\S+)", _ks(repo).read_text(encoding="utf-8"))
    assert found is not None
    return found.group(1)


def _ops_on_the_app(repo: Path, *ops: str) -> None:
    """A JSON 6902 patch of cluster-apps' (the file's last object), on the edited app's Kustomization."""
    name = re.search(r"name: &app (\S+)", _ks(repo).read_text(encoding="utf-8"))
    assert name is not None
    body = "".join(f"        - {op}\n" for op in ops)
    _append(
        repo / "kubernetes/flux/cluster/ks.yaml",
        f"    - patch: |-\n{body}      target:\n        kind: Kustomization\n        name: {name.group(1)}\n",
    )


def _in_namespace(repo: Path, text: str) -> None:
    """Appended to the kustomization that lists the edited app's ks.yaml."""
    _append(_ks(repo).parent.parent / "kustomization.yaml", text)


def _app(repo: Path) -> str:
    return _ks(repo).parent.name


def _nothing(repo: Path) -> None:
    pass


def _interval_tested(repo: Path) -> None:
    _ops_on_the_app(repo, f"{{op: test, path: /spec/interval, value: {_interval(repo)}}}")


def _interval_copied(repo: Path) -> None:
    _ops_on_the_app(repo, "{op: copy, from: /spec/interval, path: /spec/postBuild/substitute/APP}")


def _interval_replaced(repo: Path) -> None:
    _ops_on_the_app(repo, "{op: replace, path: /spec/interval, value: 5m}")


def _variable_added(repo: Path) -> None:
    _ops_on_the_app(repo, "{op: add, path: /spec/postBuild/substitute/EXTRA, value: x}")


def _interval_replacing(repo: Path) -> None:
    app_ = _app(repo)
    _in_namespace(
        repo,
        f"replacements:\n  - source: {{kind: Kustomization, name: {app_}, fieldPath: spec.interval}}\n"
        f"    targets:\n      - select: {{kind: Kustomization, name: {app_}}}\n"
        "        fieldPaths: [spec.postBuild.substitute.APP]\n",
    )


def _ks_generated_from(repo: Path) -> None:
    _in_namespace(repo, f"configMapGenerator:\n  - name: copied\n    files: [./{_app(repo)}/ks.yaml]\n")


def ks_list_document(repo: Path) -> None:
    """A document after the last, which no scan takes and a build fails on."""
    _append(_ks(repo), "---\n- not an object\n")


# (what the repository holds, the edit, what a warm run does: walks, makes the
# build again, or passes it through; and whether lint or render then say
# something else than before the edit, which a build passed through would not)
GUARDED: dict[str, tuple[Edit, Edit, str, bool]] = {
    "json6902-test": (_interval_tested, ks_interval, "walks", True),
    "json6902-copy": (_interval_copied, ks_interval, "walks", True),
    "json6902-replace": (_interval_replaced, ks_interval, "made", False),
    "json6902-on-read-field": (_variable_added, ks_interval, "passed", False),
    "replacements": (_interval_replacing, ks_interval, "walks", True),
    "generator-source": (_ks_generated_from, ks_interval, "walks", False),
    "list-document": (_nothing, ks_list_document, "walks", True),
}


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_a_build_that_may_read_the_edited_fields_is_not_passed_through(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    """runmemo._passed: a build that reads the ks.yaml otherwise than as objects,
    or whose transforms read or require one of UNREAD_FIELDS, is made again;
    lint and render then say what a run without the cache says."""
    setup, edit, outcome, differs = GUARDED[name]
    setup(repo)
    before = (_lint(repo), app.run_render(repo))
    edit(repo)
    warm = _lint(repo)
    found = reuses[-1]
    if outcome == "walks":
        assert found is None, "a build that read the edit was reused"
    else:
        assert found is not None
        assert (found.rebuilt, found.passed) == ((1, 0) if outcome == "made" else (0, 1))
    now = (warm, app.run_render(repo))
    assert now == (_lint(repo, cache=False), app.run_render(repo, cache=False))
    assert (now != before) == differs


def test_the_scan_without_what_it_took_before_walks_again(
    repo: Path, reuses: list[runmemo.Reuse | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the scan took of the text before the edit is read back from the
    store; when the store no longer holds it, the run cannot tell, and walks."""
    from volsync_kit.core import flux

    recorded = _lint(repo)
    ks_interval(repo)
    monkeypatch.setattr(flux, "kept_scan", lambda *args: None)
    warm = _lint(repo)
    assert reuses[-1] is None
    assert warm == _lint(repo, cache=False) == recorded


def test_scheduling_fields_leave_the_projection_of_a_flux_kustomization_only(repo: Path) -> None:
    from volsync_kit.core.model import Loc, Map, Resource, Scalar

    def resource(api: str, interval: str, path: str = "./a") -> Resource:
        loc = Loc("ks.yaml", 1, 1)
        spec = Map({"interval": Scalar(interval, Loc("ks.yaml", 5, 13)), "path": Scalar(path, Loc("ks.yaml", 6, 9))})
        node = Map({"apiVersion": Scalar(api), "kind": Scalar("Kustomization"), "metadata": Map({"name": Scalar("a")}),
                    "spec": spec}, loc)  # fmt: skip
        return Resource(node, loc, "a")

    flux_api, kustomize_api = "kustomize.toolkit.fluxcd.io/v1", "kustomize.config.k8s.io/v1beta1"

    def shown(res: Resource) -> str:
        return runmemo.projection([res], [], ["ks.yaml"])

    assert shown(resource(flux_api, "1h")) == shown(resource(flux_api, "30m"))
    assert shown(resource(flux_api, "1h")) != shown(resource(flux_api, "1h", "./b"))
    # Another API group's Kustomization is no Flux object: every field counts.
    assert shown(resource(kustomize_api, "1h")) != shown(resource(kustomize_api, "30m"))


@pytest.mark.parametrize("name", sorted(WALKED))
def test_an_edit_lint_sees_walks_again_and_says_what_a_run_without_cache_says(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    _lint(repo)
    WALKED[name](repo)
    warm = _lint(repo)
    assert reuses[-1] is None, "a stale record was reused"
    assert warm == _lint(repo, cache=False)
    assert _lint(repo) == warm
    assert reuses[-1] is not None
    assert reuses[-1].rebuilt == 0


def test_the_files_pre_commit_passes_choose_from_the_recorded_findings(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    _lint(repo)
    (pv,) = repo.glob("kubernetes/apps/*/*/app/media-pv.yaml")
    comment(repo)
    for files in ([pv], [_helmrelease(repo)], [repo / ".volsync-kit.yaml"]):
        warm = _lint(repo, files=files)
        assert reuses[-1] is not None
        assert warm == _lint(repo, cache=False, files=files)


def test_another_config_is_another_record(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    _lint(repo)
    config = repo / ".volsync-kit.yaml"
    _append(config, 'lint:\n  rules:\n    VK101: "off"\n')
    warm = _lint(repo)
    assert reuses[-1] is None
    assert warm == _lint(repo, cache=False)
    assert not any(f.rule == "VK101" for f in warm.findings)


def test_the_projection_does_not_depend_on_how_objects_are_shared(repo: Path) -> None:
    from volsync_kit.core.model import Loc, Map, Resource, Scalar

    def resource(shared: bool) -> Resource:
        loc = Loc("a.yaml", 1, 1)
        other = loc if shared else Loc("a.yaml", 1, 1)
        node = Map({"kind": Scalar("PersistentVolume", loc), "metadata": Map({"name": Scalar("x", other)}, other)}, loc)
        return Resource(node, loc, "x")

    assert runmemo.projection([resource(True)], [], ["a.yaml"]) == runmemo.projection([resource(False)], [], ["a.yaml"])
    changed = Resource(Map({"kind": Scalar("PersistentVolume", Loc("a.yaml", 2, 1))}), Loc("a.yaml", 1, 1), "x")
    assert runmemo.projection([changed], [], ["a.yaml"]) != runmemo.projection([resource(True)], [], ["a.yaml"])


def _root_path_patch(repo: Path) -> Path:
    """A JSON patch file of the first app that sets its PV's rootPath to /volsync/one."""
    folder = _apps(repo)[0] / "app"
    _append(
        folder / "kustomization.yaml",
        "patches:\n  - path: ./root-path.yaml\n    target:\n      kind: PersistentVolume\n",
    )
    patch = folder / "root-path.yaml"
    patch.write_text("- op: replace\n  path: /spec/csi/volumeAttributes/rootPath\n  value: /volsync/one\n")
    return patch


def test_an_edit_only_the_projection_sees_is_patched_for_lint(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """A JSON patch file names no kind: the edit changes no answer outside the
    build that reads it, only the volume that build renders.  lint makes that
    app's findings again (lint.patched); render, which prints the volume, walks."""
    patch = _root_path_patch(repo)
    before, shown = _lint(repo), app.run_render(repo)
    assert any("/volsync/one" in f.message for f in before.findings)
    _sub(patch, "/volsync/one", "/volsync/two")
    warm = _lint(repo)
    found = reuses[-1]
    assert found is not None
    assert found.patched
    assert found.rebuilt == 1
    assert warm == _lint(repo, cache=False) != before
    rendered = app.run_render(repo)
    assert reuses[-1] is None, "render reused a record that shows the old volume"
    assert rendered == app.run_render(repo, cache=False) != shown


def test_a_file_edited_within_its_timestamp_tick_is_asked_again(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reuses: list[runmemo.Reuse | None]
) -> None:
    """On a file system with coarse timestamps, an edit to the same size within
    one tick leaves a file's stat as it was.  A stamp taken while the file was
    that fresh (RACY_NS) vouches for nothing, so the next run asks again."""
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo, symlinks=True)
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "cache"))
    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    target = str(pv)

    def coarse(packed: bytes) -> bytes:
        return packed[:32] + bytes(16)  # mtime and ctime as a coarse clock keeps them

    real_stamps, real_seen = FileRepo.stamps, FileRepo.seen_stamp

    def stamps(self: FileRepo, paths: Iterable[str]) -> bytes:
        paths = list(paths)
        out = real_stamps(self, paths)
        size = FileRepo.stamp_size
        return b"".join(
            coarse(out[i * size : (i + 1) * size]) if str(self.root / p) == target else out[i * size : (i + 1) * size]
            for i, p in enumerate(paths)
        )

    def seen_stamp(self: FileRepo, path: str) -> bytes | None:
        found = real_seen(self, path)
        return coarse(found) if found is not None and str(self.root / path) == target else found

    monkeypatch.setattr(FileRepo, "stamps", stamps)
    monkeypatch.setattr(FileRepo, "seen_stamp", seen_stamp)
    _lint(repo)
    text = pv.read_text(encoding="utf-8")
    pv.write_text(text.replace("/volsync/${APP}", "/volsyng/${APP}"), encoding="utf-8")  # the same size
    warm = _lint(repo)
    assert reuses[-1] is None
    assert warm == _lint(repo, cache=False)
    assert any("/volsyng/" in f.message for f in warm.findings)


def test_a_folder_that_moved_is_listed_alone_when_it_holds_the_same_yaml_files(
    repo: Path, reuses: list[runmemo.Reuse | None], monkeypatch: pytest.MonkeyPatch, clock: str
) -> None:
    """An edit that moves a folder's stamp but leaves what the search for YAML
    files takes of it (its YAML files, the folders it goes into) lists that
    folder again, not the tree (runmemo._listed_alike).  Right after a
    checkout (``fresh``) no folder's stamp could be trusted, and each is listed
    alone; a YAML file added beside (``stray-file``, WALKED) lists the tree."""
    recorded = _lint(repo)
    trees: list[str] = []
    folders: list[str] = []
    real_scan, real_listed = FileRepo._scan_yaml_files, FileRepo.listed

    def scan(self: FileRepo, rel: str, *args: Any) -> None:
        if rel == "":
            trees.append(rel)
        real_scan(self, rel, *args)

    def listed(self: FileRepo, path: str) -> bytes:
        folders.append(path)
        return real_listed(self, path)

    monkeypatch.setattr(FileRepo, "_scan_yaml_files", scan)
    monkeypatch.setattr(FileRepo, "listed", listed)
    saved(repo)
    warm = _lint(repo)
    assert reuses[-1] is not None
    assert trees == []
    edited = str(_helmrelease(repo).parent.relative_to(repo))
    if clock == "settled":
        assert folders == [edited]
    else:
        assert edited in folders
        assert len(folders) > 50
    assert warm == recorded == _lint(repo, cache=False)
    # Each save vouches for the list again: the record keeps as many stamps, not more.
    kept = len(_lint_state(repo).w_path)
    for _ in range(3):
        saved(repo)
        assert _lint(repo) == recorded
    assert len(_lint_state(repo).w_path) == kept
    trees.clear()
    stray_file(repo)
    assert _lint(repo) == _lint(repo, cache=False)
    assert len(trees) == 2  # each run listed the tree


def test_a_file_that_is_a_link_is_asked_again(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """A link's own stamp does not change when its target's text does: nothing
    reached through a link is vouched for by a stamp."""
    component = repo / "kubernetes/flux/components/volsync/repository"
    shared = repo / "kubernetes/flux/shared"
    shared.mkdir()
    (component / "pv.yaml").rename(shared / "pv.yaml")
    (component / "pv.yaml").symlink_to("../../../shared/pv.yaml")
    before = _lint(repo)
    _sub(shared / "pv.yaml", r"/volsync/\$\{APP\}", "/volsync/v2/${APP}")
    warm = _lint(repo)
    assert reuses[-1] is None
    assert warm == _lint(repo, cache=False) != before


def test_a_build_another_command_made_since_is_not_taken_for_the_recorded_one(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    """render, after the edit, keeps its build of the app in the slot lint
    recorded: lint compares with the build it saw, not with that one."""
    patch = _root_path_patch(repo)
    before = _lint(repo)
    _sub(patch, "/volsync/one", "/volsync/two")
    assert "/volsync/two" in repr(app.run_render(repo))
    warm = _lint(repo)
    assert reuses[-1] is None, "a stale record was reused"
    assert warm == _lint(repo, cache=False) != before


@pytest.mark.parametrize("name", sorted(REUSED) + sorted(UNREAD_EDITS) + sorted(WALKED))
def test_render_reuses_its_record_only_when_it_shows_what_a_run_without_cache_shows(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    recorded = app.run_render(repo)
    {**REUSED, **UNREAD_EDITS, **WALKED}[name](repo)
    warm = app.run_render(repo)
    assert (reuses[-1] is not None) == (name not in WALKED)
    assert warm == app.run_render(repo, cache=False)
    if name not in WALKED:
        assert warm == recorded
    if warm.apps:
        first = warm.apps[0].app
        assert app.run_render(repo, app=first).apps == tuple(a for a in warm.apps if first in (a.app, a.ks.name))


def test_a_file_is_judged_by_the_objects_it_writes_not_its_text(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """A substituteFrom Secret that no build makes is read from wherever the
    repository writes it, from every file that mentions Secret.  A HelmRelease
    that mentions a Secret writes none: editing it reuses the record; editing
    the Secret's value does not."""
    secret = repo / "kubernetes/flux/vars/cluster-secrets.yaml"
    secret.parent.mkdir(parents=True)
    # Without a namespace: it takes each app's (applied by hand, SOPS-decrypted).
    secret.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\nstringData:\n  ROOT: /volsync\n"
    )
    _sub(
        repo / "kubernetes/flux/cluster/ks.yaml",
        r"(\n {14}- kind: ConfigMap\n {16}name: cluster-settings)",
        r"\1\n              - kind: Secret\n                name: cluster-secrets",
    )
    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    _sub(pv, r"rootPath: /volsync/\$\{APP\}", "rootPath: ${ROOT:-/volsync}/${APP}")
    release = _helmrelease(repo)
    _append(release, "# its password comes from a Secret\n")
    before = _lint(repo)
    _sub(release, "comes from a Secret", "comes from another Secret")
    assert _lint(repo) == before
    assert reuses[-1] is not None
    assert reuses[-1].rebuilt == 1
    _sub(secret, "ROOT: /volsync", "ROOT: /elsewhere")
    warm = _lint(repo)
    assert reuses[-1] is None, "a stale record was reused"
    assert warm == _lint(repo, cache=False) != before
    assert any("/elsewhere/" in f.message for f in warm.findings)


def _next_interval(repo: Path) -> None:
    text = _ks(repo).read_text(encoding="utf-8")
    minutes = int(re.search(r"interval: (\d+)", text).group(1)) if re.search(r"interval: \d+m", text) else 0  # type: ignore[union-attr]
    _sub(_ks(repo), r"interval: \S+", f"interval: {minutes + 1}m")


@pytest.mark.parametrize("edit", [comment, _next_interval], ids=["comment", "ks-interval"])
def test_lint_and_render_each_reuse_their_record_whatever_ran_in_between(
    repo: Path, reuses: list[runmemo.Reuse | None], edit: Edit
) -> None:
    """Each keeps the builds it made again, and what the scan took of an
    edited ks.yaml, in slots of its own: the other command reusing its
    record after the same edit does not cost it its own."""
    lint_before, render_before = _lint(repo), app.run_render(repo)
    # The HelmRelease's build is made again; cluster-apps only carries the interval.
    expected = (1, 0) if edit is comment else (0, 1)
    for round_ in range(2):
        edit(repo)
        first, second = (_lint, app.run_render) if round_ == 0 else (app.run_render, _lint)
        first(repo)
        assert reuses[-1] is not None
        assert (reuses[-1].rebuilt, reuses[-1].passed) == expected
        second(repo)
        assert reuses[-1] is not None
        assert (reuses[-1].rebuilt, reuses[-1].passed) == expected
    assert _lint(repo) == lint_before == _lint(repo, cache=False)
    assert app.run_render(repo) == render_before == app.run_render(repo, cache=False)


def test_many_apps_to_build_again_walk_instead(
    repo: Path, reuses: list[runmemo.Reuse | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout of another branch touches many apps: beyond MAX_REBUILDS the
    run walks (with the build memo) rather than build and compare one by one."""
    before = _lint(repo)
    monkeypatch.setattr(runmemo, "MAX_REBUILDS", 1)
    two_releases(repo)
    warm = _lint(repo)
    assert reuses[-1] is None
    assert warm == _lint(repo, cache=False) == before


@pytest.mark.parametrize("broken", ["# a note\nvalues: [unclosed\n", "kind: ConfigMap\nmetadata: [\n"])
def test_a_build_that_failed_is_walked_again_once_mended(
    repo: Path, reuses: list[runmemo.Reuse | None], broken: str
) -> None:
    """A build that fails is kept nowhere; what it read still decides the
    record: mending the file walks again, and the failure is gone."""
    clean = _lint(repo)
    release = _helmrelease(repo)
    text = release.read_text(encoding="utf-8")
    _append(release, broken)
    failed = _lint(repo)
    assert any(f.rule == "VK001" for f in failed.findings)
    release.write_text(text, encoding="utf-8")
    mended = _lint(repo)
    assert reuses[-1] is None, "a stale record was reused"
    assert mended == _lint(repo, cache=False) == clean


def test_a_kept_value_is_made_as_the_record_is_pickled_and_read_back_as_made() -> None:
    """render keeps its value with equal parts shared (render.shared): that runs
    when the record is written (by the detached writer), not before the output."""
    import pickle

    made: list[tuple[int, ...]] = []

    def keep(value: tuple[int, ...]) -> tuple[int, ...]:
        made.append(value)
        return tuple(sorted(value))

    kept = runmemo.Kept((3, 1, 2), keep)
    assert made == []
    assert pickle.loads(pickle.dumps(kept)) == (1, 2, 3)
    assert made == [(3, 1, 2)]


def test_render_records_its_value_as_kept_once_and_reads_that_back(
    repo: Path, reuses: list[runmemo.Reuse | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value a walk made is returned as it is; what the record holds is
    what render.shared made of it, once, as the record was written."""
    import dataclasses

    from volsync_kit.core import render

    calls: list[int] = []
    real = render.shared

    def marked(result: render.RenderResult) -> render.RenderResult:
        calls.append(1)
        return dataclasses.replace(real(result), kustomizations=result.kustomizations + 1000)

    monkeypatch.setattr(render, "shared", marked)
    walked = app.run_render(repo)
    assert reuses[-1] is None
    assert calls == [1]
    reused = app.run_render(repo)
    assert reuses[-1] is not None
    assert calls == [1]
    assert reused.kustomizations == walked.kustomizations + 1000
    assert reused.apps == walked.apps


def test_the_first_substituted_interval_after_a_walk_projects_cluster_apps_once(
    repo: Path, reuses: list[runmemo.Reuse | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store takes the projection of a build holding many apps'
    Kustomizations as it writes it (runmemo.SHOWN_FROM), so the edit's rebuild
    compares the build made now with it, and projects only that one.  (An
    interval with a variable in it is built again: see _passed.)"""
    assert len(_apps(repo)) >= runmemo.SHOWN_FROM
    recorded = _lint(repo)
    counted: list[int] = []
    real = runmemo.projection

    def projection(*args: object, **kwargs: bool) -> str:
        counted.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runmemo, "projection", projection)
    ks_substituted_interval(repo)
    warm = _lint(repo)
    assert reuses[-1] is not None
    assert (reuses[-1].rebuilt, reuses[-1].passed) == (1, 0)
    assert len(counted) == 1
    assert warm == _lint(repo, cache=False) == recorded


# -- an edit of a postBuild.substitute value: the app is built again alone ---------------


def _set_variable(path: Path, key: str, value: str) -> None:
    """``key: "value"`` in the ks.yaml's postBuild.substitute, in place when it is there."""
    text = path.read_text(encoding="utf-8")
    if re.search(rf"\n\s+{key}: ", text):
        _sub(path, rf"(\n\s+{key}:) .*", rf'\1 "{value}"')
    else:
        _sub(path, r"(\n(\s+)APP: .*)", rf'\1\n\2{key}: "{value}"')


def _note_read_by_the_claim(repo: Path) -> None:
    """The app's repository claim carries VK_NOTE as a label: a value its build reads."""
    claim = repo / "kubernetes/flux/components/volsync/repository/pvc.yaml"
    _sub(claim, r"(\nmetadata:\n)", r'\1  labels:\n    note: "${VK_NOTE:=none}"\n')


def _runner(command: str) -> Callable[..., object]:
    """lint, render or plan of a repository (``cache``: as the CLI's), as a
    value to compare: a plan by everything it prints."""
    if command == "plan":
        return lambda repo, cache=True: _plan_reports(app.run_plan(repo, cache=cache))
    return _lint if command == "lint" else app.run_render


@pytest.mark.parametrize("command", ["lint", "render", "plan"])
def test_a_substitute_value_no_object_reads_builds_the_app_again_alone(
    repo: Path, reuses: list[runmemo.Reuse | None], command: str
) -> None:
    """Another value of a variable no template of the app reads: cluster-apps
    carries it through (runmemo._passed), and the app is built again alone
    with its variables changed (runmemo._resubstitute)."""
    run = _runner(command)
    _set_variable(_ks(repo), "VK_NOTE", "first")  # the key is new: lines move, and the run walks
    recorded = run(repo)
    for value in ("second", "third"):
        _set_variable(_ks(repo), "VK_NOTE", value)
        warm = run(repo)
        assert reuses[-1] is not None
        assert (reuses[-1].rebuilt, reuses[-1].passed) == (1, 1)
        assert warm == run(repo, cache=False) == recorded


def _substitute_edits() -> dict[str, Edit]:
    def read_by_a_template(repo: Path) -> None:
        _note_read_by_the_claim(repo)
        _set_variable(_ks(repo), "VK_NOTE", "first")

    def patched_by_cluster_apps(repo: Path) -> None:
        """cluster-apps sets the variable on every app: the file's value is not the app's."""
        _set_variable(_ks(repo), "VK_NOTE", "first")
        _sub(
            repo / "kubernetes/flux/cluster/ks.yaml",
            r"(\n  patches:\n)",
            r"\1    - patch: |-\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n"
            r"        metadata:\n          name: any\n        spec:\n          postBuild:\n            substitute:\n"
            r"              VK_NOTE: first\n      target:\n        group: kustomize.toolkit.fluxcd.io\n"
            r"        kind: Kustomization\n",
        )

    def app_name(repo: Path) -> None:
        _set_variable(_ks(repo), "APP", "first")

    def with_a_variable(repo: Path) -> None:
        _set_variable(_ks(repo), "VK_NOTE", "first")

    def named_by_the_expectations(repo: Path) -> None:
        """lint expects the rootPath the config's template makes of the app's variables."""
        _sub(repo / ".volsync-kit.yaml", r"rootPath: /volsync/\$\{APP\}", "rootPath: /volsync/${VK_NOTE}${APP}")
        _set_variable(_ks(repo), "VK_NOTE", "")

    return {
        "named-by-the-expectations": named_by_the_expectations,
        "read-by-a-template": read_by_a_template,
        "patched-by-cluster-apps": patched_by_cluster_apps,
        "app-name": app_name,
        "with-a-variable": with_a_variable,
    }


SUBSTITUTE_SETUPS = _substitute_edits()
# The second value, for each setup: the run must walk, and say what a run without the cache says.
SECOND = {"read-by-a-template": ("VK_NOTE", "second"), "patched-by-cluster-apps": ("VK_NOTE", "second"),
          "app-name": ("APP", "second"), "with-a-variable": ("VK_NOTE", "${OTHER:=second}"),
          "named-by-the-expectations": ("VK_NOTE", "elsewhere/")}  # fmt: skip


@pytest.mark.parametrize("command", ["lint", "render", "plan"])
@pytest.mark.parametrize("setup", sorted(SUBSTITUTE_SETUPS))
def test_a_substitute_value_the_run_may_read_walks(
    repo: Path, reuses: list[runmemo.Reuse | None], command: str, setup: str
) -> None:
    """A value a template reads (the app renders otherwise), one cluster-apps
    may set itself, APP (every command reads it of the app), a value with a
    variable in it (cluster-apps' own substitution reads it), one the config's
    expectations name (lint reads it; render and plan do not): each walks."""
    run = _runner(command)
    SUBSTITUTE_SETUPS[setup](repo)
    recorded = run(repo)
    key, value = SECOND[setup]
    _set_variable(_ks(repo), key, value)
    warm = run(repo)
    if command in ("render", "plan") and setup == "named-by-the-expectations":
        assert reuses[-1] is not None  # they read no expectation: the app renders the same
    else:
        assert reuses[-1] is None, "a stale record was reused"
    assert warm == run(repo, cache=False)
    if command == "render" and setup in ("read-by-a-template", "app-name"):
        assert warm != recorded  # the claim's label, the app's name
    if command == "lint" and setup == "named-by-the-expectations":
        assert warm != recorded  # VK402: the rootPath is not the one expected


# -- a walk after such an edit carries the build that holds the ks.yaml -------------------

_REBUILD = flux.rebuild  # as it is, whatever a test spies on


@pytest.fixture
def carries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each build a walk carried over an edit (flux.Memo._carried, a spy), by
    whether it carried it; each carried build is compared with the same build
    made again from the same tree: its objects (every node, locations
    included, and where each comes from), its problems, its files, and each
    question it asked with today's answer."""
    from volsync_kit.core.buildmemo import Answers, RecordingReader

    seen: list[tuple[str, bool]] = []
    real = flux.carried

    def spy(stored: Stored, answers: Answers, rescanned: Any) -> Stored | None:
        found = real(stored, answers, rescanned)
        ks, variables, root = stored.made_of
        seen.append((ks.ref.name, found is not None))
        if found is not None:
            recorder = RecordingReader(Answers(answers.repo))
            resources, problems, files, _ = _REBUILD(recorder, ks, variables, root)
            assert [(r.origin, r.original_name, runmemo._canon(r.node)) for r in found.resources] == [
                (r.origin, r.original_name, runmemo._canon(r.node)) for r in resources
            ]
            assert (found.problems, found.files) == (tuple(problems), files)
            assert dict(found.asked) == recorder.asked
        return found

    monkeypatch.setattr(flux, "carried", spy)
    return seen


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each Flux Kustomization built from now on (a spy)."""
    names: list[str] = []
    real = flux.rebuild

    def spy(repo: Any, ks: Any, *args: Any) -> Any:
        names.append(ks.ref.name)
        return real(repo, ks, *args)

    monkeypatch.setattr(flux, "rebuild", spy)
    return names


@pytest.mark.parametrize("command", ["lint", "render", "plan"])
def test_a_walk_carries_the_build_that_holds_an_edited_substitute_value(
    repo: Path, reuses: list[runmemo.Reuse | None], carries: list[tuple[str, bool]], made: list[str], command: str
) -> None:
    """Another value of a variable a template reads: the record does not hold
    (the app renders otherwise), so the run walks; the build of cluster-apps,
    which holds every app's Kustomization, is the stored one with the new
    value (runmemo.carried), not made again, and the run says what a run
    without the cache says."""
    run = _runner(command)
    _note_read_by_the_claim(repo)
    _set_variable(_ks(repo), "VK_NOTE", "first")
    recorded = run(repo)
    for value in ("second", "third"):
        carries.clear()
        made.clear()
        _set_variable(_ks(repo), "VK_NOTE", value)
        warm = run(repo)
        assert reuses[-1] is None
        assert carries == [("cluster-apps", True)]
        assert "cluster-apps" not in made
        assert _app(repo) in made
        assert warm == run(repo, cache=False)
        if command == "render":
            assert warm != recorded  # the claim's label


def test_the_base_keeps_the_build_of_many_apps_it_took_from_the_head(
    repo: Path, carries: list[tuple[str, bool]], made: list[str]
) -> None:
    """plan's base takes cluster-apps' build from the head while the two are
    the same, and keeps it in its own slot too: the first plan after another
    value of a variable a template reads then builds cluster-apps at neither
    revision (the head carries its own, the base reads its own)."""
    _note_read_by_the_claim(repo)
    _set_variable(_ks(repo), "VK_NOTE", "first")
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "a note"], check=True)
    plain = _runner("plan")
    plain(repo)
    assert "cluster-apps" in made  # built once, for the head; the base took it
    made.clear()
    _set_variable(_ks(repo), "VK_NOTE", "second")
    warm = plain(repo)
    assert carries == [("cluster-apps", True)]
    assert "cluster-apps" not in made
    assert warm == plain(repo, cache=False)


def test_the_base_keeps_a_build_it_took_from_the_head_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flux.Memo._keep_here: a second walk whose base takes the same build
    with the same answers does not write it again (the detached writer
    pickled cluster-apps on every plan)."""
    from volsync_kit.adapters.cache import DiskCache

    kept: list[object] = []
    real = DiskCache.put

    def spy(self: DiskCache, key: str, inputs: str, value: object) -> None:
        if value is True:  # the marker of a build kept from the other revision
            kept.append(key)
        real(self, key, inputs, value)

    monkeypatch.setattr(DiskCache, "put", spy)
    first = _plan_reports(app.run_plan(repo, staged=True))  # the index is HEAD: the base takes every build
    assert len(kept) == 1
    kept.clear()
    assert _plan_reports(app.run_plan(repo, staged=True)) == first
    assert kept == []
    _append(_ks(repo), "# a note\n")
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "a note"], check=True)
    app.run_plan(repo, staged=True)  # another text of a file cluster-apps read: kept again
    assert len(kept) == 1


def _value_and_interval(repo: Path) -> None:
    _set_variable(_ks(repo), "VK_NOTE", "second")
    ks_interval(repo)


def _value_and_list_document(repo: Path) -> None:
    _set_variable(_ks(repo), "VK_NOTE", "second")
    ks_list_document(repo)


def _value_added(repo: Path) -> None:
    _set_variable(_ks(repo), "VK_ADDED", "second")


def _value_with_a_variable(repo: Path) -> None:
    _set_variable(_ks(repo), "VK_NOTE", "${OTHER:=second}")


def _value_moved(repo: Path) -> None:
    """Another value that takes two lines: every line after it moves."""
    _sub(_ks(repo), r"(\n(\s+)VK_NOTE:) .*", r"\1 >-\n\2  second\n\2  line")


def _replacing_the_value(repo: Path) -> None:
    app_ = _app(repo)
    _in_namespace(
        repo,
        f"replacements:\n  - source: {{kind: Kustomization, name: {app_}, "
        "fieldPath: spec.postBuild.substitute.VK_NOTE}\n"
        f"    targets:\n      - select: {{kind: Kustomization, name: {app_}}}\n"
        "        fieldPaths: [metadata.annotations.note]\n        options: {create: true}\n",
    )


def _merging_the_values(repo: Path) -> None:
    SUBSTITUTE_SETUPS["patched-by-cluster-apps"](repo)
    _sub(repo / "kubernetes/flux/cluster/ks.yaml", r"VK_NOTE: first", "VK_OTHER: first")


# (what the repository holds besides a template that reads VK_NOTE, the edit):
# each build that read the ks.yaml is made again, and the run says what a run
# without the cache says.
NOT_CARRIED: dict[str, tuple[Edit, Edit]] = {
    "another-field-too": (_nothing, _value_and_interval),
    "list-document": (_nothing, _value_and_list_document),
    "key-added": (_nothing, _value_added),
    "value-with-a-variable": (_nothing, _value_with_a_variable),
    "lines-move": (_nothing, _value_moved),
    "json6902-on-the-values": (_variable_added, lambda repo: _set_variable(_ks(repo), "VK_NOTE", "second")),
    "replacements": (_replacing_the_value, lambda repo: _set_variable(_ks(repo), "VK_NOTE", "second")),
    "strategic-merge": (_merging_the_values, lambda repo: _set_variable(_ks(repo), "VK_NOTE", "second")),
    "generator-source": (_ks_generated_from, lambda repo: _set_variable(_ks(repo), "VK_NOTE", "second")),
}


@pytest.mark.parametrize("command", ["lint", "plan"])
@pytest.mark.parametrize("name", sorted(NOT_CARRIED))
def test_a_build_that_may_read_or_set_the_edited_values_is_made_again(
    repo: Path, carries: list[tuple[str, bool]], made: list[str], command: str, name: str
) -> None:
    """runmemo.carried: an edit of anything else in the file (another field,
    a key, a document that is no object, lines that move), a value with a
    variable, or a build whose transforms may read or set the values (a
    JSON 6902 operation on them, replacements, a strategic merge that sets a
    postBuild.substitute, a generator that reads the file): cluster-apps is
    made again."""
    run = _runner(command)
    setup, edit = NOT_CARRIED[name]
    _note_read_by_the_claim(repo)
    _set_variable(_ks(repo), "VK_NOTE", "first")
    setup(repo)
    run(repo)
    carries.clear()
    made.clear()
    edit(repo)
    warm = run(repo)
    assert ("cluster-apps", True) not in carries
    if name != "list-document":  # that build fails (cluster-apps is made, and fails)
        assert "cluster-apps" in made
    assert warm == run(repo, cache=False)


def test_a_variable_the_expectations_name_is_read_by_lint_itself() -> None:
    from volsync_kit.core.rules._api import Expectations, variables_read

    assert variables_read(Expectations()) == {"APP"}
    assert variables_read(Expectations(root_path="/volsync/${CLUSTER:-main}/${APP}")) == {"APP", "CLUSTER"}


def _lint_record(repo: Path) -> runmemo.RunRecord:
    """The record lint's last run kept of ``repo``."""
    from volsync_kit.adapters.config import load
    from volsync_kit.adapters.resources import schema_text

    store = app.open_cache(repo, True)
    assert store is not None
    config = load(repo, None, store)
    inputs = store.key(("lint", None, None, (config.data, schema_text("config.schema.json"))))
    record = app._recorded(store, "lint", inputs)
    assert record is not None
    return record


def _lint_state(repo: Path) -> runmemo.RunState:
    state = _lint_record(repo).state
    assert state is not None
    return state


def test_the_groups_a_record_keeps_are_those_of_a_group_by_group_copy(repo: Path, clock: str) -> None:
    """runmemo._kept_groups copies the stamps of paths that did not move in
    runs; group by group, dropping each question vouched for again, gives the
    same columns, whichever paths moved: none, a file, a folder that vouches
    for the list of every YAML file, every other path."""
    _lint(repo)
    record = _lint_record(repo)
    state = record.state
    assert state is not None
    paths = list(state.w_path)
    if clock == "fresh":
        # Every file was just written: no stamp vouches.  Each folder the list of
        # YAML files was found in is kept with a stamp no folder has, so that the
        # next run lists it alone again rather than the whole tree.
        listing = [n for n in range(len(record.q_view)) if record.question(n)[1] == "yaml_files"]
        assert sorted(paths) == sorted(state.walked)
        assert {state.stamp(position) for position in range(len(paths))} == {b"\xff" * state.stamp_size}
        assert {n for position in range(len(paths)) for n in state.vouched(position)} == set(listing)
        assert len(state.listings) == len(state.walked) * FileRepo.listing_size
    folder = record.paths.index(str(_ks(repo).parent.relative_to(repo)))
    assert folder in paths
    for moved in (set(), {paths[len(paths) // 2]}, {folder}, set(paths[::2]), set(paths)):
        again = set(state.always or ())
        for position, path in enumerate(paths):
            if path in moved:
                again.update(state.vouched(position))
        reference = runmemo._Watch(state.stamp_size)
        for position, path in enumerate(paths):
            if path not in moved:
                numbers = [n for n in state.vouched(position) if n not in again]
                if numbers:
                    reference.group(path, state.stamp(position), numbers)
        watch, kept_again = runmemo._kept_groups(state, moved)
        assert kept_again == again
        assert (watch.w_path, b"".join(watch.w_stamp), watch.w_start, watch.w_numbers) == (
            reference.w_path,
            b"".join(reference.w_stamp),
            reference.w_start,
            reference.w_numbers,
        )


# Modules only plan runs: they may read the fields plan reads (runmemo.PLAN).
PLAN_ONLY = {"planner.py", "checklist.py", "diff.py", "procedure.py", "scenarios.py", "mutability.py"}


@pytest.mark.parametrize("command", ["lint", "render", "plan"])
def test_the_first_interval_edit_after_a_walk_reads_no_build_of_every_app_back(
    repo: Path, reuses: list[runmemo.Reuse | None], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The walk kept summaries of cluster-apps (runmemo.summary), one for
    lint and render, one for plan: passing it through reads that, not the
    build's objects."""
    from volsync_kit.adapters import cache

    run = _runner(command)
    recorded = run(repo)
    got: list[object] = []
    real = cache.DiskCache.get

    def spy(self: cache.DiskCache, key: str, inputs: str) -> object | None:
        found = real(self, key, inputs)
        got.append(found)
        return found

    monkeypatch.setattr(cache.DiskCache, "get", spy)
    ks_interval(repo)
    warm = run(repo)
    assert reuses[-1] is not None
    assert (reuses[-1].rebuilt, reuses[-1].passed) == (0, 1)
    assert any(isinstance(value, runmemo.Rebuilt) for value in got)
    assert not any(isinstance(value, Stored) and runmemo.holds_many_apps(value) for value in got)
    assert warm == run(repo, cache=False) == recorded


def test_no_code_lint_or_render_runs_names_a_scheduling_field() -> None:
    """A recorded run is reused across an edit of UNREAD_FIELDS because
    nothing lint or render runs reads them.  A rule or a walk that starts
    reading one (a string literal naming it, docstrings aside) must take it
    out of that set, or its edits would be answered stale."""
    import ast

    package = Path(runmemo.__file__).resolve().parents[1]
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        if path.name in PLAN_ONLY | {"runmemo.py"} or path.name.startswith("plan_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in runmemo.UNREAD_FIELDS and id(node) not in docstrings:
                found.append(f"{path.relative_to(package)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_no_code_plan_runs_names_a_field_it_is_answered_across() -> None:
    """plan's record is reused across an edit of runmemo.PLAN.unread (an
    interval, a timeout) because no code plan runs reads one: the walk, the
    diff, the planner, the checklist and the reports."""
    import ast

    package = Path(runmemo.__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(package)}:{node.lineno}: {node.value!r}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "runmemo.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in runmemo.PLAN.unread
    ]
    assert found == []


def test_plan_reads_every_kind_its_diff_compares_whole() -> None:
    """A build made again after an edit is compared, for plan, in the kinds
    of runmemo.PLAN: every kind the diff tracks (a StorageClass says whether a
    claim grows in place) and the Secrets its movers name."""
    from volsync_kit.core import diff

    assert {kind for _, kind in diff.TRACKED} | {"Secret", "ExternalSecret"} <= runmemo.PLAN.kinds
    assert runmemo.LINT.kinds < runmemo.PLAN.kinds
    assert runmemo.PLAN.unread == runmemo.UNREAD_FIELDS - {"prune", "suspend", "deletionPolicy"}


# -- plan: its record holds while what it reads of the head is the same ----------------


def _plan_reports(plan: Plan) -> tuple[str, ...]:
    """Everything a plan prints: what a reused plan must say as one made now does."""
    return (
        plan_out.to_json(plan),
        plan_out.to_markdown(plan),
        plan_out.to_commit_message(plan),
        plan_shell.to_shell(plan),
    )


# Edits of what plan reads and lint does not: whether an app prunes, whether it is suspended.
PLAN_READ = {"ks-prune", "ks-suspended"}
PLAN_REUSED = (REUSED.keys() | UNREAD_EDITS.keys()) - PLAN_READ


@pytest.mark.parametrize("name", sorted(REUSED) + sorted(UNREAD_EDITS) + sorted(WALKED))
def test_plan_reuses_its_record_only_across_edits_of_what_it_does_not_read(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    """plan reads of the head what lint reads, the StorageClasses, and the
    prune and suspend of a Kustomization (runmemo.PLAN): its record holds
    across a tag bump or an interval, not across an edit of prune."""
    recorded = app.run_plan(repo)
    {**REUSED, **UNREAD_EDITS, **WALKED}[name](repo)
    warm = app.run_plan(repo)
    assert (reuses[-1] is not None) == (name in PLAN_REUSED)
    assert _plan_reports(warm) == _plan_reports(app.run_plan(repo, cache=False))
    if name in PLAN_REUSED:
        assert _plan_reports(warm) == _plan_reports(recorded)
        assert reuses[-1] is not None
        if name in REUSED:
            # The edited release's app is built again, alone; a touch leaves every text as it was.
            assert reuses[-1].passed == 0
            assert reuses[-1].rebuilt == {"touch": 0, "two-releases": 2}.get(name, 1)


@pytest.fixture(scope="module")
def generated_change(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every app's repository volume moves in the work tree (--plan-change):
    a plan with a checklist, which reads each app's objects at the base."""
    return generated_repo(tmp_path_factory.mktemp("gen-change") / "repo", 24, "--defects", "--plan-change")


@pytest.fixture
def changed(generated_change: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: str) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(generated_change, copy, symlinks=True)
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "cache"))
    return copy


def release_names_the_claim(repo: Path) -> None:
    _sub(_helmrelease(repo), r"\n      tmp:", "\n      repo:\n        existingClaim: volsync-${APP}-repo\n      tmp:")


def release_stops_naming_the_claim(repo: Path) -> None:
    _sub(_helmrelease(repo), r"\n      repo:\n        existingClaim: \S+", "")


PLANNED_EDITS: dict[str, Edit] = {
    **REUSED,
    **UNREAD_EDITS,
    "release-names-the-claim": release_names_the_claim,
    "release-stops-naming-the-claim": release_stops_naming_the_claim,
    "release-adds-claim": release_adds_claim,
    "app-value": app_value,
}


@pytest.mark.parametrize("name", sorted(PLANNED_EDITS))
def test_a_plan_that_replaces_every_volume_is_answered_across_edits_it_does_not_read(
    changed: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    """The checklist reads which HelmReleases mount a replaced claim, of the
    base: a release that starts or stops naming one in the work tree does
    not change the plan, and neither does a tag bump.  One release names the
    claim at the base, so the checklist reads releases."""
    release_names_the_claim(changed)
    subprocess.run(["git", "-C", str(changed), "commit", "-qm", "mount", "--", str(_helmrelease(changed))], check=True)
    if name == "release-names-the-claim":
        release_stops_naming_the_claim(changed)
        subprocess.run(["git", "-C", str(changed), "commit", "-qm", "unmount", "--", str(_helmrelease(changed))],
                       check=True)  # fmt: skip
    recorded = app.run_plan(changed)
    assert len(recorded.changes) >= 2 * 20  # a PV and a claim of each active app
    release = Target("helmrelease", _helmrelease(changed).parent.parent.name, _helmrelease(changed).parts[-4])
    stopped = [a.target for step in recorded.steps for a in step.actions if a.target == release]
    assert bool(stopped) == (name != "release-names-the-claim")  # only a release the base mounts it with
    PLANNED_EDITS[name](changed)
    warm = app.run_plan(changed)
    answered = name in PLAN_REUSED | {"release-names-the-claim", "release-stops-naming-the-claim"}
    assert (reuses[-1] is not None) == answered, name
    assert _plan_reports(warm) == _plan_reports(app.run_plan(changed, cache=False))
    if answered:
        assert _plan_reports(warm) == _plan_reports(recorded)


def ks_comment(repo: Path) -> None:
    _append(_ks(repo), "# reconciled by cluster-apps\n")


def test_a_plan_after_a_comment_in_a_file_the_scan_reads_is_answered_from_the_record(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    """The scan for entry points reads every ks.yaml (and a release's file
    that holds an OCIRepository too): for plan, it takes the same of the
    file when its objects are the same as plan reads them, and the build
    that holds the file carries it through unbuilt (runmemo._passed)."""
    recorded = app.run_plan(repo)
    ks_comment(repo)
    warm = app.run_plan(repo)
    assert reuses[-1] is not None
    assert (reuses[-1].rebuilt, reuses[-1].passed) == (0, 1)
    assert _plan_reports(warm) == _plan_reports(app.run_plan(repo, cache=False)) == _plan_reports(recorded)


def test_plan_takes_a_scanned_file_the_same_only_when_its_objects_are_the_same_whole(repo: Path) -> None:
    """What the scan takes of a file outside every build (a root Kustomization
    applied by hand, a FluxInstance) decides a plan too: for plan, a prune
    edit makes it another file; for lint, which does not read prune, the same."""
    from volsync_kit.core.model import Loc, Map, Resource, Scalar

    def resource(prune: str) -> Resource:
        loc = Loc("ks.yaml", 1, 1)
        spec = Map({"prune": Scalar(prune, Loc("ks.yaml", 5, 10)), "path": Scalar("./a", Loc("ks.yaml", 6, 9))})
        node = Map({"apiVersion": Scalar("kustomize.toolkit.fluxcd.io/v1"), "kind": Scalar("Kustomization"),
                    "metadata": Map({"name": Scalar("a")}), "spec": spec}, loc)  # fmt: skip
        return Resource(node, loc, "a")

    on, off = [resource("true")], [resource("false")]
    assert runmemo._scan_view(on) == runmemo._scan_view(off)
    assert runmemo._scan_view(on, runmemo.PLAN) != runmemo._scan_view(off, runmemo.PLAN)

    app.run_lint(repo)  # the walk keeps what the scan took of each file
    reader = FileRepo(repo)
    store = app.open_cache(repo, True)
    assert store is not None
    reader.cache = store
    path = str(_ks(repo).relative_to(repo))
    was = bytes.fromhex(reader.digest(path))
    ks_prune(repo)
    seen = {name: runmemo._same_scan(store, FileRepo(repo), path, was, name, set()) for name in ("lint", "plan")}
    assert seen == {"lint": True, "plan": False}


def _components_dropped(repo: Path) -> None:
    _sub(_ks(repo), r"\n\s*- \.\./\.\./\.\./\.\./flux/components/volsync/repository", "")


def test_a_plan_after_a_prune_edit_is_made_again(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """An app drops the repository component, so Flux prunes its volume and
    claim; turning prune off then changes the plan (nothing is pruned, the
    objects are left behind).  Lint's record would answer that edit (prune is
    one of UNREAD_FIELDS); plan's must not."""
    _components_dropped(repo)
    pruned = app.run_plan(repo)
    assert any(c.action == "delete" and c.prune for c in pruned.changes)
    ks_prune(repo)
    warm = app.run_plan(repo)
    assert reuses[-1] is None, "a stale plan was reused"
    made = app.run_plan(repo, cache=False)
    assert _plan_reports(warm) == _plan_reports(made) != _plan_reports(pruned)
    assert not any(c.prune for c in warm.changes)


def test_a_plan_against_another_commit_is_another_record(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """The base is part of what the record is kept under: committing the
    edit moves HEAD, and the plan against it is made again (empty)."""
    _components_dropped(repo)
    before = app.run_plan(repo)
    assert before.changes
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "drop the component"], check=True)
    after = app.run_plan(repo)
    assert reuses[-1] is None
    assert after.base != before.base
    assert after.changes == ()
    assert _plan_reports(after) == _plan_reports(app.run_plan(repo, cache=False))


def test_a_reused_plan_keeps_what_its_reports_read_only(repo: Path) -> None:
    """The record keeps planner.reported(plan), without the models and each
    change's objects: every report of it is the report of the plan made."""
    from volsync_kit.core import planner

    root_path(repo)  # every app's repository volume is replaced
    made = app.run_plan(repo, cache=False)
    lean = planner.reported(made)
    assert made.changes
    assert lean.diff.base_model.results == ()
    assert all(c.base is None and c.head is None for c in lean.changes)
    assert _plan_reports(lean) == _plan_reports(made)


@pytest.mark.parametrize("edit", ["image-tag", "root-path"])
def test_a_record_reads_its_value_only_when_it_holds_and_writes_it_only_when_it_is_new(
    repo: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """The value is kept in a slot of its own (runmemo.ValueRef): a plan that
    walks does not unpickle the last one, and a plan answered from the record
    does not write it again."""
    from volsync_kit.adapters import cache

    app.run_plan(repo)
    store = app.open_cache(repo, True)
    assert store is not None
    slot = store.key(("run-value", "plan"))
    got: list[str] = []
    put: list[str] = []
    real_get, real_put = cache.DiskCache.get, cache.DiskCache.put

    def spy_get(self: cache.DiskCache, key: str, inputs: str) -> object | None:
        got.append(key)
        return real_get(self, key, inputs)

    def spy_put(self: cache.DiskCache, key: str, inputs: str, value: object) -> None:
        put.append(key)
        real_put(self, key, inputs, value)

    monkeypatch.setattr(cache.DiskCache, "get", spy_get)
    monkeypatch.setattr(cache.DiskCache, "put", spy_put)
    {**REUSED, **WALKED}[edit](repo)
    warm = app.run_plan(repo)
    assert (got.count(slot), put.count(slot)) == ((1, 0) if edit == "image-tag" else (0, 1))
    assert _plan_reports(warm) == _plan_reports(app.run_plan(repo, cache=False))


# -- a walk's record, made by the detached writer ------------------------------------------


def _stored_run(repo: Path, what: str) -> tuple[object, ...]:
    """The record of ``what`` the store holds, with its state and value (its
    ident, random, left out)."""
    store = app.open_cache(repo, True)
    assert store is not None
    found = store.latest(store.key(("run", what)))
    assert found is not None
    inputs, record = found
    assert isinstance(record, runmemo.RunRecord)
    own = store.key((inputs, record.ident))
    state = store.get(store.key(("run-state", what)), own)
    value = store.get(store.key(("run-value", what)), own)
    assert isinstance(state, runmemo.RunState)
    assert value is not None
    return dataclasses.replace(record, ident="", value=None), state, value


@pytest.mark.skipif(not cache_module._can_detach(), reason="no fork or flock here: every run writes before it exits")
@pytest.mark.parametrize("clock", ["settled"], indirect=True)
@pytest.mark.parametrize("what", ["lint", "render", "plan"])
def test_the_detached_writer_keeps_the_record_a_walk_would_keep_at_once(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reuses: list[runmemo.Reuse | None], what: str
) -> None:
    """The console script's writer makes a walk's record after the output
    (runmemo.RecordLater): it keeps the record, state and value a run that
    writes before it exits keeps, and the next run is answered from it."""
    run = {"lint": _lint, "render": app.run_render, "plan": app.run_plan}[what]
    stored = []
    for detach in (False, True):
        monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / f"cache-{detach}"))
        monkeypatch.setattr(app, "DETACH_WRITES", detach)
        recorded = run(repo)
        gc.collect()  # the store closes, and hands its writing to the writer
        monkeypatch.setattr(app, "DETACH_WRITES", False)
        stored.append(_stored_run(repo, what))
    assert stored[0] == stored[1]

    def same_as_without_cache(result: Any) -> bool:
        if what == "plan":
            return _plan_reports(result) == _plan_reports(app.run_plan(repo, cache=False))
        return bool(result == run(repo, cache=False))

    comment(repo)
    warm = run(repo)
    assert reuses[-1] is not None, "the record the writer made was not reused"
    assert same_as_without_cache(warm)
    assert same_as_without_cache(recorded)
    release_breaks(repo)  # a file only a build asks about: its note in the record sees it
    walked = run(repo)
    assert reuses[-1] is None
    assert same_as_without_cache(walked)


def test_a_record_made_later_vouches_with_no_stamp_taken_after_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run asked for a file that is not there, which its folder's stamp
    vouches for.  The folder is first stamped after the run, when the file
    may already be there: a record made then (by the detached writer) must
    not take that stamp, or the next run would answer "missing" for a file
    that exists.  Sealed, it asks the question again on every run."""
    real = time.time_ns
    monkeypatch.setattr(fs, "_clock", lambda: real() + 10 * RACY_NS)
    (tmp_path / "a").mkdir()
    (tmp_path / "a/app.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")

    def always_asked(seal: bool) -> bool:
        (tmp_path / "a/new.yaml").unlink(missing_ok=True)
        reader = FileRepo(tmp_path)
        log = runmemo.RunLog(runmemo.RunRecorder(reader))
        with pytest.raises(ModelError):
            log.recorder.text("a/new.yaml")
        later = runmemo.RecordLater(log, "ident") if seal else None
        (tmp_path / "a/new.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
        reader.listed("a")  # read after the run: stamps the folder as it is now
        record = (
            later.record()
            if later is not None
            else runmemo._record_of(log.recorder.asked, log.builds, log.views, reader, None)
        )
        assert record.state is not None
        assert record.state.always is not None
        [number] = [n for n in range(len(record.q_what)) if record.question(n)[1:3] == ("text", "a/new.yaml")]
        return number in record.state.always

    assert always_asked(seal=True)
    assert not always_asked(seal=False)  # what the seal prevents


# -- lint reads part of a claim and of a mover ------------------------------------------

_OPERATIONS = "kubernetes/flux/components/volsync/operations"
_REPOSITORY = "kubernetes/flux/components/volsync/repository"


def data_claim_size(repo: Path) -> None:
    _sub(repo / _OPERATIONS / "pvc.yaml", r"VOLSYNC_CAPACITY:-5Gi", "VOLSYNC_CAPACITY:-6Gi")


def data_claim_access(repo: Path) -> None:
    _sub(
        repo / _OPERATIONS / "pvc.yaml", r"VOLSYNC_ACCESSMODES:=ReadWriteOnce", "VOLSYNC_ACCESSMODES:=ReadWriteOncePod"
    )


def mover_cache(repo: Path) -> None:
    _sub(repo / _OPERATIONS / "replicationsource.yaml", r"VOLSYNC_CACHE_CAPACITY:-5Gi", "VOLSYNC_CACHE_CAPACITY:-8Gi")


def restore_size(repo: Path) -> None:
    _sub(repo / _OPERATIONS / "replicationdestination.yaml", r"VOLSYNC_CAPACITY:-5Gi", "VOLSYNC_CAPACITY:-6Gi")


# Edits of every app's data claim or movers in what lint does not read of them.
PARTLY_READ: dict[str, Edit] = {
    "data-claim-size": data_claim_size,
    "data-claim-access": data_claim_access,
    "mover-cache": mover_cache,
    "restore-size": restore_size,
}


def data_claim_without_class(repo: Path) -> None:
    """No storage class: the claim may go with a static volume, and lint judges it with them."""
    _sub(
        repo / _OPERATIONS / "pvc.yaml",
        r'storageClassName: "\$\{VOLSYNC_STORAGECLASS:-ceph-block\}"',
        'storageClassName: ""',
    )


def data_claim_bound(repo: Path) -> None:
    """The data claim names the repository's volume: lint judges it with that volume."""
    _sub(repo / _OPERATIONS / "pvc.yaml", r"(\n  resources:)", r"\n  volumeName: volsync-${APP}-repo-pv\1")


def mover_mounts_another_claim(repo: Path) -> None:
    """VK301 reads the claims a mover mounts."""
    _sub(repo / _OPERATIONS / "replicationsource.yaml", r"claimName: volsync-\$\{APP\}-repo", "claimName: ${APP}")


def repository_claim_size(repo: Path) -> None:
    """A claim that goes with a static volume is read whole (VK203 compares its size)."""
    _sub(repo / _REPOSITORY / "pvc.yaml", r"storage: 5Ti", "storage: 6Ti")


READ_OF_CLAIMS: dict[str, Edit] = {
    "data-claim-without-class": data_claim_without_class,
    "data-claim-bound": data_claim_bound,
    "mover-mounts-another-claim": mover_mounts_another_claim,
    "repository-claim-size": repository_claim_size,
}


def _using_operations(repo: Path) -> int:
    """The Flux Kustomizations built with the operations component: those of
    the apps their namespace's kustomization.yaml lists."""
    listed = (
        ks
        for ks in repo.glob("kubernetes/apps/*/*/ks.yaml")
        if re.search(
            rf"(?m)^\s*- \./{re.escape(ks.parent.name)}/ks\.yaml$",
            (ks.parent.parent / "kustomization.yaml").read_text(encoding="utf-8"),
        )
    )
    return sum("volsync/operations" in ks.read_text(encoding="utf-8") for ks in listed)


@pytest.mark.parametrize("name", sorted(PARTLY_READ))
def test_what_lint_does_not_read_of_a_claim_or_mover_is_answered_from_its_record(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    """Every app is built again alone, and lint's projection of each (its
    static volumes and their claims whole, of another claim whether it goes
    with one, of a mover the claims it mounts) is the same: its record
    holds.  render prints the claims and movers: it walks, and shows the edit."""
    recorded, shown = _lint(repo), app.run_render(repo)
    PARTLY_READ[name](repo)
    warm = _lint(repo)
    assert reuses[-1] is not None, "the record was not reused"
    assert reuses[-1].rebuilt == _using_operations(repo), "every app is built again alone"
    assert warm == _lint(repo, cache=False) == recorded
    rendered = app.run_render(repo)
    assert reuses[-1] is None, "render reused a record that shows the old objects"
    assert rendered == app.run_render(repo, cache=False) != shown


@pytest.mark.parametrize("name", sorted(READ_OF_CLAIMS))
def test_what_lint_reads_of_a_claim_or_mover_is_not_answered_as_recorded(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    """An edit of a component's claim walks: the file view reads the file.  A
    mover's claims are not in the file view's answer: each app using the
    component is built again, and its findings are made again (lint.patched)."""
    recorded = _lint(repo)
    READ_OF_CLAIMS[name](repo)
    warm = _lint(repo)
    found = reuses[-1]
    if name == "mover-mounts-another-claim":
        assert found is not None
        assert found.patched
        assert found.rebuilt == _using_operations(repo)
    else:
        assert found is None, "a stale record was reused"
    assert warm == _lint(repo, cache=False)
    if name != "mover-mounts-another-claim":  # VK301 reads it only where two apps share a rootPath
        assert warm != recorded


def test_a_mover_switched_on_a_shared_repository_is_not_answered_as_recorded(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    """VK301 reads under which mover a claim is mounted: kopia sources may
    share one repository, a restic one may not share it with them."""
    _sub(repo / _REPOSITORY / "pv.yaml", r"rootPath: /volsync/\$\{APP\}", "rootPath: /volsync/shared")
    _sub(repo / ".volsync-kit.yaml", r"rootPath: /volsync/\$\{APP\}", "rootPath: /volsync/shared")
    for name in ("replicationsource.yaml", "replicationdestination.yaml"):
        _sub(repo / _OPERATIONS / name, r"\n  restic:\n", "\n  kopia:\n")
    recorded = _lint(repo)
    assert not [f for f in recorded.findings if f.rule == "VK301"]
    _sub(repo / _OPERATIONS / "replicationdestination.yaml", r"\n  kopia:\n", "\n  restic:\n")
    warm = _lint(repo)
    assert warm == _lint(repo, cache=False) != recorded
    assert [f for f in warm.findings if f.rule == "VK301"]
    assert reuses[-2] is None or reuses[-2].patched, "a stale record was reused"


def test_one_kopia_client_for_a_shared_repository_is_not_answered_as_recorded(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    """VK301 reads the username and hostname kopia sources set."""
    _sub(repo / _REPOSITORY / "pv.yaml", r"rootPath: /volsync/\$\{APP\}", "rootPath: /volsync/shared")
    _sub(repo / ".volsync-kit.yaml", r"rootPath: /volsync/\$\{APP\}", "rootPath: /volsync/shared")
    for name in ("replicationsource.yaml", "replicationdestination.yaml"):
        _sub(repo / _OPERATIONS / name, r"\n  restic:\n", "\n  kopia:\n")
    recorded = _lint(repo)
    _sub(repo / _OPERATIONS / "replicationsource.yaml", r"\n  kopia:\n", "\n  kopia:\n    username: shared\n")
    warm = _lint(repo)
    assert warm == _lint(repo, cache=False) != recorded
    assert [f for f in warm.findings if f.rule == "VK301" and "as shared@" in f.message]


@pytest.mark.parametrize("command", ["lint", "render", "plan"])
def test_another_size_of_an_app_s_data_claim_is_answered_for_lint_alone(
    repo: Path, reuses: list[runmemo.Reuse | None], command: str
) -> None:
    """VOLSYNC_CAPACITY sizes the app's data claim and its ReplicationDestination,
    which lint does not read and render and plan do."""
    run = _runner(command)
    _set_variable(_ks(repo), "VOLSYNC_CAPACITY", "7Gi")  # the key is new: lines move, and the run walks
    recorded = run(repo)
    for size in ("8Gi", "9Gi"):
        _set_variable(_ks(repo), "VOLSYNC_CAPACITY", size)
        warm = run(repo)
        if command == "lint":
            assert reuses[-1] is not None
            assert (reuses[-1].rebuilt, reuses[-1].passed) == (1, 1)
            assert warm == recorded
        else:
            assert reuses[-1] is None, "a stale record was reused"
            assert warm != recorded
        assert warm == run(repo, cache=False)


def _claim_of_its_own(repo: Path, size: str, storage_class: str = "ceph-block") -> Path:
    """The first app's data claim, in a file of its own in the app's folder (as
    many repositories write it); the first call adds the file (the run walks)."""
    folder = _apps(repo)[0] / "app"
    claim = folder / "pvc.yaml"
    if not claim.exists():
        _sub(folder / "kustomization.yaml", r"(\n  - \./helmrelease\.yaml)", r"\1\n  - ./pvc.yaml")
    claim.write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: config\nspec:\n"
        f"  accessModes: [ReadWriteOnce]\n  storageClassName: {storage_class}\n"
        f"  resources:\n    requests:\n      storage: {size}\n",
        encoding="utf-8",
    )
    return claim


def test_another_size_of_an_app_s_own_claim_file_is_answered_from_lint_s_record(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    """The file view reads every claim of a file Flux reads, and keeps of one
    that goes with no static volume only what says so (volumedocs.volume_facts);
    the app's build keeps the same (LINT).  A class of "" makes it a claim
    that may go with one: the file view then judges it, and lint makes that
    app's findings again (lint.patched)."""
    _claim_of_its_own(repo, "1Gi")
    recorded = _lint(repo)
    _claim_of_its_own(repo, "2Gi")
    warm = _lint(repo)
    assert reuses[-1] is not None, "the record was not reused"
    assert reuses[-1].rebuilt == 1
    assert not reuses[-1].patched
    assert warm == _lint(repo, cache=False) == recorded
    _claim_of_its_own(repo, "2Gi", storage_class='""')
    judged = _lint(repo)
    found = reuses[-1]
    assert found is not None
    assert found.patched
    assert found.rebuilt == 1
    assert judged == _lint(repo, cache=False) != recorded


def _unlisted_volume(repo: Path, size: str) -> None:
    """A volume and its claim in a file of the repository component that its
    kustomization.yaml does not list: no build reads it, the file view does."""
    folder = repo / _REPOSITORY
    volume = (folder / "pv.yaml").read_text(encoding="utf-8").replace("volsync-${APP}-repo-pv", "legacy-pv")
    claim = (
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: legacy\nspec:\n"
        "  accessModes: [ReadWriteMany]\n  storageClassName: ''\n  volumeName: legacy-pv\n"
        f"  resources:\n    requests:\n      storage: {size}\n"
    )
    (folder / "legacy.yaml").write_text(volume + claim, encoding="utf-8")


def test_a_claim_the_file_view_judges_is_read_whole(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """Its file is noted whole besides its volume facts: VK203 compares its size."""
    _unlisted_volume(repo, "6Ti")
    recorded = _lint(repo)
    assert "VK203" in {f.rule for f in recorded.findings}
    _unlisted_volume(repo, "5Ti")
    warm = _lint(repo)
    assert reuses[-1] is None, "a stale record was reused"
    assert warm == _lint(repo, cache=False) != recorded


def test_a_file_only_the_file_view_reads_is_read_again_once_mended(
    repo: Path, reuses: list[runmemo.Reuse | None]
) -> None:
    """The file view's question about a file that does not parse keeps the
    problem (volumedocs.volume_documents): mending it walks."""
    broken = repo / _REPOSITORY / "legacy.yaml"
    broken.write_text("apiVersion: v1\nkind: PersistentVolume\nmetadata: [unclosed\n", encoding="utf-8")
    recorded = _lint(repo)
    assert any(
        f.rule == "VK001" and f.loc is not None and f.loc.file.endswith("legacy.yaml") for f in recorded.findings
    )
    assert _lint(repo) == recorded
    assert reuses[-1] is not None
    _unlisted_volume(repo, "6Ti")
    mended = _lint(repo)
    assert reuses[-1] is None, "a stale record was reused"
    assert mended == _lint(repo, cache=False) != recorded


# -- an edit of what lint reads of one app: its findings made again (lint.patched)


def _media_volume(repo: Path) -> Path:
    """The one app's own static volume and its claim (make_repo --defects: it
    declares no staticVolume, VK101)."""
    (found,) = repo.glob("kubernetes/apps/*/*/app/media-pv.yaml")
    return found


def _other_app(repo: Path, volume: Path) -> str:
    """An app (its APP, its folder's name) whose repository volume the media volume's app does not render."""
    return next(a.name for a in _apps(repo)[1:] if a != volume.parent.parent)


def _relative_root(repo: Path, volume: Path) -> None:
    _sub(volume, r"rootPath: /media/", "rootPath: media/")  # VK103


def _declared_static(repo: Path, volume: Path) -> None:
    _sub(volume, r"(\n\s+)(rootPath: )", r'\1staticVolume: "true"\1\2')  # no VK101


def _commented(repo: Path, volume: Path) -> None:
    _append(volume, "# the media library, shared with the NAS\n")


def _claim_of_lots(repo: Path, volume: Path) -> None:
    _sub(volume, r"(kind: PersistentVolumeClaim[\s\S]*storage: )1Ti", r"\1lots")  # VK203


PATCHED_VOLUME: dict[str, Callable[[Path, Path], None]] = {
    "relative-root": _relative_root,
    "declared-static": _declared_static,
    "commented": _commented,
    "claim-of-lots": _claim_of_lots,
}


@pytest.mark.parametrize("name", sorted(PATCHED_VOLUME))
def test_an_edit_of_one_app_s_own_static_volume_is_patched(
    repo: Path, reuses: list[runmemo.Reuse | None], name: str
) -> None:
    """The file view and the app's build read the edited file: that app's
    findings, and those of the file view's folder, are made again; every
    other app's are the record's.  The patched record then holds as it is."""
    volume = _media_volume(repo)
    before = _lint(repo)
    PATCHED_VOLUME[name](repo, volume)
    warm = _lint(repo)
    found = reuses[-1]
    assert found is not None
    assert found.patched
    assert found.rebuilt == 1
    assert warm == _lint(repo, cache=False)
    assert (warm != before) == (name != "commented")
    again = _lint(repo)
    assert reuses[-1] is not None
    assert not reuses[-1].patched
    assert reuses[-1].record is None
    assert again == warm


def test_patches_follow_one_another(repo: Path, reuses: list[runmemo.Reuse | None]) -> None:
    """Each patch starts from the record the one before kept (its findings, and
    what each Kustomization holds): undoing every edit gives the first result."""
    volume = _media_volume(repo)
    text = volume.read_text(encoding="utf-8")
    recorded = _lint(repo)
    for edit in (_declared_static, _relative_root, _claim_of_lots):
        edit(repo, volume)
        warm = _lint(repo)
        assert reuses[-1] is not None
        assert reuses[-1].patched
        assert warm == _lint(repo, cache=False)
    volume.write_text(text, encoding="utf-8")
    assert _lint(repo) == recorded
    assert reuses[-1] is not None
    assert reuses[-1].patched


def _root_of_another_app(repo: Path, volume: Path) -> None:
    _sub(volume, r"rootPath: /media/\S+", f"rootPath: /volsync/{_other_app(repo, volume)}")  # VK301


def _name_of_another_app(repo: Path, volume: Path) -> None:
    _sub(volume, r"(kind: PersistentVolume\nmetadata:\n  name: )\S+", rf"\1volsync-{_other_app(repo, volume)}-repo-pv")


def _handle_of_another_app(repo: Path, volume: Path) -> None:
    _sub(volume, r"volumeHandle: \S+", f"volumeHandle: volsync-{_other_app(repo, volume)}-repo-pv")  # VK302


def _with_config_map(repo: Path, volume: Path) -> None:
    """An object the walk reads (a ConfigMap may be a substituteFrom source)."""
    _append(volume, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: media-settings\ndata:\n  A: b\n")
    _relative_root(repo, volume)


def _folder_read_by_another_app(repo: Path, volume: Path) -> None:
    """Another app's build reads a file of the volume's folder: its findings
    there may have given way to the file view's."""
    extra = volume.parent / "extra.yaml"
    extra.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: media-reader\n", encoding="utf-8")
    other = _apps(repo)[1] / "app/kustomization.yaml"
    relative = Path(os.path.relpath(extra, other.parent)).as_posix()
    _sub(other, r"(\n  - \./helmrelease\.yaml)", rf"\1\n  - {relative}")
    _lint(repo)  # the new files walk
    _relative_root(repo, volume)


# Edits after which an app built again shares what rules compare across apps
# (VK301 to VK303), or whose patch could not tell what else changed: each walks.
WALKED_VOLUME: dict[str, tuple[Callable[[Path, Path], None], bool]] = {
    "root-of-another-app": (_root_of_another_app, True),
    "name-of-another-app": (_name_of_another_app, True),
    "handle-of-another-app": (_handle_of_another_app, True),
    "with-a-config-map": (_with_config_map, True),
    "folder-read-by-another-app": (_folder_read_by_another_app, True),
}


@pytest.mark.parametrize("name", sorted(WALKED_VOLUME))
def test_an_edit_a_patch_cannot_vouch_for_walks(repo: Path, reuses: list[runmemo.Reuse | None], name: str) -> None:
    volume = _media_volume(repo)
    before = _lint(repo)
    edit, differs = WALKED_VOLUME[name]
    edit(repo, volume)
    warm = _lint(repo)
    assert reuses[-1] is None, "a record was patched across what another app holds"
    assert warm == _lint(repo, cache=False)
    assert (warm != before) == differs
