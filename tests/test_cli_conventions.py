"""The conventions a user expects of a CLI (issue 15, item 3): -o FILE written
atomically and never over a failed run, -q, each command's own exit codes
in its help, options that do not apply refused, and no walk of an arbitrary
folder outside git."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers_repo import EXAMPLE, REPO_COMPONENT, committed_example, git, run_cli
from volsync_kit.adapters.cache import wait_for_writers
from volsync_kit.cli import app

# -- -o/--output -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["render", "--format", "json"],
        ["lint", "--format", "json"],
        ["tree", "--format", "json"],
    ],
)
def test_output_file_holds_exactly_what_stdout_would(tmp_path: Path, command: list[str]) -> None:
    printed = run_cli(*command, "--repo", str(EXAMPLE), "--no-cache")
    target = tmp_path / "out" / "result.json"
    written = run_cli(*command, "--repo", str(EXAMPLE), "--no-cache", "-o", str(target))
    assert written.returncode == printed.returncode
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout
    json.loads(target.read_text(encoding="utf-8"))
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]  # no temporary file left


def test_output_file_is_left_alone_when_the_run_fails(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(repo)], check=True)
    (repo / REPO_COMPONENT / "kustomization.yaml").unlink()  # every app's component is gone
    target = tmp_path / "rendered.yaml"
    target.write_text("what the user had\n", encoding="utf-8")
    os.chmod(target, 0o600)
    result = run_cli("render", "--repo", str(repo), "--no-cache", "-o", str(target))
    assert result.returncode == 2
    assert target.read_text(encoding="utf-8") == "what the user had\n"
    assert f"volsync-kit: {target} not written: the run failed (exit 2); the file is left as it was" in result.stderr


def test_output_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "plan.sh"
    target.write_text("old\n", encoding="utf-8")
    os.chmod(target, 0o750)
    repo = committed_example(tmp_path)
    pv = repo / REPO_COMPONENT / "pv.yaml"
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /backups/${APP}"))
    result = run_cli("plan", "--repo", str(repo), "--format", "shell", "-o", str(target), "--no-cache")
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash")
    assert target.stat().st_mode & 0o777 == 0o750


def test_output_into_a_folder_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    result = run_cli("render", "--repo", str(EXAMPLE), "--no-cache", "-o", str(blocked / "x.yaml"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"volsync-kit: error: --output {blocked / 'x.yaml'}: cannot write it")


# -- -q/--quiet ---------------------------------------------------------------------------


def test_quiet_plan_keeps_the_exit_code_and_drops_the_note(tmp_path: Path) -> None:
    repo = committed_example(tmp_path)
    pv = repo / REPO_COMPONENT / "pv.yaml"
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /backups/${APP}"))
    loud = run_cli("plan", "--repo", str(repo), "--fail-on", "replace", "--no-cache")
    quiet = run_cli("plan", "--repo", str(repo), "--fail-on", "replace", "--no-cache", "-q")
    assert loud.returncode == quiet.returncode == 1
    assert loud.stderr == "volsync-kit: --fail-on replace: the plan replaces volumes (delete and recreate)\n"
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


def test_quiet_render_prints_errors_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(repo)], check=True)
    loud = run_cli("render", "--repo", str(repo), "--no-cache", "-v")
    quiet = run_cli("render", "--repo", str(repo), "--no-cache", "-v", "-q")
    assert " info " in loud.stderr  # the example has informational notes
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


# -- options that do not apply ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--scenario", "full-reset", "--base", "HEAD"], "--base"),
        (["--scenario", "stuck-cache", "--fail-on", "danger"], "--fail-on"),
        (["--yes"], "--yes"),
        (["--format", "json", "--yes"], "--yes"),
    ],
)
def test_an_option_that_does_not_apply_is_a_usage_error(tmp_path: Path, args: list[str], option: str) -> None:
    repo = committed_example(tmp_path)
    result = run_cli("plan", "--repo", str(repo), *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"volsync-kit: error: {option} does not apply here: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["lint", "--format", "json", "-v"], "-v"),
        (["lint", "--format", "sarif", "--show", "info"], "--show"),
        (["generate", "--check", "--force"], "--force"),
        (["generate", "--diff", "--force"], "--force"),
    ],
)
def test_lint_and_generate_refuse_what_does_not_apply(args: list[str], option: str) -> None:
    result = run_cli(*args, "--repo", str(EXAMPLE), "--no-cache")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"volsync-kit: error: {option} does not apply here: ")


def test_show_applies_to_github_annotations() -> None:
    result = run_cli("lint", "--format", "github", "--show", "info", "--repo", str(EXAMPLE), "--no-cache")
    assert result.returncode == 0, result.stderr


def test_yes_with_the_shell_format_is_accepted(tmp_path: Path) -> None:
    repo = committed_example(tmp_path)
    result = run_cli("plan", "--repo", str(repo), "--format", "shell", "--yes")
    assert result.returncode == 0, result.stderr


# -- each command's own exit codes -------------------------------------------------------------

EXIT_CODES = {
    "render": ("Exit codes: 0 OK; 2 usage, config or input error, or an app that cannot be rendered;", None),
    "tree": ("Exit codes: 0 OK; 2 usage, config or input error, or an app that cannot be rendered;", None),
    "lint": ("Exit codes: 0 OK; 1 a finding of severity error", "doctor"),
    "plan": ("Exit codes: 0 OK; 1 a --fail-on gate trips; 2 usage, config or input error, or a head", "doctor"),
    "generate": ("Exit codes: 0 OK; 1 --check finds files out of date, or --adopt finds a field", "doctor"),
    "doctor": ("Exit codes: 0 OK; 1 findings; 2 usage, config or input error: kubectl failing", "gate"),
}


@pytest.mark.parametrize("command", sorted(EXIT_CODES))
def test_each_command_documents_its_own_exit_codes(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=300)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    own, foreign = EXIT_CODES[command]
    assert own in text
    assert text.count("Exit codes:") == 1
    if foreign:
        assert f"1 {foreign}" not in text  # not another command's meaning of 1
    if command in ("render", "tree"):
        assert "; 1 " not in text  # they never exit 1


# -- outside git -----------------------------------------------------------------------------


def test_outside_git_without_repo_reads_nothing_and_says_what_to_pass(tmp_path: Path) -> None:
    subprocess.run(["cp", "-r", str(EXAMPLE), str(tmp_path / "one")], check=True)
    subprocess.run(["cp", "-r", str(EXAMPLE), str(tmp_path / "two")], check=True)
    result = run_cli("lint", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"volsync-kit: error: {tmp_path} is not in a git repository, and neither it nor a folder above holds "
        ".volsync-kit.yaml: pass --repo DIR, the root of your Flux repository\n"
    )


def test_outside_git_the_nearest_folder_with_a_config_is_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "ops"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(repo)], check=True)
    assert (repo / ".volsync-kit.yaml").is_file()
    inside = repo / "kubernetes" / "apps" / "media"
    from_inside = run_cli("lint", "--format", "json", "--no-cache", cwd=inside)
    with_repo = run_cli("lint", "--format", "json", "--no-cache", "--repo", str(repo))
    assert from_inside.returncode == with_repo.returncode
    assert json.loads(from_inside.stdout) == json.loads(with_repo.stdout)


def test_inside_git_the_top_level_is_the_repository(tmp_path: Path) -> None:
    repo = committed_example(tmp_path)
    (repo / ".volsync-kit.yaml").unlink()
    git(repo, "commit", "-qam", "no config")
    result = run_cli("lint", "--format", "json", "--no-cache", cwd=repo / "kubernetes")
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["summary"]["apps"] == 7


# -- colour --------------------------------------------------------------------------------


def _in_a_terminal(*args: str, env: dict[str, str]) -> str:
    """What the CLI prints when its standard output is a terminal (a pty)."""
    import pty
    import sys

    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the pty
        os.execve(sys.executable, [sys.executable, "-m", "volsync_kit", *args], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out.decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",) and not k.startswith("GIT_")}
    return {**env, **extra}


def _broken(tmp_path: Path) -> Path:
    """The example with one error every app shares: staticVolume left out (VK101)."""
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(repo)], check=True)
    pv = repo / REPO_COMPONENT / "pv.yaml"
    pv.write_text(pv.read_text().replace('      staticVolume: "true"', "      # staticVolume left out"))
    return repo


def test_lint_colours_severities_on_a_terminal_only(tmp_path: Path) -> None:
    args = ("lint", "--repo", str(_broken(tmp_path)), "--no-cache")
    coloured = _in_a_terminal(*args, env=_env())
    assert "\x1b[1;31merror\x1b[0m VK" in coloured
    plain = run_cli(*args)
    assert plain.returncode == 1
    assert "\x1b[" not in plain.stdout  # a pipe gets no escape codes
    assert ": error VK" in plain.stdout


def test_no_color_turns_colour_off_on_a_terminal(tmp_path: Path) -> None:
    text = _in_a_terminal("lint", "--repo", str(_broken(tmp_path)), "--no-cache", env=_env(NO_COLOR="1"))
    assert ": error VK" in text
    assert "\x1b[" not in text


def test_output_file_from_a_terminal_has_no_colour(tmp_path: Path) -> None:
    target = tmp_path / "lint.txt"
    _in_a_terminal("lint", "--repo", str(_broken(tmp_path)), "--no-cache", "-o", str(target), env=_env())
    text = target.read_text(encoding="utf-8")
    assert ": error VK" in text
    assert "\x1b[" not in text


def test_quiet_lint_prints_the_findings_without_the_summary(tmp_path: Path) -> None:
    repo = _broken(tmp_path)
    loud = run_cli("lint", "--repo", str(repo), "--no-cache")
    quiet = run_cli("lint", "--repo", str(repo), "--no-cache", "-q")
    assert loud.returncode == quiet.returncode == 1
    assert quiet.stdout == loud.stdout.rsplit("\n", 2)[0] + "\n"  # everything but the summary line
    assert " error(s), " in loud.stdout.splitlines()[-1]
    assert not any(" error(s), " in line for line in quiet.stdout.splitlines())


# -- a reader that stops reading ------------------------------------------------------------


@pytest.mark.parametrize("command", [["render"], ["lint", "-v"], ["tree"]])
def test_a_closed_pipe_is_not_an_internal_error(command: list[str]) -> None:
    """`volsync-kit render | head`: the reader goes away; exit 141 (128 + SIGPIPE), silently,
    whether the output is larger than a pipe's buffer (render) or smaller (lint, tree)."""
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "volsync_kit", *command, "--repo", str(EXAMPLE), "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # before the first write: every write fails with EPIPE
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 141
    assert stderr == b""


# -- the console script ends without freeing the model -----------------------------------------


def test_the_console_script_exits_with_everything_written(tmp_path: Path) -> None:
    """cli.main ends the process with os._exit (nothing is freed object by
    object): standard output is still complete, the cache's pending rows are
    still written (atexit ran, and handed them to the store's detached
    writer), and each exit code is the command's."""
    import sys

    env = {**os.environ, "VOLSYNC_KIT_CACHE_DIR": str(tmp_path / "cache")}
    script = [sys.executable, "-m", "volsync_kit"]
    rendered = subprocess.run(
        [*script, "render", "--repo", str(EXAMPLE), "--format", "json"], capture_output=True, env=env
    )
    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(rendered.stdout)["apps"]  # the whole document, flushed
    wait_for_writers(tmp_path / "cache")
    [store] = list((tmp_path / "cache").glob("v-*/*.sqlite3"))
    assert store.stat().st_size > 0
    assert not Path(f"{store}-wal").exists()  # written and checkpointed before the end
    missing = subprocess.run([*script, "lint", "--repo", str(tmp_path / "nowhere")], capture_output=True, env=env)
    assert missing.returncode == 2
    assert missing.stderr.count(b"\n") == 1
    assert subprocess.run([*script, "--version"], capture_output=True, env=env).returncode == 0


def test_a_command_run_in_process_turns_the_garbage_collector_back_on() -> None:
    """Only the console script, which ends the process, leaves it off (cli.main)."""
    import gc

    assert gc.isenabled()
    result = CliRunner().invoke(app, ["render", "--repo", str(EXAMPLE), "--no-cache"])
    assert result.exit_code == 0
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("args", "kept"),
    [(["lint", "--help"], 1), (["commit-msg", "-h"], 1), (["--help"], 9), (["lnt"], 9), ([], 9), (["--version"], 9)],
)
def test_the_console_script_builds_the_command_it_runs_and_says_what_the_whole_app_says(
    args: list[str], kept: int
) -> None:
    """cli.main keeps only the subcommand it runs (typer inspects every one it
    holds): what it prints and its exit code are those of the whole app, in
    its help, its errors for a misspelt command, and at the top level."""
    import sys

    assert len(app.registered_commands) == 9

    def run(only: bool) -> tuple[int, str, list[str]]:
        code = (
            "import sys\n"
            "from volsync_kit import cli\n"
            f"sys.argv = ['volsync-kit', *{args!r}]\n"
            f"{'cli._only_the_command_run(sys.argv[1:2])' if only else ''}\n"
            "print(len(cli.app.registered_commands), file=sys.stderr, flush=True)\n"
            "cli._only_the_command_run = lambda first: None\n"  # main() as it is, past the choice
            "cli.main()\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        count, _, said = done.stderr.partition("\n")
        return done.returncode, done.stdout + said, [count]

    alone, whole = run(True), run(False)
    assert alone[2] == [str(kept)]
    assert whole[2] == ["9"]
    assert alone[:2] == whole[:2]
