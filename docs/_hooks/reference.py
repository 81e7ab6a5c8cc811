"""MkDocs hook: the reference tables that are generated from the code at build time.

Pages mark where generated text goes with an HTML comment on a line of its own::

    <!-- generated: parameters -->

and :func:`on_page_markdown` replaces it. Generated here, so that they cannot go stale:

* ``parameters`` – every configuration field of every section of ``model.config.SECTIONS`` with
  its default, unit, allowed range, meaning and source (the ``param(...)`` metadata);
* ``cli`` – the help of the ``carry-unwind`` command and of each of its sub-commands, taken
  from the console entry point named in ``pyproject.toml``, run in a subprocess;
* ``scenarios`` – the built-in scenarios with their one-line descriptions;
* ``event-kinds`` – the scenario event kinds with their fields and allowed ranges.

The same functions are used by ``tests/test_docs.py``: the checkers :func:`missing_fields` and
:func:`missing_columns` name what a page leaves out.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)

log = logging.getLogger("mkdocs.hooks.reference")

if str(ROOT) not in sys.path:  # the build may run from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

# Docstrings and help texts written before the documentation existed point at sections of the
# design notes, which are not published. Until they are reworded at the source, the generated
# pages say where in these docs the same material is.
_SPEC_REF = re.compile(r"MODEL\.md(?: section | ?§ ?)(\d+)|MODEL\.md")
_SPEC_PAGES = {
    "2": "the model chapter of these docs",
    "3": "the model chapter of these docs",
    "5": "the scenarios chapter of these docs",
    "6": "the hypotheses chapter of these docs",
    "7": "the calibration chapter of these docs",
}


def _own_words(text: str) -> str:
    return _SPEC_REF.sub(lambda m: _SPEC_PAGES.get(m.group(1) or "", "these docs"), text)


# -- parameters ------------------------------------------------------------------------------------
def _cell(text: str) -> str:
    """Text for one Markdown table cell: pipes escaped, no line breaks."""
    return _own_words(str(text)).replace("|", "\\|").replace("\n", " ").strip()


def _default(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _number(value: float) -> str:
    """A bound as people write it: 1000000 rather than 1e+06, 1e-15 as it is."""
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:g}"


def _allowed(meta) -> str:
    if not meta:
        return ""
    if meta.get("choices") is not None:
        return ", ".join(_default(c) for c in meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is None and hi is None:
        return "any"
    left = "(" if meta.get("lo_open") else "["
    right = ")" if meta.get("hi_open") else "]"
    lo_s = "−∞" if lo is None else _number(lo)
    hi_s = "∞" if hi is None else _number(hi)
    if lo is None:
        left = "("
    if hi is None:
        right = ")"
    note = meta.get("range_note") or ""
    return f"{left}{lo_s}, {hi_s}{right}" + (f" — {note}" if note else "")


def parameters_markdown() -> str:
    """One table per configuration section, one row per field."""
    from model.config import SECTIONS

    out = []
    for section, cls in SECTIONS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append(f"### `[{section}]` {{#{section}}}")
        out.append("")
        module = cls.__module__
        line = f"Fields of `[{section}]`, declared by `{cls.__name__}` in `{module}`."
        if doc and not doc.startswith(f"{cls.__name__}("):  # dataclasses invent a signature docstring
            line = f"{_cell(doc)} {line}"
        out.append(line)
        out.append("")
        out.append("| field | default | unit | allowed | meaning | source |")
        out.append("| --- | --- | --- | --- | --- | --- |")
        for f in dataclasses.fields(cls):
            m = f.metadata
            out.append(
                f"| {_anchor(section, f.name)}`{f.name}` | `{_cell(_default(f.default))}` | "
                f"{_cell(m.get('unit', '') or '–')} | {_cell(_allowed(m)) or '–'} | "
                f"{_cell(m.get('doc', '')) or '–'} | {_cell(m.get('source', '')) or '–'} |"
            )
        out.append("")
    return "\n".join(out)


def _anchor(section: str, name: str) -> str:
    """The HTML anchor that starts a field's row; links elsewhere use ``parameters.md#section.field``."""
    return f'<span id="{section}.{name}"></span>'


def config_fields() -> list[str]:
    """Every configuration field as ``section.field``."""
    from model.config import SECTIONS

    return [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


def missing_fields(page: str) -> list[str]:
    """The configuration fields a parameter page has no row for (a row starts with the field's anchor)."""
    starts = {line[2:].split("`")[0] for line in page.splitlines() if line.startswith("| <span id=")}
    return [name for name in config_fields() if _anchor(*name.split(".", 1)) not in starts]


def missing_columns(page: str) -> list[str]:
    """The time-series columns a page does not list (as a code span)."""
    from model.model import TIMESERIES_COLUMNS

    # the DataFrame (CarryUnwindModel.timeseries, timeseries.parquet) adds the calendar date after `day`
    columns = (*TIMESERIES_COLUMNS[:1], "date", *TIMESERIES_COLUMNS[1:])
    return [c for c in columns if f"`{c}`" not in page]


# -- command line ------------------------------------------------------------------------------------
def entry_point() -> str:
    """``module:function`` of the ``carry-unwind`` console script, as ``pyproject.toml`` declares it."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["project"]["scripts"]["carry-unwind"]


# Runs in a fresh interpreter: imports the entry point and prints the help of the command and of
# each argument list given on stdin (JSON), separated by a line only the separator can produce.
_HELP_SCRIPT = r"""
import contextlib, importlib, io, json, sys
target = sys.argv[1]
module, _, attr = target.partition(":")
main = importlib.import_module(module)
for part in attr.split("."):
    main = getattr(main, part)
for args in json.loads(sys.stdin.read()):
    buf = io.StringIO()
    sys.argv = ["carry-unwind", *args, "--help"]
    with contextlib.redirect_stdout(buf):
        try:
            status = main()
        except SystemExit as exc:
            status = exc.code
    if status not in (0, None):
        sys.stderr.write(f"carry-unwind {' '.join(args)} --help exited with {status}\n")
        sys.exit(1)
    sys.stdout.write(buf.getvalue())
    sys.stdout.write("\x00END-OF-HELP\x00\n")
"""


def _helps(commands: list[list[str]]) -> list[str]:
    env = dict(os.environ, COLUMNS="100", MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    proc = subprocess.run(
        [sys.executable, "-c", _HELP_SCRIPT, entry_point()],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"carry-unwind --help failed (entry point {entry_point()}):\n{proc.stderr.strip()}")
    return proc.stdout.split("\x00END-OF-HELP\x00\n")[: len(commands)]


def subcommands(top_help: str) -> list[str]:
    """Sub-command names from argparse's top-level help: the indented list under ``COMMAND``."""
    lines = top_help.splitlines()
    heads = [
        i for i, line in enumerate(lines) if line.strip() == "COMMAND" or re.fullmatch(r"\s+\{[a-z0-9_,-]+\}", line)
    ]
    if not heads:
        return []
    names = []
    for line in lines[heads[0] + 1 :]:
        if not line.strip():
            break
        if m := re.match(r"^    ([a-z][a-z0-9_-]*)(\s|$)", line):
            names.append(m.group(1))
    return names


def cli_markdown() -> str:
    """The help of ``carry-unwind`` and of every sub-command, as the program prints it."""
    (top,) = _helps([[]])
    names = subcommands(top)
    if not names:
        raise RuntimeError("found no sub-commands in 'carry-unwind --help'")
    out = ["## `carry-unwind`", "", "```text", _own_words(top).rstrip(), "```", ""]
    for name, text in zip(names, _helps([[n] for n in names]), strict=True):
        out += [f"## `carry-unwind {name}`", "", "```text", _own_words(text).rstrip(), "```", ""]
    return "\n".join(out)


# -- scenarios -------------------------------------------------------------------------------------
EVENT_MEANINGS = {
    "risk_shock": "for experiments on sentiment only: adds `log_jump` to the logarithm of the risk index at the "
    "day's update (an exogenous jump: +1 multiplies the index by e ≈ 2.7). The index is an outcome of the model, "
    "so only a scenario whose name contains `sentiment` may use it; no built-in scenario does",
    "boj_rate": "a BoJ decision: sets the policy rate to `rate` (per annum) from this day on; the expected "
    "BoJ path moves by the decision's surprise",
    "us_short_rate": "a Fed decision: sets the US short rate to `rate` (per annum) from this day on; the "
    "expected Fed path moves by the decision's surprise (the decision minus what was expected)",
    "fed_path_news": "shifts the expected Fed near-term rate by `change_pa` (guidance, a data surprise); the "
    "shift decays along the path with `market.policy_halflife_years`",
    "boj_path_news": "shifts the expected BoJ near-term rate by `change_pa`, as `fed_path_news` for the Fed",
    "us_growth_news": "a US data surprise of `surprise_sd` standard deviations: moves the expected Fed path "
    "(`market.growth_news_fed_path_pa` per sd) and the global equity index "
    "(`macro.growth_news_equity_per_sd` per sd), and through the equity index the risk index that day",
    "us_equity_news": "news about equities themselves (e.g. earnings): moves the global equity index by "
    "`log_change` (ln) before the day's trading, and through it the risk index; the expected Fed path is untouched",
    "trade_flow": "adds `usd_bn` of price-inelastic dollar buying (negative: selling) to the day's trade flows",
    "supplementary_budget": "an unplanned budget of `jpy_tn`: issued as extra JGB supply spread over "
    "`mof.issuance_days` days, and added at once to the fiscal-risk index and (by the fiscal reaction function) "
    "to expected inflation",
    "mof_intervention": "the MoF buys `jpy_tn` of yen that day (negative: sells yen), on top of its own rule: "
    "the dollars come from deposits above a buffer and from selling its USTs in that day's UST clearing, and "
    "the purchase shifts participants' perceived ceiling (`mof.signal_log_per_jpy_tn`)",
    "commodity_shock": "adds `inflation_pa` to the commodity component of Japanese inflation, which then decays",
    "us_inflation_expectations": "sets US expected inflation (per annum), which moves the US real rate",
    "superlong_shock": "raises the 30-year JGB yield the super-long (habitat) investors require by `spread_pa`, "
    "for good (a super-long sell-off such as a weak auction); the cleared 30y yield moves by less, as other "
    "holders take the other side",
    "ust2y_observed": "an observed UST 2y close `yield_pa`: moves the expected Fed near-term rate so that the "
    "model's 2y (the path's 2-year average plus its day-0 term premium) equals it. The 2y is a price the model "
    "makes, so only a scenario whose name contains `conditional` may use it (`boj_hike_2024_conditional_fed`)",
}


def event_kinds_markdown() -> str:
    from model.scenarios import EVENT_KINDS

    out = ["| kind | fields (allowed range) | what it does |", "| --- | --- | --- |"]
    for kind, spec in EVENT_KINDS.items():
        meaning = EVENT_MEANINGS.get(kind)
        if meaning is None:
            log.warning("event kind %r has no description in docs/_hooks/reference.py (EVENT_MEANINGS)", kind)
            meaning = "(not yet described)"
        fields = ", ".join(f"`{k}` [{lo:g}, {hi:g}]" for k, (lo, hi) in spec.items())
        out.append(f"| `{kind}` | {fields} | {meaning} |")
    return "\n".join(out)


def scenarios_markdown() -> str:
    from model.scenarios import list_scenarios

    out = ["| scenario | description |", "| --- | --- |"]
    for name, description in list_scenarios().items():
        out.append(f"| `{name}` | {_cell(description)} |")
    return "\n".join(out)


GENERATORS = {
    "parameters": parameters_markdown,
    "cli": cli_markdown,
    "event-kinds": event_kinds_markdown,
    "scenarios": scenarios_markdown,
}


# -- MkDocs hook -----------------------------------------------------------------------------------
_cache: dict[str, str] = {}


def generated(name: str) -> str:
    if name not in _cache:
        _cache[name] = GENERATORS[name]()
    return _cache[name]


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(m: re.Match) -> str:
        name = m.group(1)
        if name not in GENERATORS:
            log.warning("%s: unknown generated block %r (known: %s)", page.file.src_uri, name, ", ".join(GENERATORS))
            return m.group(0)
        return generated(name)

    return MARKER.sub(replace, markdown)


def on_post_build(config) -> None:
    _cache.clear()  # `mkdocs serve` rebuilds: read the code again
