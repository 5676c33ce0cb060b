"""Git, through the command line, with a scrubbed environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def _env() -> dict[str, str]:
    # GIT_DIR and friends from a calling hook must not redirect our queries.
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def toplevel(folder: Path) -> Path | None:
    """The work tree root containing ``folder``, or None outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder,
            env=_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return Path(out.stdout.strip())
