"""``carry-unwind params``: every configuration field with its unit, allowed range, default and source.

The list is read from the code (``model.config.SECTIONS`` and each field's ``param(...)``
metadata), so it is the same as the parameter reference of the documentation and cannot go stale.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import textwrap
from typing import Any

from experiments.cli.common import EXIT_OK, FORMATTER, UsageError

__all__ = ["register", "parameter_rows"]

WIDTH = 100  # the text listing wraps at this many characters
COLUMNS = ("section", "field", "default", "unit", "allowed", "meaning", "source", "range_note")


def register(sub: Any) -> None:
    """Add ``params`` to ``sub`` (the object ``add_subparsers`` returned)."""
    p = sub.add_parser(
        "params",
        help="list every configuration field with its unit, allowed range, default and source",
        description=(
            "List the configuration: for every field of every section (or of SECTION, or the one\n"
            "field SECTION.FIELD) its default, unit, allowed range, meaning and the source of its\n"
            "value. Change a field with 'carry-unwind run --set SECTION.FIELD=VALUE' or in a\n"
            "configuration file ('carry-unwind run --config FILE.toml'); a saved run's config.toml\n"
            "carries the same unit, range and meaning as a comment beside each field."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind params                          # every section\n"
            "  carry-unwind params hedge_funds\n"
            "  carry-unwind params hedge_funds.max_leverage\n"
            "  carry-unwind params --csv > parameters.csv   # one row per field, for a spreadsheet"
        ),
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "section",
        nargs="?",
        default=None,
        metavar="SECTION[.FIELD]",
        help="a configuration section, e.g. hedge_funds, or one field of it (default: every section)",
    )
    p.add_argument(
        "--csv",
        action="store_true",
        help=f"write CSV to standard output, one row per field ({', '.join(COLUMNS)}) (default: text)",
    )
    p.set_defaults(handler=_cmd_params)


def parameter_rows(which: str | None = None) -> list[dict[str, str]]:
    """One row per configuration field: ``section``, ``field``, ``default``, ``unit``, ``allowed``, ...

    Parameters
    ----------
    which
        ``None`` for every section, a section name, or ``section.field`` for one field.

    Raises
    ------
    experiments.cli.common.UsageError
        An unknown section or field; the message names the allowed ones.

    Examples
    --------
    >>> row = parameter_rows("simulation.days")[0]
    >>> row["default"], row["unit"], row["allowed"]
    ('500', 'trading days', '[1, 1000000]')
    """
    from model.config import SECTIONS

    section, dot, field = (which or "").partition(".")
    if which is not None and (not section or (dot and not field)):  # "", ".", "hedge_funds.": not a name
        raise UsageError(
            f"SECTION[.FIELD] = {which!r} is not allowed; expected a section, one of {', '.join(SECTIONS)}, or "
            "SECTION.FIELD (leave it out for every section)"
        )
    if section and section not in SECTIONS:
        raise UsageError(f"unknown section {section!r}; allowed sections: {', '.join(SECTIONS)}")
    import dataclasses

    rows = []
    for name, kind in SECTIONS.items():
        if section and name != section:
            continue
        # where the allowed range comes from (a default without a source of its own often has one)
        notes = {f.name: f.metadata.get("range_note", "") for f in dataclasses.fields(kind)}
        for f_name, default, unit, allowed, doc, source in kind.describe():
            rows.append(
                {
                    "section": name,
                    "field": f_name,
                    "default": _text(default),
                    "unit": unit,
                    "allowed": _range(allowed, default),
                    "meaning": " ".join(doc.split()),
                    "source": " ".join(source.split()),
                    "range_note": " ".join(notes.get(f_name, "").split()),
                }
            )
    if field:
        rows = [r for r in rows if r["field"] == field]
        if not rows:
            known = ", ".join(f for f, *_ in SECTIONS[section].describe())
            raise UsageError(f"unknown field {field!r} in section {section!r}; its fields: {known}")
    return rows


def _text(value: Any) -> str:
    """A default as it is written in TOML and with --set."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value) if isinstance(value, float) else str(value)


def _range(allowed: str, default: Any) -> str:
    """``Validated.describe``'s "a finite number in [1, 1e+06]" as "[1, 1000000]"; a flag "true or false"."""
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, str) and not allowed.startswith("one of"):
        return "text"
    text = allowed.removeprefix("a finite number in ")
    text = re.sub(r"\b(\d+)e\+0*(\d+)\b", lambda m: str(int(m.group(1)) * 10 ** int(m.group(2))), text)
    return text.replace("[-inf", "(-inf").replace("inf]", "inf)")


def _cmd_params(args: argparse.Namespace) -> int:
    rows = parameter_rows(args.section)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return EXIT_OK
    print(format_rows(rows))
    return EXIT_OK


def format_rows(rows: list[dict[str, str]]) -> str:
    """The text listing: a heading per section, per field its default, unit and range, then meaning and source."""
    from model.config import SECTIONS

    out: list[str] = []
    indent = " " * 6
    for section in dict.fromkeys(r["section"] for r in rows):
        kind = SECTIONS[section]
        out += [f"[{section}]  ({kind.__name__} in {kind.__module__})"]
        for r in (r for r in rows if r["section"] == section):
            head = f"  {r['field']} = {r['default']}"
            unit = f"{r['unit']}; " if r["unit"] else ""
            out.append(f"{head}    {unit}allowed {r['allowed']}")
            for label, text in (("", r["meaning"]), ("source: ", r["source"]), ("range: ", r.get("range_note", ""))):
                if text:
                    out += textwrap.wrap(label + text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")
        out.append("")
    return "\n".join(out).rstrip("\n")
