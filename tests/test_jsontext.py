"""report.jsontext gives json.dumps(value, indent=2, ensure_ascii=False) byte for byte."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volsync_kit.core.model import Map, Node, Scalar, Seq, to_plain
from volsync_kit.report import jsontext

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
KEYS = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_it_is_what_json_dumps_gives(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": {}, "b": [], "c": [{}], "d": [[]]},
        {'é\u2028\x00"\\': "\U0001f600 \x1f"},
        [math.inf, -math.inf, math.nan, 1e300, -0.0, 10**30],
        {7: "int key", 2.5: "float key", True: "bool key", None: "null key"},
    ],
)
def test_edge_values(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value", [{"a": {1, 2}}, [object()], {(1, 2): "tuple key"}])
def test_what_json_refuses_it_refuses(value: object) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        jsontext.dumps(value)


def test_a_value_nested_deeper_is_indented_as_json_dumps_nests_it() -> None:
    value = {"objects": [{"a": [1, {"b": None}]}, []]}
    whole = json.dumps({"x": {"y": value}}, indent=2, ensure_ascii=False)
    assert '"y": ' + jsontext.dumps(value, depth=2) in whole


NODES = st.recursive(
    (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()).map(Scalar),
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda items: Seq(tuple(items)))
        | st.dictionaries(st.text(), inner, max_size=4).map(Map)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(NODES, st.integers(min_value=0, max_value=3))
def test_a_located_tree_is_written_as_its_plain_value(node: Node, depth: int) -> None:
    """render hands jsontext its trees without to_plain: the text is the same."""
    assert jsontext.dumps(node, depth) == jsontext.dumps(to_plain(node), depth)
    assert jsontext.dumps([node, {"k": node}]) == json.dumps([to_plain(node), {"k": to_plain(node)}], indent=2,
                                                               ensure_ascii=False)  # fmt: skip
