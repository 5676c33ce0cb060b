"""Flux sources: which one is this repository, and what of it Flux can read.

kustomize-controller builds a Kustomization from the artifact of the source
its ``spec.sourceRef`` names (``sourceRef.namespace`` defaults to the
Kustomization's own).  Only the cluster's root source is this repository:
a Kustomization on any other GitRepository, OCIRepository or Bucket builds a
tree that is not here, so it is never built from this one.

An artifact is not the whole repository either.  source-controller leaves
out what ``spec.ignore`` and its default exclusions match (fluxcd/
source-controller ``docs/spec/v1/gitrepositories.md``, "Ignore"), and an OCI
artifact holds only the folder CI pushed (``flux push artifact --path``), so
``spec.path`` is relative to that folder.  :class:`SourceView` is the
repository as one artifact shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from volsync_kit.core.model import Loc, Map, str_at
from volsync_kit.core.ports import Document, PathKind, RepoReader

SOURCE_GROUP = "source.toolkit.fluxcd.io"
FLUX_GROUP = "kustomize.toolkit.fluxcd.io"  # Flux Kustomizations
SOURCE_KINDS = frozenset({"GitRepository", "OCIRepository", "Bucket"})
BOOTSTRAP_NAME = "flux-system"  # flux bootstrap's and flux-operator's name for the root source


@dataclass(frozen=True, slots=True, order=True)
class SourceId:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    # The store pickles one with many objects: through the constructor, not
    # the slotted dataclass's __setstate__, which looks its fields up each time.
    def __reduce__(self) -> tuple[type[SourceId], tuple[object, ...]]:
        return (SourceId, (self.kind, self.namespace, self.name))


BOOTSTRAP = SourceId("GitRepository", BOOTSTRAP_NAME, BOOTSTRAP_NAME)


def source_ref(node: Map, namespace: str) -> SourceId | None:
    """The source a Flux Kustomization ``node`` in ``namespace`` builds from."""
    kind = str_at(node, "spec", "sourceRef", "kind")
    name = str_at(node, "spec", "sourceRef", "name")
    if not kind or not name:
        return None
    return SourceId(kind, str_at(node, "spec", "sourceRef", "namespace") or namespace, name)


_SCP = re.compile(r"^[\w.-]+@([\w.-]+):(.*)$")  # git@github.com:owner/repo


def normalize_url(url: str) -> str:
    """A repository URL without scheme, user, ``.git`` or trailing slash, so
    that ``ssh://git@github.com/o/r.git`` and ``https://github.com/o/r`` match."""
    url = url.strip()
    scp = _SCP.match(url)
    if scp and "://" not in url:
        url = f"{scp.group(1)}/{scp.group(2)}"
    url = url.split("://", 1)[-1]
    url = url.split("@", 1)[-1] if "@" in url.split("/", 1)[0] else url
    url = url.rstrip("/")
    return (url[:-4] if url.endswith(".git") else url).lower()


class IgnoreRules(Protocol):
    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether source-controller leaves ``path`` (relative to the artifact) out."""

    def descend(self, folder: str) -> bool:
        """Whether anything below ``folder`` can be in the artifact."""


class SourceView:
    """The repository as one source's artifact shows it: paths outside
    ``root``, files the ignore rules leave out, and folders nothing of which
    is kept are missing.  Paths stay repository-relative, so every location
    still points at the real file."""

    def __init__(self, repo: RepoReader, root: str = "", ignore: IgnoreRules | None = None) -> None:
        self.repo = repo
        self.root = root
        self.ignore = ignore
        self.label = f"{getattr(repo, 'label', type(repo).__name__)}:{root}"
        self._hidden: dict[tuple[str, bool], bool] = {}

    def _inner(self, path: str) -> str | None:
        if not self.root:
            return path
        if path == self.root:
            return ""
        if path.startswith(self.root + "/"):
            return path[len(self.root) + 1 :]
        return None

    def _out(self, path: str, is_dir: bool) -> bool:
        key = (path, is_dir)
        found = self._hidden.get(key)
        if found is None:
            inner = self._inner(path)
            if inner is None:
                found = True
            elif self.ignore is None or inner == "":
                found = False
            else:
                # source-controller walks into excluded folders and keeps
                # re-included files there (see core/sourceignore.py).
                found = not self.ignore.descend(inner) if is_dir else self.ignore.ignored(inner, False)
            self._hidden[key] = found
        return found

    def kind(self, path: str) -> PathKind:
        found = self.repo.kind(path)
        return "missing" if found != "missing" and self._out(path, found == "dir") else found

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self.kind(path) != "dir":
            return (), ()
        dirs, files = self.repo.listdir(path)
        prefix = f"{path}/" if path else ""
        return (
            tuple(d for d in dirs if not self._out(prefix + d, True)),
            tuple(f for f in files if not self._out(prefix + f, False)),
        )

    def documents(self, path: str) -> tuple[Document, ...]:
        return self.repo.documents(path)

    def parse_inline(self, text: str, origin: Loc) -> tuple[Document, ...]:
        return self.repo.parse_inline(text, origin)

    def text(self, path: str) -> str:
        return self.repo.text(path)

    def digest(self, path: str) -> str:
        return self.repo.digest(path)

    def mentions(self, path: str, words: frozenset[str]) -> frozenset[str]:
        return self.repo.mentions(path, words)

    def yaml_files(self) -> Iterator[str]:
        return (p for p in self.repo.yaml_files() if not self._out(p, False))
