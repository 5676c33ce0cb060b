"""``doctor`` output: text for a terminal, markdown for an issue or a PR, versioned JSON."""

from __future__ import annotations

from typing import Any

from volsync_kit.core.doctor import Diagnosis, Report
from volsync_kit.report import jsontext
from volsync_kit.report.plan_out import steps_markdown

JSON_VERSION = 1


def _summary(report: Report) -> str:
    checked = ", ".join(f"{n} {kind}" for kind, n in report.checked.items()) or "no objects"
    if report.healthy:
        # Not "healthy" when part of the repository could not be judged: say so.
        verdict = (
            "no findings, but not everything was checked (see the notes)" if report.notes else "healthy: no findings"
        )
    else:
        verdict = f"{len(report.diagnoses)} finding(s)"
    return f"{verdict}; checked {checked} at {report.now}"


def to_text(report: Report, notes: list[str]) -> str:
    out: list[str] = []
    for d in report.diagnoses:
        out.append(f"{d.id} {d.code}: {d.title}")
        out.extend(f"  object: {o}" for o in d.objects)
        out.extend(f"  evidence: {e}" for e in d.evidence)
        for number, step in enumerate(d.steps, 1):
            out.append(f"  {number}. {step.title}")
            out.extend(f"     $ {c}" for c in step.commands)
            out.extend(f"     # {n}" for n in step.notes)
        out.extend(f"  note: {n}" for n in d.notes)
        out.append("")
    out.extend(f"note: {n}" for n in notes)
    out.append(_summary(report))
    return "\n".join(out) + "\n"


def to_markdown(report: Report, notes: list[str]) -> str:
    out = ["## volsync-kit doctor\n", f"{_summary(report)}\n"]
    for d in report.diagnoses:
        out.append(f"### {d.id} `{d.code}`: {d.title}\n")
        out.extend(f"- {o}" for o in d.objects)
        out.append("")
        if d.evidence:
            out.append("Evidence:\n")
            out.append("```text")
            out.extend(d.evidence)
            out.append("```\n")
        out.extend(steps_markdown(d.steps, bold=False, fence="sh"))
        if d.steps:
            out.append("")
        out.extend(f"> {n}\n" for n in d.notes)
    if notes:
        out.extend(["### Notes\n", *(f"- {n}" for n in notes), ""])
    return "\n".join(out).rstrip("\n") + "\n"


def _diagnosis(d: Diagnosis) -> dict[str, Any]:
    return {
        "id": d.id,
        "code": d.code,
        "title": d.title,
        "objects": list(d.objects),
        "evidence": list(d.evidence),
        "steps": [
            {"title": s.title, "kind": s.kind, "commands": list(s.commands), "notes": list(s.notes)} for s in d.steps
        ],
        "notes": list(d.notes),
    }


def to_json(report: Report, notes: list[str], trees: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {
        "version": JSON_VERSION,
        "now": report.now,
        "healthy": report.healthy,
        "checked": dict(report.checked),
        "diagnoses": [_diagnosis(d) for d in report.diagnoses],
        "notes": notes,
    }
    if trees is not None:
        doc.update(trees)  # --tree: "trees" in the shape of tree --format json's "apps", and "unclaimed"
    return jsontext.dumps(doc) + "\n"
