"""Lint findings, the result of a lint run, and the lines people read."""

from __future__ import annotations

from collections.abc import Iterable
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
    # One fact about a thing several apps share, wherever each app names it
    # (a missing component, listed in every app's ks.yaml): the message says
    # which thing, and people read it once for all of them.
    shared: bool = False

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
    # Flux Kustomizations that fail to build, so none of their volumes is
    # checked as rendered: ``apps`` does not count them.
    unbuilt: int = 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def failed(self) -> bool:
        return self.count(Severity.ERROR) > 0


@dataclass(frozen=True)
class Grouped:
    """One line for people: a finding, and every app it holds for.

    ``finding`` is the first of its group as given (findings come sorted);
    ``apps`` are the names of the apps, each once, in that order (empty for a
    finding in a file as written).
    """

    finding: Finding
    apps: tuple[str, ...]


def group_by_place(findings: Iterable[Finding]) -> tuple[Grouped, ...]:
    """Findings that differ only in their app, as one entry each, in order.

    A component many apps list gives the same finding, at the same line,
    for each of them (a broken file, an encrypted Secret they all read); a
    finding marked ``shared`` is one fact wherever each app names the thing.
    Findings whose messages differ (a name substituted per app) stay apart.
    JSON and SARIF keep every finding; this is for text and annotations.
    """
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for f in findings:
        # A file-view finding (no app) never merges with the apps' findings; a
        # message naming what differs per app keeps that app's finding apart.
        where: object = "shared" if f.shared else f.loc
        key = (f.rule, f.severity, where, f.message, f.app is None, f.suppressed)
        groups.setdefault(key, []).append(f)
    return tuple(Grouped(members[0], _app_labels(members)) for members in groups.values())


def _app_labels(members: list[Finding]) -> tuple[str, ...]:
    """Each app once; named with its cluster when the group spans several
    clusters, where two clusters may each have an app of one name."""
    clusters = {f.kustomization.cluster for f in members if f.kustomization is not None}
    labels: dict[str, None] = {}
    for f in members:
        if f.app is None:
            continue
        cluster = f.kustomization.cluster if f.kustomization is not None else ""
        labels[f"{cluster}:{f.app}" if len(clusters) > 1 and cluster else f.app] = None
    return tuple(labels)
