"""Widget-level tests of the browser app (experiments/app/page.py), rendered with ``solara.render``.

The page is rendered inside ``solara.AppLayout`` as the Solara server does, so Mesa's sidebar
(Step, Reset, the model's inputs) is part of the widget tree; buttons are pressed with
``widget.click()`` and inputs set through their ``v_model``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import ipyvuetify as v
import ipywidgets
import networkx as nx
import numpy as np
import pytest
import solara
from mesa.visualization.utils import force_update

from experiments.app import specs as app_specs
from experiments.app.charts import NetworkChart
from experiments.app.page import AppModel, AppView, NetworkPanel, chart_component, new_model, page_components
from experiments.app.specs import (
    CHARTS,
    SHOCKS,
    available_charts,
    available_params,
    available_shocks,
    coerce_seed,
    mesa_model_params,
    model_kwargs,
)
from model.scenarios import load_scenario
from model.validation import ConfigError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- helpers ---------------------------------------------------------------------------------------


def render_app(model: AppModel | None = None):
    """The app around a reactive model, as the server shows it; returns (reactive model, finder)."""
    reactive = solara.reactive(model if model is not None else new_model())
    _, rc = solara.render(solara.AppLayout(children=[AppView(reactive)]), handle_error=False)
    return reactive, rc


def button(rc, label: str):
    return rc.find(v.Btn, children=[label]).single.widget


def card(rc, css_class: str):
    """The panel (a v.Card) carrying ``css_class``."""
    (found,) = [w for w in rc.find(v.Card).widgets if css_class in (w.class_ or "").split()]
    return found


def text_of(widget) -> str:
    """All text inside a widget tree, joined."""
    out = []
    for child in getattr(widget, "children", None) or []:
        out.append(child if isinstance(child, str) else text_of(child))
    return " ".join(out)


def chart_png(rc, key: str) -> bytes:
    (image,) = [w for w in rc.find(ipywidgets.Image).widgets if f"chart-img-{key}" in w._dom_classes]
    return bytes(image.value)


def twin(model: AppModel) -> AppModel:
    """The same run without the shock about to be fired: same inputs and seed (common random
    numbers), stepped to the same day with every shock fired so far scheduled on its day as a
    scenario's event is (where the app schedules a button)."""
    other = AppModel(scenario_name=model.scenario_name, seed=model.seed)
    for day in range(1, model.day + 1):
        for event, _ in model.shock_log:
            if event.day == day:
                other.schedule_scenario_event(event)
        other.step()
    return other


# -- the specs: sliders, seed, charts and shocks plug in by data ------------------------------------


def test_model_params_list_scenario_seed_and_every_existing_slider_field():
    params = mesa_model_params()
    assert params["scenario_name"]["type"] == "Select" and "baseline" in params["scenario_name"]["values"]
    assert params["seed"]["type"] == "InputText"
    config = app_specs.start_config().to_dict()
    for spec in app_specs.PARAMS:
        exists = spec.section in config and spec.field in config[spec.section]
        assert (spec.name in params) == exists, spec.name
    for name, desc in params.items():
        if desc["type"].startswith("Slider"):
            assert desc["min"] <= desc["value"] <= desc["max"], name


def test_a_slider_for_a_missing_config_field_is_left_out(monkeypatch):
    fake = app_specs.ParamSpec("no_such_section__level", "Not there", "SliderFloat", 0.0, 1.0, 0.1)
    monkeypatch.setattr(app_specs, "PARAMS", app_specs.PARAMS + (fake,))
    assert "no_such_section__level" not in mesa_model_params()
    assert [s.name for s, _ in available_params()] == [s.name for s, _ in available_params() if s is not fake]


def test_seed_typed_as_text_is_coerced_to_int_and_bad_seeds_are_rejected():
    assert coerce_seed("42") == 42
    assert coerce_seed(" 7 ") == 7
    assert coerce_seed(3) == 3
    assert coerce_seed("+5") == 5
    assert coerce_seed(str(2**64 - 1)) == 2**64 - 1  # the model's largest seed
    for bad in ("", "abc", "1.5", "-1", -1, True, "++5", "+-5", str(2**64), 2**64, 1e30, "99999999999999999999"):
        with pytest.raises(ConfigError, match="seed"):
            coerce_seed(bad)


@pytest.mark.parametrize("inputs", [{"seed": "++5"}, {"seed": str(2**64)}, {"seed": 1e30},
                                    {"hedge_funds__n_funds": 10**400}, {"market__boj_rate": 10**400},
                                    {"market__boj_rate": -(10**400)}])  # fmt: skip
def test_input_the_page_cannot_use_stops_the_starting_model_with_one_line(inputs):
    """What a crafted message can send (the text box, a slider's JSON) is named on the page: the
    starting model, stopped, never a traceback in place of the page."""
    model = AppModel(**inputs)
    assert model.failure.startswith("Not applied: ") and "\n" not in model.failure
    assert not model.running and model.day == 0 and model.scenario_name == app_specs.start_scenario()
    assert next(iter(inputs)).replace("__", ".").split(".")[-1] in model.failure


def test_a_shock_fired_the_day_before_a_scripted_decision_acts_on_top_of_it():
    """The button's hike is applied with the day's decisions, after the scenario's own decision that
    day (at day − ½): the BoJ's scripted move to 0.25% on day 21 of boj_hike_2024, then the button's
    25 bp; fired before, applied at once, the decision undid it."""
    model = AppModel(scenario_name="boj_hike_2024")
    scripted = next(e for e in model.scenario_spec.events if e.kind == "boj_rate")
    for _ in range(scripted.day - 1):
        model.step()
    hike = next(s for s in SHOCKS if s.key == "boj_hike")
    before = model.market.boj_rate
    model.fire(hike)
    assert model.market.boj_rate == before  # queued, nothing applied yet
    model.step()
    assert model.day == scripted.day
    assert model.market.boj_rate == pytest.approx(scripted.params["rate"] + 0.0025)
    [(event, label)] = model.shock_log
    assert label == "BoJ hike" and event.day == scripted.day
    assert event.params["rate"] == pytest.approx(scripted.params["rate"] + 0.0025)  # the log shows what acted


def test_a_shock_fired_while_a_day_runs_waits_for_the_day_to_end():
    """Play steps in a worker thread while the buttons stay live: a click during a day waits for it
    and is queued for the next one, never applied half-way through a day."""
    import threading

    model = AppModel()
    inside, release = threading.Event(), threading.Event()
    original = model.market.close_day

    def slow_close(**kw):
        inside.set()
        release.wait(10)
        return original(**kw)

    model.market.close_day = slow_close
    fired = _click_during_a_step(model, inside, release)
    assert model.day == 1 and fired[0].day == 2  # queued for the day after the one that was running


def _click_during_a_step(model, inside, release) -> list:
    """Step ``model`` in a worker thread and, once the step has set ``inside`` (and waits for ``release``),
    fire a button from another thread: the click must wait until the day ends. Returns the fired events."""
    import threading

    worker = threading.Thread(target=model.step)
    worker.start()
    assert inside.wait(30)
    fired = []
    clicker = threading.Thread(target=lambda: fired.append(model.fire(next(s for s in SHOCKS if s.key == "risk_off"))))
    clicker.start()
    clicker.join(0.5)
    assert clicker.is_alive() and not fired  # the click waits while the day runs
    release.set()
    worker.join(30)
    clicker.join(30)
    return fired


def test_a_button_decision_keeps_the_days_scripted_news_as_a_scheduled_event_does():
    """On 31 Jul 2024 (day 21) boj_hike_2024 has the BoJ's hike and the Governor's +5 bp guidance on
    the expected path. The button's hike, a decision, acts after the scripted decision and before the
    day's news, as the same event scheduled with schedule_scenario_event does: the guidance holds and
    the run is the scheduled twin's bit for bit (applied after the news, the hike re-anchored the
    path and erased it)."""
    from model.scenarios import DECISION_KINDS, ScenarioEvent

    model = AppModel(scenario_name="boj_hike_2024")
    day = model.calendar.day_of("2024-07-31")
    todays = [e for e in model.scenario_spec.events if e.day == day]
    assert {"boj_rate", "boj_path_news"} <= {e.kind for e in todays}
    scheduled = AppModel(scenario_name="boj_hike_2024")
    for _ in range(day - 1):
        model.step()
        scheduled.step()
    model.fire(next(s for s in SHOCKS if s.key == "boj_hike"))
    rate = next(e for e in todays if e.kind in DECISION_KINDS).params["rate"] + 0.0025
    scheduled.schedule_scenario_event(ScenarioEvent(day=day, kind="boj_rate", params={"rate": rate}))
    for _ in range(3):
        model.step()
        scheduled.step()
    [(event, _)] = model.shock_log
    assert event.params == {"rate": rate}
    assert model.market.boj_rate == scheduled.market.boj_rate == rate
    assert model.market.boj_path.level == scheduled.market.boj_path.level
    assert model.market.boj_path.level > rate  # the guidance after the hike still holds
    assert model.history == scheduled.history


def test_two_buttons_the_same_day_act_in_the_same_order_whatever_the_click_order():
    """A day's button decisions act before its button news: "Fed cuts priced" then "Fed cut" is the
    reverse click order bit for bit (news first, then a decision, would have erased the news)."""
    runs = []
    for keys in (("fed_cuts_priced", "fed_cut"), ("fed_cut", "fed_cuts_priced")):
        model = AppModel(hedge_funds__n_funds=50)
        model.step()
        for key in keys:
            model.fire(next(s for s in SHOCKS if s.key == key))
        model.step()
        model.step()
        runs.append(model)
    first, second = runs
    assert first.market.fed_path.level == second.market.fed_path.level
    assert first.market.fed_path.level < first.market.us_short_rate  # the cuts priced survive the cut
    assert first.history == second.history


def test_a_button_whose_value_would_pass_its_limit_is_refused_in_one_line():
    """A value outside its event kind's range is refused, never held at the limit (the page said
    "Fed cut fired" for a cut that did nothing); the button stays, and pressing it says why."""
    from experiments.app.page import ShocksPanel
    from experiments.app.specs import ShockAtLimit

    model = AppModel(hedge_funds__n_funds=50)
    model.market.us_short_rate = -0.05
    cut = next(s for s in SHOCKS if s.key == "fed_cut")
    assert cut in available_shocks(model)
    with pytest.raises(ShockAtLimit, match=r"^Fed cut: the rate would pass its limit \(−5%\); not fired$"):
        model.fire(cut)
    assert model.shock_log == []
    _, rc = solara.render(ShocksPanel(model), handle_error=False)
    button(rc, "Fed cut").click()
    message = text_of(card(rc, "app-shocks"))
    assert "Fed cut: the rate would pass its limit (−5%); not fired" in message and "Fed cut fired" not in message
    model.market.boj_rate = 0.3
    with pytest.raises(ShockAtLimit, match=r"^BoJ hike: the rate would pass its limit \(30%\)"):
        model.fire(next(s for s in SHOCKS if s.key == "boj_hike"))


def test_a_button_the_days_scripted_decision_puts_past_its_limit_does_not_act_and_says_so(monkeypatch):
    """The event is built as it applies: a cut fired within the limit that the day's scripted decision
    puts past it does not act, the model runs on and the page says so (the limit is moved close here,
    so that the day still clears)."""
    from experiments.app.page import ShocksPanel
    from model import scenarios
    from model.scenarios import ScenarioEvent

    model = AppModel(hedge_funds__n_funds=50)
    model.step()
    rate = model.market.us_short_rate
    kinds = {k: dict(v) for k, v in scenarios.EVENT_KINDS.items()}
    kinds["us_short_rate"] = {"rate": (rate - 0.003, 0.3)}
    monkeypatch.setattr(scenarios, "EVENT_KINDS", kinds)
    model.schedule_scenario_event(ScenarioEvent(day=2, kind="us_short_rate", params={"rate": rate - 0.001}))
    model.fire(next(s for s in SHOCKS if s.key == "fed_cut"))  # within the limit at today's rate
    model.step()
    assert model.running and not model.failure and model.day == 2
    assert model.market.us_short_rate == rate - 0.001  # the scripted decision's rate, not the limit
    [(at, reason)] = model.shock_refused.items()
    assert at == 0 and reason.startswith("the rate would pass its limit (")
    assert 2 not in model.event_days()
    _, rc = solara.render(ShocksPanel(model), handle_error=False)
    assert f"Fed cut did not act on day 2: {reason}." in text_of(card(rc, "app-shocks"))


def test_a_shock_fired_while_the_days_events_run_waits_for_the_day_to_end():
    """Mesa runs the day's scheduled events before the day itself; a click then waits too, and the
    button is scheduled for the next day, never into the queue Mesa is working through."""
    import threading

    model = AppModel()
    inside, release = threading.Event(), threading.Event()

    def slow_event():
        inside.set()
        release.wait(10)

    model.schedule(1, slow_event)
    fired = _click_during_a_step(model, inside, release)
    assert model.day == 1 and fired[0].day == 2


def test_the_events_panel_shows_the_events_just_applied_and_the_next_ones():
    """On day 8 of boj_hike_2024 the panel lists the events of days 7 and 8 that just acted (the last
    8 of the scenario's events, all in the future then, hid them) and the next few to come."""
    from experiments.app.page import EVENTS_AHEAD, ScenarioPanel

    model = AppModel(scenario_name="boj_hike_2024", hedge_funds__n_funds=50)
    for _ in range(8):
        model.step()
    model.fire(next(s for s in SHOCKS if s.key == "risk_off"))
    _, rc = solara.render(ScenarioPanel(model), handle_error=False)
    text = text_of(card(rc, "app-scenario"))
    events = model.scenario_spec.events
    for e in events:
        if e.day <= model.day:
            assert f"day {e.day}: {e.kind.replace('_', ' ')}" in text and e.source in text
    assert "day 9: Sentiment jump (log_jump = 0.7) — to come" in text
    ahead = [e for e in events if e.day > model.day][: EVENTS_AHEAD - 1]
    for e in ahead:
        assert f"day {e.day}: {e.kind.replace('_', ' ')}" in text
    assert f"… {sum(e.day > model.day for e in events) - len(ahead)} more to come" in text
    assert f"day {events[-1].day}:" not in text


def test_unmoved_sliders_leave_the_scenario_alone_and_moved_ones_convert_units():
    defaults = {
        name: desc["value"] for name, desc in mesa_model_params().items() if name not in ("scenario_name", "seed")
    }
    assert model_kwargs(defaults) == {}
    moved = model_kwargs({**defaults, "market__boj_rate": 0.25, "hedge_funds__forced_sales": False})
    assert moved == {"market__boj_rate": pytest.approx(0.0025), "hedge_funds__forced_sales": False}
    with pytest.raises(ConfigError, match="unknown app parameter"):
        model_kwargs({"hedge_funds__no_such_field": 1.0})


def test_a_whole_number_slider_refuses_a_fraction_and_a_number_slider_does_not():
    """The browser's SliderInt sends whole numbers only; a crafted message with a fraction is refused by name."""
    params = mesa_model_params()
    funds = params["hedge_funds__n_funds"]
    assert funds["type"] == "SliderInt" and params["hedge_funds__max_leverage"]["type"] == "SliderFloat"
    fraction = funds["min"] + 0.5  # inside the slider's range: only its kind is wrong
    with pytest.raises(
        ConfigError,
        match=rf"^hedge_funds__n_funds = {fraction} is not allowed; expected a whole number from "
        rf"{funds['min']} to {funds['max']}$",
    ):
        model_kwargs({"hedge_funds__n_funds": fraction})
    assert model_kwargs({"hedge_funds__n_funds": float(funds["min"] + 1)}) == {"hedge_funds__n_funds": funds["min"] + 1}
    with pytest.raises(ConfigError, match=r"^hedge_funds__max_leverage = 'x' is not allowed; expected a number from "):
        model_kwargs({"hedge_funds__max_leverage": "x"})


def test_app_model_signature_has_no_var_keyword_so_mesa_reset_passes_only_the_inputs():
    params = inspect.signature(AppModel.__init__).parameters
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert "scenario" not in params
    assert set(mesa_model_params()) <= set(params)


def test_charts_appear_exactly_when_their_columns_are_recorded():
    model = new_model()
    shown = {spec.key for spec in available_charts(model.history)}
    for spec in CHARTS:
        assert (spec.key in shown) == set(spec.required).issubset(model.history), spec.key
    assert {"usdjpy", "yields", "carry_stock", "stress", "risk_index"} <= shown
    # a sector that starts recording a column gets its chart, without code changes
    model.history.setdefault("lifer_hedge_ratio", [0.45] * len(model.history["day"]))
    keys = [c.__name__ for c, _ in page_components(model)]
    assert "Chart_lifer_hedge" in keys


def test_shock_buttons_follow_the_event_kinds_the_model_knows(monkeypatch):
    from model import scenarios

    model = new_model()
    kinds = {k: dict(v) for k, v in scenarios.EVENT_KINDS.items()}
    kinds.pop("supplementary_budget", None)
    kinds["mof_intervention"] = {"jpy_tn": (0.0, 100.0)}
    monkeypatch.setattr(scenarios, "EVENT_KINDS", kinds)
    keys = [s.key for s in available_shocks(model)]
    assert "mof_intervention" in keys and "supplementary_budget" not in keys
    event = next(s for s in SHOCKS if s.key == "mof_intervention").event(model)
    assert event.params == {"jpy_tn": 5.0} and event.day == model.day + 1
    # a parameter without a unit rule hides the button instead of guessing a value
    kinds["mof_intervention"] = {"strength": (0.0, 1.0)}
    assert "mof_intervention" not in [s.key for s in available_shocks(model)]


# -- the page: step, reset, shocks ------------------------------------------------------------------


def test_step_advances_the_model_and_redraws_every_chart():
    model, rc = render_app()
    keys = [spec.key for spec in available_charts(model.value.history)]
    before = {key: chart_png(rc, key) for key in keys}
    assert all(png.startswith(PNG_MAGIC) for png in before.values())
    button(rc, "Step").click()
    button(rc, "Step").click()
    assert model.value.day == 2
    after = {key: chart_png(rc, key) for key in keys}
    changed = [key for key in keys if after[key] != before[key]]
    assert changed == keys
    assert "day 2 of" in text_of(card(rc, "app-scenario"))


def test_boj_hike_raises_the_policy_rate_by_25bp_and_fed_cut_lowers_the_us_rate():
    model, rc = render_app()
    button(rc, "Step").click()
    boj, fed = model.value.market.boj_rate, model.value.market.us_short_rate
    button(rc, "BoJ hike").click()
    button(rc, "Fed cut").click()
    # queued for the next day, not applied yet
    assert (model.value.market.boj_rate, model.value.market.us_short_rate) == (boj, fed)
    assert "Fed cut fired; it acts on day 2" in text_of(card(rc, "app-shocks"))
    button(rc, "Step").click()
    assert model.value.history["boj_rate"][-1] == pytest.approx(boj + 0.0025)
    assert model.value.history["us_short_rate"][-1] == pytest.approx(fed - 0.0025)
    assert [label for _, label in model.value.shock_log] == ["BoJ hike", "Fed cut"]
    assert "Fed cut acted on day 2" in text_of(card(rc, "app-shocks"))


def test_risk_off_jump_roughly_doubles_the_risk_index_next_day():
    model, rc = render_app()
    for _ in range(3):
        button(rc, "Step").click()
    calm = twin(model.value)
    before = chart_png(rc, "risk_index")
    button(rc, "Sentiment jump").click()
    button(rc, "Step").click()
    calm.step()
    shocked = model.value.latest["risk_index"]
    # the shock adds 0.7 to ln v: a factor e^0.7 ~ 2 against the same run without it
    assert shocked / calm.latest["risk_index"] > 1.5
    assert chart_png(rc, "risk_index") != before


def test_every_available_shock_button_changes_the_next_day_against_a_twin_run():
    model, rc = render_app()
    button(rc, "Step").click()
    shocks = available_shocks(model.value)
    assert len(shocks) == len(SHOCKS)  # in the starting scenario every button can act
    for spec in shocks:
        calm = twin(model.value)
        button(rc, spec.label).click()
        assert model.value.shock_log[-1][1] == spec.label
        button(rc, "Step").click()
        calm.step()
        differs = [k for k in calm.latest if not math.isclose(calm.latest[k], model.value.latest[k], rel_tol=1e-12)]
        assert differs, f"{spec.label} changed nothing"


def test_reset_builds_the_chosen_scenario_with_the_typed_seed_and_moved_slider():
    model, rc = render_app()
    button(rc, "Step").click()
    first = model.value
    # boj_hike_2024 sets fields apart from the starting scenario's values: one a slider left
    # untouched (market.boj_rate) and one no slider shows (cta.pre_sample_drift_pa)
    chosen, start = load_scenario("boj_hike_2024").config, first.config
    assert chosen.market.boj_rate != start.market.boj_rate
    assert chosen.cta.pre_sample_drift_pa != start.cta.pre_sample_drift_pa
    rc.find(v.Select, label="Scenario").widget.v_model = "boj_hike_2024"
    seed_box = rc.find(v.TextField, label=mesa_model_params()["seed"]["label"]).widget
    seed_box.v_model = "42"
    seed_box.fire_event("keyup.enter", {})
    leverage = mesa_model_params()["hedge_funds__max_leverage"]["label"]
    rc.find(v.Slider, label=leverage).widget.v_model = 12.0
    button(rc, "Reset").click()
    assert model.value is not first
    assert model.value.day == 0
    assert model.value.scenario_spec.name == "boj_hike_2024"
    assert model.value.seed == 42
    assert model.value.config.hedge_funds.max_leverage == 12.0
    # the scenario's own settings are kept where no slider was moved
    assert model.value.config.market.boj_rate == chosen.market.boj_rate
    assert model.value.config.cta.pre_sample_drift_pa == chosen.cta.pre_sample_drift_pa
    assert "Scenario: boj_hike_2024" in text_of(card(rc, "app-scenario"))


# -- the NISA network panel (contract: model.nisa_network_view() -> (Graph, {node: panic})) --------


class _NetworkModel(AppModel):
    """An app model with a households' network, as the NISA sector will expose it."""

    def nisa_network_view(self):
        graph = nx.watts_strogatz_graph(60, 4, 0.1, seed=3)
        panic = {node: float(node < 2 * self.day) for node in graph.nodes}
        return graph, panic


def test_network_panel_draws_the_households_coloured_by_panic_and_follows_the_model():
    model = _NetworkModel(seed=1)
    assert "NetworkPanel" in [c.__name__ for c, _ in page_components(model)]
    _, rc = solara.render(NetworkPanel(model), handle_error=False)
    first = chart_png(rc, "nisa-network")
    assert first.startswith(PNG_MAGIC)
    model.step()
    model.step()
    force_update()  # what Mesa's controller does after a step
    assert chart_png(rc, "nisa-network") != first


def test_network_chart_keeps_its_layout_while_the_colours_change():
    chart = NetworkChart()
    graph = nx.cycle_graph(20)
    calls = []
    layout = chart._layout
    chart._layout = lambda g: calls.append(1) or layout(g)
    chart.update(graph, {n: 0.0 for n in graph})
    offsets = np.array(chart._points.get_offsets())
    calm = chart.png()
    chart.update(graph, {n: 1.0 for n in graph})
    assert len(calls) == 1
    np.testing.assert_array_equal(np.array(chart._points.get_offsets()), offsets)
    assert chart.png() != calm


def test_a_chart_whose_columns_are_missing_says_so_instead_of_failing():
    spec = next(s for s in CHARTS if s.key == "mof_reserves")
    model = new_model()
    model.history.pop("mof_reserves_usd_bn", None)
    _, rc = solara.render(chart_component(spec)(model), handle_error=False)
    assert "does not record" in text_of(card(rc, "chart-mof_reserves"))


@pytest.mark.parametrize(
    "inputs, match",
    [
        ({"seed": "abc"}, "seed = 'abc' is not allowed"),
        ({"seed": "²"}, "seed = '²' is not allowed"),
        ({"scenario_name": "/etc/passwd"}, "scenario = '/etc/passwd' is not allowed"),
        ({"hedge_funds__n_funds": "abc"}, "hedge_funds__n_funds = 'abc' is not allowed"),
        ({"hedge_funds__forced_sales": "false"}, "expected true or false"),
        ({"hedge_funds__n_funds": 10**7}, "expected from 50 to 2000"),
    ],
)
def test_bad_input_builds_a_stopped_model_that_says_why_instead_of_a_traceback(inputs, match):
    model = AppModel(**inputs)
    assert not model.running and match in model.failure and "\n" not in model.failure
    day = model.day
    model.step()  # nothing runs until the input is fixed
    assert model.day == day


def test_a_day_that_cannot_clear_stops_the_model_with_one_line_and_shocks_fire_once_a_day():
    from experiments.app.specs import SHOCKS, ShockAtLimit, ShockUnavailable

    model = AppModel(hedge_funds__n_funds=50)
    for _ in range(40):  # every shock every day: soon a day moves USD/JPY beyond the plausibility bound
        for spec in SHOCKS:
            try:
                model.fire(spec)
            except ShockAtLimit:  # one the run has pushed past what it can do (the MoF's reserves spent)
                pass
        with pytest.raises(ShockUnavailable, match="already fired"):
            model.fire(SHOCKS[0])
        model.step()
        if model.failure:
            break
    assert not model.running and model.failure.startswith(
        f"The markets could not find prices within the day's limits on day {model.day + 1} "
    )
    assert model.day == model.history["day"][-1]  # the day shown is the last that ran
    assert "Details: implausible prices" in model.failure and "\n" not in model.failure
    with pytest.raises(ShockUnavailable, match="press Reset"):
        model.fire(SHOCKS[0])


def test_the_starting_scenario_sets_the_sliders_so_its_values_and_the_baselines_can_both_be_chosen(monkeypatch):
    baseline = {name: desc["value"] for name, desc in mesa_model_params().items()}
    monkeypatch.setenv(app_specs.START_SCENARIO_ENV, "boj_hike_2024")
    params = mesa_model_params()
    assert params["scenario_name"]["value"] == "boj_hike_2024"
    hike = load_scenario("boj_hike_2024").config
    assert params["market__boj_rate"]["value"] == pytest.approx(100 * hike.market.boj_rate)
    assert params["mof__intervention"]["value"] is hike.mof.intervention is not baseline["mof__intervention"]
    # every slider where the page opens leaves the scenario alone, and the baseline's setting is a move
    opened = {name: desc["value"] for name, desc in params.items() if name not in ("scenario_name", "seed")}
    assert model_kwargs(opened) == {}
    moved = {**opened, "mof__intervention": baseline["mof__intervention"]}
    model = AppModel(**moved)  # the scenario comes from the starting one
    assert model.scenario_name == "boj_hike_2024" and not model.failure
    assert model.config.mof.intervention is baseline["mof__intervention"]
    assert model.config.market.boj_rate == hike.market.boj_rate


def test_an_unknown_starting_scenario_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv(app_specs.START_SCENARIO_ENV, "no_such_scenario")
    with pytest.raises(ConfigError, match=r"^CARRY_UNWIND_APP_SCENARIO = 'no_such_scenario' is not allowed; expected"):
        mesa_model_params()


def test_a_configuration_refused_as_a_whole_is_named_and_the_model_built_once(monkeypatch):
    """Inputs each within their slider but refused together (a bound that depends on another field) are
    caught before the model is built: the page names them, and the starting model is built once, never on
    top of a half-built one."""
    from types import SimpleNamespace

    from experiments.app import page
    from model.model import CarryUnwindModel

    class Refusing:
        def with_overrides(self, overrides):
            raise ConfigError(f"{sorted(overrides)} are not allowed together")

    monkeypatch.setattr(page, "load_scenario", lambda name: SimpleNamespace(config=Refusing()))
    built = []
    original = CarryUnwindModel.__init__

    def counting(self, *args, **kwargs):
        built.append(kwargs.get("scenario"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(CarryUnwindModel, "__init__", counting)
    model = AppModel(market__boj_rate=0.25)
    assert model.failure.startswith("Not applied: ['market__boj_rate'] are not allowed together")
    assert built == [app_specs.start_scenario()] and not model.running


# -- what the audit of the page found (sliders, buttons, messages, the last day) ---------------------


def test_the_leverage_slider_stops_at_15_inside_the_fields_range():
    """Above about 15, runs of the default scenario stop on a day the markets cannot clear with no button
    pressed (baseline, seed 4: on day 176 at 20, on day 2 at 30); the slider offered up to 30."""
    desc = mesa_model_params()["hedge_funds__max_leverage"]
    fields = dataclasses.fields(app_specs.start_config().hedge_funds)
    declared = next(f for f in fields if f.name == "max_leverage").metadata
    assert desc["max"] == 15.0 and declared["lo"] <= desc["min"] <= desc["max"] <= declared["hi"]
    refused = r"^hedge_funds__max_leverage = 20\.0 is not allowed; expected from 1\.0 to 15"
    with pytest.raises(ConfigError, match=refused):
        model_kwargs({"hedge_funds__max_leverage": 20.0})


def test_a_refused_clicks_message_goes_away_at_the_next_step_and_at_reset():
    """The message belongs to the day it was refused on: after Step the page shows what the button did,
    and after Reset nothing of the old run (it stayed until the next successful click)."""
    model, rc = render_app()
    button(rc, "Step").click()
    button(rc, "Fed cut").click()
    button(rc, "Fed cut").click()  # a second time for the same day: refused
    assert "Fed cut failed: already fired for day 2" in text_of(card(rc, "app-shocks"))
    button(rc, "Step").click()
    message = text_of(card(rc, "app-shocks"))
    assert "already fired" not in message and "Fed cut acted on day 2." in message
    button(rc, "Fed cut").click()
    button(rc, "Fed cut").click()
    assert "Fed cut failed: already fired for day 3" in text_of(card(rc, "app-shocks"))
    button(rc, "Reset").click()
    assert model.value.day == 0 and "already fired" not in text_of(card(rc, "app-shocks"))


def test_the_risk_persistence_slider_names_what_it_changes_and_what_it_leaves_alone():
    """The ratio sets how fast the part of the risk index that USD/JPY's moves and forced sales put there
    decays (model/risk.py); news and sentiment jumps keep the slow rate whatever the slider says."""
    label = mesa_model_params()["market__risk_channel_persistence_ratio"]["label"]
    assert "USD/JPY" in label and "forced sales" in label
    assert "news and sentiment jumps, which this does not change" in label


def test_fed_cuts_priced_prices_one_cut_of_the_fed_cut_buttons_size_so_the_cut_is_no_surprise():
    """Priced 0.5 pp and cut 0.25 pp, the cut surprised markets upwards and raised US yields."""
    model = AppModel(hedge_funds__n_funds=50)
    model.step()
    cut = next(s for s in SHOCKS if s.key == "fed_cut")
    priced = next(s for s in SHOCKS if s.key == "fed_cuts_priced")
    cut_change = cut.event(model).params["rate"] - model.market.us_short_rate
    assert cut_change < 0 and priced.event(model).params["change_pa"] == pytest.approx(cut_change, abs=1e-15)
    model.fire(priced)
    model.step()
    model.fire(cut)
    model.step()
    assert [label for _, label in model.shock_log] == ["Fed cuts priced", "Fed cut"] and not model.shock_refused
    assert model.market.last_surprise["fed"] == pytest.approx(0.0, abs=1e-12)


def _leave_reserves_above_the_floor(model: AppModel, usd_bn: float) -> None:
    """Sell the MoF's USTs down so that ``usd_bn`` of reserves are left above its floor (deposits kept)."""
    state = model.mof.state
    state.ust_units = (model.mof.config.reserve_floor_usd_bn + usd_bn - state.deposits_usd_bn) / state.ust_price
    assert model.mof.reserves_usd_bn == pytest.approx(model.mof.config.reserve_floor_usd_bn + usd_bn)


def test_an_intervention_larger_than_the_reserves_above_the_floor_is_refused_in_one_line():
    """The MoF sells dollars only down to its floor and trims a larger order, to nothing at the floor:
    the page said "MoF intervention acted" and drew an event line for an intervention that did not happen."""
    from experiments.app.specs import ShockAtLimit

    intervention = next(s for s in SHOCKS if s.key == "mof_intervention")
    model = AppModel(hedge_funds__n_funds=50)
    _leave_reserves_above_the_floor(model, 10.0)
    order = app_specs.MOF_INTERVENTION_JPY_TN * 1000.0 / model.market.usdjpy
    with pytest.raises(
        ShockAtLimit,
        match=rf"^MoF intervention: the reserves above the floor \(\$10\.0 bn\) are too small for the order "
        rf"\(\${order:.1f} bn of dollars to sell\); not fired$",
    ):
        model.fire(intervention)
    assert model.shock_log == [] and intervention in available_shocks(model)  # shown: pressing it says why
    # fired with room to spare, then short of it by the day it acts: it does not act, and the page says so
    model = AppModel(hedge_funds__n_funds=50)
    model.fire(intervention)
    _leave_reserves_above_the_floor(model, 0.0)
    model.step()
    assert model.running and model.shock_refused[0].startswith("the reserves above the floor ($0.0 bn)")
    assert 1 not in model.event_days() and model.mof.intervention_jpy_tn == 0.0


@pytest.mark.parametrize(
    "inputs",
    [{"seed": "9" * 5000}, {"seed": 10**4999}, {"hedge_funds__n_funds": 10**4999}, {"market__boj_rate": 10**4999},
     {"hedge_funds__forced_sales": "x" * 5000}, {"scenario_name": "x" * 5000}],
)  # fmt: skip
def test_a_5000_digit_input_is_named_in_a_short_line(inputs):
    """A whole 5,000-character value was repeated in the message (and an integer that long, which Python
    will not write out, raised ValueError instead of naming the field)."""
    model = AppModel(**inputs)
    field = next(iter(inputs)).split("__")[-1].removesuffix("_name")
    assert model.failure.startswith("Not applied: ") and f"{field} = " in model.failure
    assert "\n" not in model.failure and not model.running
    assert len(model.failure) < 300  # the field, the value's start and size, what is allowed
    if "seed" in inputs:
        with pytest.raises(ConfigError) as refused:
            coerce_seed(inputs["seed"])
        assert len(str(refused.value)) < 200 and str(refused.value).startswith("seed = ")


def test_no_day_runs_and_no_button_fires_after_the_last_day():
    """At the run's last day a button was queued for the day after it, and step() ran that day."""
    from experiments.app.specs import ShockUnavailable

    model = AppModel(hedge_funds__n_funds=50)
    model.config = model.config.with_overrides({"simulation.days": 2})  # a short run: its last day is day 2
    model.step()
    model.fire(next(s for s in SHOCKS if s.key == "risk_off"))  # for day 2, the last day: allowed
    model.step()
    assert model.day == 2 and not model.running and 2 in model.event_days()
    with pytest.raises(ShockUnavailable, match=r"^the run has ended \(day 2 of 2\); press Reset to start again$"):
        model.fire(next(s for s in SHOCKS if s.key == "fed_cut"))
    model.step()
    assert model.day == 2 and model.history["day"][-1] == 2 and len(model.shock_log) == 1


def test_a_day_the_markets_cannot_clear_is_told_plainly_and_the_day_shown_is_the_last_that_ran():
    """The page led with ~360 characters of solver state and showed the failed day, one ahead of the charts."""
    from experiments.app.page import ScenarioPanel
    from model.clearing import ClearingError

    model = AppModel(hedge_funds__n_funds=50)
    model.step()
    model.step()

    def fail(*args, **kwargs):
        raise ClearingError("implausible prices on day 3: USD/JPY moved too far; no root inside the bound\nmore")

    model.clearing.clear = fail
    model.step()
    assert model.failure.startswith(
        "The markets could not find prices within the day's limits on day 3 (a move beyond the model's range), "
        "so the run stops after day 2; press Reset to start again. Details: implausible prices on day 3: "
    )
    assert "\n" not in model.failure and not model.running
    assert model.day == model.history["day"][-1] == 2
    _, rc = solara.render(ScenarioPanel(model), handle_error=False)
    assert "· day 2 of " in text_of(card(rc, "app-scenario"))


def test_the_pause_between_days_starts_on_mesas_slider_grid():
    """Mesa's slider runs from 1 in steps of 10: 150 was shown as 151, and could not be chosen back."""
    from experiments.app.page import PLAY_INTERVAL_MS

    _, rc = render_app()
    slider = rc.find(v.Slider, label="Play Interval (ms)").widget
    assert slider.v_model == PLAY_INTERVAL_MS
    assert (slider.v_model - slider.min) % slider.step == 0
