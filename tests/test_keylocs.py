"""model.KeyLocs: a map's key locations, kept packed until one is asked for.

A map read back from the cache holds a KeyLocs where a fresh parse holds a
dict; both must be the same value, give the same answers and the same cache
key (a key that differed made every warm run build again).
"""

from __future__ import annotations

import pickle
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from volsync_kit.adapters.cache import DiskCache
from volsync_kit.core.model import KeyLocs, Loc, Map, Scalar, key_loc

FILE = "kubernetes/flux/components/volsync/repository/pv.yaml"


def _pv() -> Map:
    spec = Map(
        {"capacity": Scalar("5Gi", Loc(FILE, 6, 13)), "volumeMode": Scalar("Filesystem", Loc(FILE, 7, 15))},
        Loc(FILE, 6, 3),
        {"capacity": Loc(FILE, 6, 3), "volumeMode": Loc(FILE, 7, 3)},
    )
    return Map({"kind": Scalar("PersistentVolume", Loc(FILE, 1, 7)), "spec": spec}, Loc(FILE, 1, 1),
               {"kind": Loc(FILE, 1, 1), "spec": Loc(FILE, 5, 1)})  # fmt: skip


def test_a_map_read_back_holds_its_key_locations_packed_and_answers_alike() -> None:
    fresh = _pv()
    back = pickle.loads(pickle.dumps(fresh))
    assert type(back.key_locs) is KeyLocs
    assert back == fresh
    assert fresh == back
    assert repr(back) == repr(fresh)
    assert key_loc(back, "spec", "volumeMode") == key_loc(fresh, "spec", "volumeMode") == Loc(FILE, 7, 3)
    assert dict(back.key_locs.items()) == dict(fresh.key_locs.items())  # type: ignore[union-attr]
    assert "missing" not in back.key_locs  # type: ignore[operator]
    assert pickle.loads(pickle.dumps(back)) == fresh


def test_a_map_and_its_read_back_copy_have_one_cache_key(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache", tmp_path)
    fresh = _pv()
    back = pickle.loads(pickle.dumps(fresh))
    assert cache.key(back) == cache.key(fresh)
    moved = Map(fresh.items, fresh.loc, {"kind": Loc(FILE, 1, 1), "spec": Loc(FILE, 4, 1)})
    assert cache.key(moved) != cache.key(fresh)


def test_keys_from_several_files_stay_a_dict() -> None:
    mixed = Map({"a": Scalar(1), "b": Scalar(2)}, None, {"a": Loc("one.yaml", 1, 1), "b": Loc("patch.yaml", 3, 1)})
    back = pickle.loads(pickle.dumps(mixed))
    assert type(back.key_locs) is dict
    assert back == mixed


def test_a_position_no_unsigned_int_holds_stays_a_dict() -> None:
    """Positions are packed as unsigned 32-bit ints; one beyond is written as
    the dict it is, never wrapped round to another line."""
    far = Map({"a": Scalar(1), "b": Scalar(2)}, None, {"a": Loc("a.yaml", 1, 1), "b": Loc("a.yaml", 2**32 + 3, 1)})
    back = pickle.loads(pickle.dumps(far))
    assert type(back.key_locs) is dict
    assert back == far
    near = Map(far.items, None, {"a": Loc("a.yaml", 1, 1), "b": Loc("a.yaml", 2**32 - 1, 7)})
    assert key_loc(pickle.loads(pickle.dumps(near)), "b") == Loc("a.yaml", 2**32 - 1, 7)


LOCS = st.builds(Loc, st.sampled_from(["a.yaml", "b.yaml"]), st.integers(1, 9), st.integers(1, 9))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=3), LOCS, max_size=5) | st.none())
def test_any_key_locations_read_back_equal(key_locs: dict[str, Loc] | None) -> None:
    node = Map({k: Scalar(k) for k in key_locs or {}}, None, key_locs)
    back = pickle.loads(pickle.dumps(node))
    assert back == node
    assert repr(back) == repr(node)
    assert list(back.key_locs or ()) == list(key_locs or ())
    assert pickle.dumps(back) == pickle.dumps(node)


def test_key_locations_of_other_keys_are_written_as_the_dict_they_equal(tmp_path: Path) -> None:
    """A transform may keep a map's key locations and change its keys: the
    locations are then written as a dict, as a fresh parse writes them."""
    back = pickle.loads(pickle.dumps(_pv()))
    assert type(back.key_locs) is KeyLocs
    fewer = Map({"kind": back.items["kind"]}, back.loc, back.key_locs)
    fresh = Map({"kind": back.items["kind"]}, back.loc, dict(back.key_locs.items()))
    again = pickle.loads(pickle.dumps(fewer))
    assert type(again.key_locs) is dict
    assert again == fewer == fresh
    cache = DiskCache(tmp_path / "cache", tmp_path)
    assert cache.key(fewer) == cache.key(fresh)


def test_the_store_reads_every_map_of_one_shape_with_one_set_of_keys(tmp_path: Path) -> None:
    """Each body is a pickle of its own; read back through one store, maps of
    one shape share their keys (the strings, and the tuple KeyLocs holds)."""
    cache = DiskCache(tmp_path / "cache", tmp_path)
    cache.put("a", "i", _pv())
    cache.put("b", "i", _pv())
    a, b = cache.get("a", "i"), cache.get("b", "i")
    assert isinstance(a, Map)
    assert isinstance(b, Map)
    assert a == b == _pv()
    assert a is not b
    assert type(a.key_locs) is KeyLocs
    assert type(b.key_locs) is KeyLocs
    assert a.key_locs.names is b.key_locs.names
    assert all(x is y for x, y in zip(a.items, b.items, strict=True))
    spec_a, spec_b = a.items["spec"], b.items["spec"]
    assert isinstance(spec_a, Map)
    assert isinstance(spec_b, Map)
    assert next(iter(spec_a.items)) is next(iter(spec_b.items))
