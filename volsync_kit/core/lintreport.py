"""What a lint run reports of what the rules found.

:func:`volsync_kit.core.lint.check` runs the rules and returns
:class:`Checked`, every finding with what choosing among them needs; this
module chooses: the findings located in the files pre-commit passes (FILES) or
in the apps that read them, less those suppressed inline (``# volsync-kit:
disable=…``) or by the config, with the notes on what could not be checked.
It is apart from the rules so that a run that reuses a recorded Checked
(:mod:`volsync_kit.core.runmemo`) loads neither them nor the Flux model.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from volsync_kit.core.findings import Finding, LintResult
from volsync_kit.core.model import KsRef, Loc, ModelError, Problem, Severity
from volsync_kit.core.ports import RepoReader

UNUSED_SUPPRESSION = ("VK901", "unused-suppression")
DIRECTIVE = re.compile(r"#\s*volsync-kit:\s*disable=([A-Za-z0-9_,\- ]+)")
# Words asked of every file (RepoReader.mentions): only files that contain
# them are read further.
PV_WORD = frozenset({"PersistentVolume"})
_DIRECTIVE_WORD = frozenset({"volsync-kit:"})
# The name of the file view's question of each file (volumedocs.volume_documents).
VOLUME_DOCUMENTS = "volume-documents"


@dataclass(frozen=True)
class Ignore:
    """A config ignore: findings in files matching ``pattern`` (for ``rules``, or all)."""

    pattern: str
    rules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LintOptions:
    severities: Mapping[str, Severity | None] = field(default_factory=dict)  # None: rule off
    ignores: tuple[Ignore, ...] = ()
    only_files: frozenset[str] | None = None


@dataclass(frozen=True)
class Reader:
    """What :func:`unchecked` needs of one Kustomization not built elsewhere:
    whether it rendered, and the folders that may hold its files."""

    status: str
    folders: tuple[str, ...]


@dataclass(frozen=True)
class Checked:
    """Every finding of the rules, before FILES and suppressions choose what is
    reported, and what choosing needs: a value of plain data, so that a run
    that changes nothing it was made of can reuse it (volsync_kit.core.runmemo)."""

    findings: tuple[Finding, ...]
    # Suppression comments: where, which rules, and whether in a file Flux reads
    # (else in a file only a finding is located in).
    directives: tuple[tuple[Loc, tuple[str, ...], bool], ...]
    reads: Mapping[KsRef, frozenset[str]]  # the files each finding's Kustomization read, its own included
    files: int  # how many files the builds and the file view read
    apps: int
    unbuilt: int  # Kustomizations that failed to render
    as_written: frozenset[str]  # files of the file view's volumes
    rendered: frozenset[str]  # files that some rendered Kustomization read
    readers: tuple[Reader, ...]
    # What lint.patched needs to bring this up to date after an edit of a few
    # apps, rather than walk: the folders listed as components, the walk's own
    # problems, and what each Kustomization holds that another may hold too
    # (lint._claims_of), kept packed: opened only by a patch.
    components: frozenset[str] = frozenset()
    walk_problems: tuple[Problem, ...] = ()
    claims: Packed | None = None


class Packed:
    """A value kept pickled, opened when first read: a run that answers from
    its record reads the bytes and never the value, and a new value is
    pickled as it is stored (by the detached writer, after the output)."""

    __slots__ = ("_packed", "_value")

    def __init__(self, value: object = None, packed: bytes = b"") -> None:
        self._value = value
        self._packed = packed

    def value(self) -> object:
        if self._value is None and self._packed:
            import pickle

            self._value = pickle.loads(self._packed)
        return self._value

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        import pickle

        packed = self._packed or pickle.dumps(self._value, pickle.HIGHEST_PROTOCOL)
        return (_unpacked, (packed,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Packed) and self.value() == other.value()

    __hash__ = None  # type: ignore[assignment]


def _unpacked(packed: bytes) -> Packed:
    return Packed(packed=packed)


def finish(repo: RepoReader, checked: Checked, options: LintOptions) -> LintResult:
    """What a lint run reports of ``checked``: the findings located in FILES or
    in the apps that read them, less those suppressed inline or by the config,
    and the notes on what could not be checked."""
    findings = list(checked.findings)
    if options.only_files is not None:
        findings = [f for f in findings if _relevant(f, options.only_files, checked.reads)]
    # Directives count where Flux reads, and wherever a finding is (an
    # inactive Kustomization's file): one in a Helm chart is not unused.
    located = {f.loc.file for f in findings if f.loc}
    directives = {
        (loc.file, loc.line): _Directive(loc, set(rules))
        for loc, rules, in_view in checked.directives
        if in_view or loc.file in located
    }
    reported: list[Finding] = []
    suppressed: list[Finding] = []
    for f in findings:
        if _suppressing(f, directives):
            suppressed.append(_with_suppression(f, "inline"))
        elif _ignored(f, options.ignores):
            suppressed.append(_with_suppression(f, "config"))
        else:
            reported.append(f)
    unused_severity = options.severities.get(UNUSED_SUPPRESSION[0], Severity.INFO)
    if unused_severity is not None:
        for directive in directives.values():
            for rule_key in sorted(directive.rules - directive.used):
                unused = Finding(
                    *UNUSED_SUPPRESSION,
                    unused_severity,
                    f"suppression of {rule_key} is unused; remove it",
                    directive.loc,
                )
                if options.only_files is None or directive.loc.file in options.only_files:
                    reported.append(unused)
    return LintResult(
        tuple(sorted(reported, key=Finding.sort_key)),
        tuple(sorted(suppressed, key=Finding.sort_key)),
        checked.files,
        checked.apps,
        unchecked(repo, checked, options.only_files),
        checked.unbuilt,
    )


def unchecked(repo: RepoReader, checked: Checked, only: frozenset[str] | None) -> tuple[str, ...]:
    """Notes on what this run could not check, so that it does not pass by accident.

    A run that checked no app says so, and so does each named file (FILES,
    as pre-commit passes them) that no rendered app read: with every app
    that may read it failed, or with no Flux Kustomization reading it.  Named
    files that no Flux Kustomization's folder holds and that declare no
    PersistentVolume (a CI workflow, a Taskfile) are not Flux's input, and
    get no note: ``--all-files`` would bury the notes that matter.
    """
    notes: list[str] = []
    if checked.apps == 0:
        tail = f", and {checked.unbuilt} failed to render" if checked.unbuilt else ""
        notes.append(f"checked 0 apps: no Flux Kustomization rendered a VolSync volume{tail}")
    if only is None:
        return tuple(notes)
    for path in sorted(only):
        if path in checked.rendered or not path.endswith((".yaml", ".yml")):
            continue
        readers = _may_read(checked.readers, path)
        if readers and all(r.status == "failed" for r in readers):
            how = "checked only as written" if path in checked.as_written else "not checked"
            count = f"{len(readers)} app" + ("s" if len(readers) > 1 else "")
            notes.append(f"{path}: {how}: every app that may read it failed to render ({count})")
        elif path not in checked.as_written and (readers or _declares_volumes(repo, path)):
            notes.append(f"{path}: not checked: no Flux Kustomization reads it")
    return tuple(notes)


def _may_read(readers: tuple[Reader, ...], path: str) -> list[Reader]:
    """The Kustomizations whose folder (spec.path or a component) holds ``path``
    most closely: a failed build does not say which files it would read."""
    best: list[Reader] = []
    depth = -1
    for result in readers:
        for folder in result.folders:
            if not _below(path, folder):
                continue
            here = folder.count("/") + 1 if folder else 0
            if here > depth:
                best, depth = [result], here
            elif here == depth and all(r is not result for r in best):
                best.append(result)
    return best


def _declares_volumes(repo: RepoReader, path: str) -> bool:
    try:
        return bool(repo.mentions(path, PV_WORD))
    except ModelError:
        return False


# -- suppressions ------------------------------------------------------------------


@dataclass
class _Directive:
    loc: Loc
    rules: set[str]
    used: set[str] = field(default_factory=set)


def directives(repo: RepoReader, files: Iterable[str]) -> dict[tuple[str, int], _Directive]:
    found: dict[tuple[str, int], _Directive] = {}
    for path in files:
        try:
            if not repo.mentions(path, _DIRECTIVE_WORD):
                continue
            text = repo.text(path)
        except ModelError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = DIRECTIVE.search(line)
            if match:
                rules = {r.strip() for r in match.group(1).split(",") if r.strip()}
                found[(path, number)] = _Directive(Loc(path, number, match.start() + 1), rules)
    return found


def _suppressing(finding: Finding, directives: Mapping[tuple[str, int], _Directive]) -> _Directive | None:
    if finding.loc is None:
        return None
    for line in (finding.loc.line, finding.loc.line - 1):
        directive = directives.get((finding.loc.file, line))
        if directive and (finding.rule in directive.rules or finding.name in directive.rules):
            directive.used.update(r for r in directive.rules if r in (finding.rule, finding.name))
            return directive
    return None


def _ignored(finding: Finding, ignores: Iterable[Ignore]) -> bool:
    if finding.loc is None:
        return False
    for ignore in ignores:
        if fnmatch.fnmatchcase(finding.loc.file, ignore.pattern) and (
            not ignore.rules or finding.rule in ignore.rules or finding.name in ignore.rules
        ):
            return True
    return False


def _relevant(finding: Finding, only: frozenset[str], reads: Mapping[KsRef, frozenset[str]]) -> bool:
    if finding.loc is not None and finding.loc.file in only:
        return True
    ks = finding.kustomization
    return ks is not None and (ks.file in only or bool(reads.get(ks, frozenset()) & only))


def _with_suppression(finding: Finding, how: str) -> Finding:
    return replace(finding, suppressed=how)


def _below(path: str, folder: str) -> bool:
    # "" is the repository root (a component "../.." from the top folder).
    return folder == "" or path.startswith(folder + "/")
