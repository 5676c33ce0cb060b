"""What the core needs from the outside world, as a protocol.

The core never opens files.  The filesystem adapter (and, later, the git
adapter that reads a tree from git objects) implements this protocol, and
tests can implement it with a dictionary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from volsync_kit.core.model import Loc, Node

PathKind = Literal["file", "dir", "missing"]


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file; ``node`` is None for an empty document."""

    node: Node | None
    loc: Loc

    def __reduce__(self) -> tuple[type[Document], tuple[Node | None, Loc]]:
        return (Document, (self.node, self.loc))


class RepoReader(Protocol):
    """A read-only view of one repository tree; paths are repo-relative POSIX."""

    def kind(self, path: str) -> PathKind:
        """Whether ``path`` is a file, a folder, or missing (or outside the tree)."""

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The sorted names of the sub-folders and files of a folder."""

    def documents(self, path: str) -> tuple[Document, ...]:
        """The parsed documents of a YAML file (cached); raises ModelError."""

    def parse_inline(self, text: str, origin: Loc) -> tuple[Document, ...]:
        """Parse YAML text embedded in a file at ``origin`` (an inline patch)."""

    def text(self, path: str) -> str:
        """The decoded text of a file; raises ModelError."""

    def digest(self, path: str) -> str:
        """A digest of the file's text, which changes whenever the text does;
        raises ModelError as ``text`` does.  A reader may answer it, and
        ``mentions``, without reading an unchanged file (the cache's index)."""

    def mentions(self, path: str, words: frozenset[str]) -> frozenset[str]:
        """Which of ``words`` occur in the file's text; raises ModelError as
        ``text`` does.  Cheaper than ``text`` to ask about every file."""

    def yaml_files(self) -> Iterator[str]:
        """Every YAML file of the tree, sorted, skipping hidden folders."""


class BuildMemo(Protocol):
    """A store of earlier builds, so that an unchanged Kustomization is not
    rebuilt (the on-disk cache implements it).  Values are opaque to it."""

    def key(self, material: object) -> str:
        """A stable digest of ``material`` (plain data and model objects)."""

    def get(self, key: str, inputs: str) -> object | None:
        """The value stored under ``key`` when it was made from ``inputs`` (a
        digest), else None (never raises)."""

    def put(self, key: str, inputs: str, value: object) -> None:
        """Store ``value``, made from ``inputs``, under ``key`` (best effort,
        never raises)."""

    def latest(self, key: str) -> tuple[str, object] | None:
        """What ``key`` holds, whatever it was made from: its inputs and its
        value, else None (never raises)."""
