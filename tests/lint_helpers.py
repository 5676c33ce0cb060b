"""Helpers for lint tests: a copy of the example repository with one defect.

Rule tests follow one pattern: copy ``examples/home-ops`` (which lints
clean), change one file, run the linter, and compare the exact
``(rule, file, line)`` of the findings of the rule under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from volsync_kit.app import run_lint
from volsync_kit.core.findings import Finding, LintResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
REPO_PV = "kubernetes/flux/components/volsync/repository/pv.yaml"
REPO_PVC = "kubernetes/flux/components/volsync/repository/pvc.yaml"
MEDIA_PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"
MEDIA_PVC = "kubernetes/apps/media/jellyfin/app/media-pvc.yaml"


def example_copy(tmp_path: Path) -> Path:
    """A private copy of examples/home-ops."""
    root = tmp_path / "home-ops"
    shutil.copytree(EXAMPLE, root)
    return root


def edit(root: Path, path: str, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` (which must occur) by ``new`` in one file of the copy."""
    file = root / path
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    file.write_text(text.replace(old, new, count), encoding="utf-8")


def write(root: Path, path: str, text: str) -> None:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


def line_of(root: Path, path: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    seen = 0
    for number, line in enumerate((root / path).read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def lint(root: Path, *files: str, config: Path | None = None) -> LintResult:
    return run_lint(root, files=[root / f for f in files] or None, config_file=config)


def hits(result: LintResult, rule: str) -> list[tuple[str, str, int, str | None]]:
    """(rule, file, line, app) of the reported findings of one rule, sorted."""
    return sorted(
        (
            (f.rule, f.loc.file if f.loc else "-", f.loc.line if f.loc else 0, f.app)
            for f in result.findings
            if f.rule == rule
        ),
        key=lambda hit: (hit[1], hit[2], hit[3] or ""),
    )


def only(result: LintResult, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]
