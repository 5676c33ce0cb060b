"""Flux post-build substitution (fluxcd/pkg envsubst fork) and its tree typing.

The expected values come from fluxcd/pkg ``envsubst/eval_test.go`` (itself
from the TLDP parameter-substitution examples) and from the fork's parser
and ``funcs.go``; the tree cases follow kustomize-controller's YAML round
trip (envsubst on the text, then a YAML 1.1 decode).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volsync_kit.core.model import Loc, Map, Scalar, Seq
from volsync_kit.core.substitution import (
    Notice,
    SubstitutionError,
    TreeSubstitutionError,
    expand,
    substitute_tree,
)

V01 = {"var01": "abcdEFGH28ij"}
UP01 = {"var01": "ABCDEFGH28IJ"}
PATH = {"path_name": "/home/bozo/ideas/thoughts.for.today"}
Z = {"stringZ": "abcABC123ABCabc"}

# (id, text, variables, expected) -- strict mode (the default) throughout.
EXPAND_CASES = [
    # plain text and the braced-only rule
    ("text-only", "abcdEFGH28ij", {}, "abcdEFGH28ij"),
    ("bare-var", "${var01}", V01, "abcdEFGH28ij"),
    ("bare-var-in-text", "a-${var01}-b", V01, "a-abcdEFGH28ij-b"),
    ("two-vars", "${A}${B}", {"A": "x", "B": "y"}, "xy"),
    ("set-but-empty", "${foo}", {"foo": ""}, ""),
    ("dollar-name-literal", "$var01", V01, "$var01"),
    ("dollar-name-literal-unset", "$UNSET stays", {}, "$UNSET stays"),
    ("lone-dollar", "cost: 5$", {}, "cost: 5$"),
    ("dollar-then-brace-later", "$ {var01}", V01, "$ {var01}"),
    ("backslashes-outside-kept", "\\\\something ${var=${default_var}}", {"default_var": "foo"}, "\\\\something foo"),
    # escapes
    ("escape-braced", "$${var01}", V01, "${var01}"),
    ("escape-braced-unset", "$${UNSET}", {}, "${UNSET}"),
    ("escape-plain", "$$plain", {}, "$plain"),
    ("escape-double", "$$$$", {}, "$$"),
    ("escape-then-var", "$$${var01}", V01, "$abcdEFGH28ij"),
    (
        "escape-mixed-flux",
        "some text ${var01}$${var$${var01}$var01${var01}",
        V01,
        "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
    ),
    ("escape-with-nested-default", "something $${var=${default_var}}", {"default_var": "foo"}, "something ${var=foo}"),
    # length
    ("length", "${#var01}", V01, "12"),
    ("length-empty", "${#E}", {"E": ""}, "0"),
    ("length-utf8-bytes", "${#U}", {"U": "é"}, "2"),
    # case
    ("upper-first", "${var01^}", V01, "AbcdEFGH28ij"),
    ("upper-all", "${var01^^}", V01, "ABCDEFGH28IJ"),
    ("lower-first", "${var01,}", UP01, "aBCDEFGH28IJ"),
    ("lower-all", "${var01,,}", UP01, "abcdefgh28ij"),
    ("upper-first-empty", "${E^}", {"E": ""}, ""),
    # substring
    ("substr-pos", "${path_name:11}", PATH, "ideas/thoughts.for.today"),
    ("substr-pos-len", "${path_name:11:5}", PATH, "ideas"),
    ("substr-var01-pos", "${var01:7}", V01, "H28ij"),
    ("substr-var01-pos-len", "${var01:7:3}", V01, "H28"),
    ("substr-neg-len", "${var01:4:-2}", V01, "EFGH28"),
    ("substr-neg-len-drop-ends", "${var01:1:-1}", V01, "bcdEFGH28i"),
    ("substr-neg-len-before-pos", "${var01:8:-6}", V01, ""),
    ("substr-pos-past-end", "${var01:20}", V01, ""),
    ("substr-len-past-end", "${var01:10:99}", V01, "ij"),
    ("substr-bad-pos", "${var01:x}", V01, "abcdEFGH28ij"),
    ("substr-bad-len", "${var01:2:x}", V01, "abcdEFGH28ij"),
    # remove prefix / suffix (globs; * matches /)
    ("trim-short-prefix", "${stringZ#a*C}", Z, "123ABCabc"),
    ("trim-long-prefix", "${stringZ##a*C}", Z, "abc"),
    ("trim-short-suffix", "${stringZ%b*c}", Z, "abcABC123ABCa"),
    ("trim-long-suffix", "${stringZ%%b*c}", Z, "a"),
    ("trim-short-prefix-dot", "${filename#*.}", {"filename": "bash.string.txt"}, "string.txt"),
    ("trim-long-prefix-dot", "${filename##*.}", {"filename": "bash.string.txt"}, "txt"),
    ("trim-short-suffix-dot", "${filename%.*}", {"filename": "bash.string.txt"}, "bash.string"),
    ("trim-long-suffix-dot", "${filename%%.*}", {"filename": "bash.string.txt"}, "bash"),
    ("trim-short-prefix-slash", "${filename#*/}", {"filename": "path/to/file"}, "to/file"),
    ("trim-short-prefix-leading-slash", "${filename#*/}", {"filename": "/path/to/file"}, "path/to/file"),
    ("trim-long-prefix-slash", "${filename##*/}", {"filename": "path/to/file"}, "file"),
    ("trim-long-prefix-leading-slash", "${filename##*/}", {"filename": "/path/to/file"}, "file"),
    ("trim-short-suffix-slash", "${p%/*}", {"p": "a/b/c"}, "a/b"),
    ("trim-long-suffix-slash", "${p%%/*}", {"p": "a/b/c"}, "a"),
    ("trim-no-match", "${p#zzz}", {"p": "a/b/c"}, "a/b/c"),
    # replace
    ("replace-first", "${stringZ/abc/xyz}", Z, "xyzABC123ABCabc"),
    ("replace-all", "${stringZ//abc/xyz}", Z, "xyzABC123ABCxyz"),
    ("replace-prefix", "${stringZ/#abc/XYZ}", Z, "XYZABC123ABCabc"),
    ("replace-suffix", "${stringZ/%abc/XYZ}", Z, "abcABC123ABCXYZ"),
    ("replace-prefix-no-match", "${stringZ/#ABC/XYZ}", Z, "abcABC123ABCabc"),
    ("replace-suffix-no-match", "${stringZ/%ABC/XYZ}", Z, "abcABC123ABCabc"),
    ("replace-prefix-empty-pattern", "${stringZ/#/prefix-}", {"stringZ": "somevalue"}, "prefix-somevalue"),
    ("replace-suffix-empty-pattern", "${stringZ/%/-suffix}", {"stringZ": "somevalue"}, "somevalue-suffix"),
    ("replace-escaped-slash", "${stringZ/\\//-}", {"stringZ": "foo/bar"}, "foo-bar"),
    ("replace-all-escaped-slash", "${stringZ//\\//-}", {"stringZ": "foo/bar/baz"}, "foo-bar-baz"),
    ("replace-with-blank", "${stringZ/./}", {"stringZ": "foo.bar"}, "foobar"),
    ("replace-all-with-blank", "${stringZ//a/}", Z, "bcABC123ABCbc"),
    # nested
    ("nested-default-var", "something ${var=${default_var}}", {"default_var": "foo"}, "something foo"),
    ("nested-default-suffix", "foo: ${var=${default_var}-suffix}", {"default_var": "foo1"}, "foo: foo1-suffix"),
    (
        "nested-default-prefix-suffix",
        "foo: ${var=prefix${default_var}-suffix}",
        {"default_var": "foo1"},
        "foo: prefixfoo1-suffix",
    ),
    ("nested-default-op", "${var=${var01^^}}", V01, "ABCDEFGH28IJ"),
    ("nested-default-set-wins", "${A:-${B}}", {"A": "a", "B": "b"}, "a"),
    ("nested-default-two-levels", "${A:-${B:-${C}}}", {"C": "c"}, "c"),
    ("default-empty-arg-unset", "${X:-}", {}, ""),
    ("default-empty-arg-empty", "${X:-}", {"X": ""}, ""),
    ("default-empty-arg-set", "${X:-}", {"X": "v"}, "v"),
    ("default-with-spaces", "${X:-a b c}", {}, "a b c"),
    ("default-with-colon", "${X:-http://h:80}", {}, "http://h:80"),
]

# Every default operator: value wins when set, default when empty or unset.
DEFAULT_OPS = [":-", ":=", "=", ":?", ":+"]
for _op in DEFAULT_OPS:
    _tag = {":-": "colon-dash", ":=": "colon-eq", "=": "eq", ":?": "colon-q", ":+": "colon-plus"}[_op]
    EXPAND_CASES += [
        (f"default-{_tag}-set", "${X" + _op + "d}", {"X": "val"}, "val"),
        (f"default-{_tag}-empty", "${X" + _op + "d}", {"X": ""}, "d"),
        (f"default-{_tag}-unset", "${X" + _op + "d}", {}, "d"),
        (f"default-{_tag}-unset-1000", "${PUID" + _op + "1000}", {}, "1000"),
    ]


@pytest.mark.parametrize(
    ("text", "variables", "expected"), [c[1:] for c in EXPAND_CASES], ids=[c[0] for c in EXPAND_CASES]
)
def test_expand(text: str, variables: dict[str, str], expected: str) -> None:
    assert expand(text, variables) == expected


def test_case_ids_unique() -> None:
    ids = [c[0] for c in EXPAND_CASES]
    assert len(ids) == len(set(ids))


# -- strict mode --------------------------------------------------------------

STRICT_CASES = [
    ("bare", "${X}", "X"),
    ("bare-in-text", "prefix ${X} suffix", "X"),
    ("second-of-two", "${A}${X}", "X"),
    ("length", "${#X}", "X"),
    ("upper-first", "${X^}", "X"),
    ("upper-all", "${X^^}", "X"),
    ("lower-first", "${X,}", "X"),
    ("lower-all", "${X,,}", "X"),
    ("substr-pos", "${X:0}", "X"),
    ("substr-pos-len", "${X:0:2}", "X"),
    ("replace-first", "${X/a/b}", "X"),
    ("replace-all", "${X//a/b}", "X"),
    ("replace-prefix", "${X/#a/b}", "X"),
    ("replace-suffix", "${X/%a/b}", "X"),
    ("trim-short-prefix", "${X#p}", "X"),
    ("trim-long-prefix", "${X##p}", "X"),
    ("trim-short-suffix", "${X%p}", "X"),
    ("trim-long-suffix", "${X%%p}", "X"),
    ("default-arg-evaluated-first", "${A:-${B}}", "B"),
    ("default-arg-evaluated-first-eq", "${A=${B}}", "B"),
    ("nested-in-default-unset-outer", "${U:-x${B^^}}", "B"),
]


@pytest.mark.parametrize(("text", "name"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES])
def test_strict_unset_raises(text: str, name: str) -> None:
    with pytest.raises(SubstitutionError) as info:
        expand(text, {"A": "a"})
    assert info.value.message == f'variable not set (strict mode): "{name}"'
    assert str(info.value) == f'variable not set (strict mode): "{name}"'
    assert info.value.variable == name


@pytest.mark.parametrize(("text", "name"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES])
def test_strict_is_default(text: str, name: str) -> None:
    with pytest.raises(SubstitutionError, match=re.escape(f'"{name}"')):
        expand(text, {"A": "a"}, strict=True)


NON_STRICT_CASES = [
    ("bare", "${X}", ""),
    ("bare-in-text", "a${X}b", "ab"),
    ("length", "${#X}", "0"),
    ("upper", "${X^^}", ""),
    ("substr", "${X:0:2}", ""),
    ("replace", "${X/a/b}", ""),
    ("replace-prefix-empty-pattern", "${X/#/p-}", "p-"),
    ("trim", "${X#p}", ""),
    ("default-arg-unset", "${A:-${B}}", "a"),
    ("default-both-unset", "${U:-${B}}", ""),
    ("default-still-applies", "${X:-d}", "d"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in NON_STRICT_CASES], ids=[c[0] for c in NON_STRICT_CASES])
def test_non_strict_unset_is_empty(text: str, expected: str) -> None:
    assert expand(text, {"A": "a"}, strict=False) == expected


# -- parse errors -------------------------------------------------------------

PARSE_ERRORS = [
    ("dash-without-colon", "${X-d}", "missing closing brace"),
    ("plus-without-colon", "${X+d}", "missing closing brace"),
    ("question-without-colon", "${X?d}", "missing closing brace"),
    ("dash-without-colon-set", "${var01-d}", "missing closing brace"),
    ("unclosed-bare", "${X", "missing closing brace"),
    ("space-in-name", "${X Y}", "missing closing brace"),
    ("empty-braces", "${}", "unable to parse variable name"),
    ("non-ident-name", "${-X}", "unable to parse variable name"),
    ("unclosed-default", "${X:-abc", "unable to parse substitution within function"),
    ("unclosed-default-empty", "${X:-", "unable to parse substitution within function"),
    ("length-without-name", "${#}", "bad substitution"),
    ("length-unclosed", "${#X", "bad substitution"),
    ("casing-unclosed", "${X^^x}", "bad substitution"),
    ("replace-without-delimiter", "${X/abc}", "bad substitution"),
    ("trim-unclosed", "${X#abc", "bad substitution"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in PARSE_ERRORS], ids=[c[0] for c in PARSE_ERRORS])
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_parse_errors(text: str, message: str, strict: bool) -> None:
    variables = {"X": "x", "var01": "v", "Y": "y"}
    with pytest.raises(SubstitutionError) as info:
        expand(text, variables, strict=strict)
    assert info.value.message == message
    assert str(info.value) == message
    assert info.value.variable is None


# -- trees ----------------------------------------------------------------------


def L(line: int, col: int = 3) -> Loc:
    return Loc("apps/app.yaml", line, col)


TREE_TYPING = [
    # (id, template, variables, expected value)
    ("default-int", "${PUID:-1000}", {}, 1000),
    ("set-int", "${PUID:-1000}", {"PUID": "568"}, 568),
    ("bool-true", "${X}", {"X": "true"}, True),
    ("bool-false", "${X}", {"X": "false"}, False),
    ("yaml11-yes", "${X}", {"X": "yes"}, True),
    ("yaml11-on", "${X}", {"X": "on"}, True),
    ("yaml11-y", "${X}", {"X": "y"}, True),
    ("yaml11-no", "${X}", {"X": "no"}, False),
    ("yaml11-off", "${X}", {"X": "Off"}, False),
    ("empty-is-null", "${X}", {"X": ""}, None),
    ("tilde-is-null", "${X}", {"X": "~"}, None),
    ("null-is-null", "${X}", {"X": "null"}, None),
    ("float", "${X}", {"X": "1.5"}, 1.5),
    ("octal", "${X}", {"X": "0777"}, 511),
    ("hex", "${X}", {"X": "0x1F"}, 31),
    ("quantity-stays-str", "${X}", {"X": "5Gi"}, "5Gi"),
    ("concat-int", "${A}${B}", {"A": "1", "B": "2"}, 12),
    ("suffix-text-str", "${X}Gi", {"X": "10"}, "10Gi"),
    ("prefix-text-int", "1${X}", {"X": "0"}, 10),
    ("newline-template-not-retyped", "${A:-x\ny}", {"A": "42"}, "42"),
    ("colon-space-template-not-retyped", "${A:-x: y}", {"A": "42"}, "42"),
    ("space-comment-template-not-retyped", "${A:-x #y}", {"A": "true"}, "true"),
    ("leading-space-template-not-retyped", " ${A}", {"A": "7"}, " 7"),
    ("quote-indicator-template-not-retyped", "'${A}", {"A": "7"}, "'7"),
    ("escape-result-str", "$${X}", {}, "${X}"),
    ("escape-plain-result-str", "$$5", {}, "$5"),
]


@pytest.mark.parametrize(
    ("template", "variables", "expected"), [c[1:] for c in TREE_TYPING], ids=[c[0] for c in TREE_TYPING]
)
def test_tree_typing(template: str, variables: dict[str, str], expected: object) -> None:
    tree = Map({"value": Scalar(template, L(4))}, L(1, 1))
    out, notices = substitute_tree(tree, variables)
    assert isinstance(out, Map)
    node = out.items["value"]
    assert isinstance(node, Scalar)
    assert type(node.value) is type(expected)
    assert node.value == expected
    assert node.loc == L(4)
    assert notices == []


@pytest.mark.parametrize(
    ("value", "changes"),
    [
        ("a: b", True),
        ("- item", True),
        ("#comment", True),
        ("[a, b]", True),
        ("{a: b}", True),
        ("x #y", True),
        ("key:", True),
        ("line1\nline2", True),
        (" padded", True),
        ("*alias", True),
        ("plain", False),
        ("a:b", False),
        ("-x", False),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else str(v),
)
def test_tree_structure_breaking_value_is_kept_with_notice(value: str, changes: bool) -> None:
    loc = L(9, 12)
    out, notices = substitute_tree(Map({"k": Scalar("${X}", loc)}), {"X": value})
    assert isinstance(out, Map)
    node = out.items["k"]
    assert isinstance(node, Scalar)
    assert node.value == value
    assert isinstance(node.value, str)
    if changes:
        assert len(notices) == 1
        assert isinstance(notices[0], Notice)
        assert notices[0].loc == loc
        assert repr(value) in notices[0].message
    else:
        assert notices == []


def test_tree_unchanged_nodes_keep_type_and_identity() -> None:
    plain_str = Scalar("1000", L(2))
    literal_dollar = Scalar("$HOME/x", L(3))
    integer = Scalar(5, L(4))
    boolean = Scalar(True, L(5))
    null = Scalar(None, L(6))
    flt = Scalar(1.5, L(7))
    tree = Map(
        {
            "s": plain_str,
            "d": literal_dollar,
            "i": integer,
            "b": boolean,
            "n": null,
            "f": flt,
            "seq": Seq((Scalar("yes", L(8)), Scalar("on", L(9))), L(8)),
        },
        L(1),
    )
    out, notices = substitute_tree(tree, {"X": "1"})
    assert notices == []
    assert isinstance(out, Map)
    assert out.items["s"] is plain_str
    assert out.items["s"].value == "1000"
    assert out.items["d"] is literal_dollar
    assert out.items["i"] is integer
    assert out.items["b"] is boolean
    assert out.items["n"] is null
    assert out.items["f"] is flt
    seq = out.items["seq"]
    assert isinstance(seq, Seq)
    assert [s.value for s in seq.items if isinstance(s, Scalar)] == ["yes", "on"]
    assert seq.loc == L(8)


def test_tree_substitutes_nested_sequences_and_maps() -> None:
    tree = Map(
        {
            "spec": Map(
                {
                    "args": Seq((Scalar("--uid=${PUID:-1000}", L(3)), Scalar("${PUID:-1000}", L(4))), L(3)),
                    "name": Scalar("${APP}-data", L(5)),
                },
                L(2),
            )
        },
        L(1),
    )
    out, notices = substitute_tree(tree, {"APP": "plex"})
    assert notices == []
    assert isinstance(out, Map)
    spec = out.items["spec"]
    assert isinstance(spec, Map)
    assert spec.loc == L(2)
    args = spec.items["args"]
    assert isinstance(args, Seq)
    assert args.items == (Scalar("--uid=1000", L(3)), Scalar(1000, L(4)))
    assert spec.items["name"] == Scalar("plex-data", L(5))


def test_tree_keys_are_substituted_but_not_retyped() -> None:
    tree = Map({"${K}": Scalar("v", L(2)), "app.${D:-example.com}/x": Scalar("w", L(3)), "${N}": Scalar(1)}, L(1))
    out, notices = substitute_tree(tree, {"K": "name", "N": "1"})
    assert notices == []
    assert isinstance(out, Map)
    assert list(out.items) == ["name", "app.example.com/x", "1"]
    assert out.items["name"] == Scalar("v", L(2))
    assert out.items["1"] == Scalar(1)


def test_tree_key_error_carries_map_location() -> None:
    tree = Map({"a": Map({"${MISSING_KEY}": Scalar("v")}, L(7, 5))}, L(1))
    with pytest.raises(TreeSubstitutionError) as info:
        substitute_tree(tree, {})
    assert info.value.loc == L(7, 5)
    assert info.value.variable == "MISSING_KEY"
    assert info.value.message == 'variable not set (strict mode): "MISSING_KEY"'


def test_tree_error_carries_scalar_location() -> None:
    bad = Loc("apps/plex/pvc.yaml", 12, 17)
    tree = Map(
        {
            "metadata": Map({"name": Scalar("${APP}", L(2))}, L(2)),
            "spec": Seq((Scalar("ok", L(5)), Scalar("${CAPACITY}", bad)), L(4)),
        },
        L(1),
    )
    with pytest.raises(TreeSubstitutionError) as info:
        substitute_tree(tree, {"APP": "plex"})
    assert info.value.loc == bad
    assert info.value.variable == "CAPACITY"
    assert info.value.message == 'variable not set (strict mode): "CAPACITY"'
    assert str(info.value) == 'variable not set (strict mode): "CAPACITY"'


def test_tree_parse_error_carries_location() -> None:
    bad = L(3, 9)
    with pytest.raises(TreeSubstitutionError) as info:
        substitute_tree(Seq((Scalar("${X-d}", bad),)), {"X": "x"})
    assert info.value.loc == bad
    assert info.value.variable is None
    assert info.value.message == "missing closing brace"


def test_tree_non_strict_unset_becomes_null() -> None:
    out, _ = substitute_tree(Map({"k": Scalar("${MISSING}", L(2))}), {}, strict=False)
    assert isinstance(out, Map)
    assert out.items["k"] == Scalar(None, L(2))


def test_tree_strict_is_default() -> None:
    with pytest.raises(TreeSubstitutionError):
        substitute_tree(Scalar("${MISSING}"), {})


# -- opaque mode (encrypted Secrets) --------------------------------------------

OPAQUE_CASES = [
    ("bare-unknown-kept", "${SECRET}", "${SECRET}"),
    ("default-unknown-kept", "${SECRET:-d}", "${SECRET:-d}"),
    ("op-unknown-kept", "${SECRET^^}", "${SECRET^^}"),
    ("length-unknown-kept", "${#SECRET}", "${#SECRET}"),
    ("mixed", "pre-${SECRET}-${KNOWN}", "pre-${SECRET}-known"),
    ("known-default-arg-unknown", "${KNOWN:-${SECRET}}", "known"),
    ("unknown-with-known-arg", "${SECRET:-${KNOWN}}", "${SECRET:-${KNOWN}}"),
    ("escape-still-applies", "$${KNOWN}-${SECRET}", "${KNOWN}-${SECRET}"),
    ("known-int-retyped", "${NUM}", 42),
]


@pytest.mark.parametrize(("template", "expected"), [c[1:] for c in OPAQUE_CASES], ids=[c[0] for c in OPAQUE_CASES])
def test_opaque_keeps_unknown_expressions(template: str, expected: object) -> None:
    out, notices = substitute_tree(Map({"k": Scalar(template, L(2))}), {"KNOWN": "known", "NUM": "42"}, opaque=True)
    assert notices == []
    assert isinstance(out, Map)
    node = out.items["k"]
    assert isinstance(node, Scalar)
    assert type(node.value) is type(expected)
    assert node.value == expected


def test_opaque_does_not_hide_parse_errors() -> None:
    with pytest.raises(TreeSubstitutionError) as info:
        substitute_tree(Scalar("${SECRET-d}", L(1)), {}, opaque=True)
    assert info.value.message == "missing closing brace"


def test_without_opaque_unknown_fails() -> None:
    with pytest.raises(TreeSubstitutionError) as info:
        substitute_tree(Scalar("${SECRET}", L(1)), {})
    assert info.value.variable == "SECRET"


# -- properties -----------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from(["A", "B", "X", "var01", "_x", "PUID"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
)
TOKENS = st.one_of(
    st.sampled_from(["$", "{", "}", ":", "-", "=", "#", "%", "/", "^", ",", "${", "$$", ":-", "\\", "*", "?", "+"]),
    NAMES,
    st.text(max_size=3),
)
BIASED_TEXT = st.lists(TOKENS, max_size=25).map("".join)
VALUES = st.one_of(st.text(max_size=12), st.lists(TOKENS, max_size=6).map("".join))
VARIABLES = st.dictionaries(NAMES, VALUES, max_size=6)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), BIASED_TEXT), variables=VARIABLES, strict=st.booleans())
def test_expand_returns_str_or_substitution_error(text: str, variables: dict[str, str], strict: bool) -> None:
    result: object
    try:
        result = expand(text, variables, strict=strict)
    except SubstitutionError as err:
        result = err
    # anything else (ValueError, IndexError, RecursionError...) propagates and fails
    if isinstance(result, SubstitutionError):
        assert isinstance(result.message, str)
        assert result.message
    else:
        assert isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), BIASED_TEXT).map(lambda s: s.replace("$", "")), variables=VARIABLES)
def test_text_without_dollar_is_unchanged(text: str, variables: dict[str, str]) -> None:
    assert expand(text, variables) == text
    assert expand(text, variables, strict=False) == text


@settings(max_examples=300, deadline=None)
@given(name=NAMES, variables=VARIABLES, strict=st.booleans())
def test_escaped_braced_variable_is_literal(name: str, variables: dict[str, str], strict: bool) -> None:
    assert expand("$${" + name + "}", variables, strict=strict) == "${" + name + "}"


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.text().map(lambda s: s.replace("$", "")),
    name=NAMES,
    variables=VARIABLES,
)
def test_escaped_braced_variable_after_text_is_literal(prefix: str, name: str, variables: dict[str, str]) -> None:
    assert expand(prefix + "$${" + name + "}", variables) == prefix + "${" + name + "}"
