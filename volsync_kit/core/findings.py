"""Lint findings and the result of a lint run."""

from __future__ import annotations

from dataclasses import dataclass

from volsync_kit.core.model import KsRef, Loc, Severity

SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule violation at one place, for one app (or for the file itself)."""

    rule: str
    name: str
    severity: Severity
    message: str
    loc: Loc | None
    app: str | None = None
    kustomization: KsRef | None = None
    object: str | None = None  # "PersistentVolume/volsync-jellyfin-repo-pv"
    suppressed: str | None = None  # "inline" or "config" when suppressed

    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        loc = self.loc or Loc("", 0, 0)
        return (loc.file, loc.line, loc.col, self.rule, self.app or "", self.message)


@dataclass(frozen=True)
class LintResult:
    findings: tuple[Finding, ...]  # reported, sorted
    suppressed: tuple[Finding, ...]
    files: int
    apps: int
    # What this run could not check, one note each ("checked 0 apps: ..."):
    # not findings, and no exit code of their own, but no clean pass either.
    unchecked: tuple[str, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def failed(self) -> bool:
        return self.count(Severity.ERROR) > 0
