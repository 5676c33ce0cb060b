"""Reusing an earlier build of one Flux Kustomization when nothing it read changed.

A build is a pure function of the Kustomization (its node, locations
included), its variables, and what it asked the repository: which paths are
files or folders, what folders list, and what files say.  While building, a
:class:`RecordingReader` notes each question with a digest of its answer; the
memo stores the answers' digests with the result.  A later run asks the same
questions of the current tree and reuses the result only when every answer is
the same, so an edited, added or removed file can never be served stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from volsync_kit.core.model import Loc, ModelError, Problem, Resource
from volsync_kit.core.ports import Document, PathKind, RepoReader

Question = tuple[str, str]  # (what was asked, path)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Answers:
    """What the current tree answers, each question asked at most once per run."""

    def __init__(self, repo: RepoReader) -> None:
        self.repo = repo
        self.known: dict[Question, str] = {}

    def answer(self, question: Question) -> str:
        if question not in self.known:
            self.known[question] = self._ask(*question)
        return self.known[question]

    def _ask(self, what: str, path: str) -> str:
        if what == "kind":
            return self.repo.kind(path)
        if what == "listdir":
            dirs, files = self.repo.listdir(path)
            return _digest("/".join(dirs) + "\0" + "/".join(files))
        try:
            return self.repo.digest(path)
        except ModelError as err:
            return f"error:{err.code}:{err.message}"


class NotingReader:
    """A RepoReader that passes every question to ``repo`` and notes it first
    (``_note``): what a recording reader of builds and of whole runs share."""

    repo: RepoReader

    def _note(self, what: str, path: str) -> None:
        raise NotImplementedError

    def kind(self, path: str) -> PathKind:
        self._note("kind", path)
        return self.repo.kind(path)

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        self._note("listdir", path)
        return self.repo.listdir(path)

    def text(self, path: str) -> str:
        self._note("text", path)
        return self.repo.text(path)

    def digest(self, path: str) -> str:
        self._note("text", path)
        return self.repo.digest(path)

    def documents(self, path: str) -> tuple[Document, ...]:
        self._note("text", path)
        return self.repo.documents(path)

    def parse_inline(self, text: str, origin: Loc) -> tuple[Document, ...]:
        # The file's text decides the column offsets of an inline patch.
        self._note("text", origin.file)
        return self.repo.parse_inline(text, origin)


class RecordingReader(NotingReader):
    """A RepoReader that notes every question a build asks (see module doc)."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.repo = answers.repo
        self.asked: dict[Question, str] = {}

    def _note(self, what: str, path: str) -> None:
        self.asked[(what, path)] = self.answers.answer((what, path))

    def mentions(self, path: str, words: frozenset[str]) -> frozenset[str]:
        self._note("text", path)
        return self.repo.mentions(path, words)

    def yaml_files(self) -> Iterator[str]:
        files = list(self.repo.yaml_files())
        self.asked[("yaml_files", "")] = _digest("\0".join(files))
        return iter(files)


class Deferred(Protocol):
    """A value a store keeps as it was written until it is first read."""

    def value(self) -> object: ...


@dataclass(frozen=True)
class Passing:
    """How one build read the files it read as objects (kustomize.Build): a
    recorded run asks it whether an edit of such a file, in fields nothing
    reads, can change the build in anything else (runmemo._passed)."""

    object_files: frozenset[str]  # read as objects, and in no other way
    ks_operations: frozenset[tuple[str, str, str]]  # JSON 6902 (op, path, from) applied to Flux Kustomizations
    replaced: bool  # replacements ran
    substitute_merged: bool = False  # a strategic-merge patch may set a Flux Kustomization's postBuild.substitute


@dataclass(frozen=True)
class Stored:
    """One remembered build: the answers it relied on and what it produced."""

    material: str
    asked: tuple[tuple[Question, str], ...]
    resources: tuple[Resource, ...]
    problems: tuple[Problem, ...]
    files: frozenset[str]
    # What it was built of (the Kustomization, its variables, the artifact's
    # root), so that a recorded run can build it again alone; read back from
    # the store only then (see made_of), as a walk that reuses the build never
    # looks at it.
    kept_of: tuple[object, ...] | Deferred = field(default=(), compare=False)
    # A digest of what a recorded run reads of it (runmemo.projection), when
    # the store took it as it wrote a build that holds many apps' Kustomizations:
    # the first edit of one app's ks.yaml after a walk then projects that build
    # once, as it is now, rather than twice.
    shown: str = field(default="", compare=False)
    passing: Passing | None = field(default=None, compare=False)

    @property
    def made_of(self) -> tuple[object, ...]:
        kept = self.kept_of
        if not isinstance(kept, tuple):
            value = kept.value()
            kept = value if isinstance(value, tuple) else ()
            object.__setattr__(self, "kept_of", kept)
        return kept

    @property
    def knows_made_of(self) -> bool:
        """Whether it says what it was built of, without reading that back."""
        kept = self.kept_of
        return bool(kept) if isinstance(kept, tuple) else True


@dataclass(frozen=True)
class Scanned:
    """The objects of one file as the scan for entry points reads them (see
    flux._scanned); the store keeps their bodies packed, with their facts."""

    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class Rescanned:
    """A file the scan for entry points read again this run, as its text
    changed since the store kept its objects: the digests of both texts, and
    the objects of each (all of the file's documents were objects or empty).
    A build that read the file as objects may be carried over the edit
    (runmemo.carried) rather than made again."""

    was: str
    now: str
    before: tuple[Resource, ...]
    after: tuple[Resource, ...]


def still_valid(stored: object, material: str, answers: Answers) -> Stored | None:
    """``stored`` when it is a build of ``material`` whose answers all still hold."""
    if not isinstance(stored, Stored) or stored.material != material:
        return None
    return stored if answers_hold(stored.asked, answers) else None


def answers_hold(asked: tuple[tuple[Question, str], ...], answers: Answers) -> bool:
    """Whether the tree ``answers`` reads gives every recorded answer again."""
    return all(answer_now(question, answers) == digest for question, digest in asked)


def answer_now(question: Question, answers: Answers) -> str:
    """The digest of what the tree ``answers`` reads answers to ``question``."""
    if question == ("yaml_files", ""):
        return _digest("\0".join(answers.repo.yaml_files()))
    return answers.answer(question)


Offer = tuple[str, tuple[object, ...], Stored]  # (reader, what the build was made of, the build)


class SharedBuilds:
    """The builds of one process, offered from one walk to another.

    plan walks the head and then the base: an app the change does not touch
    is the same Kustomization, with the same variables, reading the same
    answers at both revisions, so the base takes the head's build instead of
    building it again (answers are digests of content, equal whichever
    reader gives them).  The disk cache does this across runs; this does it
    within one, with or without that cache.
    """

    def __init__(self) -> None:
        self._offers: dict[object, list[Offer]] = {}
        self._built: set[int] = set()  # ids of the builds made in this process (offers keep them alive)
        # The objects of each file the scan for entry points read, by (path,
        # digest): a file the change leaves alone is scanned once.
        self.scanned: dict[tuple[str, str], tuple[Resource, ...]] = {}

    def offer(self, ref: object, offer: Offer, *, built: bool = False) -> None:
        """Offer a build to the other walks; ``built``: made here, not read from a store."""
        self._offers.setdefault(ref, []).append(offer)
        if built:
            self._built.add(id(offer[2]))

    def built(self, stored: Stored) -> bool:
        """Whether ``stored`` was offered as built in this process."""
        return id(stored) in self._built

    def offers(self, ref: object) -> list[Offer]:
        return self._offers.get(ref, [])

    def release(self) -> None:
        """Offer nothing more: after the last walk, what only the offers held
        (each build's questions and what it was made of) is freed.  For plan
        of 2,000 apps whose every volume moves, 16 MB of its peak."""
        self._offers.clear()
        self._built.clear()
        self.scanned.clear()
