"""The browser app for students: Mesa's SolaraViz with shock buttons and live charts.

Run it with ``carry-unwind app`` (or ``solara run experiments/app/page.py --production``). The page
has Mesa's controls (step, play, reset, the model's parameters) in the sidebar and, in the main
area, the shock buttons, the scenario's state and one live chart per recorded series, each with
a short explanation. Which sliders, buttons and charts appear is decided by the data in
:mod:`experiments.app.specs` and by what the model supports, so new sectors plug in without
changes here. The NISA network panel appears when the model has ``nisa_network_view()``
returning ``(networkx.Graph, {node: panic in [0, 1]})`` for a sample of households.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from experiments.app.charts import NetworkChart, TimeSeriesChart
from experiments.app.specs import (
    CHARTS,
    DEFAULT_SEED,
    ChartSpec,
    ShockAtLimit,
    ShockSpec,
    ShockUnavailable,
    available_charts,
    available_params,
    available_shocks,
    coerce_seed,
    effective_settings,
    mesa_model_params,
    model_kwargs,
    start_scenario,
)
from model.clearing import ClearingError
from model.model import CarryUnwindModel
from model.scenarios import DECISION_KINDS, ScenarioEvent, list_scenarios, load_scenario
from model.validation import ConfigError, shown

__all__ = [
    "AppModel",
    "AppView",
    "Page",
    "new_model",
    "page_components",
    "ShocksPanel",
    "ScenarioPanel",
    "NetworkPanel",
    "chart_component",
    "event_lines",
    "APP_CSS",
]

log = logging.getLogger(__name__)

TITLE = "Yen carry-trade unwind"
# Mesa's "Play Interval (ms)" slider runs from 1 in steps of 10 (mesa 3.5 SolaraViz), so only 1, 11, 21, ... can
# be shown: 150 would be shown as 151, and a student moving the slider could not get back to it
PLAY_INTERVAL_MS = 151
PANEL_HEIGHT_PX = 375  # Mesa's grid cells are 10 rows of 30 px plus margins: 390 px

_serials = itertools.count(1)


class AppModel(CarryUnwindModel):
    """:class:`CarryUnwindModel` as the app builds it: scenario by name, seed from a text box,
    slider values in display units, and a log of the shocks fired with the buttons.

    Parameters
    ----------
    scenario_name
        A built-in scenario (``carry-unwind scenarios`` lists them); default the starting one
        (:func:`experiments.app.specs.start_scenario`).
    seed
        Whole number >= 0, as int or as the string SolaraViz's text box sends (Mesa issue 3516).
    **sliders
        Slider values by their model keyword (``section__field``) in display units; see
        :func:`experiments.app.specs.model_kwargs` for how they override the scenario.
    """

    def __init__(self, *, scenario_name: str | None = None, seed: Any = DEFAULT_SEED, **sliders: Any) -> None:
        # what stops the model, in one line for the page: inputs it could not use, or a day that failed
        self.failure = ""
        if scenario_name is None:
            scenario_name = start_scenario()
        # Play steps the model in a worker thread while the buttons stay live: a shock and a day never overlap
        self._lock = threading.RLock()
        try:
            scenario, inputs = _inputs(scenario_name, seed, sliders)
        except ConfigError as exc:
            # Mesa's Reset shows a traceback as the page if the model cannot be built: build the starting
            # model instead, stopped, and say why on the page (nothing runs until the input is fixed)
            scenario_name = scenario = start_scenario()
            inputs = {"seed": DEFAULT_SEED}
            self.failure = f"Not applied: {exc}. Correct it and press Reset."
        super().__init__(scenario=scenario, **inputs)
        self.running = not self.failure
        self.scenario_name = scenario_name
        # ids of garbage-collected models are reused; a serial number tells runs apart
        self.app_serial = next(_serials)
        self.shock_log: list[tuple[ScenarioEvent, str]] = []
        # the shocks not applied on their day (index in shock_log: why), their value then past its limit
        self.shock_refused: dict[int, str] = {}

    def step(self) -> None:
        """One trading day; a day the markets cannot clear stops the model with a message for the page
        (Mesa's Step would otherwise show a traceback in place of the page)."""
        with self._lock:
            if self.failure or self.ended():
                self.running = False
                return
            try:
                super().step()
            except (ClearingError, ConfigError, ShockUnavailable) as exc:
                self._stop(exc)

    def _advance_time(self, until: float) -> None:
        # Mesa's step (and run_for): the day's scheduled events, then the day, all under the lock, so that a
        # button fired from the page while Play steps in a worker thread never changes the event queue Mesa
        # is working through, nor lands half-way through a day
        with self._lock:
            if self.failure or self.ended():  # nothing runs then: neither the day nor the events queued for it
                self.running = False
                return
            super()._advance_time(until)

    def run_days(self, days: int, after_day: Callable[[], None] | None = None) -> None:
        with self._lock:
            super().run_days(days, after_day)

    def ended(self) -> bool:
        """Whether the run has reached its last day (``simulation.days``): no day runs and no button fires after it."""
        return self.day >= self.config.simulation.days

    def _stop(self, exc: Exception) -> None:
        """Stop the run at a day that could not run, saying why in one line: for the markets failing to clear, a
        plain sentence first and the solver's details after it. The failed day recorded nothing, so the model's
        day goes back to the last recorded one: the panels then show the day the charts end on."""
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        last = int(self.latest["day"])
        failed = last + 1
        if isinstance(exc, ClearingError):
            self.failure = (
                f"The markets could not find prices within the day's limits on day {failed} (a move beyond the "
                f"model's range), so the run stops after day {last}; press Reset to start again. Details: {first}"
            )
        else:
            self.failure = f"Day {failed} could not run: {first}. Press Reset to start again."
        self.day = last
        self.running = False

    def fire(self, spec: ShockSpec) -> ScenarioEvent:
        """Schedule a shock button's event for the next day's clearing; each button once a day.

        It goes through the model's event queue as a scenario's event does
        (:meth:`~model.model.CarryUnwindModel.schedule_scenario_event`): a policy decision after the
        day's scripted decisions and before the day's news, so a 25 bp hike lands on top of a scripted
        decision that day and the day's scripted guidance still holds after it; any other kind with the
        day's news, after the scripted news. Whatever the click order, a day's button decisions act
        before its button news. The event is built from the model's state as it applies (a hike adds
        25 bp to the rate the day's scripted decision set); until then the log holds it as it would be
        built now.

        Raises
        ------
        experiments.app.specs.ShockUnavailable
            The model has stopped or reached its last day, the button was already fired for the next day,
            or its event cannot be built (:class:`~experiments.app.specs.ShockAtLimit`: its value would
            pass the event kind's limit, or the model could carry out only part of it, so it would not do
            what the button says).
        """
        with self._lock:
            if self.failure:
                raise ShockUnavailable("the model has stopped; press Reset to start again")
            if self.ended():  # its day would come after the run's last day
                raise ShockUnavailable(
                    f"the run has ended (day {self.day} of {self.config.simulation.days}); press Reset to start again"
                )
            event = spec.event(self)  # built now too: a shock that cannot be built says so at once
            if any(e.day == event.day and label == spec.label for e, label in self.shock_log):
                raise ShockUnavailable(f"already fired for day {event.day}; press Step, then fire it again")
            self.schedule(event.day, self._apply_fired, spec, late=spec.kind not in DECISION_KINDS)
            self.shock_log.append((event, spec.label))
            return event

    def _apply_fired(self, spec: ShockSpec) -> None:
        """Apply a fired shock (at its day − ½, in the model's event queue), built from the state now, and
        log it as applied. One whose value now passes its limit (the day's scripted decision moved the
        rate) is not applied and the log says why; one that cannot be built or applied stops the model."""
        if self.failure:
            return
        day = self.day + 1
        at = next(i for i, (e, label) in enumerate(self.shock_log) if e.day == day and label == spec.label)
        try:
            event = spec.event(self)
        except ShockAtLimit as exc:
            self.shock_refused[at] = exc.reason
            return
        except ShockUnavailable as exc:
            self._stop(exc)
            return
        try:
            self.apply_event(event)
        except (ClearingError, ConfigError, ShockUnavailable) as exc:
            self._stop(exc)
            return
        self.shock_log[at] = (event, spec.label)

    def event_days(self) -> list[int]:
        """Days on which a scenario event or a fired shock acted (for the charts' markers)."""
        days = [e.day for e in self.scenario_spec.events if e.day <= self.day]
        days += [e.day for i, (e, _) in enumerate(self.shock_log) if e.day <= self.day and i not in self.shock_refused]
        return sorted(set(days))


def _inputs(scenario_name: Any, seed: Any, sliders: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The scenario (loaded once, for the model too) and the model's keyword inputs from the page's: a
    built-in scenario only (a name, never a path: the Select's value can be sent by hand), the seed and
    the sliders checked (ConfigError naming the field), and the configuration they make checked as a
    whole (a field's bounds that depend on another), so that the model is built once, from inputs it
    accepts."""
    names = list_scenarios()
    if not isinstance(scenario_name, str) or scenario_name not in names:
        raise ConfigError(f"scenario = {shown(scenario_name)} is not allowed; expected one of {', '.join(names)}")
    overrides = model_kwargs(sliders)
    scenario = load_scenario(scenario_name)
    if overrides:
        scenario.config.with_overrides(overrides)
    return scenario, {"seed": coerce_seed(seed), **overrides}


def _app_signature() -> inspect.Signature:
    """``AppModel.__init__``'s signature as Mesa sees it: keyword-only, one name per input.

    On Reset, Mesa's SolaraViz passes a Mesa ``Scenario`` object as ``scenario=`` to any model
    whose ``__init__`` takes ``scenario`` or ``**kwargs`` (mesa 3.5 ``_build_model_init_kwargs``),
    which would replace the scenario chosen here. An explicit signature without ``**kwargs``
    (built from the available sliders) keeps Mesa to the inputs the page actually has.
    """
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("scenario_name", kw, default=start_scenario()),
        inspect.Parameter("seed", kw, default=DEFAULT_SEED),
    ]
    params += [inspect.Parameter(spec.name, kw, default=desc["value"]) for spec, desc in available_params()]
    return inspect.Signature(params)


AppModel.__init__.__signature__ = _app_signature()  # type: ignore[attr-defined]


# -- panels ---------------------------------------------------------------------------------------

_PANEL_STYLE = {"height": f"{PANEL_HEIGHT_PX}px", "overflow-y": "auto", "padding": "10px 14px"}
_TITLE_STYLE = {"font-weight": "600", "font-size": "15px", "margin-bottom": "4px"}
_TEXT_STYLE = {"font-size": "13px", "line-height": "1.4", "color": "#333"}
_SMALL_STYLE = {"font-size": "12px", "line-height": "1.35", "color": "#555"}
# A chart and its explanation: side by side in a wide cell; in a narrow one the explanation comes
# first, whole, and the chart shrinks to the room left (APP_CSS; the cells have a fixed height).
_EXPLANATION_STYLE = {**_TEXT_STYLE, "padding-top": "6px"}

# What Mesa's SolaraViz draws and a student should not have to decode, and the chart panels'
# layout. Mesa (3.5) offers no options for these, so they are styled here by the accessible
# names Mesa gives its inputs; tests/experiments/test_app_browser.py checks the result in Chromium.
APP_CSS = """
/* a chart panel: title, then the chart row filling the rest of the fixed-height cell */
.app-chart { display: flex; flex-direction: column; overflow: hidden !important; container-type: inline-size; }
.app-chart > .v-card__text { display: flex; flex-direction: column; flex: 1 1 auto; min-height: 0; padding: 0; }
.app-chart-row { display: flex; flex: 1 1 auto; min-height: 0; gap: 4px 14px; align-items: flex-start; }
.app-chart-row > div:first-child { flex: 0 1 auto; min-width: 0; min-height: 0; }
.app-chart-row img.chart-img { display: block; max-width: 100%; max-height: 100%; object-fit: contain; }
.app-explanation { flex: 1 1 140px; min-width: 140px; }
/* too narrow for the explanation beside the chart: explanation first, whole; chart below, scaled */
@container (max-width: 465px) {
  .app-chart-row { flex-direction: column; align-items: stretch; gap: 4px; }
  .app-explanation { order: -1; flex: 0 0 auto; min-width: 0; padding-top: 0 !important; }
  .app-chart-row > div:first-child { flex: 1 1 auto; display: flex; justify-content: center; }
  .app-chart-row img.chart-img { height: 100%; width: auto; }
}
/* each slider's value beside it (Vuetify shows it only while the thumb is dragged), its label above */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider label.v-label { flex: 1 0 100%; white-space: normal; height: auto; line-height: 1.3; }
.v-input__slider .v-slider { position: relative; margin-left: 0 !important; margin-right: 62px !important; }
.v-input__slider .v-slider > input {
  display: block !important; position: absolute; right: -62px; top: 50%; transform: translateY(-50%);
  width: 58px; border: 0; background: transparent; text-align: right; pointer-events: none;
  font-size: 14px; font-variant-numeric: tabular-nums; color: rgba(0, 0, 0, 0.87);
}
/* Mesa's own controls that students do not need: steps per redraw, threads, the one page tab */
.v-input:has([aria-label="Render Interval (steps)"]) { display: none !important; }
.v-card:has([aria-label="Play Interval (ms)"]) .v-input--checkbox { display: none !important; }
.v-tabs:not(:has(.v-tab ~ .v-tab)) { display: none !important; }
/* and "Play Interval (ms)" in words */
.v-input:has([aria-label="Play Interval (ms)"]) label.v-label { font-size: 0 !important; }
.v-input:has([aria-label="Play Interval (ms)"]) label.v-label::after {
  content: "Pause between days (ms)"; font-size: 16px;
}
"""


def _line(text: str, style: dict[str, str], classes: list[str] | None = None) -> None:
    """A paragraph (solara.Text alone is an inline span)."""
    solara.Text(text, style={**style, "display": "block"}, classes=classes or [])


def _render_key(model: AppModel) -> tuple[int, int, int]:
    """Changes exactly when a panel's picture can change: new run, new day, new shock."""
    return (model.app_serial, model.day, len(model.shock_log))


@solara.component
def ShocksPanel(model: AppModel) -> None:
    """One button per available shock, each with what it does."""
    update_counter.get()  # re-render when Mesa's controller steps or resets
    # a refused click's message, with the run and day it was refused at: shown only while they are current,
    # so that Step, Play or Reset clears it
    error, set_error = solara.use_state(("", None))

    def fire(spec: ShockSpec) -> None:
        at = (model.app_serial, model.day)
        try:
            model.fire(spec)
        except ShockAtLimit as exc:  # says which button and why, in one line
            set_error((str(exc), at))
        except Exception as exc:  # a bad parameter must not take the page down
            set_error((f"{spec.label} failed: {exc}", at))
        else:
            set_error(("", None))
        force_update()

    text, raised_at = error
    if text and raised_at == (model.app_serial, model.day):
        message = text
    elif model.shock_log:
        event, label = model.shock_log[-1]
        refused = model.shock_refused.get(len(model.shock_log) - 1)
        if event.day > model.day:
            message = f"{label} fired; it acts on day {event.day}. Press Step to see it."
        elif refused:
            message = f"{label} did not act on day {event.day}: {refused}."
        else:
            message = f"{label} acted on day {event.day}."
    else:
        message = ""

    with solara.Card(margin=0, style=_PANEL_STYLE, classes=["app-shocks"]):
        _line("Shocks", _TITLE_STYLE)
        _line("Fire a shock now; it hits the markets at the next step.", _SMALL_STYLE)
        for spec in available_shocks(model):
            with solara.Row(style={"align-items": "center", "margin-top": "8px"}, gap="12px"):
                solara.Button(
                    spec.label,
                    on_click=lambda spec=spec: fire(spec),
                    color="primary",
                    outlined=True,
                    disabled=not model.running,
                    style={"min-width": "190px"},
                    classes=[f"shock-{spec.key}"],
                )
                solara.Text(spec.explanation, style=_SMALL_STYLE)
        if message:
            _line(message, {**_SMALL_STYLE, "margin-top": "10px", "font-weight": "600"}, ["app-shock-message"])


def _pct(x: float) -> str:
    return f"{100.0 * x:.2f} %"


@solara.component
def ScenarioPanel(model: AppModel) -> None:
    """The scenario, today's prices, the settings in force and the events around today."""
    update_counter.get()
    spec = model.scenario_spec
    latest = model.latest
    with solara.Card(margin=0, style=_PANEL_STYLE, classes=["app-scenario"]):
        _line(f"Scenario: {spec.name} · day {model.day} of {model.config.simulation.days}", _TITLE_STYLE)
        if model.failure:
            _line(model.failure, {**_TEXT_STYLE, "color": "#b00020", "font-weight": "600"}, ["app-failure"])
        if spec.description:
            _line(spec.description, _TEXT_STYLE)
        _line(
            f"Today: USD/JPY {latest['usdjpy']:.2f} · UST 10y {_pct(latest['ust10y_yield'])} · "
            f"JGB 10y {_pct(latest['jgb10y_yield'])} · BoJ rate {_pct(model.market.boj_rate)} · "
            f"Fed rate {_pct(model.market.us_short_rate)} · risk index {latest['risk_index']:.1f}",
            {**_TEXT_STYLE, "margin-top": "8px"},
            ["app-today"],
        )
        settings = " · ".join(f"{label}: {value}" for label, value in effective_settings(model.config))
        _line(f"Settings in force: seed {model.seed} · {settings}", {**_SMALL_STYLE, "margin-top": "8px"})
        _line("Events (dashed lines on the charts):", {**_SMALL_STYLE, "margin-top": "8px", "font-weight": "600"})
        for line in event_lines(model):
            _line(line, _SMALL_STYLE)


EVENTS_PAST = 5  # the events panel: the latest events that acted,
EVENTS_AHEAD = 3  # and the next ones to come


def event_lines(model: AppModel) -> list[str]:
    """The events panel's lines: the scenario's events and the shocks fired, in the order they act (by
    day; a day's decisions, then its news; the scenario's before the buttons'), as a window around
    today: the latest :data:`EVENTS_PAST` that acted and the next :data:`EVENTS_AHEAD` to come, with a
    count of those left out either side."""
    timeline = [
        ((e.day, e.kind not in DECISION_KINDS, 0, i), e.day,
         f"day {e.day}: {e.kind.replace('_', ' ')} ({_params(e.params)})" + (f", {e.source}" if e.source else ""))
        for i, e in enumerate(model.scenario_spec.events)
    ]  # fmt: skip
    for i, (e, label) in enumerate(model.shock_log):
        refused = model.shock_refused.get(i)
        text = f"day {e.day}: {label} ({_params(e.params)})" + (f" — not applied: {refused}" if refused else "")
        timeline.append(((e.day, e.kind not in DECISION_KINDS, 1, i), e.day, text))
    timeline.sort(key=lambda item: item[0])
    past = [text for _, day, text in timeline if day <= model.day]
    ahead = [f"{text} — to come" for _, day, text in timeline if day > model.day]
    lines = []
    if len(past) > EVENTS_PAST:
        lines.append(f"… {len(past) - EVENTS_PAST} earlier")
    lines += past[-EVENTS_PAST:] + ahead[:EVENTS_AHEAD]
    if len(ahead) > EVENTS_AHEAD:
        lines.append(f"… {len(ahead) - EVENTS_AHEAD} more to come")
    return lines or ["none yet"]


def _params(params: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:.4g}" for k, v in params.items())


def chart_component(spec: ChartSpec) -> Callable[..., Any]:
    """A panel drawing ``spec`` live from ``model.history``, its explanation beside it."""

    @solara.component
    def ChartPanel(model: AppModel) -> None:
        update_counter.get()
        chart = solara.use_memo(lambda: TimeSeriesChart(spec), [])
        present = set(spec.required) <= set(model.history)

        def render() -> bytes:
            chart.update(model.history, model.event_days())
            return chart.png()

        png = solara.use_memo(render if present else (lambda: b""), [_render_key(model), present])
        with solara.Card(margin=0, style=_PANEL_STYLE, classes=["app-chart", f"chart-{spec.key}"]):
            _line(spec.title, _TITLE_STYLE)
            if not present:
                _line("This model does not record these series.", _SMALL_STYLE)
                return
            with solara.Div(classes=["app-chart-row"]):
                solara.Image(png, format="png", classes=["chart-img", f"chart-img-{spec.key}"])
                _line(spec.explanation, _EXPLANATION_STYLE, ["app-explanation"])

    ChartPanel.__name__ = f"Chart_{spec.key}"
    return ChartPanel


@solara.component
def NetworkPanel(model: AppModel) -> None:
    """The NISA households' network, coloured by panic (``model.nisa_network_view()``)."""
    update_counter.get()
    chart = solara.use_memo(NetworkChart, [])
    view = getattr(model, "nisa_network_view", None)

    def render() -> tuple[bytes, int, float]:
        graph, panic = view()
        chart.update(graph, panic)
        return chart.png(), graph.number_of_nodes(), chart.panic_share

    png, shown, share = solara.use_memo(
        render if callable(view) else (lambda: (b"", 0, 0.0)), [_render_key(model), callable(view)]
    )
    with solara.Card(margin=0, style=_PANEL_STYLE, classes=["app-chart", "chart-nisa-network"]):
        _line("NISA households' network", _TITLE_STYLE)
        if not callable(view):
            _line("This model has no NISA households.", _SMALL_STYLE)
            return
        with solara.Div(classes=["app-chart-row"]):
            solara.Image(png, format="png", classes=["chart-img", "chart-img-nisa-network"])
            with solara.Div(style=_EXPLANATION_STYLE, classes=["app-explanation"]):
                _line(
                    "A sample of households and who talks to whom. Colour is each household's panic: a "
                    "household that panics redeems its foreign funds (buys yen), and panic spreads to its "
                    "neighbours.",
                    _TEXT_STYLE,
                )
                _line(
                    f"Day {model.day}: {share:.0%} of the {shown} households shown are panicking.",
                    {**_TEXT_STYLE, "margin-top": "8px", "font-weight": "600"},
                )


# -- the page -------------------------------------------------------------------------------------


def page_components(model: CarryUnwindModel) -> list[tuple[Callable[..., Any], int]]:
    """SolaraViz components for what ``model`` supports, all on page 0, in reading order."""
    components: list[Callable[..., Any]] = [ShocksPanel, ScenarioPanel]
    components += [_CHART_COMPONENTS[spec.key] for spec in available_charts(model.history)]
    if callable(getattr(model, "nisa_network_view", None)):
        components.append(NetworkPanel)
    return [(c, 0) for c in components]


# one component per chart spec, made once so their identity (and each figure) survives re-renders
_CHART_COMPONENTS = {spec.key: chart_component(spec) for spec in CHARTS}


def new_model() -> AppModel:
    """A model with every input at its default, as the page opens."""
    return AppModel(**{name: desc["value"] for name, desc in mesa_model_params().items()})


def warm_up(days: int = 2) -> float:
    """Step a small model, so that numba has compiled (or loaded) every kernel; returns seconds.

    The server runs this as it loads the app (``CARRY_UNWIND_APP_WARM_UP=1``), so the first press
    of Step in a browser does not wait for the compiler.
    """
    start = time.perf_counter()
    model = AppModel(hedge_funds__n_funds=50)
    for _ in range(days):
        model.step()
    return time.perf_counter() - start


if os.environ.get("CARRY_UNWIND_APP_WARM_UP") == "1":  # set by experiments.app.server
    log.info("numba kernels ready in %.1f s", warm_up())


@solara.component
def AppView(model: solara.Reactive[AppModel]) -> None:
    """Mesa's SolaraViz around ``model``; Reset puts the new model into the same reactive."""
    components = solara.use_memo(lambda: page_components(model.value), [])
    params = solara.use_memo(mesa_model_params, [])
    solara.Title(TITLE)  # the browser tab's title
    solara.Style(APP_CSS)
    SolaraViz(
        model,
        components=components,
        model_params=params,
        name=TITLE,
        play_interval=PLAY_INTERVAL_MS,
    )


@solara.component
def Page() -> None:
    """The app: one model per browser session."""
    first = solara.use_memo(new_model, [])
    AppView(solara.use_reactive(first))
