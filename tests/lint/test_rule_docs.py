"""Every rule module keeps the registry's contract: file name, unique ID and
name, and a Markdown docstring in ruff's shape that `explain`, SARIF `help` and
docs/rules.md print; docs/rules.md is what `rules --format markdown` prints."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

import volsync_kit.core.rules as registry
from volsync_kit.cli import app as cli
from volsync_kit.core.model import Severity
from volsync_kit.core.rules import all_rules, get
from volsync_kit.core.rules._api import Rule
from volsync_kit.report import lint_out, rules_doc

HEADINGS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## References"]
RULES = all_rules()
RULES_MD = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
REGENERATE = "volsync-kit rules --format markdown > docs/rules.md"


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
    # Exactly these sections, each once: docs/rules.md nests them under the
    # rule's own heading, so another `#` or `##` heading would break its outline.
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


# -- docs/rules.md -------------------------------------------------------------------


def github_anchors(markdown: str) -> list[str]:
    """The anchor GitHub gives each heading (github-slugger): lowercase, punctuation
    other than - and _ dropped, each space a -, then -1, -2... for repeats."""
    seen: dict[str, int] = {}
    out = []
    for heading in headings(markdown):
        slug = re.sub(r"[^\w\- ]", "", heading.lstrip("#").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.append(slug if count == 0 else f"{slug}-{count}")
    return out


def generated() -> str:
    result = CliRunner().invoke(cli, ["rules", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_docs_rules_md_is_what_the_command_generates() -> None:
    assert RULES_MD.is_file(), f"docs/rules.md is missing: run `{REGENERATE}`"
    on_disk = RULES_MD.read_text(encoding="utf-8")
    assert on_disk == generated(), f"docs/rules.md is stale: run `{REGENERATE}`"


def test_github_anchors_as_github_makes_them() -> None:
    doc = "# volsync-kit lint rules\n## VK101 static-volume\n### Why is this bad?\n```yaml\n# no: a comment\n```\n"
    doc += "### Why is this bad?\n## A.b (c)_d: `e`\n"
    assert github_anchors(doc) == [
        "volsync-kit-lint-rules",
        "vk101-static-volume",
        "why-is-this-bad",
        "why-is-this-bad-1",
        "ab-c_d-e",
    ]
    assert [rules_doc.anchor(h.lstrip("#").strip()) for h in headings(doc)][:3] == github_anchors(doc)[:3]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_help_uri_is_the_rule_heading_of_docs_rules_md(rule: Rule) -> None:
    uri = lint_out.help_uri(rule)
    base, _, fragment = uri.partition("#")
    assert base == f"{lint_out.INFORMATION_URI}/blob/main/docs/rules.md"
    assert fragment == f"{rule.id.lower()}-{rule.name}"
    text = RULES_MD.read_text(encoding="utf-8")
    assert fragment in github_anchors(text), f"no heading for #{fragment} in docs/rules.md"
    assert f"## {rule.id} {rule.name}" in headings(text)


def test_every_link_in_docs_rules_md_resolves() -> None:
    text = RULES_MD.read_text(encoding="utf-8")
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) == len(RULES)
    assert set(links) <= set(github_anchors(text)), sorted(set(links) - set(github_anchors(text)))


def rule_sections(markdown: str) -> dict[str, str]:
    """docs/rules.md's text under each `## VKNNN name` heading, by rule ID."""
    parts = re.split(r"^## (VK[0-9]{3}) [a-z0-9-]+\n", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_docs_rules_md_has_a_title_an_index_and_a_section_per_rule() -> None:
    text = RULES_MD.read_text(encoding="utf-8")
    outline = headings(text)
    assert outline[0] == "# volsync-kit lint rules"
    assert [h for h in outline if h.startswith("## ")] == [f"## {r.id} {r.name}" for r in RULES]
    # The rules' own sections are demoted a level, so they nest under their rule.
    assert {h for h in outline if h.startswith("### ")} == {"#" + h for h in HEADINGS}
    assert not [h for h in outline if h.startswith("####")]
    for rule in RULES:
        row = f"| [{rule.id}](#{rule.id.lower()}-{rule.name}) | {rule.name} | {rule.severity.value} | {rule.scope} |"
        assert row in text, row
    assert list(rule_sections(text)) == [r.id for r in RULES]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_docs_rules_md_section_is_the_rule_doc(rule: Rule) -> None:
    section = rule_sections(RULES_MD.read_text(encoding="utf-8"))[rule.id]
    headline = rule.doc.splitlines()[0].split(": ", 1)[1]
    assert section.startswith(f"\n{headline[0].upper()}{headline[1:]}\n")
    assert f"- Default severity: `{rule.severity.value}`\n" in section
    assert f"- Scope: `{rule.scope}` (" in section
    assert f"- Summary: {rule.summary}\n" in section
    # The doc after its title line, word for word but for its demoted headings.
    body = "\n".join(rule.doc.splitlines()[1:]).strip("\n")
    demoted = "\n".join("#" + line if line in HEADINGS else line for line in body.splitlines())
    assert demoted in section


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_scope_severity_and_summary(rule: Rule) -> None:
    assert rule.scope in ("pv", "group", "repo")
    assert isinstance(rule.severity, Severity)
    assert callable(rule.check)
    assert isinstance(rule.summary, str)
    assert rule.summary == rule.summary.strip()
    assert rule.summary
    assert "\n" not in rule.summary
