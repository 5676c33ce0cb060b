"""The exit codes of every command, in one place (documented in README and --help)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1  # lint findings, generate drift, a plan that fails a gate, doctor findings
    INPUT_ERROR = 2  # usage, config or input error: the repository cannot be read as asked
    INTERNAL_ERROR = 3  # a bug in volsync-kit; rerun with --debug and report it
    PIPE_CLOSED = 141  # standard output closed early (`| head`), as 128 + SIGPIPE in a shell


HELP = (
    "Exit codes: 0 OK; 1 findings, drift, a failed plan gate or doctor findings; "
    "2 usage, config or input error (including apps that cannot be rendered); "
    "3 internal error."
)


def epilog(findings: str | None = None, errors: str = "usage, config or input error") -> str:
    """One command's own exit codes, for the end of its --help."""
    one = f"1 {findings}; " if findings else ""
    return f"Exit codes: 0 OK; {one}2 {errors}; 3 internal error."
