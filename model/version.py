"""The package version (from the installed distribution's metadata)."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("carry-unwind")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
