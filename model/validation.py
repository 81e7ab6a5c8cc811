"""Validated, frozen configuration records.

Every sector's parameters are a frozen dataclass whose fields carry their unit, the allowed
range and (for calibrated numbers) the source in ``dataclasses.field(metadata=...)``.
:class:`Validated` checks them on creation, so a bad value is rejected with a message that
names the field, the value and what is allowed, long before it reaches a numba kernel.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.files import path_problem

__all__ = ["ConfigError", "MAX_TEXT_FILE_BYTES", "Validated", "param", "parse_json", "read_text_file", "shown"]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def param(
    default: Any,
    *,
    unit: str = "",
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple | None = None,
    doc: str = "",
    source: str = "",
    range_note: str = "",
) -> Any:
    """A dataclass field with its unit, allowed range and documentation.

    ``source`` cites the default; ``range_note`` says where the range ``[lo, hi]`` comes from: the
    range is the parameter's plausible range (and the prior support of experiments over it), not a
    bound chosen to keep the solver out of trouble.
    """
    meta = {
        "unit": unit,
        "lo": lo,
        "hi": hi,
        "lo_open": lo_open,
        "hi_open": hi_open,
        "choices": choices,
        "doc": doc,
        "source": source,
        "range_note": range_note,
    }
    return dataclasses.field(default=default, metadata=meta)


def _allowed(meta: dict) -> str:
    if meta["choices"] is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta["lo"], meta["hi"]
    left = "(" if meta["lo_open"] else "["
    right = ")" if meta["hi_open"] else "]"
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"a finite number in {left}{lo_s}, {hi_s}{right}"


def shown(value: Any, most: int = 40) -> str:
    """``repr(value)`` for a message, a very long one (a 400-digit integer) cut to its start and its length.

    Examples
    --------
    >>> shown(10**50)
    '10000000000000000000… (51 digits)'
    >>> shown(10**5000)
    'an integer of about 5,001 digits'
    """
    try:
        text = repr(value)
    except ValueError:  # an integer of more digits than Python writes out (sys.get_int_max_str_digits())
        if not isinstance(value, int):
            raise
        digits = math.floor(abs(value).bit_length() * math.log10(2)) + 1  # exact, or one too many
        return f"{'a negative' if value < 0 else 'an'} integer of about {digits:,} digits"
    if len(text) <= most:
        return text
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{text[: most // 2]}… ({len(text.lstrip('-')):,} digits)"
    size = len(value) if isinstance(value, str) else len(text)
    return f"{text[: most // 2]}… ({size:,} characters)"


def _is_integer(value: Any) -> bool:
    """An integer, Python's or NumPy's, that is not a boolean (``numpy.bool_`` is not ``numbers.Integral``)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A real number, Python's or NumPy's, that is not a boolean."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# each section's record and its name, as model.config declares them (register_sections): filled when
# model.config is imported, so that this module, which model.config imports, does not import it back
SECTION_NAMES: dict[type, str] = {}


def register_sections(sections: dict[str, type]) -> None:
    """Record the model's sections (``{"hedge_funds": HedgeFundConfig, ...}``) for :meth:`Validated.section_name`."""
    SECTION_NAMES.update({kind: name for name, kind in sections.items()})


class Validated:
    """Mixin for frozen dataclasses: type and range checks in ``__post_init__``.

    A message names a field as the user writes it: ``hedge_funds.n_funds``, the dotted path of
    ``--set``, scenario and configuration files (:meth:`field_name`), whichever way the record was
    made (an override, a file, ``HedgeFundConfig(n_funds=0)`` in Python), once :mod:`model.config`
    has registered the sections (every run, command and ``ModelConfig`` loads it); before that, by
    its class's name.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not f.metadata:
                continue
            problem = self._problem(f)
            if problem is not None:
                raise ConfigError(f"{self.field_name(f.name)} = {problem}")
        self._check()

    def _problem(self, f: dataclasses.Field) -> str | None:
        """What follows ``name = `` in the message refusing field ``f``'s value (the value and what is
        allowed); None if the value is allowed. A number is stored as its field's type (a NumPy integer
        or an integral float as an ``int``, an integer as a ``float``)."""
        value, meta = getattr(self, f.name), f.metadata
        if meta.get("choices") is not None:
            return None if value in meta["choices"] else f"{shown(value)} is not allowed; expected {_allowed(meta)}"
        if isinstance(f.default, str):
            return None if isinstance(value, str) else f"{shown(value)} is not allowed; expected a string"
        if isinstance(f.default, bool):
            return None if isinstance(value, bool) else f"{shown(value)} is not allowed; expected true or false"
        if isinstance(f.default, int):
            if _is_integer(value):
                value = int(value)  # a NumPy integer as a Python int
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                return f"{shown(value)} is not allowed; expected an integer, {_allowed(meta)}"
            object.__setattr__(self, f.name, value)
        elif isinstance(f.default, float):
            if not _is_number(value):
                return f"{shown(value)} is not allowed; expected {_allowed(meta)}"
            try:
                value = float(value)
            except OverflowError:  # an integer beyond any float (10**400): beyond every range too
                return f"{shown(value)} is out of range; expected {_allowed(meta)}"
            object.__setattr__(self, f.name, value)
            if not math.isfinite(value):
                return f"{value!r} is not allowed; expected {_allowed(meta)}"
        else:
            return None
        lo, hi = meta["lo"], meta["hi"]
        bad_lo = lo is not None and (value <= lo if meta["lo_open"] else value < lo)
        bad_hi = hi is not None and (value >= hi if meta["hi_open"] else value > hi)
        if bad_lo or bad_hi:
            unit = f" {meta['unit']}" if meta["unit"] else ""
            return f"{shown(value)}{unit} is out of range; expected {_allowed(meta)}"
        return None

    def _check(self) -> None:
        """Cross-field checks; override in subclasses (name fields in messages with :meth:`field_name`)."""

    @classmethod
    def section_name(cls) -> str:
        """The record's section in the model's configuration (``"hedge_funds"`` for ``HedgeFundConfig``),
        as ``--set``, scenario and configuration files spell it; the class's name for a record that is no
        section's (a sector added from outside with its own configuration).

        A subclass of a section's record (a sweep's copy without the cross-field checks) is that section.
        """
        for kind in cls.__mro__:
            if kind in SECTION_NAMES:
                return SECTION_NAMES[kind]
        return cls.__name__

    @classmethod
    def field_name(cls, name: str) -> str:
        """The field ``name`` as a message names it: ``hedge_funds.n_funds`` (see :meth:`section_name`)."""
        return f"{cls.section_name()}.{name}"

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "") -> Validated:
        """Build from a mapping, rejecting unknown keys with the list of known ones."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            prefix = f"[{where}] " if where else ""
            raise ConfigError(
                f"{prefix}unknown field {unknown[0]!r} in section {cls.section_name()!r}; "
                f"known fields: {', '.join(sorted(names))}"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str, str, str, str]]:
        """(name, default, unit, allowed, doc, source) for every field: for docs and ``--help``."""
        rows = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            m = f.metadata
            rows.append(
                (f.name, f.default, m.get("unit", ""), _allowed(m) if m else "", m.get("doc", ""), m.get("source", ""))
            )
        return rows


def parse_json(data: bytes, refuse: Callable[[str], Exception], **loads: Any) -> Any:
    """``data`` decoded as UTF-8 and parsed as JSON (``loads``: keywords of :func:`json.loads`).

    What is wrong with it, in a few words ("it is not UTF-8 text (...)", "it is not valid JSON
    (...)"), is raised as ``refuse(problem)``, so that each caller names its file and says what it
    expected, in one line. An exception raised by a hook in ``loads`` passes through unchanged.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    try:
        return json.loads(text, **loads)
    except json.JSONDecodeError as exc:
        raise refuse(f"it is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise refuse("it is not valid JSON (nested too deeply)") from None


# The largest input file read_text_file reads (scenario, configuration and sweep specification files).
# The inputs are hand-written TOML of a few kilobytes (the largest shipped scenario is under 8 kB, a
# saved config.toml about 20 kB); a scenario of the most events a file may hold
# (model.scenarios.MAX_EVENTS, 100,000, at about 60 bytes each) is about 6 MiB. A larger file is a
# mistake (a data file, a log), which would otherwise be read whole and parsed for minutes.
MAX_TEXT_FILE_BYTES = 16 * 2**20


def _size(n: int) -> str:
    """A byte count for a message: ``400.0 MiB``, ``16 MiB``."""
    mib = n / 2**20
    return f"{mib:,.0f} MiB" if mib == int(mib) else f"{mib:,.1f} MiB"


def read_text_file(path: str | Path, what: str) -> str:
    """The UTF-8 text of the file ``path``; a :class:`ConfigError` naming it if it cannot be read.

    A leading byte-order mark (some Windows editors write one) is dropped: it is not text, and TOML
    parsers refuse it with a message about line 1 that does not say why.

    ``what`` names the file's role in the message ("scenario", "configuration"...): a directory,
    a missing file, a file without read permission, one larger than :data:`MAX_TEXT_FILE_BYTES`
    (16 MiB; refused before it is read, and no more than that is ever read from a device or a pipe)
    and one that is not UTF-8 text (a spreadsheet saved as TOML, a Latin-1 comment) each get a
    one-line explanation instead of a traceback.
    """
    path = Path(path)
    where = f"{what} {shown(str(path), 240)}"  # a name too long for the file system, cut
    too_big = f"expected a text file of at most {_size(MAX_TEXT_FILE_BYTES)}"
    try:
        if path.is_dir():
            raise ConfigError(f"{where} is not allowed; it is a directory, expected a .toml file")
        info = path.stat()
        if stat.S_ISREG(info.st_mode):
            if info.st_size > MAX_TEXT_FILE_BYTES:
                size = info.st_size
                raise ConfigError(f"{where} is not allowed; it is {_size(size)} ({size:,} bytes), {too_big}")
            data = path.read_bytes()
        else:  # a device or a pipe reports no size: read no more than the limit
            with path.open("rb") as f:
                data = f.read(MAX_TEXT_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {path_problem(exc)}") from None
    if len(data) > MAX_TEXT_FILE_BYTES:
        raise ConfigError(f"{where} is not allowed; it holds more than {_size(MAX_TEXT_FILE_BYTES)}, {too_big}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{where} is not allowed; it is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "expected a TOML file saved as UTF-8"
        ) from None
