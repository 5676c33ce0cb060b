"""The contract between the lint engine and the rule modules.

A rule module defines, at module level:

* ``ID`` — permanent (``VK101``), never reused;
* ``NAME`` — a kebab-case slug, also accepted wherever an ID is;
* ``SEVERITY`` — the default :class:`Severity` (config may override it);
* ``SCOPE`` — what ``check`` receives:
  ``"pv"``: one static CephFS PersistentVolume (:class:`Subject`), in the
  file view and in every app's rendered view;
  ``"group"``: the PVs and PVCs checked together (:class:`Group`): one
  app's rendering, or one folder in the file view;
  ``"repo"``: the whole :class:`Context`, once;
* ``SUMMARY`` — one imperative line;
* ``check(subject_or_group_or_context, ctx)`` — a generator of :class:`Hit`;
* a module docstring in Markdown (`code`, not reST ``code``), in ruff's
  shape: a ``VKNNN name: headline`` line, then the ``##`` sections *What it
  does*, *Why is this bad?*, *Example*, *Use instead*, and *References*.
  ``explain`` prints it, SARIF ``help.markdown`` carries it, and
  docs/rules.md (``rules --format markdown``) is generated from it.

Rules never decide their severity, suppression or ordering; the engine does.
In the file view, values still holding ``${...}`` are unknown and rules skip
them: the rendered view judges them per app, where a ``${...}`` that is left
is a variable whose value cannot be known offline, and is skipped too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from volsync_kit.core.flux import NAMING_VARIABLES, KsResult, RepoModel
from volsync_kit.core.model import (
    KsRef,
    Loc,
    Map,
    Node,
    Problem,
    Resource,
    Scalar,
    ScalarValue,
    Severity,
    key_loc,
    node_at,
    str_at,
)

# What tells a static CephFS volume, shared with lint's views (core.volumedocs), re-exported for the rules.
from volsync_kit.core.volumedocs import ATTRS as ATTRS
from volsync_kit.core.volumedocs import CEPHFS_DRIVER as CEPHFS_DRIVER
from volsync_kit.core.volumedocs import is_cephfs_driver as is_cephfs_driver
from volsync_kit.core.volumedocs import is_csi_volume_id as is_csi_volume_id

View = Literal["file", "rendered"]

# Model problem codes (volsync_kit.core.model.ModelError.code), by the rule
# that reports them; VK308 reports every other build failure.
YAML_CODES = frozenset({"yaml-syntax", "encoding", "yaml-depth", "yaml-aliases", "file-unreadable", "file-too-large"})
TAB_CODES = frozenset({"yaml-tab"})
DUPLICATE_KEY_CODES = frozenset({"yaml-duplicate-key"})
VARIABLE_CODES = frozenset({"substitution", "substitute-source-missing", "variable-name"})
COMPONENT_CODES = frozenset(
    {"component-missing", "kustomization-missing", "kustomization-empty", "component-kind", "component-not-local"}
)
NOT_EVALUATED_CODES = frozenset(
    {"not-evaluated", "remote-not-followed", "source-not-followed", "variables-encrypted", "variables-unknown"}
)
REPORTED_CODES = YAML_CODES | TAB_CODES | DUPLICATE_KEY_CODES | VARIABLE_CODES | COMPONENT_CODES
Scope = Literal["pv", "group", "repo"]


def has_placeholder(value: ScalarValue) -> bool:
    return isinstance(value, str) and "${" in value


@dataclass(frozen=True, slots=True)
class Value:
    """A scalar as a rule sees it; ``known`` is False for a ``${...}`` template."""

    raw: ScalarValue
    loc: Loc | None
    known: bool


@dataclass(frozen=True)
class Subject:
    """One PV or PVC, in the file view (placeholders kept) or rendered for an app."""

    res: Resource
    view: View
    app: str | None = None
    ks: KsRef | None = None

    @property
    def node(self) -> Map:
        return self.res.node

    @property
    def kind(self) -> str:
        return self.res.kind

    @property
    def name(self) -> str:
        return self.res.name

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    def at(self, *path: str | int) -> Node | None:
        return node_at(self.node, *path)

    def value(self, *path: str | int) -> Value | None:
        """The scalar at ``path``, or None when absent (or not a scalar)."""
        found = node_at(self.node, *path)
        if not isinstance(found, Scalar):
            return None
        # A ${...} left after rendering is a variable whose value cannot be
        # known offline (a SOPS or ExternalSecret key, a source not in git):
        # unknown, like a placeholder in the file view, never judged as text.
        known = not has_placeholder(found.value)
        return Value(found.value, found.loc or self.loc(*path), known)

    def loc(self, *path: str | int) -> Loc | None:
        """Where ``path`` is written: a scalar's value, else the key's line;
        for a missing path, the nearest written ancestor."""
        found = node_at(self.node, *path)
        if isinstance(found, Scalar):
            return found.loc or self.res.origin
        return key_loc(self.node, *path) or self.res.origin

    @property
    def driver(self) -> str | None:
        return str_at(self.node, "spec", "csi", "driver")


@dataclass(frozen=True)
class Group:
    """PVs and PVCs that must agree with each other."""

    subjects: tuple[Subject, ...]
    view: View
    app: str | None = None
    ks: KsRef | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    # Read by most rules of every group: kept once made (the group is frozen).
    @cached_property
    def pvs(self) -> tuple[Subject, ...]:
        return tuple(s for s in self.subjects if s.kind == "PersistentVolume")

    @cached_property
    def pvcs(self) -> tuple[Subject, ...]:
        return tuple(s for s in self.subjects if s.kind == "PersistentVolumeClaim")

    def bound_pairs(self) -> Iterator[tuple[Subject, Subject]]:
        """Each PVC with the PV its ``spec.volumeName`` names.

        Names are compared as written: in the file view a template such as
        ``volsync-${APP}-repo-pv`` on both sides renders to the same name for
        every app.  A missing or dangling ``volumeName`` is VK201's finding.
        """
        by_name = {pv.name: pv for pv in self.pvs if pv.name}
        for pvc in self.pvcs:
            volume = pvc.value("spec", "volumeName")
            if volume is not None and isinstance(volume.raw, str) and volume.raw in by_name:
                yield pvc, by_name[volume.raw]


@dataclass(frozen=True)
class Expectations:
    """What ``.volsync-kit.yaml`` pins (``expect:``); None means not pinned."""

    driver: str | None = None
    cluster_id: str | None = None
    fs_name: str | None = None
    storage_class: str | None = None
    node_stage_secret: tuple[str, str] | None = None
    root_path: str | None = None  # a template such as /volsync/${APP}
    pv_name: str = "volsync-${APP}-repo-pv"


def variables_read(expect: Expectations) -> frozenset[str]:
    """The variables the rules read of an app themselves, not through its
    rendered objects: APP (the app's name, VK305 and every finding's app), and
    each variable a template of ``expect`` names (VK301, VK402 expand them).
    A recorded lint is reused across an edit of any other variable's value
    when the app renders the same (core.runmemo)."""
    from volsync_kit.core.substitution import variable_names

    texts = (value for field_ in dataclasses.astuple(expect) for value in _strings(field_))
    return NAMING_VARIABLES | {name for text in texts for name in variable_names(text)}


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, tuple) else ()


@dataclass(frozen=True)
class Context:
    model: RepoModel
    groups: tuple[Group, ...]  # rendered apps, then file-view folders
    expect: Expectations = field(default_factory=Expectations)
    file_problems: tuple[Problem, ...] = ()  # files of the file view that could not be read
    files: frozenset[str] | None = None  # the files Flux reads (None: every file)

    @property
    def rendered(self) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if g.view == "rendered")

    @cached_property
    def problems(self) -> tuple[Problem, ...]:
        """Every problem met: repository-wide, per Kustomization, and in the file view.

        A repository-wide YAML problem in a file Flux does not read goes: the
        scan for Flux Kustomizations parses any file that mentions their API
        group (a Helm chart's templates too), but kustomize-controller never
        parses a file no build reads.
        """
        out = [p for p in self.model.problems if not self._unread_yaml_problem(p)]
        for result in self.model.results:
            out.extend(result.problems)
        seen = {(p.code, p.loc) for p in out}
        out.extend(p for p in self.file_problems if (p.code, p.loc) not in seen)
        return tuple(out)

    def _unread_yaml_problem(self, problem: Problem) -> bool:
        return (
            self.files is not None
            and problem.kustomization is None
            and problem.code in YAML_CODES | TAB_CODES | DUPLICATE_KEY_CODES
            and problem.loc is not None
            and problem.loc.file not in self.files
        )

    @cached_property
    def _by_ref(self) -> dict[KsRef, KsResult]:
        return {result.ks.ref: result for result in self.model.results}

    def result_of(self, ref: KsRef | None) -> KsResult | None:
        """The rendering of one Flux Kustomization."""
        return self._by_ref.get(ref) if ref is not None else None

    def app_of(self, ref: KsRef | None) -> str | None:
        """The app a Kustomization renders: its APP variable, else its name."""
        if ref is None:
            return None
        result = self.result_of(ref)
        return result.app if result else ref.name


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule yields; the engine turns it into a Finding."""

    message: str
    loc: Loc | None
    subject: Subject | None = None
    app: str | None = None
    ks: KsRef | None = None
    shared: bool = False  # see Finding.shared


def model_problems(ctx: Context, codes: frozenset[str]) -> Iterator[Problem]:
    """The model's problems with one of ``codes``, each (Kustomization, place, code) once."""
    seen: set[tuple[KsRef | None, Loc | None, str]] = set()
    for problem in ctx.problems:
        key = (problem.kustomization, problem.loc, problem.code)
        if problem.code in codes and key not in seen:
            seen.add(key)
            yield problem


def problem_hit(ctx: Context, problem: Problem, message: str | None = None) -> Hit:
    """A hit at a model problem's place, for the app of its Kustomization."""
    text = problem.message if message is None else message
    return Hit(text, problem.loc, app=ctx.app_of(problem.kustomization), ks=problem.kustomization)


@dataclass(frozen=True)
class Rule:
    """A registered rule module, flattened."""

    id: str
    name: str
    severity: Severity
    scope: Scope
    summary: str
    doc: str
    check: Callable[..., Iterator[Hit]]
