"""Plain-scalar typing: kustomize's reader (go-yaml v3, YAML 1.2) against
Flux's post-substitution decoder (go-yaml v2, YAML 1.1)."""

from __future__ import annotations

import math

import pytest

from volsync_kit.core.scalars import breaks_plain, emitted_plain, resolve_applied, resolve_source

INF = math.inf
NAN = math.nan

# (text, resolve_source / YAML 1.2, resolve_applied / YAML 1.1)
RESOLVE = [
    # YAML 1.1 "old booleans": strings for kustomize, booleans for Flux
    ("y", "y", True),
    ("Y", "Y", True),
    ("yes", "yes", True),
    ("Yes", "Yes", True),
    ("YES", "YES", True),
    ("on", "on", True),
    ("On", "On", True),
    ("ON", "ON", True),
    ("n", "n", False),
    ("N", "N", False),
    ("no", "no", False),
    ("No", "No", False),
    ("NO", "NO", False),
    ("off", "off", False),
    ("Off", "Off", False),
    ("OFF", "OFF", False),
    # mixed case is never a boolean
    ("yEs", "yEs", "yEs"),
    ("oN", "oN", "oN"),
    ("tRUE", "tRUE", "tRUE"),
    ("nO", "nO", "nO"),
    # core booleans
    ("true", True, True),
    ("True", True, True),
    ("TRUE", True, True),
    ("false", False, False),
    ("False", False, False),
    ("FALSE", False, False),
    # nulls
    ("", None, None),
    ("~", None, None),
    ("null", None, None),
    ("Null", None, None),
    ("NULL", None, None),
    ("nULL", "nULL", "nULL"),
    # integers
    ("0", 0, 0),
    ("42", 42, 42),
    ("-42", -42, -42),
    ("+7", 7, 7),
    ("0777", 511, 511),
    ("0x1F", 31, 31),
    ("0o17", 15, 15),
    ("0b101", 5, 5),
    ("1_000", 1000, 1000),
    ("1000", 1000, 1000),
    # floats
    ("1.5", 1.5, 1.5),
    ("-1.5", -1.5, -1.5),
    (".5", 0.5, 0.5),
    ("1e3", 1000.0, 1000.0),
    ("1.5e-3", 0.0015, 0.0015),
    (".inf", INF, INF),
    (".Inf", INF, INF),
    ("+.inf", INF, INF),
    ("-.inf", -INF, -INF),
    (".nan", NAN, NAN),
    (".NaN", NAN, NAN),
    # strings
    ("5Gi", "5Gi", "5Gi"),
    ("100Mi", "100Mi", "100Mi"),
    ("1.2.3", "1.2.3", "1.2.3"),
    ("-", "-", "-"),
    ("plex", "plex", "plex"),
    ("0x", "0x", "0x"),
    ("inf", "inf", "inf"),
    ("${VAR}", "${VAR}", "${VAR}"),
]


def _same(actual: object, expected: object) -> bool:
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return actual == expected


@pytest.mark.parametrize(("text", "source", "applied"), RESOLVE, ids=[repr(r[0]) for r in RESOLVE])
def test_resolve_source(text: str, source: object, applied: object) -> None:
    result = resolve_source(text)
    assert _same(result, source), f"resolve_source({text!r}) = {result!r}, want {source!r}"


@pytest.mark.parametrize(("text", "source", "applied"), RESOLVE, ids=[repr(r[0]) for r in RESOLVE])
def test_resolve_applied(text: str, source: object, applied: object) -> None:
    result = resolve_applied(text)
    assert _same(result, applied), f"resolve_applied({text!r}) = {result!r}, want {applied!r}"


def test_same_helper_distinguishes_bool_and_int() -> None:
    assert not _same(True, 1)
    assert not _same(1, 1.0)
    assert _same(NAN, NAN)


EMITTED_PLAIN = [
    ("${VAR}", True),
    ("${PUID:-1000}", True),
    ("plex", True),
    ("-x", True),
    ("a:b", True),
    ("$$x", True),
    ("", False),
    (" x", False),
    ("x ", False),
    ("a\nb", False),
    ("a: b", False),
    ("x #c", False),
    ("key:", False),
    ("#c", False),
    ("- x", False),
    ("-", False),
    ("[a]", False),
    ("{a}", False),
    ("'q'", False),
    ('"q"', False),
    ("*a", False),
    ("&a", False),
    ("!tag", False),
    ("|", False),
    (">", False),
    ("%x", False),
    ("@x", False),
    ("`x", False),
    (",x", False),
    ("? x", False),
    (": x", False),
    # would read back as another type
    ("yes", False),
    ("true", False),
    ("1000", False),
    ("1.5", False),
    ("null", False),
    ("~", False),
]


@pytest.mark.parametrize(("text", "expected"), EMITTED_PLAIN, ids=[repr(e[0]) for e in EMITTED_PLAIN])
def test_emitted_plain(text: str, expected: bool) -> None:
    assert emitted_plain(text) is expected


BREAKS_PLAIN = [
    ("", False),
    ("plain", False),
    ("yes", False),
    ("1000", False),
    ("-x", False),
    ("a:b", False),
    ("a#b", False),
    ("a: b", True),
    ("key:", True),
    ("x #c", True),
    ("#c", True),
    ("- x", True),
    ("-", True),
    ("[a, b]", True),
    ("{a: b}", True),
    ("*alias", True),
    ("&anchor", True),
    ("!tag", True),
    ("|", True),
    ("'q'", True),
    ("a\nb", True),
    (" x", True),
    ("x ", True),
]


@pytest.mark.parametrize(("text", "expected"), BREAKS_PLAIN, ids=[repr(b[0]) for b in BREAKS_PLAIN])
def test_breaks_plain(text: str, expected: bool) -> None:
    assert breaks_plain(text) is expected
