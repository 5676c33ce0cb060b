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


_OBJECTS = {
    "labels": "metadata:\n  name: a\n  labels:\n    app: a\n    kustomize.toolkit.fluxcd.io/name: old\n",
    "no-labels": "metadata:\n  name: a\n",
    "null-labels": "metadata:\n  name: a\n  labels:\n",
    "no-metadata": "kind: ConfigMap\n",
    "scalar-metadata": "metadata: a\n",
    "lean": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\n  labels: {x: y}\n",
}


@pytest.mark.parametrize("text", _OBJECTS.values(), ids=_OBJECTS.keys())
def test_setting_all_values_at_once_gives_what_setting_each_in_turn_gives(text: str) -> None:
    """model.set_all copies each map on the way once (Flux's labels on every
    object): the tree, its key order and its locations are those set_at gives."""
    from volsync_kit.adapters.yamlio import load_documents
    from volsync_kit.core.model import set_all, set_at

    [doc] = load_documents(text, "kubernetes/apps/a/app/object.yaml")
    assert isinstance(doc.node, Map)
    values = [
        ("kustomize.toolkit.fluxcd.io/name", Scalar("a", AT)),
        ("kustomize.toolkit.fluxcd.io/namespace", Scalar("ns", AT)),
        ("app", Scalar("b", None)),
    ]
    one_by_one = doc.node
    for key, value in values:
        one_by_one = set_at(one_by_one, ("metadata", "labels", key), value)
    at_once = set_all(doc.node, ("metadata", "labels"), values)
    assert at_once == one_by_one
    assert list(at_once.items["metadata"].items) == list(one_by_one.items["metadata"].items)  # type: ignore[union-attr]
    labels, expected = at_once.items["metadata"].items["labels"], one_by_one.items["metadata"].items["labels"]  # type: ignore[union-attr]
    assert list(labels.items) == list(expected.items)  # type: ignore[union-attr]
    assert labels.key_locs == expected.key_locs  # type: ignore[union-attr]
