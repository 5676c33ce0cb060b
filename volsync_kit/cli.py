"""The command line: parse options, call a service, print, set the exit code.

The only module that imports typer (which vendors its own click; never
import click).  Heavy modules are imported inside the commands so that the
pre-commit hook and ``--help`` start fast.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from volsync_kit import __version__
from volsync_kit.errors import UsageError
from volsync_kit.exitcodes import HELP, ExitCode, epilog

if TYPE_CHECKING:
    from collections.abc import Sequence

    from volsync_kit.app import AdoptResult, FileChange

app = typer.Typer(
    name="volsync-kit",
    help="Lint, render, plan and draw the static CephFS repository volumes of VolSync in a Flux repository, "
    "and diagnose them in the cluster.",
    epilog=HELP,
    no_args_is_help=True,
    add_completion=False,
    # -h as well as --help, for every subcommand (the settings are inherited).
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    # Plain help: rich costs ~0.4 s of imports, and the hook starts on every commit.
    rich_markup_mode=None,
)


class RenderFormat(enum.StrEnum):
    yaml = "yaml"
    json = "json"


class PlanFormat(enum.StrEnum):
    markdown = "markdown"
    json = "json"
    shell = "shell"


class Scenario(enum.StrEnum):
    stuck_cache = "stuck-cache"
    full_reset = "full-reset"


class FailOn(enum.StrEnum):
    # upper-case members: ``replace`` would shadow str.replace
    REPLACE = "replace"
    DELETE = "delete"
    DANGER = "danger"


_TRIPPED = {
    FailOn.REPLACE: "replaces volumes (delete and recreate)",
    FailOn.DELETE: "deletes volume objects",
    FailOn.DANGER: "raises a danger flag",
}


def _fail_on(values: list[str] | None) -> list[str]:
    """``--fail-on`` takes commas as well as repeats; each value one of FailOn."""
    out: list[str] = []
    for value in values or []:
        for gate in filter(None, (v.strip() for v in value.split(","))):
            if gate not in {g.value for g in FailOn}:
                raise typer.BadParameter(f"{gate!r} is not one of {', '.join(g.value for g in FailOn)}")
            out.append(gate)
    return out


class LintFormat(enum.StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class Show(enum.StrEnum):
    """The lowest severity lint prints in text and github output."""

    error = "error"
    warning = "warning"
    info = "info"


RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="Root of the Flux repository. Default: the git top level of the current folder."),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Config file. Default: .volsync-kit.yaml at the repository root.")
]
# lint, plan and doctor read the config, whose `entry` comes before detection.
EntryOption = Annotated[
    str | None, typer.Option("--entry", help="Folder Flux syncs first. Default: the config's entry, else detected.")
]
DetectedEntryOption = Annotated[
    str | None,
    typer.Option("--entry", help="Folder Flux syncs first. Default: detected from FluxInstance or flux-system."),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Only this cluster, in a repository that syncs several (named by what sets its entry folder apart).",
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show a traceback on internal errors.")]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the output to FILE instead of standard output: atomically, and only when the run succeeds "
        "(exit 0 or 1), so a failed run never replaces it.",
        metavar="FILE",
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Only the output and errors: no notes on standard error, no summary line."),
]
NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Neither read nor write the cache of parsed files and builds "
        "($VOLSYNC_KIT_CACHE_DIR, else $XDG_CACHE_HOME/volsync-kit). Without it, a detached "
        "process writes the cache after the command returns ($VOLSYNC_KIT_CACHE_DETACH=0: before).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"volsync-kit {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Lint, render, plan and draw the static CephFS repository volumes of VolSync in a Flux
    repository, and diagnose them in the cluster."""


def _fail(message: str, code: ExitCode) -> NoReturn:
    typer.echo(f"volsync-kit: error: {message}", err=True)
    raise typer.Exit(int(code))


_ENDS_PROCESS = False  # set by main(): the console script ends with os._exit once the command returns


def _guard(debug: bool, body: Callable[[], int], output: Path | None = None) -> NoReturn:
    """Map every failure to its documented exit code, never a traceback; with
    ``output``, what the command prints goes to that file once it succeeded."""
    import io

    # A run builds millions of small acyclic objects (located trees) that live
    # to the end; the cyclic collector would re-scan them over and over (a
    # third of a 2,000-app lint).  Reference counting still frees everything.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    stdout = sys.stdout
    captured = io.StringIO() if output is not None else None
    if captured is not None:
        sys.stdout = captured
    try:
        code = body()
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
    except UsageError as err:
        _fail(str(err), ExitCode.INPUT_ERROR)
    except typer.Exit:
        raise
    except BrokenPipeError:
        # The reader stopped reading (`| head`): not an error of ours. Say nothing,
        # and keep Python's exit-time flush from complaining into the terminal.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(int(ExitCode.PIPE_CLOSED)) from None
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.INTERNAL_ERROR)
    except Exception as err:
        if debug:
            raise
        _fail(f"internal error: {type(err).__name__}: {err}; rerun with --debug and report it", ExitCode.INTERNAL_ERROR)
    finally:
        sys.stdout = stdout
        # Not when the process ends right after (see main): the first collection
        # after enabling would walk every object the run made, all still in the
        # youngest generation (a second at 2,000 apps), to free nothing.
        if gc_was_enabled and not _ENDS_PROCESS:
            gc.enable()
    if output is not None and captured is not None:
        _write_output(output, captured.getvalue(), code)
    raise typer.Exit(code)


def _write_output(output: Path, text: str, code: int) -> None:
    if code not in (ExitCode.OK, ExitCode.FINDINGS):
        _note(f"{output} not written: the run failed (exit {code}); the file is left as it was", force=True)
        return
    from volsync_kit.adapters.fs import write_atomically

    try:
        write_atomically(output, text)
    except OSError as err:
        _fail(f"--output {output}: cannot write it ({err.strerror}); choose another path", ExitCode.INPUT_ERROR)


def _colour(output: Path | None) -> bool:
    """Colour only for a person at a terminal: never into a file or a pipe, and
    never when NO_COLOR is set to anything (https://no-color.org)."""
    import os

    return output is None and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


_quiet = False  # -q of the running command: no notes on standard error


def _note(text: str, *, force: bool = False) -> None:
    """A ``volsync-kit: ...`` note on standard error, unless -q."""
    if force or not _quiet:
        typer.echo(f"volsync-kit: {text}", err=True)


def _set_quiet(value: bool) -> None:
    global _quiet
    _quiet = value


@app.command(epilog=epilog(errors="usage, config or input error, or an app that cannot be rendered"))
def render(
    repo: RepoOption = None,
    app_name: Annotated[
        str | None, typer.Option("--app", help="Only this app (its APP variable or Kustomization name).")
    ] = None,
    output_format: Annotated[RenderFormat, typer.Option("--format", help="Output format.")] = RenderFormat.yaml,
    entry: DetectedEntryOption = None,
    config: ConfigOption = None,
    cluster: ClusterOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print informational notes.")] = False,
    quiet: QuietOption = False,
    output: OutputOption = None,
    no_cache: NoCacheOption = False,
    debug: DebugOption = False,
) -> None:
    """Print each app's PersistentVolumes, PersistentVolumeClaims, ReplicationSources and
    ReplicationDestinations exactly as Flux would apply them, with the restic Secrets they use.

    Problems go to standard error as `file:line:col: severity [code] message`. Apps that
    cannot be rendered (a missing component, an unresolved variable) are reported and the
    others still print; the exit code is then 2. A problem in a file several apps read is
    printed once, with the Kustomizations that met it.
    """

    def body() -> int:
        from volsync_kit import app as services
        from volsync_kit.adapters.yamlio import dump
        from volsync_kit.report import render_out

        result = services.run_render(
            repo, entry=entry, app=app_name, cache=not no_cache, cluster=cluster, config_file=config
        )
        chunks = (
            render_out.iter_json(result) if output_format is RenderFormat.json else render_out.iter_yaml(result, dump)
        )
        for chunk in chunks:  # streamed: a large repository's output is never held whole
            sys.stdout.write(chunk)
        for line in render_out.problem_lines(result.problems, verbose and not quiet, errors_only=quiet):
            typer.echo(line, err=True)
        return int(ExitCode.INPUT_ERROR if result.has_errors else ExitCode.OK)

    _set_quiet(quiet)
    _guard(debug, body, output)


@app.command(epilog=epilog("a finding of severity error (warnings and infos do not fail)"))
def lint(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Only report findings in these files, or in apps whose rendering reads them."),
    ] = None,
    repo: RepoOption = None,
    output_format: Annotated[LintFormat, typer.Option("--format", help="Output format.")] = LintFormat.text,
    show: Annotated[
        Show | None,
        typer.Option(
            "--show",
            help="The lowest severity printed in text and github output: error, warning (default) or info. "
            "json and sarif always hold every finding.",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print infos: --show info.")] = False,
    config: ConfigOption = None,
    entry: EntryOption = None,
    cluster: ClusterOption = None,
    quiet: QuietOption = False,
    output: OutputOption = None,
    no_cache: NoCacheOption = False,
    debug: DebugOption = False,
) -> None:
    r"""Check every static CephFS repository volume, in its file and as Flux renders it for each app.

    Text output is `path:line:col: severity RULE message [app]`, then a summary.
    A finding in a file several apps share is printed once, with the apps:
    `[31 apps: a, b, c, …]`. Errors and warnings are printed; infos only with
    -v (--show info), and --show error leaves warnings out too. The summary
    counts the lines, hidden ones too, and says how to see those. json and
    sarif keep every app's finding, whatever --show says.
    Exit 0 when no finding is an error, 1 when one is, 2 for a usage or
    config error. The whole repository is always modelled: a change to a
    component affects every app that uses it. With FILES (as the pre-commit
    hook passes them), only findings in those files, or in apps whose
    rendering reads them, are reported; naming the config file reports all.
    A run that checks no app, or a named file that no rendered app reads,
    says so on stderr (the exit code is unchanged).
    """
    if verbose and show not in (None, Show.info):
        _fail(f"-v is --show info; it cannot go with --show {show}", ExitCode.INPUT_ERROR)
    if (verbose or show) and output_format in (LintFormat.json, LintFormat.sarif):
        option = "-v" if verbose else "--show"
        _fail(
            f"{option} does not apply here: --format {output_format.value} holds every finding; leave it out",
            ExitCode.INPUT_ERROR,
        )
    lowest = Show.info if verbose else (show or Show.warning)

    def body() -> int:
        from volsync_kit import app as services
        from volsync_kit.core.model import Severity
        from volsync_kit.report import lint_out

        only = files or None
        if only and _names_config(only, services.resolve_repo(repo), config):
            only = None  # the config changes every finding: report them all
        result = services.run_lint(
            repo, files=only, config_file=config, entry=entry, cache=not no_cache, cluster=cluster
        )
        if output_format is LintFormat.json:
            sys.stdout.write(lint_out.to_json(result))
        elif output_format is LintFormat.sarif:
            from volsync_kit.core.rules import all_rules  # the hook's text output loads no rule

            sys.stdout.write(lint_out.to_sarif(result, all_rules(), __version__))
        elif output_format is LintFormat.github:
            sys.stdout.write(lint_out.to_github(result, Severity(lowest.value)))
        else:
            sys.stdout.write(
                lint_out.to_text(result, Severity(lowest.value), summary=not quiet, colour=_colour(output))
            )
        # Whatever the format: a run that checked nothing must not pass unnoticed.
        sys.stderr.write(lint_out.unchecked_lines(result))
        return int(ExitCode.FINDINGS if result.failed else ExitCode.OK)

    _set_quiet(quiet)
    _guard(debug, body, output)


def _refuse_what_does_not_apply(*options: tuple[str, bool, str]) -> None:
    """An option that would be ignored is a usage error: silently dropping it
    lets a user believe it took effect."""
    for name, given, why in options:
        if given:
            raise UsageError(f"{name} does not apply here: {why}; leave it out")


def _names_config(files: list[Path], root: Path, config: Path | None) -> bool:
    """Whether ``files`` (as pre-commit passes them) include the lint config."""
    target = (config if config is not None else root / ".volsync-kit.yaml").resolve()
    return any((f if f.is_absolute() else Path.cwd() / f).resolve() == target for f in files)


@app.command(
    epilog=epilog("a --fail-on gate trips", "usage, config or input error, or a head or base that does not build")
)
def plan(
    repo: RepoOption = None,
    base: Annotated[str | None, typer.Option("--base", help="The git ref the cluster runs. Default: HEAD.")] = None,
    head: Annotated[
        str | None, typer.Option("--head", help="The git ref to compare with. Default: the working tree.")
    ] = None,
    staged: Annotated[bool, typer.Option("--staged", help="Compare with the git index (staged changes).")] = False,
    output_format: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.markdown,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when the plan replaces, deletes, or raises a danger flag: replace, delete, danger; "
            "commas or repeats (--fail-on delete,danger).",
            callback=_fail_on,
            metavar="GATE[,GATE]",
        ),
    ] = None,
    config: ConfigOption = None,
    entry: EntryOption = None,
    cluster: ClusterOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="With --format shell: do not ask (the kube context is still printed).")
    ] = False,
    context: Annotated[
        str | None,
        typer.Option("--context", help="Pin every kubectl and flux command of the checklist to this kube context."),
    ] = None,
    scenario: Annotated[
        Scenario | None,
        typer.Option("--scenario", help="Print the guide's Scenario 2 or 3 for this repository instead of a diff."),
    ] = None,
    quiet: QuietOption = False,
    output: OutputOption = None,
    no_cache: NoCacheOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare the repository with a git base: what changes in place, what must be replaced or
    is deleted, the danger flags, and the ordered cleanup-and-resume checklist.

    Both states are read from git objects (or the working tree); nothing is checked out. Exit 0
    when a plan was produced, 1 when a --fail-on gate trips, 2 for errors (an unknown ref, bad
    config, a name that is not a valid Kubernetes name, or a head or base that does not build:
    the plan is still printed, and each render failure goes to standard error).
    """

    def body() -> int:
        from volsync_kit import app as services
        from volsync_kit.report import plan_out, plan_shell

        _refuse_what_does_not_apply(
            ("--base", base is not None and scenario is not None, "a scenario compares with no base"),
            ("--fail-on", bool(fail_on) and scenario is not None, "a scenario has no changes to gate"),
            ("--yes", yes and output_format is not PlanFormat.shell, "only the --format shell script asks"),
        )
        result = services.run_plan(
            repo,
            base=base or "HEAD",
            head=head,
            staged=staged,
            config_file=config,
            entry=entry,
            scenario=scenario.value if scenario else None,
            cache=not no_cache,
            cluster=cluster,
            context=context,
        )
        if output_format is PlanFormat.json:
            text = plan_out.to_json(result)
        elif output_format is PlanFormat.shell:
            text = plan_shell.to_shell(result, yes=yes)
        else:
            text = plan_out.to_markdown(result)
        sys.stdout.write(text)
        if result.diff.failures:
            # The head or the base does not build, so the plan is incomplete: an input error.
            from volsync_kit.report import render_out

            for failure in result.diff.failures:
                at = f" [at the base {result.base[:12]}: not compared]" if failure.at == "base" else ""
                for problem in failure.problems:
                    typer.echo(render_out.problem_line(problem) + at, err=True)
            return int(ExitCode.INPUT_ERROR)
        gates = {FailOn(g) for g in fail_on or []}
        tripped = [
            gate
            for gate, hit in (
                (FailOn.REPLACE, result.has("replace")),
                (FailOn.DELETE, result.has("delete")),
                (FailOn.DANGER, bool(result.dangers)),
            )
            if gate in gates and hit
        ]
        for gate in tripped:
            _note(f"--fail-on {gate.value}: the plan {_TRIPPED[gate]}")
        return int(ExitCode.FINDINGS if tripped else ExitCode.OK)

    _set_quiet(quiet)
    _guard(debug, body, output)


@app.command(
    epilog=epilog(
        "--check finds files out of date, or --adopt finds a field the template cannot write as it is",
        "usage or config error, or a generated file edited by hand",
    )
)
def generate(
    repo: RepoOption = None,
    config: ConfigOption = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff when files are out of date (CI).")
    ] = False,
    show_diff: Annotated[bool, typer.Option("--diff", help="Show what would change, without writing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite generated files that were edited by hand.")] = False,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Take over the hand-written repository component your apps use: write the config that "
            "reproduces it, object for object, then regenerate it in place (with --diff: only show).",
        ),
    ] = False,
    quiet: QuietOption = False,
    no_cache: NoCacheOption = False,
    debug: DebugOption = False,
) -> None:
    """Render the repository PV/PVC component from .volsync-kit.yaml and wire every app into it
    (spec.components and postBuild.substitute of each app's Flux Kustomization).

    Writes are atomic; running it twice changes nothing. A repository with a hand-written
    component starts with --adopt. Exit 0 when done or up to date, 1 when --check finds drift or
    --adopt cannot reproduce the component, 2 for config errors or a hand-edited generated file.
    """

    def body() -> int:
        import difflib

        from volsync_kit import app as services

        _refuse_what_does_not_apply(
            ("--force", force and (check or show_diff), "--check and --diff write nothing"),
            ("--check", check and adopt, "--adopt writes the config --check would compare against; use --diff"),
            ("--force", force and adopt, "--adopt overwrites only a component it shows renders the same"),
        )
        if adopt:
            return _adopt(services.run_adopt(repo, config_file=config, write=not show_diff), show_diff)

        result = services.run_generate(
            repo, config_file=config, write=not (check or show_diff), force=force, cache=not no_cache
        )
        if check or show_diff:
            for change in result.changes:
                old = (change.old or "").splitlines(keepends=True)
                new = change.new.splitlines(keepends=True)
                before = f"a/{change.path}" if change.old is not None else "/dev/null"
                sys.stdout.writelines(difflib.unified_diff(old, new, before, f"b/{change.path}"))
            if check and result.changes:
                _note(f"{len(result.changes)} file(s) out of date; {_next_generate(result.changes)}")
                return int(ExitCode.FINDINGS)
            return int(ExitCode.OK)
        if result.refused and not result.written:
            for change in result.refused:
                why = (
                    f"volsync-kit did not write it (it has no generated header); {ADOPT_OR_FORCE}"
                    if change.never_generated
                    else "it was edited by hand since it was generated; move the change into .volsync-kit.yaml, "
                    "or rerun with --force"
                )
                typer.echo(f"volsync-kit: error: refusing to overwrite {change.path}: {why}", err=True)
            return int(ExitCode.INPUT_ERROR)
        for change in result.changes:
            _note(f"{'created' if change.old is None else 'updated'} {change.path}")
        _unreferenced(result.unreferenced)
        if not result.changes:
            _note("up to date")
        return int(ExitCode.OK)

    _set_quiet(quiet)
    _guard(debug, body)


ADOPT_OR_FORCE = (
    "to keep every volume as it is, remove repository: and components: from the config and run "
    "`volsync-kit generate --adopt`; to replace it, rerun with --force once `volsync-kit plan` shows what that replaces"
)


def _unreferenced(paths: Sequence[str]) -> None:
    import shlex

    for path in paths:
        _note(f"{path} is no longer listed by the component; delete it (git rm {shlex.quote(path)})")


def _next_generate(changes: Sequence[FileChange]) -> str:
    """The command to run next: adopt a hand-written component before generating over it."""
    if any(c.never_generated for c in changes):
        return f"volsync-kit did not write the component: {ADOPT_OR_FORCE}"
    return "run `volsync-kit generate`"


def _adopt(result: AdoptResult, show_diff: bool) -> int:
    import difflib

    found = result.found
    if result.unexpressed:
        for line in result.unexpressed:
            typer.echo(f"volsync-kit: {line}", err=True)
        typer.echo(
            f"volsync-kit: nothing written: generate cannot reproduce {found.folder} exactly, and any change "
            "to a repository volume's source replaces it; keep the component by hand, or write repository: "
            "yourself and let `volsync-kit plan` show what it replaces",
            err=True,
        )
        return int(ExitCode.FINDINGS)
    if show_diff or result.generated is None:
        old = (result.config_old or "").splitlines(keepends=True)
        before = f"a/{result.config_path}" if result.config_old is not None else "/dev/null"
        sys.stdout.writelines(
            difflib.unified_diff(old, result.config_new.splitlines(keepends=True), before, f"b/{result.config_path}")
        )
        _note(f"{found.folder} renders identically from these settings; run without --diff to write them")
        return int(ExitCode.OK)
    _note(f"wrote {result.config_path}: repository: and components: from {found.folder}")
    for change in result.generated.changes:
        _note(f"regenerated {change.path} (the same objects, now with generate's header)")
    _unreferenced(result.generated.unreferenced)
    _note("next: `volsync-kit plan` should show nothing to replace; then commit")
    return int(ExitCode.OK)


class DoctorFormat(enum.StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command(epilog=epilog("findings", "usage, config or input error: kubectl failing, an unreadable dump"))
def doctor(
    repo: RepoOption = None,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Read a saved dump (a List as kubectl get -o json prints, or a folder of them)."),
    ] = None,
    dump: Annotated[
        Path | None,
        typer.Option("--dump", help="Also save what was read from the cluster to this file (no Secret data)."),
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="kubectl context.")] = None,
    kubeconfig: Annotated[str | None, typer.Option("--kubeconfig", help="kubectl kubeconfig file.")] = None,
    output_format: Annotated[DoctorFormat, typer.Option("--format", help="Output format.")] = DoctorFormat.text,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Measure late syncs against this time (ISO 8601). Default: the dump's, else now."),
    ] = None,
    config: ConfigOption = None,
    entry: EntryOption = None,
    cluster: ClusterOption = None,
    tree: Annotated[
        bool, typer.Option("--tree", help="Also draw each app's tree with the cluster's status and its orphans.")
    ] = False,
    output: OutputOption = None,
    no_cache: NoCacheOption = False,
    debug: DebugOption = False,
) -> None:
    """Diagnose the cluster's VolSync volumes against the repository: stuck cache claims, mount
    failures, Released or orphaned repository volumes, drift from git, and failing, late or locked
    backups, each with its evidence and the procedure that fixes it.

    Reads the cluster with read-only `kubectl get -o json` calls only, or a dump (--from). Exit 0
    when healthy, 1 when there are findings, 2 for errors (kubectl failing, an unreadable dump).
    """

    def body() -> int:
        from volsync_kit import app as services
        from volsync_kit.report import doctor_out, tree_out

        report, notes, trees = services.run_doctor(
            repo,
            source=source,
            dump=dump,
            context=context,
            kubeconfig=kubeconfig,
            now=now,
            config_file=config,
            entry=entry,
            cache=not no_cache,
            tree=tree,
            cluster=cluster,
        )
        if output_format is DoctorFormat.json:
            sys.stdout.write(doctor_out.to_json(report, notes, tree_out.live_json(trees) if trees else None))
        elif output_format is DoctorFormat.markdown:
            sys.stdout.write(doctor_out.to_markdown(report, notes))
            if trees and (trees.apps or trees.unclaimed):
                mermaid = tree_out.to_mermaid(list(trees.apps), trees.unclaimed)
                sys.stdout.write("\n```mermaid\n" + mermaid + "```\n")
        else:
            sys.stdout.write(doctor_out.to_text(report, notes))
            if trees and (trees.apps or trees.unclaimed):
                sys.stdout.write("\n" + tree_out.to_text(list(trees.apps), trees.unclaimed))
        return int(ExitCode.OK if report.healthy else ExitCode.FINDINGS)

    _guard(debug, body, output)


class TreeFormat(enum.StrEnum):
    text = "text"
    mermaid = "mermaid"
    json = "json"


@app.command(epilog=epilog(errors="usage, config or input error, or an app that cannot be rendered"))
def tree(
    repo: RepoOption = None,
    app_name: Annotated[
        str | None, typer.Option("--app", help="Only this app (its APP variable or Kustomization name).")
    ] = None,
    output_format: Annotated[TreeFormat, typer.Option("--format", help="Output format.")] = TreeFormat.text,
    entry: DetectedEntryOption = None,
    config: ConfigOption = None,
    cluster: ClusterOption = None,
    output: OutputOption = None,
    no_cache: NoCacheOption = False,
    debug: DebugOption = False,
) -> None:
    """Draw each app's VolSync resource hierarchy: its Flux Kustomizations, each ReplicationSource and
    ReplicationDestination with the claims, snapshots and mover Job VolSync creates for it (by
    VolSync's names), and the repository claim with the static volume it binds.

    `text` is a tree like the guide's, `mermaid` a flowchart GitHub renders, `json` versioned.
    Exit 0, or 2 for errors (an unknown --app, apps that cannot be rendered: the others are still
    drawn, and each failure goes to standard error).
    """

    def body() -> int:
        from volsync_kit import app as services
        from volsync_kit.core.model import Severity
        from volsync_kit.report import render_out, tree_out

        trees, problems = services.run_tree(
            repo, app=app_name, entry=entry, cache=not no_cache, cluster=cluster, config_file=config
        )
        if output_format is TreeFormat.json:
            sys.stdout.write(tree_out.to_json(trees))
        elif output_format is TreeFormat.mermaid:
            sys.stdout.write(tree_out.to_mermaid(trees))
        else:
            sys.stdout.write(tree_out.to_text(trees))
        errors = [p for p in problems if p.severity is Severity.ERROR]
        for line in render_out.problem_lines(errors):  # the apps that failed are missing from the trees
            typer.echo(line, err=True)
        return int(ExitCode.INPUT_ERROR if errors else ExitCode.OK)

    _guard(debug, body, output)


@app.command(name="commit-msg")
def commit_msg(
    message_file: Annotated[Path, typer.Argument(help="The commit message file git passes to the hook.")],
    source: Annotated[
        str | None, typer.Argument(help="git's commit source: message, template, merge, squash, commit.")
    ] = None,
    sha: Annotated[str | None, typer.Argument(help="The commit being amended, if any (unused).")] = None,
    repo: RepoOption = None,
) -> None:
    """prepare-commit-msg hook: append the plan of the staged change to the commit message when
    it replaces or deletes volumes, raises a danger flag or breaks an app's render.

    Leaves merge, squash and amend messages alone, and never blocks a commit (always exit 0).
    """
    import os

    from volsync_kit import app as services

    source = source or os.environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
    try:
        done = services.run_commit_msg(repo, message_file, source)
    except Exception as err:  # a commit hook must never block a commit
        done = f"no plan: {type(err).__name__}: {err}"
    typer.echo(f"volsync-kit: {done}", err=True)


class RulesFormat(enum.StrEnum):
    text = "text"
    markdown = "markdown"


@app.command(name="rules", epilog=epilog(errors="usage error"))
def rules_command(
    output_format: Annotated[
        RulesFormat,
        typer.Option("--format", help="text: one line per rule; markdown: the rule reference (docs/rules.md)."),
    ] = RulesFormat.text,
) -> None:
    """List every lint rule: ID, name, default severity and summary.

    `--format markdown` prints the whole rule reference instead: an index, then each rule's
    documentation, as `explain` prints it. docs/rules.md is this output.
    """
    from volsync_kit.core.rules import all_rules
    from volsync_kit.report import lint_out, rules_doc

    if output_format is RulesFormat.markdown:
        sys.stdout.write(rules_doc.to_markdown(all_rules()))
    else:
        sys.stdout.write(lint_out.rules_table(all_rules()))


@app.command(epilog=epilog(errors="usage error, or an unknown rule"))
def explain(rule: Annotated[str, typer.Argument(help="A rule ID (VK101) or name (static-volume).")]) -> None:
    """Print a rule's documentation: what it checks, why, an example and the fix."""
    from volsync_kit.core.rules import get

    found = get(rule)
    if found is None:
        _fail(f"no rule {rule!r}; `volsync-kit rules` lists them", ExitCode.INPUT_ERROR)
    typer.echo(f"{found.id} {found.name} (default severity: {found.severity.value})\n")
    typer.echo(found.doc)


def main() -> None:
    """The console script: run the command, then end the process without
    freeing what the run built.  Freeing a large repository's model object by
    object takes longer than anything the process still has to do (0.3 s of a
    2,000-app plan); the operating system takes the memory back at once."""
    from volsync_kit import app as services

    global _ENDS_PROCESS
    _ENDS_PROCESS = True
    services.KEPT_TO_EXIT = []
    services.DETACH_WRITES = True
    _only_the_command_run(sys.argv[1:2])
    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if (code is not None and not isinstance(code, int)) or sys.getprofile() or sys.gettrace():
        # A message to print, or a profiler or coverage that reports at exit:
        # Python's own exit.
        raise SystemExit(code)
    _exit_now(code or 0)


def _only_the_command_run(first: list[str]) -> None:
    """Keep only the subcommand this process runs: typer builds a command, by
    inspecting its function's signature, for every one it holds, which is a
    tenth of the hook's warm run.  Anything else (a top-level option, no
    command, a misspelt one) keeps them all, for the group's help and errors."""
    if not first:
        return
    named = [info for info in app.registered_commands if _command_name(info) == first[0]]
    if len(named) == 1:
        app.registered_commands = named


def _command_name(info: typer.models.CommandInfo) -> str:
    if info.name:
        return info.name
    return typer.main.get_command_name(info.callback.__name__) if info.callback is not None else ""


def _exit_now(code: int) -> NoReturn:
    import atexit
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    # Then the cache's finalizer: it hands what is pending to a writer of its own.
    atexit._run_exitfuncs()
    os._exit(code)
