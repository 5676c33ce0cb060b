"""Services: wire the adapters to the core and return result objects.

Nothing here prints or exits; the CLI renders the results.  Imports of the
core and adapters are deferred so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from volsync_kit.errors import UsageError

if TYPE_CHECKING:
    import datetime

    from volsync_kit.adapters.cache import DiskCache
    from volsync_kit.adapters.config import Config
    from volsync_kit.adapters.fs import FileRepo, TextReader
    from volsync_kit.core.adopt import Written
    from volsync_kit.core.buildmemo import SharedBuilds
    from volsync_kit.core.doctor import Report as DoctorReport
    from volsync_kit.core.findings import LintResult
    from volsync_kit.core.flux import Entry, KsResult, RepoModel
    from volsync_kit.core.generate import AppSpec
    from volsync_kit.core.lintreport import Checked
    from volsync_kit.core.model import Problem, Severity
    from volsync_kit.core.names import UnsafeName
    from volsync_kit.core.planner import Plan, Settings, Step
    from volsync_kit.core.ports import RepoReader
    from volsync_kit.core.render import RenderResult
    from volsync_kit.core.runmemo import Changes, RunLog, RunRecord
    from volsync_kit.core.scenarios import Operator
    from volsync_kit.core.tree import AppTree, LiveTrees


def resolve_repo(repo: Path | None) -> Path:
    from volsync_kit.adapters import git

    if repo is None:
        return git.toplevel(Path.cwd()) or _configured_root(Path.cwd())
    if not repo.is_dir():
        raise UsageError(f"--repo {repo}: no such folder; pass the root of your Flux repository")
    return repo


def _configured_root(cwd: Path) -> Path:
    """Outside git: the nearest folder, up from ``cwd``, that holds a config.

    Never the current folder as such: in a home folder or a folder of clones
    that would model every YAML file below it.
    """
    from volsync_kit.adapters.config import CONFIG_NAME

    for folder in (cwd, *cwd.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise UsageError(
        f"{cwd} is not in a git repository, and neither it nor a folder above holds {CONFIG_NAME}: "
        "pass --repo DIR, the root of your Flux repository"
    )


def open_cache(root: Path, enabled: bool) -> DiskCache | None:
    """The cache of parsed files and builds for ``root``, unless turned off."""
    if not enabled:
        return None
    from volsync_kit.adapters.cache import DiskCache, default_dir

    return DiskCache(default_dir(), root, detach=DETACH_WRITES)


NO_ENTRY = (
    "no Flux entry point found (a FluxInstance spec.sync, flux-instance values, or a Kustomization that "
    "syncs its own folder such as flux-system/gotk-sync.yaml); pass --entry FOLDER, the folder Flux "
    "syncs first, or set entry: in .volsync-kit.yaml"
)


_T = TypeVar("_T")

# Set by the command-line entry point, which ends the process without
# freeing what a run built (see volsync_kit.cli.main): every model walked is
# kept here until then.  None in a library or test process, which frees them.
KEPT_TO_EXIT: list[object] | None = None
# Set by the command-line entry point too: the cache is written by a process
# of its own once the command's output is out (see adapters.cache._Store.close).
DETACH_WRITES = False


def walk(
    reader: TextReader,
    entries: tuple[Entry, ...] | None,
    cache: DiskCache | None,
    cluster: str | None = None,
    *,
    at: str = "",
    shared: SharedBuilds | None = None,
    log: RunLog | None = None,
) -> RepoModel:
    """The Flux walk over ``reader``, with the cache when there is one;
    raises UsageError when no entry point is found, or ``cluster`` is not one."""
    from volsync_kit.core import flux

    reader.cache = cache
    try:
        model = flux.walk(reader, entries, cache, cluster=cluster, fallback=False, shared=shared, log=log)
    except flux.NoSuchCluster as err:
        known = ", ".join(err.known) or "none"
        raise UsageError(f"--cluster {err.name}: no such cluster{at}; the repository syncs: {known}") from None
    finally:
        if cache is not None:
            cache.flush()  # what the walk made, in one transaction
    if not model.clusters:
        raise UsageError(NO_ENTRY + at)
    return _kept(model)


def _kept(made: _T) -> _T:
    if KEPT_TO_EXIT is not None:
        KEPT_TO_EXIT.append(made)
    return made


def run_render(
    repo: Path | None,
    *,
    entry: str | None = None,
    app: str | None = None,
    cache: bool = True,
    cluster: str | None = None,
    config_file: Path | None = None,
) -> RenderResult:
    """Render every app's VolSync objects; raises UsageError."""
    from volsync_kit.adapters.fs import FileRepo
    from volsync_kit.core import render

    root = resolve_repo(repo)
    disk = open_cache(root, cache)
    entry = _configured_entry(root, entry, config_file, disk)
    files = FileRepo(root)
    entries = (entry_point(root, entry),) if entry is not None else None

    def every_app(reader: RepoReader, model: RepoModel) -> RenderResult:
        return render.render(model)

    everything = _recorded_run("render", files, entries, disk, cluster, (), every_app, render.RenderResult,
                               kept=render.shared, variables_read=_naming_variables)  # fmt: skip
    result = _kept(render.only(everything, app))
    if app is not None and not result.apps:
        known = sorted({a.app for a in everything.apps})
        raise UsageError(
            f"--app {app}: no app of that name renders VolSync volumes; known apps: {', '.join(known) or 'none'}"
        )
    return result


def _configured_entry(root: Path, entry: str | None, config_file: Path | None, disk: DiskCache | None) -> str | None:
    """``--entry``, else the config's ``entry:``: render and tree read the repository as
    lint and plan do."""
    from volsync_kit.adapters import config as config_adapter

    return entry if entry is not None else config_adapter.load(root, config_file, disk).entry


def entry_point(root: Path, entry: str) -> Entry:
    from volsync_kit.core.flux import Entry
    from volsync_kit.core.kustomize import join

    path = Path(entry)
    if path.is_absolute():
        try:
            entry = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"--entry {path}: not inside the repository {root}") from None
    try:
        normalized = join("", entry)
    except ValueError as err:
        raise UsageError(f"--entry {entry}: {err}") from None
    if not (root / normalized).is_dir():
        raise UsageError(f"--entry {entry}: no such folder in {root}; pass the folder Flux syncs first")
    return Entry(normalized, "--entry", None)


def run_lint(
    repo: Path | None,
    *,
    files: list[Path] | None = None,
    config_file: Path | None = None,
    entry: str | None = None,
    cache: bool = True,
    cluster: str | None = None,
) -> LintResult:
    """Lint every static CephFS repository volume; raises UsageError."""
    from volsync_kit.adapters import config as config_adapter
    from volsync_kit.adapters.fs import FileRepo
    from volsync_kit.core import lintreport

    root = resolve_repo(repo)
    # A FILE that does not exist is a typo, not a clean file: say so (exit 2) rather than
    # report nothing (pre-commit never passes a deleted file).
    missing = [f for f in files or () if not f.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file; name files of the repository, or none to lint it all")
    disk = open_cache(root, cache)
    config = config_adapter.load(root, config_file, disk)
    severities, ignores = config_adapter.lint_settings(config)
    entry = entry if entry is not None else config.entry
    files_repo = FileRepo(root)
    entries = (entry_point(root, entry),) if entry is not None else None
    checked = _checked(files_repo, entries, disk, cluster, config, severities)
    only = frozenset(_repo_relative(root, f) for f in files) if files else None
    options = lintreport.LintOptions(
        severities=severities,
        ignores=tuple(lintreport.Ignore(pattern, rules) for pattern, rules in ignores),
        only_files=only,
    )
    return _kept(lintreport.finish(files_repo, checked, options))


def _checked(
    files_repo: FileRepo,
    entries: tuple[Entry, ...] | None,
    cache: DiskCache | None,
    cluster: str | None,
    config: Config,
    severities: Mapping[str, Severity | None],
) -> Checked:
    """What the rules find (before FILES and suppressions choose what is reported)."""
    from volsync_kit.adapters import config as config_adapter
    from volsync_kit.adapters.resources import schema_text
    from volsync_kit.core.lintreport import Checked

    def check(reader: RepoReader, model: RepoModel) -> Checked:
        from volsync_kit.core import lint

        return lint.check(reader, model, config_adapter.expectations(config), severities)

    def variables_read() -> frozenset[str]:
        # Asked only after an edit of a substitute value: a run that reuses its record loads no rule.
        from volsync_kit.core.rules._api import variables_read

        return variables_read(config_adapter.expectations(config))

    def patch(recorded: object, changes: Changes) -> Checked | None:
        from volsync_kit.core import lint

        if not isinstance(recorded, Checked):
            return None
        expect = config_adapter.expectations(config)
        return lint.patched(files_repo, recorded, changes.results, changes.viewed, changes.read_elsewhere,
                            expect, severities)  # fmt: skip

    # What the rules are told comes from the config and the schema's defaults.
    settings = (config.data, schema_text("config.schema.json"))
    return _recorded_run("lint", files_repo, entries, cache, cluster, settings, check, Checked,
                         variables_read=variables_read, patch=patch)  # fmt: skip


def _naming_variables() -> frozenset[str]:
    """What render and plan read of an app's variables themselves: its name
    (flux.KsResult.app).  Asked only after an edit of a substitute value."""
    from volsync_kit.core.flux import NAMING_VARIABLES

    return NAMING_VARIABLES


def _recorded_run(
    what: str,
    files_repo: FileRepo,
    entries: tuple[Entry, ...] | None,
    cache: DiskCache | None,
    cluster: str | None,
    settings: object,
    compute: Callable[[RepoReader, RepoModel], _T],
    kind: type[_T],
    kept: Callable[[_T], _T] | None = None,
    shared: SharedBuilds | None = None,
    variables_read: Callable[[], frozenset[str]] | None = None,
    patch: Callable[[object, Changes], _T | None] | None = None,
) -> _T:
    """``compute`` of the Flux walk: from the run recorded last time with the
    same ``settings`` when the tree still gives it (:mod:`volsync_kit.core.runmemo`),
    else by walking the repository, recording the run for the next one
    (its value as ``kept`` makes it, when the record is written: an equal
    value that pickles smaller; see :class:`~volsync_kit.core.runmemo.Kept`)."""
    from volsync_kit.core import runmemo

    if cache is None:
        return compute(files_repo, walk(files_repo, entries, None, cluster))
    files_repo.cache = cache
    inputs = cache.key((what, entries, cluster, settings))
    patching = None
    if patch is not None:
        from volsync_kit.core.lintreport import VOLUME_DOCUMENTS

        def patched(changes: Changes) -> object | None:
            return patch(_recorded_value(cache, what, inputs, changes.value), changes)

        patching = runmemo.Patching(frozenset({VOLUME_DOCUMENTS}), patched)
    found = runmemo.reuse(_recorded(cache, what, inputs), files_repo, cache, what, variables_read, patching)
    value = _recorded_value(cache, what, inputs, found.value) if found is not None else None
    if found is not None and isinstance(value, kind):
        if found.record is not None:
            _record(cache, what, inputs, found.record, whole=found.whole)
        cache.flush()
        return value
    log = runmemo.RunLog(runmemo.RunRecorder(files_repo))
    model = walk(files_repo, entries, cache, cluster, shared=shared, log=log)
    value = compute(log.recorder, model)
    # Made smaller as the record is written (by the detached writer, after the output).
    recorded = value if kept is None else runmemo.Kept(value, kept)
    _record_walk(cache, what, inputs, log, recorded)
    cache.flush()
    return value


def _recorded(cache: DiskCache, what: str, inputs: str) -> RunRecord | None:
    """The last run of ``what`` recorded with these inputs, with its state."""
    from volsync_kit.core.runmemo import RunRecord, RunState

    record = cache.get(cache.key(("run", what)), inputs)
    if not isinstance(record, RunRecord):
        return None
    state = cache.get(cache.key(("run-state", what)), cache.key((inputs, record.ident)))
    return dataclasses.replace(record, state=state) if isinstance(state, RunState) else None


def _recorded_value(cache: DiskCache, what: str, inputs: str, value: object) -> object:
    """A record's value, from its own slot when the record points there."""
    from volsync_kit.core.runmemo import ValueRef

    if not isinstance(value, ValueRef):
        return value
    return cache.get(cache.key(("run-value", what)), cache.key((inputs, value.ident)))


def _record(cache: DiskCache, what: str, inputs: str, record: RunRecord, *, whole: bool) -> None:
    """Keep ``record`` for the next run: its state, and the rest when it changed
    (under a new ident, which its state is kept under); a new value in a slot
    of its own (runmemo.ValueRef)."""
    from volsync_kit.core.runmemo import ValueRef

    if whole:
        record = dataclasses.replace(record, ident=os.urandom(8).hex())
        if not isinstance(record.value, ValueRef):
            cache.put(cache.key(("run-value", what)), cache.key((inputs, record.ident)), record.value)
            record = dataclasses.replace(record, value=ValueRef(record.ident))
        cache.put(cache.key(("run", what)), inputs, dataclasses.replace(record, state=None))
    cache.put(cache.key(("run-state", what)), cache.key((inputs, record.ident)), record.state)


def _record_walk(cache: DiskCache, what: str, inputs: str, log: RunLog, value: object) -> None:
    """Keep the record of a walk for the next run, as :func:`_record` keeps a
    whole record, made as it is written (runmemo.RecordLater)."""
    from volsync_kit.core.runmemo import Kept, RecordLater

    ident = os.urandom(8).hex()
    cache.put(cache.key(("run-value", what)), cache.key((inputs, ident)), value)
    later = RecordLater(log, ident)
    cache.put(cache.key(("run", what)), inputs, Kept(later, RecordLater.without_state))
    cache.put(cache.key(("run-state", what)), cache.key((inputs, ident)), Kept(later, RecordLater.state))


def _repo_relative(root: Path, file: Path) -> str:
    """pre-commit passes paths relative to the work tree root; accept absolute ones too."""
    path = file if file.is_absolute() else Path.cwd() / file
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.as_posix()


WORKTREE = "working-tree"
INDEX = "index"


def run_plan(
    repo: Path | None,
    *,
    base: str = "HEAD",
    head: str | None = None,
    staged: bool = False,
    config_file: Path | None = None,
    entry: str | None = None,
    scenario: str | None = None,
    cache: bool = True,
    cluster: str | None = None,
    context: str | None = None,
) -> Plan:
    """Compare two states of the repository and plan the change; raises UsageError."""
    from volsync_kit.adapters import config as config_adapter
    from volsync_kit.adapters import gitrepo
    from volsync_kit.adapters.fs import FileRepo
    from volsync_kit.adapters.resources import schema_text
    from volsync_kit.core import diff, planner
    from volsync_kit.core.buildmemo import SharedBuilds
    from volsync_kit.core.names import UnsafeName

    root = resolve_repo(repo)
    disk = open_cache(root, cache)
    config = config_adapter.load(root, config_file, disk)
    entry = entry if entry is not None else config.entry
    entries = (entry_point(root, entry),) if entry is not None else None
    if staged and head is not None:
        raise UsageError("--staged and --head exclude each other: the head is either the git index or a ref")
    settings = config_adapter.plan_settings(config)
    if context is not None:
        from volsync_kit.core.names import KUBE_CONTEXT

        if not KUBE_CONTEXT.match(context):
            raise UsageError(f"--context {context!r}: not a context name volsync-kit puts on a command line")
    with contextlib.ExitStack() as stack:
        try:
            head_reader: TextReader
            if staged:
                head_label, head_reader = INDEX, stack.enter_context(gitrepo.IndexRepo(root))
            elif head is not None:
                head_label = gitrepo.resolve_rev(root, head)
                head_reader = stack.enter_context(gitrepo.GitTreeRepo(root, head_label))
            else:
                head_label, head_reader = WORKTREE, FileRepo(root)
            shared = SharedBuilds()  # an app the change leaves alone is built once
            if scenario is not None:
                head_model = walk(head_reader, entries, disk, cluster, shared=shared)
                steps = _scenario_steps(scenario, head_model, config_adapter.operator(config), settings)
                empty = diff.Diff((), (), head_model, head_model)
                result = planner.Plan("-", head_label, empty, (), tuple(steps), settings, scenario)
                return _kept(planner.pinned(result, context) if context is not None else result)
            base_sha = gitrepo.resolve_rev(root, base)

            def against_base(reader: RepoReader, head_model: RepoModel) -> planner.Plan:
                base_reader = stack.enter_context(gitrepo.GitTreeRepo(root, base_sha))
                base_model = walk(base_reader, entries, disk, cluster, at=f" at the base {base}", shared=shared)
                shared.release()  # the last walk
                compared = diff.diff(base_model, head_model)
                planned = planner.plan(compared, base=base_sha, head=head_label, settings=settings)
                diff.release(compared)
                return planned

            if isinstance(head_reader, FileRepo) and disk is not None:
                # The work tree: the last plan against the same commit, when the tree
                # still gives it (runmemo.PLAN); the commit's own tree never moves.
                what = (config.data, schema_text("config.schema.json"), base_sha)
                result = _recorded_run("plan", head_reader, entries, disk, cluster, what, against_base,
                                       planner.Plan, kept=planner.reported, shared=shared,
                                       variables_read=_naming_variables)  # fmt: skip
            else:
                result = against_base(head_reader, walk(head_reader, entries, disk, cluster, shared=shared))
            return _kept(planner.pinned(result, context) if context is not None else result)
        except gitrepo.GitError as err:
            raise UsageError(str(err)) from None
        except UnsafeName as err:
            raise _refusal(err) from None


def _refusal(err: UnsafeName) -> UsageError:
    """Why plan emits no command for a name, and what to fix."""
    if str(err) == "":
        return UsageError(
            "refusing to plan: an object has no name that is a string (after Flux's substitution, "
            "a name such as n, y, on or off is a YAML boolean); quote ${APP} in the template "
            "or rename the app"
        )
    # ascii() escapes control characters (a newline never vanishes from the
    # message) and non-ASCII ones (a Cyrillic 'о' in 'sоnarr' shows as \u043e).
    where = f"{err.where}: " if err.where else ""
    written = f" (written {err.written!a}; Flux drops a value's newlines)" if err.written else ""
    return UsageError(
        f"refusing to plan: {where}{err.name!a}{written} is not a valid Kubernetes name, so no command is "
        "emitted for it; fix the name there"
    )


def _scenario_steps(name: str, model: RepoModel, operator: Operator, settings: Settings) -> list[Step]:
    from volsync_kit.core import scenarios

    if name == "stuck-cache":
        return scenarios.stuck_cache(model, operator, settings)
    if name == "full-reset":
        return scenarios.full_reset(model, operator, settings)
    raise UsageError(f"--scenario {name}: unknown; use one of {', '.join(scenarios.SCENARIOS)}")


SKIPPED_SOURCES = frozenset({"merge", "squash", "commit"})  # git's names; "commit" is -c/-C/--amend
MARKER = "volsync-kit plan:"


def run_commit_msg(repo: Path | None, message_file: Path, source: str | None) -> str:
    """Append the staged change's plan to a commit message when it needs one.

    Returns what was done, for the hook's one line of output.  Never raises
    for an ordinary reason: a hook that blocks commits gets uninstalled.
    """
    from volsync_kit.report import plan_out

    if source in SKIPPED_SOURCES:
        return f"left the {source} message alone"
    try:
        plan = run_plan(repo, staged=True)
    except UsageError as err:
        return f"no plan ({err})"
    if not (plan.has("replace") or plan.has("delete") or plan.dangers or plan.diff.failures):
        return "nothing to add: no replacement, deletion, danger or render failure"
    text = message_file.read_text(encoding="utf-8") if message_file.exists() else ""
    if MARKER in text:
        return "the message already carries a plan"
    body, comments = _split_comments(text)
    message_file.write_text(body.rstrip("\n") + "\n\n" + plan_out.to_commit_message(plan) + comments, encoding="utf-8")
    return "appended the plan to the commit message"


def _split_comments(text: str) -> tuple[str, str]:
    """The message, and git's trailing comment block (kept last)."""
    lines = text.splitlines(keepends=True)
    cut = len(lines)
    while cut > 0 and (lines[cut - 1].startswith("#") or not lines[cut - 1].strip()):
        cut -= 1
    return "".join(lines[:cut]), "".join(lines[cut:])


@dataclass(frozen=True)
class FileChange:
    path: str  # repository-relative
    old: str | None  # None: the file does not exist yet
    new: str
    hand_edited: bool = False  # an existing file that is not generate's as it wrote it
    never_generated: bool = False  # an existing file generate did not write (no header): hand-written


@dataclass(frozen=True)
class GenerateResult:
    root: Path
    changes: tuple[FileChange, ...]
    written: bool
    unreferenced: tuple[str, ...] = ()  # YAML files of the component folder its kustomization no longer lists

    @property
    def refused(self) -> tuple[FileChange, ...]:
        return tuple(c for c in self.changes if c.hand_edited)


def run_generate(
    repo: Path | None,
    *,
    config_file: Path | None = None,
    write: bool = True,
    force: bool = False,
    cache: bool = True,
) -> GenerateResult:
    """Render the repository component and wire the apps; raises UsageError.

    With ``write``, files are replaced atomically, and a generated file edited by
    hand is refused unless ``force``; nothing is written when anything is refused.
    """
    from volsync_kit.adapters import config as config_adapter
    from volsync_kit.adapters import templates
    from volsync_kit.adapters.fs import FileRepo, write_atomically
    from volsync_kit.core import generate as gen

    root = resolve_repo(repo)
    config = config_adapter.load(root, config_file)
    settings = config_adapter.repository_settings(config)
    repository, operations = config_adapter.component_folders(config)
    files = gen.render_component(
        settings,
        templates.component_templates(),
        config.path or config_adapter.CONFIG_NAME,
        config_adapter.component_files(config),
    )
    changes: list[FileChange] = []
    for name, content in files.items():
        path = f"{repository}/{name}"
        old = _read(root / path)
        if old != content:
            hand = old is not None and gen.edited_by_hand(old)
            changes.append(FileChange(path, old, content, hand, old is not None and gen.split_header(old)[0] is None))
    entries = (entry_point(root, config.entry),) if config.entry else None
    model = walk(FileRepo(root), entries, open_cache(root, cache))
    changes.extend(_wiring(root, model, config_adapter.app_specs(config), repository, operations))
    unreferenced = _unreferenced(root, repository, files) if "kustomization.yaml" in files else ()
    if write and changes and (force or not any(c.hand_edited for c in changes)):
        for change in changes:
            write_atomically(root / change.path, change.new)
        return GenerateResult(root, tuple(changes), True, unreferenced)
    return GenerateResult(root, tuple(changes), False, unreferenced)


def _unreferenced(root: Path, folder: str, files: Mapping[str, str]) -> tuple[str, ...]:
    """YAML files of the component folder that the kustomization generate writes does not list:
    a hand-written component's old files, reported (never deleted: git has them, the user decides)."""
    try:
        present = sorted(p.name for p in (root / folder).iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return ()
    return tuple(f"{folder}/{name}" for name in present if name not in files)


def _wiring(
    root: Path, model: RepoModel, specs: list[AppSpec] | None, repository: str, operations: str | None
) -> list[FileChange]:
    from volsync_kit.adapters.yamledit import EditError, wire_app
    from volsync_kit.core.kustomize import join

    by_name = {r.ks.ref.name: r for r in model.results}
    if specs is None:
        specs = [_discovered(result) for result in model.results if _includes(result, repository)]
    edits: dict[str, str] = {}
    originals: dict[str, str | None] = {}
    for spec in specs:
        result = by_name.get(spec.kustomization)
        if result is None:
            raise UsageError(
                f"apps: {spec.name}: no Flux Kustomization named {spec.kustomization} renders in this repository; "
                "add one, or fix the name"
            )
        ks = result.ks
        file = ks.ref.file
        spec_path = join("", (ks.spec_str("path") or "").lstrip("/"))
        text = edits.get(file) or _read(root / file) or ""
        originals.setdefault(file, _read(root / file))
        for folder in filter(None, (repository, operations)):
            component = posixpath.relpath(folder, spec_path or ".")
            try:
                text = wire_app(text, kustomization=ks.ref.name, component=component, variables=gen_vars(spec))
            except EditError as err:
                raise UsageError(f"{file}: {err}") from None
        edits[file] = text
    return [FileChange(f, originals[f], t) for f, t in sorted(edits.items()) if t != originals[f]]


def gen_vars(spec: AppSpec) -> dict[str, str]:
    from volsync_kit.core.generate import app_variables

    return app_variables(spec)


def _includes(result: KsResult, folder: str) -> bool:
    from volsync_kit.core.kustomize import join

    base = (result.ks.spec_str("path") or "").lstrip("/")
    for item in seq_components(result):
        try:
            if join(join("", base), item) == folder:
                return True
        except ValueError:
            continue
    return False


def seq_components(result: KsResult) -> list[str]:
    from volsync_kit.core.model import Scalar, seq_at

    return [
        n.value
        for n in seq_at(result.ks.node, "spec", "components")
        if isinstance(n, Scalar) and isinstance(n.value, str)
    ]


def _discovered(result: KsResult) -> AppSpec:
    from volsync_kit.core.generate import AppSpec

    return AppSpec(result.app, result.ks.ref.name)


def _read(path: Path) -> str | None:
    """A generated file's current text; one it cannot read is an input error,
    never overwritten (generate must not destroy what it cannot read)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as err:
        raise UsageError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}); "
            "save it as UTF-8 or remove it, then rerun"
        ) from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read it ({err.strerror}); fix its permissions, then rerun") from None


def run_doctor(
    repo: Path | None,
    *,
    source: Path | None = None,
    dump: Path | None = None,
    context: str | None = None,
    kubeconfig: str | None = None,
    now: str | None = None,
    config_file: Path | None = None,
    entry: str | None = None,
    cache: bool = True,
    tree: bool = False,
    cluster: str | None = None,
) -> tuple[DoctorReport, list[str], LiveTrees | None]:
    """Diagnose the cluster (live, or a dump) against the repository; raises UsageError.

    Returns the report, notes (what the cluster lacks, what was not read) and,
    with ``tree``, each app's tree with the cluster's status and doctor's findings
    laid over it, and the repository volumes no app renders.
    """

    from volsync_kit.adapters import config as config_adapter
    from volsync_kit.adapters import kube
    from volsync_kit.adapters.fs import FileRepo
    from volsync_kit.core import doctor

    if source is not None and dump is not None:
        raise UsageError("--from and --dump exclude each other: --dump saves the live cluster, --from reads a dump")
    notes: list[str] = []
    taken: datetime.datetime | None = None
    try:
        if source is not None:
            if not source.exists():
                raise UsageError(f"--from {source}: no such file or folder")
            objects, taken, read = kube.load(source)
        else:
            objects, notes, read = kube.fetch(context, kubeconfig)
    except kube.KubeError as err:
        raise UsageError(str(err)) from None
    moment = _moment(now, taken, objects)
    if dump is not None:
        kube.write_dump(dump, objects, moment, read)
        notes.append(f"wrote {len(objects)} objects to {dump} (Secret data removed)")
    root = resolve_repo(repo)
    disk = open_cache(root, cache)
    config = config_adapter.load(root, config_file, disk)
    entry = entry if entry is not None else config.entry
    entries = (entry_point(root, entry),) if entry is not None else None
    model = walk(FileRepo(root), entries, disk, cluster)
    if not model.results:
        notes.append(f"{root} renders no Flux Kustomization: drift and orphans are not checked")
    report = doctor.diagnose(
        objects, model if model.results else None, moment, config_adapter.plan_settings(config), read
    )
    notes.extend(report.notes)
    trees = None
    if tree:
        from volsync_kit.core import tree as tree_core

        trees = tree_core.live_trees(tree_core.build(model), objects, report)
    return report, notes, trees


def _moment(now: str | None, taken: datetime.datetime | None, objects: list[dict[str, object]]) -> datetime.datetime:
    """The time "late" is measured against: --now, else when the dump was taken,
    else its newest event, else the clock."""
    import datetime

    from volsync_kit.core.doctor import parse_time

    if now is not None:
        parsed = parse_time(now)
        if parsed is None:
            raise UsageError(f"--now {now}: not a time; use ISO 8601, such as 2026-11-28T12:00:00Z")
        return parsed
    if taken is not None:
        return taken if taken.tzinfo else taken.replace(tzinfo=datetime.UTC)
    stamps = [
        parse_time(str(o.get("lastTimestamp") or o.get("eventTime") or "")) for o in objects if o.get("kind") == "Event"
    ]
    known = [s for s in stamps if s is not None]
    return max(known) if known else datetime.datetime.now(datetime.UTC)


def run_tree(
    repo: Path | None,
    *,
    app: str | None = None,
    entry: str | None = None,
    cache: bool = True,
    cluster: str | None = None,
    config_file: Path | None = None,
) -> tuple[list[AppTree], list[Problem]]:
    """Each app's resource hierarchy, and the repository's problems (as render reports
    them); raises UsageError for an unknown app."""
    from volsync_kit.adapters.fs import FileRepo
    from volsync_kit.core import render, tree

    root = resolve_repo(repo)
    disk = open_cache(root, cache)
    entry = _configured_entry(root, entry, config_file, disk)
    entries = (entry_point(root, entry),) if entry is not None else None
    model = walk(FileRepo(root), entries, disk, cluster)
    trees = tree.build(model, app)
    problems = list(render.problems(model))
    if app is not None and not trees:
        known = sorted({t.app for t in tree.build(model)})
        raise UsageError(
            f"--app {app}: no app of that name has VolSync objects; known apps: {', '.join(known) or 'none'}"
        )
    return trees, problems


# -- generate --adopt -----------------------------------------------------------------------


@dataclass(frozen=True)
class HandWritten:
    """The repository component the apps already use."""

    folder: str
    pv: Written
    pvc: Written
    kustomization: bool  # its kustomization.yaml lists the PV and PVC files only: generate may write it
    operations: str | None  # another component of the same apps holding their movers


@dataclass(frozen=True)
class AdoptResult:
    found: HandWritten
    config_path: str
    config_old: str | None
    config_new: str
    unexpressed: tuple[str, ...]
    generated: GenerateResult | None  # None: nothing written (dry run, or something cannot be expressed)


def run_adopt(repo: Path | None, *, config_file: Path | None = None, write: bool = True) -> AdoptResult:
    """Write the config that makes ``generate`` reproduce the hand-written
    repository component, then regenerate it in place; raises UsageError.

    Nothing is written when the rendered objects would differ in any field
    (each difference is in ``unexpressed``), or when ``write`` is false.
    """
    from volsync_kit.adapters import config as config_adapter
    from volsync_kit.adapters import templates
    from volsync_kit.adapters.fs import FileRepo, write_atomically
    from volsync_kit.adapters.yamlio import dump
    from volsync_kit.core import adopt
    from volsync_kit.core import generate as gen

    root = resolve_repo(repo)
    config = config_adapter.load(root, config_file)
    shown = config.path or config_adapter.CONFIG_NAME
    taken = [key for key in ("repository", "components") if key in config.data]
    if taken:
        raise UsageError(
            f"{shown} already has {' and '.join(k + ':' for k in taken)}; `volsync-kit generate` renders from it; "
            "to adopt the hand-written component instead, remove them and run `volsync-kit generate --adopt` again"
        )
    entries = (entry_point(root, config.entry),) if config.entry else None
    model = walk(FileRepo(root), entries, None)
    found = _hand_written(FileRepo(root), model)
    read = adopt.settings(found.pv, found.pvc, kustomization=found.kustomization)
    components: dict[str, object] = {"repository": found.folder}
    if found.operations:
        components["operations"] = found.operations
    components["files"] = {"pv": read.files.pv, "pvc": read.files.pvc}
    if not found.kustomization:
        components["kustomization"] = False
    sections = {
        "repository": config_adapter.without_defaults("repository", read.repository),
        "components": config_adapter.without_defaults("components", components),
    }
    unexpressed = list(read.unexpressed)
    invalid = config_adapter.invalid({**config.data, **sections})
    if invalid is not None:
        unexpressed.append(f"{found.pv.file}:{found.pv.line}: {invalid}")
    else:
        rendered = gen.render_component(
            config_adapter.repository_from(read.repository), templates.component_templates(), shown, read.files
        )
        unexpressed += _compare(found, rendered)
    config_path = root / (config_file if config_file is not None else config_adapter.CONFIG_NAME)
    old = _read(config_path)
    header = f"# Written by `volsync-kit generate --adopt` from {found.folder}: `generate` renders it from these.\n"
    new = (old.rstrip("\n") + "\n\n" if old else "") + header + dump(sections)
    if unexpressed or not write:
        return AdoptResult(found, shown, old, new, tuple(unexpressed), None)
    write_atomically(config_path, new)
    # The component is the one just shown to render identically: it is ours now.
    generated = run_generate(root, config_file=config_file, write=True, force=True, cache=False)
    return AdoptResult(found, shown, old, new, (), generated)


def _compare(found: HandWritten, rendered: dict[str, str]) -> list[str]:
    """Where the component ``generate`` would write differs from the one written, by field."""
    from volsync_kit.adapters.yamlio import load_documents
    from volsync_kit.core import adopt
    from volsync_kit.core.model import to_plain

    made: dict[str, dict[str, Any]] = {}
    for name, text in rendered.items():
        for doc in load_documents(text, name):
            plain = to_plain(doc.node) if doc.node is not None else None
            if isinstance(plain, dict) and plain.get("kind") in ("PersistentVolume", "PersistentVolumeClaim"):
                made[str(plain["kind"])] = plain
    out = []
    for written in (found.pv, found.pvc):
        kind = str(written.plain.get("kind"))
        for path in adopt.differences(written.plain, made.get(kind, {})):
            out.append(f"{written.file}:{written.line}: {kind} {path}: the template cannot write it as it is")
    return out


def _hand_written(repo: FileRepo, model: RepoModel) -> HandWritten:
    """The one component folder the apps list that declares a static CephFS
    PV named with ``${APP}``, with its claim; UsageError when there is none or more."""
    from volsync_kit.core.lint import listed_components

    read: dict[str, tuple[Written, Written, bool] | None] = {}  # each folder read once, for every app
    unreadable: list[str] = []  # a component whose files do not parse may be the one to adopt
    holds_movers: dict[str, bool] = {}
    movers: dict[str, set[str]] = {}  # folder -> the other folders its apps list that hold movers
    for result in model.results:
        if result.status == "not-followed":
            continue  # its components are another artifact's folders
        folders = listed_components(result)
        for folder in folders:
            if folder not in read:
                read[folder] = _component(repo, folder, unreadable)
            if read[folder] is None:
                continue
            for other in folders:
                if other != folder and other not in holds_movers:
                    holds_movers[other] = _holds_movers(repo, other)
            movers.setdefault(folder, set()).update(f for f in folders if f != folder and holds_movers[f])
    candidates = {folder: found for folder, found in read.items() if found is not None}
    if not candidates and unreadable:
        raise UsageError(f"{unreadable[0]}; fix it, then run `volsync-kit generate --adopt` again")
    if not candidates:
        raise UsageError(
            "no component your apps list declares a static CephFS PersistentVolume named with ${APP}: "
            "nothing to adopt; write the repository: section by hand (README, 'generate')"
        )
    if len(candidates) > 1:
        raise UsageError(
            f"several components declare a repository volume ({', '.join(sorted(candidates))}); "
            "adopt one by writing its repository: section by hand (README, 'generate')"
        )
    [(folder, (pv, pvc, only))] = candidates.items()
    operations = sorted(movers.get(folder, ()))
    return HandWritten(folder, pv, pvc, only, operations[0] if len(operations) == 1 else None)


def _component_documents(
    repo: FileRepo, folder: str, errors: list[str] | None = None
) -> tuple[list[str], list[tuple[str, Written]]] | None:
    """The kustomization's resources of ``folder`` (None: not a component we can
    read) and every document of the files it lists, by kind."""
    from volsync_kit.core.adopt import Written
    from volsync_kit.core.model import ModelError, to_plain

    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = posixpath.join(folder, name)
        if repo.kind(path) == "file":
            break
    else:
        return None
    try:
        [kustomization] = [to_plain(d.node) for d in repo.documents(path) if d.node is not None]
        if not isinstance(kustomization, dict):
            return None
        listed = kustomization.get("resources")
        resources = [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []
        docs: list[tuple[str, Written]] = []
        for entry in resources:
            file = posixpath.normpath(posixpath.join(folder, entry))
            if repo.kind(file) != "file":
                continue
            for doc in repo.documents(file):
                plain = to_plain(doc.node) if doc.node is not None else None
                if isinstance(plain, dict):
                    docs.append((str(plain.get("kind")), Written(plain, file, doc.loc.line if doc.loc else 1)))
    except ModelError as err:
        if errors is not None:
            errors.append(f"{err.loc or folder}: {err.message}")
        return None
    except ValueError:
        return None
    extra = set(kustomization) - {"apiVersion", "kind", "resources"}
    return (resources if not extra else [*resources, "<other fields>"]), docs


def _component(repo: FileRepo, folder: str, errors: list[str]) -> tuple[Written, Written, bool] | None:
    from volsync_kit.core.volumedocs import is_cephfs_driver

    read = _component_documents(repo, folder, errors)
    if read is None:
        return None
    listed, docs = read
    pvs = [
        w
        for kind, w in docs
        if kind == "PersistentVolume"
        and "${APP}" in str((w.plain.get("metadata") or {}).get("name", ""))
        and is_cephfs_driver(((w.plain.get("spec") or {}).get("csi") or {}).get("driver"))
    ]
    if len(pvs) != 1:
        return None
    [pv] = pvs
    name = pv.plain["metadata"]["name"]
    claims = [w for kind, w in docs if kind == "PersistentVolumeClaim"]
    bound = [w for w in claims if (w.plain.get("spec") or {}).get("volumeName") == name] or claims
    if len(bound) != 1:
        return None
    [pvc] = bound
    own = {posixpath.basename(pv.file), posixpath.basename(pvc.file)}
    only = {posixpath.basename(r.lstrip("./")) for r in listed} == own and len(docs) == 2
    return pv, pvc, only


def _holds_movers(repo: FileRepo, folder: str) -> bool:
    read = _component_documents(repo, folder)
    return read is not None and any(kind in ("ReplicationSource", "ReplicationDestination") for kind, _ in read[1])
