"""volsync-kit: VolSync static CephFS repository volumes in Flux repositories."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("volsync-kit")
except metadata.PackageNotFoundError:  # a source checkout that is not installed
    __version__ = "0.0.0+unknown"
