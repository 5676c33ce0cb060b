"""volsync-kit: VolSync static CephFS repository volumes in Flux repositories."""

from __future__ import annotations

# The single source of the version (pyproject reads it); importlib.metadata
# would cost ~50 ms on every hook start.
__version__ = "0.1.0"
