"""``lint`` output: text, versioned JSON, SARIF 2.1.0 and GitHub annotations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from volsync_kit.core.findings import SEVERITY_ORDER, Finding, LintResult, group_by_place
from volsync_kit.core.model import Severity
from volsync_kit.report import ks_json, several

if TYPE_CHECKING:
    # SARIF's rule descriptions only: text, JSON and GitHub output (the hook)
    # do not load the rules.
    from volsync_kit.core.rules._api import Rule

JSON_VERSION = 2
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/volsync-kit/volsync-kit"
# The generated rule reference (`rules --format markdown`), where each rule's helpUri points.
RULES_DOC_URI = f"{INFORMATION_URI}/blob/main/docs/rules.md"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


# SGR colours of the severity word, used only on a terminal (see cli: NO_COLOR).
COLOUR = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
RESET = "\x1b[0m"


def text_line(f: Finding, apps: Sequence[str] | None = None, *, colour: bool = False) -> str:
    """``path:line:col: severity RULE message [app]``, or ``[31 apps: a, b, c, …]``
    for a finding that holds for several apps."""
    where = f"{f.loc.file}:{f.loc.line}:{f.loc.col}" if f.loc else "-"
    severity = f"{COLOUR[f.severity]}{f.severity.value}{RESET}" if colour else f.severity.value
    return f"{where}: {severity} {f.rule} {f.message}{_apps_tag(f, apps)}"


def _apps_tag(f: Finding, apps: Sequence[str] | None) -> str:
    names = list(apps) if apps is not None else ([f.app] if f.app else [])
    return f" [{several(names, 'apps')}]" if names else ""


def shows(severity: Severity, lowest: Severity) -> bool:
    """Whether text and github output print findings of ``severity``."""
    return SEVERITY_ORDER[severity] <= SEVERITY_ORDER[lowest]


def summary(result: LintResult) -> dict[str, int]:
    return {
        "errors": result.count(Severity.ERROR),
        "warnings": result.count(Severity.WARNING),
        "infos": result.count(Severity.INFO),
        "suppressed": len(result.suppressed),
        "files": result.files,
        "apps": result.apps,
    }


# How to see what --show hides, by severity.
SHOW_HINT = {Severity.WARNING: "--show warning", Severity.INFO: "-v"}


def to_text(
    result: LintResult, show: Severity = Severity.WARNING, *, summary: bool = True, colour: bool = False
) -> str:
    """One line per finding down to ``show``, a finding shared by several apps
    once with them, then a summary (unless -q).

    The summary counts lines as printed (a finding shared by 30 apps is one),
    hidden ones too, and says how to see those; JSON counts every app's.
    """
    grouped = group_by_place(result.findings)
    lines = [text_line(g.finding, g.apps, colour=colour) for g in grouped if shows(g.finding.severity, show)]
    if not summary:
        return "".join(line + "\n" for line in lines)

    def count(severity: Severity, label: str) -> str:
        n = sum(1 for g in grouped if g.finding.severity is severity)
        hidden = f" (hidden; {SHOW_HINT[severity]} shows them)" if n and not shows(severity, show) else ""
        return f"{n} {label}{hidden}"

    unbuilt = f"{result.unbuilt} failed to render, " if result.unbuilt else ""
    tail = (
        f"{count(Severity.ERROR, 'error(s)')}, {count(Severity.WARNING, 'warning(s)')}, "
        f"{count(Severity.INFO, 'info')}, {len(result.suppressed)} suppressed; "
        f"{result.apps} app(s), {unbuilt}{result.files} file(s)"
    )
    if result.unchecked:
        # Not a clean pass: part of the repository was not checked.
        notes = len(result.unchecked)
        tail += f"; incomplete: {notes} note{'s' if notes > 1 else ''} on stderr"
    return "".join(line + "\n" for line in lines) + tail + "\n"


def unchecked_lines(result: LintResult) -> str:
    """What the run could not check, one ``volsync-kit: ...`` line each, for stderr."""
    return "".join(f"volsync-kit: {note}\n" for note in result.unchecked)


def finding_json(f: Finding) -> dict[str, Any]:
    ks = f.kustomization
    return {
        "rule": f.rule,
        "name": f.name,
        "severity": f.severity.value,
        "message": f.message,
        "path": f.loc.file if f.loc else None,
        "line": f.loc.line if f.loc else None,
        "column": f.loc.col if f.loc else None,
        "app": f.app,
        "kustomization": ks_json(ks) if ks else None,
        "object": f.object,
    }


def to_json(result: LintResult) -> str:
    doc = {
        "version": JSON_VERSION,
        "findings": [finding_json(f) for f in result.findings],
        "summary": summary(result),
    }
    from volsync_kit.report import jsontext  # the hook prints text: json loads only for these formats

    return jsontext.dumps(doc) + "\n"


def _escape_property(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def to_github(result: LintResult, show: Severity = Severity.WARNING) -> str:
    """GitHub Actions workflow commands: one annotation per finding down to
    ``show``, a finding shared by several apps once with them."""
    out: list[str] = []
    for group in group_by_place(f for f in result.findings if shows(f.severity, show)):
        f = group.finding
        props = [f"title={_escape_property(f'{f.rule} {f.name}')}"]
        if f.loc:
            props[:0] = [f"file={_escape_property(f.loc.file)}", f"line={f.loc.line}", f"col={f.loc.col}"]
        message = f.message + _apps_tag(f, group.apps)
        out.append(f"::{GITHUB_LEVEL[f.severity]} {','.join(props)}::{_escape_data(message)}\n")
    return "".join(out)


def doc_section(doc: str, heading: str) -> str:
    """The text under ``## heading`` of a rule's docstring, joined into one paragraph."""
    lines: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip() == heading
        elif inside:
            lines.append(line.strip())
    return " ".join(part for part in lines if part)


def help_uri(rule: Rule) -> str:
    """The rule's section in docs/rules.md."""
    from volsync_kit.report import rules_doc

    return f"{RULES_DOC_URI}#{rules_doc.anchor(rules_doc.heading(rule))}"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    from volsync_kit.report import rules_doc

    full = doc_section(rule.doc, "What it does") or rules_doc.headline(rule) or rule.summary
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rules_doc.plain_text(full), "markdown": full},
        # Viewers that render Markdown (GitHub code scanning) show `markdown`; the others `text`.
        "help": {"text": rules_doc.plain_text(rule.doc) or rule.summary, "markdown": rule.doc or rule.summary},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
    }


def _sarif_result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": SARIF_LEVEL[f.severity],
        "message": {"text": f.message + (f" [{f.app}]" if f.app else "")},
    }
    if f.loc:
        result["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f.loc.file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.loc.line, "startColumn": f.loc.col},
                }
            }
        ]
    if f.app:
        result["properties"] = {"app": f.app}
    if f.suppressed == "inline":
        result["suppressions"] = [{"kind": "inSource", "justification": "# volsync-kit: disable= comment"}]
    elif f.suppressed:
        result["suppressions"] = [{"kind": "external", "justification": "lint.ignore in .volsync-kit.yaml"}]
    return result


def to_sarif(result: LintResult, rules: Iterable[Rule], version: str) -> str:
    """SARIF 2.1.0: one run; the rules that fired, with their docs."""
    findings = [*result.findings, *result.suppressed]
    fired = sorted({f.rule for f in findings})
    by_id = {r.id: r for r in rules}
    index = {rule_id: i for i, rule_id in enumerate(fired)}
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "volsync-kit",
                        "version": version,
                        "informationUri": INFORMATION_URI,
                        "rules": [_sarif_rule(by_id[r]) for r in fired],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
                # Columns count characters (code points), not UTF-16 code units.
                "columnKind": "unicodeCodePoints",
                "results": [_sarif_result(f, index) for f in sorted(findings, key=Finding.sort_key)],
            }
        ],
    }
    from volsync_kit.report import jsontext

    return jsontext.dumps(doc) + "\n"


def rules_table(rules: Iterable[Rule]) -> str:
    rows = [f"{r.id}  {r.name:<28} {r.severity.value:<8} {r.summary}" for r in rules]
    return "\n".join(rows) + "\n"
