"""model.Sharing makes equal trees one object, and changes no value.

render keeps its result for the next run (core.runmemo); the apps of one
component hold equal locations, scalars and subtrees, which pickle once only
when they are one object.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from helpers_repo import generated_repo
from hypothesis import given, settings
from hypothesis import strategies as st

from volsync_kit import app
from volsync_kit.core.model import Loc, Map, Node, Scalar, Seq, Sharing

LOCS = st.none() | st.builds(Loc, st.sampled_from(["a.yaml", "b.yaml"]), st.integers(1, 3), st.integers(1, 2))
# 1, 1.0 and True (and 0.0 and -0.0) are equal in Python: values drawn from few of each kind meet.
VALUES = st.sampled_from([0, 1, 1.0, True, False, 0.0, -0.0, None, "1", "a", ""])
NODES = st.recursive(
    st.builds(Scalar, VALUES, LOCS),
    lambda inner: (
        st.builds(Seq, st.lists(inner, max_size=3).map(tuple), LOCS)
        | st.builds(
            Map,
            st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3),
            LOCS,
            st.none()
            | st.dictionaries(
                st.sampled_from(["x", "y"]),
                st.builds(Loc, st.just("a.yaml"), st.integers(1, 2), st.just(1)),
                max_size=2,
            ),
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(NODES, min_size=1, max_size=4))
def test_a_shared_tree_is_the_tree_it_shares(trees: list[Node]) -> None:
    """repr, not ==: Scalar(1) == Scalar(True), and sharing must keep them apart."""
    sharing = Sharing()
    shared = [sharing.node(tree) for tree in trees]
    assert [repr(tree) for tree in shared] == [repr(tree) for tree in trees]
    assert shared == trees


def _pv(name: str) -> Map:
    at = Loc("components/volsync/pv.yaml", 4, 3)
    return Map({"kind": Scalar("PersistentVolume", at), "spec": Map({"path": Scalar(f"/volsync/{name}", at)}, at)}, at)


def test_equal_parts_of_separate_trees_become_one_object() -> None:
    sharing = Sharing()
    one, two = sharing.node(_pv("one")), sharing.node(_pv("two"))
    assert one.items["kind"] is two.items["kind"]
    assert one.loc is two.loc
    assert one.items["spec"] is not two.items["spec"]
    assert sharing.node(_pv("one")) is one


def test_shared_trees_pickle_smaller() -> None:
    trees = [_pv(str(n % 10)) for n in range(100)]
    sharing = Sharing()
    assert len(pickle.dumps([sharing.node(t) for t in trees])) * 3 < len(pickle.dumps(trees))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_repo(tmp_path_factory.mktemp("gen") / "repo", 12, "--defects")


def test_a_render_recorded_from_cached_builds_keeps_what_its_apps_share(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lint's walk keeps each build; render's walk then takes them from the
    store, one unpickled copy per app.  The record render keeps is shared
    again: the apps' repository PVs, from one component, hold one location."""
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo, symlinks=True)
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "cache"))
    app.run_lint(repo)
    app.run_render(repo)
    warm = app.run_render(repo)
    assert warm == app.run_render(repo, cache=False)
    component = "kubernetes/flux/components/volsync/repository/pv.yaml"
    locs = [obj.node.loc for a in warm.apps for obj in a.objects if obj.origin and obj.origin.file == component]
    assert len(locs) > 5
    assert all(loc is locs[0] for loc in locs)
