"""Reusing a whole check when an edit changes nothing the check reads of it.

A pre-commit run follows an edit of one or two files, most often a HelmRelease
(a Renovate tag bump): the repository's VolSync volumes are the same as at the
last run, and so is everything lint says.  Walking 2,000 apps again to learn
that costs seconds; this module answers it in proportion to the edit.

A check is a pure function of what it asked the repository
(:mod:`volsync_kit.core.buildmemo` makes the same argument for one build).  A
run that has the disk cache records:

* every question asked *outside* a build (the scan for Flux objects, entry
  detection, source ignore files, the lint file view), with its answer: for
  ``mentions``, which of the words a file contains, not the file's digest,
  so that an edit which adds no such word leaves the answer as it was;
* for each Flux Kustomization built, the questions its build asked (through
  the source's view of the tree) and a digest of its *projection*: the part
  of its output that the walk and the rules read (:func:`projection`);
* the check's value (:class:`~volsync_kit.core.lint.Checked`).

A later run asks every recorded question again (answers of unchanged files
come from the cache's index of the tree, without reading them).  When an
answer outside builds differs, nothing is reused.  Each build with an answer
that differs is built again, alone, from the Kustomization and variables it
was built from; when every such build's projection is the same as before, the
walk would make the same apps, the same variables and the same volumes, and
the rules would find the same: the recorded value is returned, and the
record updated.  Otherwise the run walks the repository as usual.

Why the projection is enough: the walk reads of a build's objects the
Flux Kustomizations, sources, ConfigMaps, Secrets and ExternalSecrets it
makes; the rules read PersistentVolumes, their claims, and VolSync movers,
and of the build its problems and the files it read.  Those kinds are
digested whole, locations included; every other object by its identity and
location.  ``tests/test_runmemo.py`` edits repositories in the ways that
matter and compares every reuse with a run without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from volsync_kit.core.buildmemo import Answers, RecordingReader, Stored
from volsync_kit.core.buildmemo import Question as BuildQuestion
from volsync_kit.core.model import Loc, ModelError, Node, Problem, Resource, Scalar, Seq
from volsync_kit.core.ports import BuildMemo, Document, PathKind, RepoReader

if TYPE_CHECKING:
    from volsync_kit.core.sourceignore import Ignore

# (view, what, path, words): view -1 is the repository itself, any other the
# index of a source's view (root and ignore rules) that builds read through.
Question = tuple[int, str, str, str]

# Kinds whose content the walk or the rules read: digested whole.
READ_KINDS = frozenset(
    {
        "PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination",
        "ConfigMap", "Secret", "ExternalSecret", "ClusterExternalSecret",
        "Kustomization", "GitRepository", "OCIRepository", "Bucket", "FluxInstance",
    }
)  # fmt: skip


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# -- what a build's output means to the walk and the rules ---------------------------


def _loc(loc: Loc | None) -> tuple[str, int, int] | None:
    return (loc.file, loc.line, loc.col) if loc is not None else None


def _canon(node: Node) -> object:
    """``node`` as plain tuples, locations included: equal trees give equal
    text, however their objects are shared."""
    if isinstance(node, Scalar):
        return (type(node.value).__name__, node.value, _loc(node.loc))
    if isinstance(node, Seq):
        return ("seq", _loc(node.loc), tuple(_canon(item) for item in node.items))
    key_locs = node.key_locs or {}
    return (
        "map",
        _loc(node.loc),
        tuple((key, _loc(key_locs.get(key)), _canon(value)) for key, value in node.items.items()),
    )


def projection(resources: Iterable[Resource], problems: Iterable[Problem], files: Iterable[str]) -> str:
    """A digest of what the walk and the rules read of one build (see module doc)."""
    parts: list[object] = []
    for res in resources:
        head = (res.kind, res.api_version, res.name, res.namespace, _loc(res.origin), res.original_name)
        parts.append((head, _canon(res.node)) if res.kind in READ_KINDS else head)
    parts.append(tuple(repr(p) for p in problems))
    parts.append(tuple(sorted(files)))
    return _digest(repr(parts))


# -- recording a run ---------------------------------------------------------------------


def ask(answers: Answers, what: str, path: str, words: str) -> str:
    """The answer the tree of ``answers`` gives to one question, as recorded."""
    if what == "mentions":
        try:
            return "\0".join(sorted(answers.repo.mentions(path, frozenset(words.split("\0")))))
        except ModelError as err:
            return f"error:{err.code}:{err.message}"
    if what == "yaml_files":
        return _digest("\0".join(answers.repo.yaml_files()))
    return answers.answer((what, path))


class RunRecorder:
    """A RepoReader that notes each question asked outside a build."""

    def __init__(self, repo: RepoReader) -> None:
        self.repo = repo
        # Builds name their slots after the reader: the same as without recording.
        self.label = getattr(repo, "label", type(repo).__name__)
        self.asked: dict[tuple[str, str, str], str] = {}
        self._answers = Answers(repo)
        self._building = 0

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Questions asked inside are the build's own (see RunLog.note_build)."""
        self._building += 1
        try:
            yield
        finally:
            self._building -= 1

    def _note(self, what: str, path: str, words: str = "") -> None:
        question = (what, path, words)
        if not self._building and question not in self.asked:
            self.asked[question] = ask(self._answers, *question)

    def kind(self, path: str) -> PathKind:
        self._note("kind", path)
        return self.repo.kind(path)

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        self._note("listdir", path)
        return self.repo.listdir(path)

    def documents(self, path: str) -> tuple[Document, ...]:
        self._note("text", path)
        return self.repo.documents(path)

    def parse_inline(self, text: str, origin: Loc) -> tuple[Document, ...]:
        self._note("text", origin.file)
        return self.repo.parse_inline(text, origin)

    def text(self, path: str) -> str:
        self._note("text", path)
        return self.repo.text(path)

    def digest(self, path: str) -> str:
        self._note("text", path)
        return self.repo.digest(path)

    def mentions(self, path: str, words: frozenset[str]) -> frozenset[str]:
        self._note("mentions", path, "\0".join(sorted(words)))
        return self.repo.mentions(path, words)

    def yaml_files(self) -> Iterator[str]:
        self._note("yaml_files", "")
        return self.repo.yaml_files()


View = tuple[str, "Ignore | None"] | None  # a source's (root, ignore rules); None: the repository


@dataclass(frozen=True)
class BuildNote:
    """One build of the recorded run: where the build memo keeps it, the
    questions it asked, and its projection."""

    slot: str
    material: str
    view: int
    asked: tuple[int, ...]  # indices into RunRecord.questions
    projection: str


@dataclass(frozen=True)
class RunRecord:
    """What one run asked, and the value it made of the answers."""

    questions: tuple[Question, ...]
    answers: tuple[str, ...]
    views: tuple[View, ...]
    builds: tuple[BuildNote, ...]
    value: object


class RunLog:
    """The builds of a run being recorded, noted by flux.Memo as it makes or reuses them."""

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder
        self._views: dict[int, int] = {}
        self.views: list[View] = []
        self.builds: list[tuple[str, str, int, tuple[tuple[BuildQuestion, str], ...], str]] = []

    def view_of(self, repo: RepoReader) -> int:
        """The index of the view a build reads through."""
        if id(repo) not in self._views:
            root, ignore = getattr(repo, "root", None), getattr(repo, "ignore", None)
            self._views[id(repo)] = len(self.views)
            self.views.append((root, ignore) if isinstance(root, str) else None)
        return self._views[id(repo)]

    def note_build(self, slot: str, view: int, stored: Stored) -> None:
        self.builds.append((slot, stored.material, view, stored.asked, stored.projection))

    def record(self, value: object) -> RunRecord:
        table = _Table()
        for (what, path, words), answer in self.recorder.asked.items():
            table.add((-1, what, path, words), answer)
        notes = tuple(
            BuildNote(slot, material, view, tuple(table.add((view, q[0], q[1], ""), a) for q, a in asked), digest)
            for slot, material, view, asked, digest in self.builds
        )
        return RunRecord(tuple(table.questions), tuple(table.answers), tuple(self.views), notes, value)


class _Table:
    def __init__(self) -> None:
        self.index: dict[Question, int] = {}
        self.questions: list[Question] = []
        self.answers: list[str] = []

    def add(self, question: Question, answer: str) -> int:
        found = self.index.get(question)
        if found is None:
            found = self.index[question] = len(self.questions)
            self.questions.append(question)
            self.answers.append(answer)
        return found


# -- reusing a recorded run ----------------------------------------------------------------


@dataclass(frozen=True)
class Reuse:
    """A recorded value that still holds, and the record to keep for the next run
    (None when it is unchanged)."""

    value: object
    record: RunRecord | None
    rebuilt: int  # builds made again, each alone


def reuse(record: object, repo: RepoReader, store: BuildMemo) -> Reuse | None:
    """The value of ``record`` when the tree ``repo`` reads still gives it (see
    module doc), else None; builds made again are written to ``store``."""
    if not isinstance(record, RunRecord):
        return None
    views = [_view(repo, view) for view in record.views]
    answerers = [Answers(view) for view in views]
    top = Answers(repo)
    current: list[str] = []
    changed: set[int] = set()
    for number, (view, what, path, words) in enumerate(record.questions):
        answer = ask(top, what, path, words) if view < 0 else answerers[view].answer((what, path))
        current.append(answer)
        if answer != record.answers[number]:
            if view < 0:
                return None  # the scan, entry detection or the file view reads something new
            changed.add(number)
    if not changed:
        return Reuse(record.value, None, 0)
    rebuilt: dict[int, tuple[tuple[BuildQuestion, str], ...]] = {}
    for position, note in enumerate(record.builds):
        if changed.isdisjoint(note.asked):
            continue
        asked = _rebuild(note, views[note.view], answerers[note.view], store)
        if asked is None:
            return None
        rebuilt[position] = asked
    return Reuse(record.value, _updated(record, current, rebuilt), len(rebuilt))


def _view(repo: RepoReader, view: View) -> RepoReader:
    if view is None:
        return repo
    from volsync_kit.core.sources import SourceView

    return SourceView(repo, view[0], view[1])


def _rebuild(
    note: BuildNote, view: RepoReader, answers: Answers, store: BuildMemo
) -> tuple[tuple[BuildQuestion, str], ...] | None:
    """Build one Kustomization again from what it was built of; the questions it
    asked when its projection is unchanged, else None."""
    from volsync_kit.core.flux import FluxKs, rebuild
    from volsync_kit.core.variables import Variables

    stored = store.get(note.slot, note.material)
    if not isinstance(stored, Stored) or len(stored.made_of) != 3:
        return None
    ks, variables, root = stored.made_of
    if not isinstance(ks, FluxKs) or not isinstance(variables, Variables) or not isinstance(root, str):
        return None
    recorder = RecordingReader(answers)
    try:
        resources, problems, files = rebuild(recorder, ks, variables, root)
    except ModelError:
        return None  # it fails now: the walk says how
    digest = projection(resources, problems, files)
    if digest != note.projection:
        return None
    asked = tuple(recorder.asked.items())
    store.put(note.slot, note.material, Stored(note.material, asked, tuple(resources), tuple(problems), files,
                                               digest, stored.made_of))  # fmt: skip
    return asked


def _updated(
    record: RunRecord, current: list[str], rebuilt: dict[int, tuple[tuple[BuildQuestion, str], ...]]
) -> RunRecord:
    """``record`` with today's answers, and the questions of the builds made again
    (the questions keep their numbers: the other builds' notes still hold)."""
    table = _Table()
    for question, answer in zip(record.questions, current, strict=True):
        table.add(question, answer)
    notes = []
    for position, note in enumerate(record.builds):
        asked = rebuilt.get(position)
        if asked is None:
            notes.append(note)
            continue
        ids = tuple(table.add((note.view, q[0], q[1], ""), a) for q, a in asked)
        notes.append(BuildNote(note.slot, note.material, note.view, ids, note.projection))
    return RunRecord(tuple(table.questions), tuple(table.answers), record.views, tuple(notes), record.value)
