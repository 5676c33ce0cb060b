"""Errors that end a command with a one-line message and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """The command was asked something it cannot do; the message says what to do."""
