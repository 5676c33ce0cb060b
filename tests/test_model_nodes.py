"""The located tree's classes set their slots themselves (for speed, see
volsync_kit.core.model) and must still behave as the frozen dataclasses they
are declared as: fields fixed, equal by value, hashable where they were, and
made the same through every way a caller builds one."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from volsync_kit.core.model import Loc, Map, Resource, Scalar, Seq

AT = Loc("kubernetes/apps/a/ks.yaml", 3, 5)


def _examples() -> list[object]:
    scalar = Scalar("x", AT)
    seq = Seq((scalar,), AT, True)
    node = Map({"kind": Scalar("PersistentVolume", AT), "s": seq}, AT, {"kind": AT, "s": AT}, True)
    return [AT, scalar, seq, node, Resource(node, AT, "old", "ns", ("older",))]


@pytest.mark.parametrize("value", _examples(), ids=lambda v: type(v).__name__)
def test_fields_stay_fixed(value: object) -> None:
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)


@pytest.mark.parametrize("value", _examples(), ids=lambda v: type(v).__name__)
def test_every_way_of_making_one_gives_an_equal_value(value: object) -> None:
    fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}  # type: ignore[arg-type]
    assert type(value)(**fields) == value
    assert type(value)(*fields.values()) == value
    assert dataclasses.replace(value, **fields) == value  # type: ignore[type-var]
    assert pickle.loads(pickle.dumps(value)) == value
    assert repr(pickle.loads(pickle.dumps(value))) == repr(value)


def test_defaults_and_hashes_are_the_declared_ones() -> None:
    assert Scalar(1).loc is None
    assert Map({}).loc is None
    assert Map({}).key_locs is None
    assert Map({}).vars_free is False
    assert Seq(()).vars_free is False
    res = Resource(Map({"kind": Scalar("PersistentVolume")}), None)
    assert (res.original_name, res.original_namespace, res.aliases) == ("", "", ())
    assert res.kind == "PersistentVolume"  # the identity is read once, from the node
    assert hash(Loc("a", 1, 2)) == hash(Loc("a", 1, 2))
    assert hash(Scalar("v", AT)) == hash(Scalar("v", AT))
    assert hash(Seq((Scalar(1),), AT)) == hash(Seq((Scalar(1),), AT))
    assert Map({}, vars_free=True) == Map({}, vars_free=False)  # vars_free is not compared


ODD_VALUES = [Scalar("v"), Scalar(""), Scalar(7), Scalar(1.5), Scalar(True), Scalar(None), Map({}), Seq((Scalar("x"),))]


@pytest.mark.parametrize("odd", ODD_VALUES, ids=repr)
def test_an_identity_reads_as_str_at_does(odd: Scalar | Map | Seq) -> None:
    """Resource's identity reads its four fields directly (a cold walk asks for
    60,000): each is what ``str_at(node, ...) or ""`` gives, for any value."""
    from volsync_kit.core.model import str_at

    shapes = [
        Map({"kind": odd, "apiVersion": odd, "metadata": Map({"name": odd, "namespace": odd})}),
        Map({"kind": odd, "metadata": odd}),
        Map({"metadata": Seq((Map({"name": Scalar("n")}),))}),
        Map({}),
    ]
    for node in shapes:
        res = Resource(node, None)
        expected = tuple(
            str_at(node, *path) or "" for path in (("kind",), ("apiVersion",), ("metadata", "name"),
                                                   ("metadata", "namespace"))
        )  # fmt: skip
        assert (res.kind, res.api_version, res.name, res.namespace) == expected
