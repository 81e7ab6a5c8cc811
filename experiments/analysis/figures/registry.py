"""The list of paper figures, and writing them with their provenance (PDF, PNG, JSON sidecar)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.analysis.figures.episode import build_positioning, build_replay, build_returns
from experiments.analysis.figures.hypotheses import build_ablation, build_fiscal, build_roc
from experiments.analysis.figures.phase import build_phase
from experiments.analysis.figures.sensitivity import build_sensitivity
from experiments.analysis.figures.settings import SEEDS, plain
from experiments.analysis.targets import held_out_seeds

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "FigureDef",
    "make_figure",
    "write_figure",
    "make_figures",
    "save_with_provenance",
    "seeds_text",
]

log = logging.getLogger("experiments.analysis.figures")


def seeds_text(seeds: Sequence[int]) -> str:
    """``"seeds 1001-1020"`` for a run of consecutive seeds, ``"seed 1001"`` for one, else a list.

    >>> seeds_text([1001, 1002, 1003]), seeds_text([1001]), seeds_text([1, 5, 6])
    ('seeds 1001-1003', 'seed 1001', 'seeds 1, 5, 6')
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        return "no seeds"
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ", ".join(map(str, seeds))


def _seed_fields(name: str, record: Mapping[str, Any] | None) -> dict[str, str]:
    """The seeds a description names: the record's (what was run), or without one the full run's."""
    if record is None:
        seeds = held_out_seeds(SEEDS[name][False]) if name in SEEDS else []
        worlds: Mapping[str, Any] = {}
    else:
        seeds = list(record["seeds"])
        data = record.get("data")
        worlds = (data.get("worlds") if isinstance(data, Mapping) else None) or {}
    # H7 standardises the pillars on the first half of its seeds and scores the rest
    # (experiments.analysis.hypotheses.h7); its record says which
    train = worlds.get("train_seeds", seeds[: len(seeds) // 2])
    test = worlds.get("test_seeds", seeds[len(seeds) // 2 :])
    return {"seeds": seeds_text(seeds), "train_seeds": seeds_text(train), "test_seeds": seeds_text(test)}


@dataclass(frozen=True)
class FigureDef:
    """A paper figure: its name, title, one-sentence description and how it is built.

    ``template`` is the description with the seeds left as fields (``{seeds}``; H7's ``{train_seeds}`` and
    ``{test_seeds}``): :meth:`describe` fills them from a figure's record, so that a ``--quick`` figure's
    description names the seeds it ran; :attr:`description` names the full run's.
    """

    name: str
    title: str
    template: str
    build: Callable[[bool, int], tuple[Any, dict[str, Any]]]

    def describe(self, record: Mapping[str, Any] | None = None) -> str:
        """The description, naming the seeds of ``record`` (a builder's: ``seeds``, and ``data``), or the full run's."""
        return self.template.format(**_seed_fields(self.name, record))

    @property
    def description(self) -> str:
        """The description of the full run (``carry-unwind figures --help``)."""
        return self.describe()


FIGURES: dict[str, FigureDef] = {
    d.name: d
    for d in (
        FigureDef(
            "aug2024_replay",
            "The August 2024 unwind: model vs observed",
            "boj_hike_2024 replayed over held-out {seeds}, the risk index's news on as in the validation: "
            "USD/JPY and the carry stock (median, 5-95% band) against the observed closes at the peak and the trough "
            "(161.7 on 10 Jul, about 144 on 5 Aug 2024) and the banks' estimates of the unwind; "
            "dashed, the median of the variant conditional on the observed repricing of the Fed "
            "(boj_hike_2024_conditional_fed).",
            build_replay,
        ),
        FigureDef(
            "replay_positioning",
            "The August 2024 replay across the funds' positioning",
            "boj_hike_2024 with the risk index's news off, at 0.75, 1 and 1.25 times the funds' default capital and "
            "at the capital that puts the median carry stock on 1 Jul 2024 at the BIS anchor: each seed's fall of "
            "USD/JPY and its carry stock's largest drawdown since 1 Jul (the replay's share unwound) against its "
            "starting carry stock.",
            build_positioning,
        ),
        FigureDef(
            "phase_diagram",
            "Amplification phase diagram: leverage x trigger size",
            "The yen surge after negative US growth news (the largest gap of USD/JPY below the same seed's path "
            "without the news within 40 trading days, %) and its amplification by the feedback channels (on / all "
            "off) over a grid of leverage caps and surprise sizes.",
            build_phase,
        ),
        FigureDef(
            "feedback_ablation",
            "Ablation of the feedback channels (H1)",
            "H1: how many times larger the surge is with all feedback channels than with each one (or all) "
            "switched off, at the default and at low leverage, with 95% intervals over seeds.",
            build_ablation,
        ),
        FigureDef(
            "fiscal_vs_monetary",
            "Fiscal vs monetary rise in JGB yields (H2)",
            "H2: the yen's response to a supplementary budget and to a BoJ hike, each sized to raise the 10y JGB "
            "by 25 bp, across the fiscal parameters' ranges; where the hike's response is the same in every world "
            "(the BoJ's rate is scripted), it is drawn once, as a line and its band.",
            build_fiscal,
        ),
        FigureDef(
            "return_statistics",
            "Daily USD/JPY returns: model vs data",
            "The baseline's daily USD/JPY returns against Ecdat Garch (1980-87): distribution with normal fits "
            "and the autocorrelation of absolute returns (volatility clustering).",
            build_returns,
        ),
        FigureDef(
            "sensitivity",
            "Sobol' sensitivity indices",
            "First-order and total Sobol' indices (Saltelli sweep of risk_off) of the largest fall of USD/JPY over "
            "the run and of the carry stock's largest drawdown over leverage, margin, flow and liquidity parameters.",
            build_sensitivity,
        ),
        FigureDef(
            "early_warning_roc",
            "Early-warning dashboards (H7)",
            "H7: ROC curves of the source article's four-pillar dashboard and of its structural-flows view "
            "(Option B of the source article) as warnings, in the 20 days up to its onset, of a fall of USD/JPY by "
            "5% within 20 days, scored on {test_seeds} of four scenarios (held out from the pillars' standardisation, "
            "which {train_seeds} fit; all are held out from the calibration), and each pillar's AUC on its own. "
            "The curves pool every scenario's days; the AUCs (legend and bars) are within scenarios, as the "
            "verdict's.",
            build_roc,
        ),
    )
}


def _provenance(d: FigureDef, record: Mapping[str, Any], quick: bool) -> dict[str, Any]:
    from model.results import provenance

    command = f"carry-unwind figures --out DIR --only {d.name}" + (" --quick" if quick else "")
    made = provenance()  # version, commit, uncommitted changes, code fingerprint (code, inputs, libraries)
    return plain(
        {
            "figure": d.name,
            "title": d.title,
            "description": d.describe(record),
            "package": "carry-unwind",
            "version": made["version"],
            "git_commit": made["git_commit"],
            "git_dirty": made["git_dirty"],
            "code_fingerprint": made["code_fingerprint"],
            "command": command,
            "quick": quick,
            "seeds": record["seeds"],
            "configuration": record["configuration"],
        }
    )


def save_with_provenance(fig: Figure, out: Path, name: str, provenance: Mapping[str, Any], data: Any) -> list[Path]:
    """Write NAME.pdf and NAME.png with the provenance in their metadata, and the NAME.json sidecar,
    each atomically (whole or absent).

    ``provenance`` needs ``title`` and ``version`` (and may have ``git_commit``); the sidecar holds
    it with the file names and ``data``, the numbers plotted. Also used by ``carry-unwind compare``.
    """
    from experiments.runner import save_figure_atomic, write_text_atomic

    subject = json.dumps(provenance, sort_keys=True, ensure_ascii=True)
    creator = f"carry-unwind {provenance['version']}"
    pdf, png, sidecar = out / f"{name}.pdf", out / f"{name}.png", out / f"{name}.json"
    save_figure_atomic(
        fig,
        pdf,
        metadata={
            "Title": provenance["title"],
            "Subject": subject,
            "Creator": creator,
            "Keywords": f"carry-unwind; {name}",
            "CreationDate": None,
        },
    )
    save_figure_atomic(
        fig,
        png,
        dpi=300,
        metadata={
            "Title": provenance["title"],
            "Description": subject,
            "Software": creator,
            "Source": provenance.get("git_commit") or "unknown",
        },
    )
    payload = {**provenance, "files": [pdf.name, png.name], "data": plain(data)}
    write_text_atomic(sidecar, json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return [pdf, png, sidecar]


def make_figure(name: str, *, quick: bool = False, workers: int = 1) -> tuple[Figure, dict[str, Any]]:
    """Compute and draw one figure (in the paper style); returns it with its record.

    The record has ``seeds``, ``configuration`` and ``data`` (the numbers plotted, JSON-ready).
    """
    from experiments.analysis.style import paper_style
    from experiments.logs import quiet_model_logs

    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; expected one of {', '.join(FIGURES)}")
    with paper_style(), quiet_model_logs():
        return FIGURES[name].build(quick, workers)


def write_figure(name: str, out: str | Path, *, quick: bool = False, workers: int = 1) -> list[Path]:
    """Make one figure and write ``NAME.pdf``, ``NAME.png`` and ``NAME.json`` into ``out``."""
    from experiments.analysis.style import paper_style

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, record = make_figure(name, quick=quick, workers=workers)
    provenance = _provenance(FIGURES[name], record, quick)
    with paper_style():  # the PDF font type and the saved resolution are read when saving
        return save_with_provenance(fig, out, name, provenance, record["data"])


def make_figures(
    out: str | Path,
    names: Sequence[str] | None = None,
    *,
    quick: bool = False,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, list[Path]]:
    """Write the named figures (default: all of :data:`FIGURES`) into ``out``; returns the files per figure.
    ``progress``: a bar on stderr over the figures, naming the one being made."""
    import sys

    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    names = list(names or FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; expected one of {', '.join(FIGURES)}")
    written = {}
    bar = tqdm(total=len(names), desc="figures", unit="figure", file=sys.stderr, disable=not progress, leave=False)
    with bar, logging_redirect_tqdm(tqdm_class=tqdm) if progress else contextlib.nullcontext():
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            written[name] = write_figure(name, out, quick=quick, workers=workers)
            log.info("figures: %s in %.1f s", name, time.perf_counter() - t0)
            bar.update()
    return written
