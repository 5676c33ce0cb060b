"""Every rule module keeps the registry's contract: file name, unique ID and
name, and a Markdown docstring in ruff's shape that `explain` and SARIF `help` print."""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import pytest

import volsync_kit.core.rules as registry
from volsync_kit.core.model import Severity
from volsync_kit.core.rules import all_rules, get
from volsync_kit.core.rules._api import Rule

HEADINGS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## References"]
RULES = all_rules()


FILES = sorted(m.name for m in pkgutil.iter_modules(registry.__path__) if m.name.startswith("vk"))


def module_of(rule: Rule) -> ModuleType:
    """The rule module (by file) that declares this rule's ID."""
    found = [
        module
        for module in (importlib.import_module(f"{registry.__name__}.{name}") for name in FILES)
        if rule.id == module.ID
    ]
    assert len(found) == 1, f"{rule.id} is declared by {[m.__name__ for m in found]}"
    return found[0]


def test_the_registry_loads_every_rule_module() -> None:
    assert len(FILES) == len(RULES) >= 5
    assert sorted(module_of(rule).__name__.rsplit(".", 1)[1] for rule in RULES) == FILES
    assert {"VK001", "VK101", "VK201", "VK306", "VK901"} <= {rule.id for rule in RULES}


def test_ids_and_names_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    names = [rule.name for rule in RULES]
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    assert not set(ids) & set(names)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_file_name_is_id_and_name(rule: Rule) -> None:
    assert re.fullmatch(r"VK[0-9]{3}", rule.id)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    module = module_of(rule)
    assert module.check is rule.check
    assert module.__name__ == f"volsync_kit.core.rules.vk{rule.id[2:]}_{rule.name.replace('-', '_')}"
    assert (rule.id, rule.name) == (module.ID, module.NAME)
    assert get(rule.id) is rule
    assert get(rule.name) is rule


def prose_lines(markdown: str) -> list[str]:
    """The lines outside fenced code blocks; asserts that every fence is closed."""
    out: list[str] = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            assert inside or re.fullmatch(r"```[a-z]*", line), f"fence with trailing text: {line!r}"
            assert not inside or line == "```", f"closing fence with text: {line!r}"
            inside = not inside
        elif not inside:
            out.append(line)
    assert not inside, "a code block is not closed"
    return out


def headings(markdown: str) -> list[str]:
    """ATX headings outside code blocks (a YAML comment in an example is not one)."""
    return [line for line in prose_lines(markdown) if re.match(r"#{1,6} ", line)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_doc_has_the_title_and_the_headings_in_order(rule: Rule) -> None:
    assert rule.doc.startswith(f"{rule.id} {rule.name}: ")
    lines = rule.doc.splitlines()
    assert len(lines[0]) > len(f"{rule.id} {rule.name}: ")
    positions = []
    for heading in HEADINGS:
        assert heading in lines, f"{rule.id}: missing {heading!r}"
        positions.append(lines.index(heading))
    assert positions == sorted(positions), f"{rule.id}: headings out of order"
    for start, end in zip(positions, [*positions[1:], len(lines)], strict=True):
        assert any(line.strip() for line in lines[start + 1 : end]), f"{rule.id}: {lines[start]} is empty"
    # Exactly these sections, each once: a renderer that nests them under the
    # rule's own heading needs no other `#` or `##` heading.
    assert [h for h in headings(rule.doc) if not h.startswith("###")] == HEADINGS


# reST that Markdown would print as is: ``code``, :role:`x`, `link <url>`_,
# directives, literal blocks (a paragraph ending in ::) and underlined titles.
REST = {
    "double backticks": re.compile(r"(?<!`)``(?!`)"),
    "role": re.compile(r":[a-z]+:`"),
    "link": re.compile(r"`_"),
    "directive": re.compile(r"^\.\. "),
    "literal block": re.compile(r"::$"),
    "title underline": re.compile(r"^(=+|-{3,}|~+|\^+)$"),
}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_doc_is_markdown_without_rest(rule: Rule) -> None:
    for number, line in enumerate(prose_lines(rule.doc), 1):
        for name, pattern in REST.items():
            assert not pattern.search(line), (
                f"{rule.id}: reST {name} in {line!r} (prose line {number}, code blocks not counted)"
            )
    # Outside code blocks, backticks pair up into code spans (a span may run over a line break).
    assert "\n".join(prose_lines(rule.doc)).count("`") % 2 == 0, f"{rule.id}: unpaired backtick"


def test_the_rest_patterns_catch_what_the_docs_used_to_hold() -> None:
    old = "Checks ``spec.csi.volumeAttributes.rootPath``; see :class:`Rule` and `ceph <https://ceph.io>`_::"
    caught = {name for name, pattern in REST.items() if pattern.search(old)}
    assert caught == {"double backticks", "role", "link", "literal block"}
    assert not REST["double backticks"].search("```yaml")
    assert REST["title underline"].search("-----")
    assert not REST["title underline"].search("- rook/rook#11504")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_scope_severity_and_summary(rule: Rule) -> None:
    assert rule.scope in ("pv", "group", "repo")
    assert isinstance(rule.severity, Severity)
    assert callable(rule.check)
    assert isinstance(rule.summary, str)
    assert rule.summary == rule.summary.strip()
    assert rule.summary
    assert "\n" not in rule.summary
