"""Quotes that substitution brings into the YAML text are YAML quotes.

Flux substitutes into the text kustomize wrote and parses the result, so
``schedule: ${CRON:-"0 * * * *"}`` (a plain scalar in the template) becomes
``schedule: "0 * * * *"``, the string ``0 * * * *``.  The render fixture
``tests/fixtures/render/quoted-defaults`` checks the same against kubectl
kustomize and text substitution in test_differential.
"""

from __future__ import annotations

import pytest

from volsync_kit.core.model import Loc, Map, Scalar
from volsync_kit.core.scalars import read_spliced
from volsync_kit.core.substitution import TreeSubstituter, substitute_tree

VARIABLES = {
    "APP": "demo",
    "QUOTED": '"7 * * * *"',
    "SINGLE": "'a b'",
    "HALF": '"open',
    "NUM": "1000",
    "COMMENTED": '"a" # b',
}


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ('${CRON:-"0 * * * *"}', "0 * * * *"),
        ("${CRON:-'0 * * * *'}", "0 * * * *"),
        ("${X:-'it''s'}", "it's"),
        ('${X:-"1000"}', "1000"),  # a string: the quotes keep it one
        ("${X:-'true'}", "true"),
        ('${X:-""}', ""),  # an empty string, not null
        ("${X:-''}", ""),
        ('${X:-"tab\\there"}', "tab\there"),
        ('${X:-"\\u00e9\\x41"}', "éA"),
        ('${X:-"say \\"hi\\""}', 'say "hi"'),
        ("${COMMENTED}", "a"),  # the comment is YAML's too
        ('${X:-"a"} # note', '"a" # note'),  # " #" in the template: kustomize quotes it
        ("${QUOTED}", "7 * * * *"),  # quotes from a variable's value
        ("${SINGLE}", "a b"),
        ('${APP:-"unused"}', "demo"),
        # unchanged rules: unquoted results are typed by YAML 1.1
        ("${X:-1000}", 1000),
        ("${NUM}", 1000),
        ("${X:-yes}", True),
        ("${X:-}", None),
    ],
)
def test_quoted_result_reads_as_a_yaml_scalar(template: str, value: object) -> None:
    node, notices = substitute_tree(Map({"k": Scalar(template)}), VARIABLES, strict=False)
    assert isinstance(node, Map)
    assert node.items["k"] == Scalar(value)  # type: ignore[arg-type]
    assert type(node.items["k"].value) is type(value)
    assert notices == []


@pytest.mark.parametrize(
    ("template", "kept"),
    [
        ('${X:-"a"} tail', '"a" tail'),  # YAML would fail: more text after the quotes
        ('${X:-"a"}#c', '"a"#c'),  # a comment needs a blank before "#"
        ("${HALF}", '"open'),  # no closing quote
        ('${X:-"bad \\q"}', '"bad \\q"'),  # unknown escape
    ],
)
def test_unreadable_quoted_result_is_kept_with_a_notice(template: str, kept: str) -> None:
    node, notices = substitute_tree(Map({"k": Scalar(template, Loc("f.yaml", 3, 4))}), VARIABLES, strict=False)
    assert isinstance(node, Map)
    assert node.items["k"] == Scalar(kept, Loc("f.yaml", 3, 4))
    assert [n.loc for n in notices] == [Loc("f.yaml", 3, 4)]
    assert "changes the YAML structure" in notices[0].message


def test_template_written_quoted_by_kustomize_keeps_the_quotes() -> None:
    # kustomize keeps quotes around a value that starts with a quote, so the
    # substituted text is a string with its quote characters.
    node, notices = substitute_tree(Map({"k": Scalar('"${X:-a}"')}), {}, strict=False)
    assert isinstance(node, Map)
    assert node.items["k"] == Scalar('"a"')
    assert notices == []


def test_memo_reuses_the_read_value() -> None:
    sub = TreeSubstituter({}, strict=False)
    first = sub.scalar_value('${CRON:-"0 * * * *"}', None)
    assert first == "0 * * * *"
    assert sub.values == {'${CRON:-"0 * * * *"}': "0 * * * *"}
    assert sub.scalar_value('${CRON:-"0 * * * *"}', None) is first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"0 * * * *"', (True, "0 * * * *")),
        ("'0 * * * *'", (True, "0 * * * *")),
        ("'it''s'", (True, "it's")),
        ('"1000"', (True, "1000")),
        ('"a\\tb \\u00e9"', (True, "a\tb é")),
        ('"\\x41\\U0001F600"', (True, "A😀")),
        ('"\\0\\a\\b\\v\\f\\r\\e\\ \\N\\_\\L\\P\\\'"', (True, "\0\a\b\v\f\r\x1b \x85\xa0\u2028\u2029'")),
        ('"a" # c', (True, "a")),
        ('"a"\t# c', (True, "a")),
        ('"a"   ', (True, "a")),
        ('""', (True, "")),
        ("''", (True, "")),
        ('"a" b', (False, None)),
        ('"a"#c', (False, None)),
        ('"a', (False, None)),
        ("'a", (False, None)),
        ('"\\q"', (False, None)),
        ('"\\x4"', (False, None)),
        ('"\\uD800"', (False, None)),  # a surrogate is not a character
        ('"a\nb"', (False, None)),
        # plain text: YAML 1.1 typing, or structure
        ("1000", (True, 1000)),
        ("", (True, None)),
        ("yes", (True, True)),
        ("a b", (True, "a b")),
        ("a: b", (False, None)),
        ("[a]", (False, None)),
    ],
)
def test_read_spliced(text: str, expected: tuple[bool, object]) -> None:
    assert read_spliced(text) == expected
