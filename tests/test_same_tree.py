"""model.same_tree: the strict equality plan uses to hold one copy of an
object both revisions build alike (volsync_kit.core.flux.Memo)."""

from __future__ import annotations

from volsync_kit.core.model import LazyMap, Loc, Map, Scalar, Seq, same_tree

AT = Loc("kubernetes/flux/components/volsync/operations/replicationsource.yaml", 7, 3)


def _tree(*, first: str = "schedule", value: object = 14, loc: Loc = AT) -> Map:
    keys = [first, "pruneIntervalDays" if first == "schedule" else "schedule"]
    values = {"schedule": Scalar("0 * * * *", AT), "pruneIntervalDays": Scalar(value, loc)}  # type: ignore[arg-type]
    return Map({key: values[key] for key in keys}, AT, dict.fromkeys(keys, AT))


def test_equal_trees_written_alike_are_the_same() -> None:
    a, b = _tree(), _tree()
    assert a is not b
    assert same_tree(a, b)
    assert same_tree(Seq((a, Scalar("x", AT)), AT), Seq((b, Scalar("x", AT)), AT))


def test_what_the_output_tells_apart_is_not_the_same() -> None:
    assert _tree() == _tree(first="pruneIntervalDays")  # a dict's equality ignores the order ...
    assert not same_tree(_tree(), _tree(first="pruneIntervalDays"))  # ... which the output keeps
    assert _tree(value=1) == _tree(value=True)
    assert not same_tree(_tree(value=1), _tree(value=True))  # 1 and true
    assert not same_tree(_tree(value=0.0), _tree(value=-0.0))
    assert not same_tree(_tree(), _tree(loc=Loc(AT.file, 8, 3)))  # written elsewhere
    assert not same_tree(Seq((Scalar(1, AT),), AT), Seq((Scalar(1, AT), Scalar(1, AT)), AT))


class _Source:
    """A source that would build a tree: same_tree must never ask it."""

    def map_items(self) -> tuple[dict[str, object], dict[str, Loc]]:
        raise AssertionError("same_tree built a lazy node")

    def vars_free(self) -> bool:
        return True


def test_a_node_not_built_is_not_built_to_compare() -> None:
    lazy = LazyMap.of(_Source(), AT)  # type: ignore[arg-type]
    assert not same_tree(Map({"spec": lazy}, AT), Map({"spec": _tree()}, AT))
    assert same_tree(Map({"spec": lazy}, AT), Map({"spec": lazy}, AT))  # one node
    assert lazy.source() is not None
