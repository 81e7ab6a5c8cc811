"""What the commands share: exit codes, the usage error, argument types, printing errors.

Only the standard library is imported here, so that ``carry-unwind --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tomllib
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

__all__ = [
    "PROG",
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "FORMATTER",
    "UsageError",
    "Parser",
    "positive_int",
    "seed_int",
    "port_int",
    "parse_set",
    "config_context",
    "print_error",
    "table",
]

PROG = "carry-unwind"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C
FORMATTER = argparse.RawDescriptionHelpFormatter


class UsageError(Exception):
    """Bad command-line input; reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``carry-unwind: error: ...``) instead of usage dumps."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}{hint}\n")


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed_int(text: str) -> int:
    """argparse type: an integer >= 0 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def port_int(text: str) -> int:
    """argparse type: a TCP port number, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number in [1, 65535], got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in [1, 65535], got {text!r}")
    return value


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``["section.field=value", ...]`` → ``{"section.field": value}``.

    Values are read as TOML scalars: ``12`` is an integer, ``0.5`` or ``1e-3`` a float, ``true``
    a boolean, ``"x"`` a string; anything else that is not valid TOML is taken as a bare string
    (and then rejected by the configuration's type check if a number was expected).

    Examples
    --------
    >>> parse_set(["hedge_funds.max_leverage=5", "simulation.days=250"])
    {'hedge_funds.max_leverage': 5, 'simulation.days': 250}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        section, dot, name = key.partition(".")
        if not sep or not dot or not section or not name or not raw:
            raise UsageError(f"bad --set {item!r}: expected section.field=value, e.g. hedge_funds.max_leverage=5")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        if isinstance(value, (dict, list)):
            raise UsageError(f"bad --set {item!r}: the value must be a number, true/false or a string")
        out[key] = value
    return out


@contextlib.contextmanager
def config_context(where: str) -> Iterator[None]:
    """Prefix a ConfigError's message with where the bad value came from, unless it says so already."""
    from model.validation import ConfigError

    try:
        yield
    except ConfigError as exc:
        if str(exc).startswith(where):
            raise
        raise ConfigError(f"{where}: {exc}") from None


def print_error(message: str) -> None:
    """``carry-unwind: error: <message>`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def table(rows: Sequence[tuple[str, str]]) -> str:
    """Rows of ``(name, value)`` as an indented two-column table."""
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)
