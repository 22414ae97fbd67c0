"""The browser UI (Solara): watch a policy scenario unfold, pull the levers, compare scenarios.

Started by ``borderabm ui``. Scenarios come only from the shipped folder or the folder named by
``BORDERABM_SCENARIOS`` — never from a path sent by the browser — and every lever is bounded here,
on the server, whatever the page sends.
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402

from borderabm.cli import shipped_scenarios_dir  # noqa: E402
from borderabm.model import BorderModel  # noqa: E402
from borderabm.scenario import ScenarioError, load_scenario, with_overrides  # noqa: E402
from borderabm.ui.compare_page import PLOT_LOCK, ComparePage, replay_request  # noqa: E402
from borderabm.viz.raster import GATE_RGB, KIND_RGB, gate_status, model_frame_png  # noqa: E402

MAX_AGENTS = 2_000_000  # a page may not ask the server for more than this
LEVER_BOUNDS = {
    "fence.coverage": (0.0, 1.0),
    "patrols.units": (0, 10_000),
    "deportation.daily_rate": (0, 50_000),
    "trigger_threshold": (0, 500),
}
STRATEGIES = ["static", "uniform", "adaptive", "stackelberg"]
PLAY_INTERVAL_S = 0.1  # a breath between days so the browser keeps up (a frame is ~140 KB)
CHART_EVERY_DAYS = 10  # the charts are redrawn every ten days while playing
CHART_METRICS = (
    ("militant_crossings", "militant crossings"),
    ("militant_interdictions", "interdictions"),
    ("attacks", "attacks"),
    ("formal_trade_usd", "formal trade US$"),
    ("informal_trade_usd", "informal trade US$"),
    ("stranded_people", "stranded people"),
    ("border_deaths", "deaths"),
    ("refugee_crossings_irregular", "irregular crossings"),
)


def scenario_names() -> list[str]:
    """Names of the scenarios the page may open."""
    return sorted(p.stem for p in shipped_scenarios_dir().glob("*.toml"))


def clamp(key: str, value: float) -> float:
    """Bound a lever to its allowed range."""
    low, high = LEVER_BOUNDS[key]
    return min(max(value, low), high)


def build_model(name: str, levers: dict, replay: dict | None = None) -> BorderModel:
    """A fresh model for a listed scenario with the page's levers applied (bounded here).

    Raises:
        ScenarioError: For a name that is not listed, or levers the scenario rejects.
    """
    if name not in scenario_names():
        raise ScenarioError(name, ["not a scenario of the configured folder"])
    base = load_scenario(shipped_scenarios_dir() / f"{name}.toml")
    overrides: dict = {
        "fence.coverage": clamp("fence.coverage", float(levers["fence"])),
        "patrols.units": int(clamp("patrols.units", int(levers["units"]))),
        "patrols.strategy": levers["strategy"] if levers["strategy"] in STRATEGIES else "static",
        "patrols.lethal_force": bool(levers["lethal"]),
        "corridor.enabled": bool(levers["corridor"]),
        "deportation.enabled": int(levers["deportation"]) > 0,
        "deportation.daily_rate": int(clamp("deportation.daily_rate", int(levers["deportation"]))),
    }
    for gate in levers["closed_gates"]:
        if gate in base.crossings:
            overrides[f"crossings.{gate}.open"] = False
    threshold = clamp("trigger_threshold", float(levers["trigger"]))
    if threshold > 0:
        overrides["triggers"] = [{"name": "page trigger", "metric": "attacks", "window_days": 30,
                                  "threshold": threshold, "duration_days": 14}]  # fmt: skip
    if replay:  # the exact run of a comparison row: its seed and horizon
        overrides["seed"] = int(replay["seed"])
        overrides["horizon_days"] = int(replay["days"])
    settings = with_overrides(base, overrides, name)
    population = settings.population
    total = population.traders + population.refugees + population.militants
    if total + settings.patrols.units > MAX_AGENTS:
        raise ScenarioError(name, [f"more than {MAX_AGENTS:,} agents"])
    return BorderModel(settings)


def running_totals(model: BorderModel) -> dict[str, float]:
    """Totals so far, from the model's daily history (cheap enough for every frame)."""
    history = model._history  # noqa: SLF001 - the model's own per-day counters
    names = ("attacks", "militant_crossings", "formal_trade_usd", "informal_trade_usd",
             "border_deaths")  # fmt: skip
    totals = {name: float(sum(history.get(name, []))) for name in names}
    totals["stranded_people_max"] = float(max(history.get("stranded_people", [0]) or [0]))
    return totals


def levers_of(name: str) -> dict:
    """The levers as a scenario file sets them."""
    settings = load_scenario(shipped_scenarios_dir() / f"{name}.toml")
    return {
        "fence": settings.fence.coverage_on(0),
        "units": settings.patrols.units,
        "strategy": settings.patrols.strategy,
        "lethal": settings.patrols.lethal_force,
        "corridor": settings.corridor.enabled,
        "deportation": settings.deportation.daily_rate if settings.deportation.enabled else 0,
        "trigger": settings.triggers[0].threshold if settings.triggers else 0,
        "closed_gates": [g for g, c in settings.crossings.items() if not c.open],
    }


_chart_cache: dict[tuple[int, int], bytes] = {}


def chart_png(model: BorderModel) -> bytes:
    """Key metrics so far (cumulative), as a small PNG; redrawn every ``CHART_EVERY_DAYS``."""
    key = (id(model), model.day // CHART_EVERY_DAYS if model.running else model.day)
    if key not in _chart_cache:
        _chart_cache.clear()
        with PLOT_LOCK:
            _chart_cache[key] = _draw_chart(model)
    return _chart_cache[key]


def _draw_chart(model: BorderModel) -> bytes:
    import io

    series = model.timeseries()
    fig, axes = plt.subplots(2, 4, figsize=(12, 4.2))
    for ax, (column, label) in zip(axes.ravel(), CHART_METRICS, strict=True):
        values = series[column].cumsum() if column != "stranded_people" else series[column]
        ax.plot(series["day"], values, lw=1.5)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def legend_html() -> str:
    """Colour keys of the map."""

    def swatch(rgb) -> str:
        return f'<span style="color: rgb{tuple(int(c) for c in rgb)}">■</span>'

    gates = " ".join(f"{swatch(rgb)} {kind}" for kind, rgb in GATE_RGB.items())
    kinds = " ".join(f"{swatch(rgb)} {kind}" for kind, rgb in KIND_RGB.items())
    return (f"<div>Gates: {gates} &nbsp;·&nbsp; Agents: {kinds} &nbsp;·&nbsp; "
            f"{swatch((255, 215, 0))} interdiction {swatch((255, 0, 0))} attack today</div>")  # fmt: skip


@solara.component
def RunPage():
    """Pick a scenario, set the levers, and watch it run."""
    names = scenario_names()
    chosen = solara.use_reactive("closures_oct2025" if "closures_oct2025" in names else names[0])
    levers = solara.use_reactive(levers_of(chosen.value))
    model = solara.use_reactive(None)
    tick = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    error = solara.use_reactive("")

    def reset(replay: dict | None = None):
        playing.set(False)
        try:
            model.set(build_model(chosen.value, levers.value, replay))
            error.set("")
        except ScenarioError as problem:
            model.set(None)
            error.set(str(problem))
        tick.set(tick.value + 1)

    def choose(name: str):
        chosen.set(name)
        levers.set(levers_of(name))

    solara.use_effect(reset, [chosen.value])

    def take_replay():
        request = replay_request.value
        if request and request.get("scenario") in names:
            chosen.set(request["scenario"])
            levers.set(levers_of(request["scenario"]))
            reset(request)
            replay_request.set(None)

    solara.use_effect(take_replay, [replay_request.value])

    def step(days: int = 1):
        current = model.value
        if current is None:
            return
        try:
            current.run(min(days, current.settings.horizon_days - current.day))
        except Exception as problem:  # noqa: BLE001 - a failing run must not take the server down
            playing.set(False)
            error.set(f"the run failed: {problem}")
        tick.set(tick.value + 1)

    def play_loop():
        while playing.value:
            current = model.value
            if current is None or current.day >= current.settings.horizon_days:
                playing.set(False)
                break
            step(1)
            time.sleep(PLAY_INTERVAL_S)

    solara.use_thread(play_loop, dependencies=[playing.value])

    def set_lever(key: str, value):
        levers.set({**levers.value, key: value})

    with solara.Column(style={"padding": "8px"}):
        with solara.Row():
            solara.Select(label="Scenario", value=chosen.value, values=names, on_value=choose)
            solara.Button("Reset", on_click=lambda: reset())
            solara.Button("Step", on_click=lambda: step(1), disabled=playing.value)
            if playing.value:
                solara.Button("Pause", on_click=lambda: playing.set(False))
            else:
                solara.Button("Play", on_click=lambda: playing.set(True))
        with solara.Row():
            lever = levers.value
            solara.SliderFloat("Fence coverage", value=lever["fence"], min=0.0, max=1.0,
                               step=0.05, on_value=lambda v: set_lever("fence", v))  # fmt: skip
            solara.SliderInt("Patrol units", value=int(lever["units"]), min=0, max=5000, step=50,
                             on_value=lambda v: set_lever("units", v))  # fmt: skip
            solara.Select(label="Patrol strategy", value=lever["strategy"], values=STRATEGIES,
                          on_value=lambda v: set_lever("strategy", v))  # fmt: skip
            solara.Switch(label="Lethal force", value=bool(lever["lethal"]),
                          on_value=lambda v: set_lever("lethal", v))  # fmt: skip
            solara.Switch(label="Trade corridor (Torkham, Chaman)", value=bool(lever["corridor"]),
                          on_value=lambda v: set_lever("corridor", v))  # fmt: skip
        with solara.Row():
            solara.SliderInt("Deportations per day", value=int(lever["deportation"]), min=0,
                             max=20_000, step=500,
                             on_value=lambda v: set_lever("deportation", v))  # fmt: skip
            solara.SliderInt("Close gates when attacks in 30 days exceed (0 = off)",
                             value=int(lever["trigger"]), min=0, max=100,
                             on_value=lambda v: set_lever("trigger", v))  # fmt: skip
            gates = [c.name for c in (model.value.world.crossings if model.value else [])]
            solara.SelectMultiple("Closed gates", values=lever["closed_gates"], all_values=gates,
                                  on_value=lambda v: set_lever("closed_gates", v))  # fmt: skip
        solara.Text("Levers apply on Reset.", style={"font-size": "12px"})
        if error.value:
            solara.Error(error.value)
        current = model.value
        if current is None:
            return
        _ = tick.value  # read so that steps re-render the page
        solara.Text(f"Day: {current.day} of {current.settings.horizon_days} "
                    f"({current.date.isoformat()})", classes=["day-counter"])  # fmt: skip
        solara.HTML(tag="div", unsafe_innerHTML=legend_html())
        with solara.Row():
            solara.Image(model_frame_png(current), format="png", classes=["map-image"])
            with solara.Column():
                statuses = pd.DataFrame({
                    "gate": [c.name for c in current.world.crossings],
                    "status": [gate_status(current.policy, c.name) for c in current.world.crossings],
                })  # fmt: skip
                solara.DataFrame(statuses, items_per_page=10)
                totals = running_totals(current)
                summary = pd.DataFrame(
                    {"metric": list(totals), "value": [f"{v:,.0f}" for v in totals.values()]}
                )
                solara.DataFrame(summary, items_per_page=10)
        if current.day:
            solara.Image(chart_png(current), format="png", classes=["chart-image"])


@solara.component
def Page():  # noqa: D103 - Solara's entry point
    solara.Title("borderabm")
    tab = solara.use_reactive(0)
    # A replay request from the compare page opens the run page on that exact run.
    solara.use_effect(lambda: tab.set(0) if replay_request.value else None, [replay_request.value])
    with solara.Column():
        solara.HTML(tag="h2", unsafe_innerHTML="borderabm — the Durand Line")
        with solara.lab.Tabs(value=tab.value, on_value=tab.set):
            with solara.lab.Tab("Run"):
                if tab.value == 0:
                    RunPage()
            with solara.lab.Tab("Compare"):
                if tab.value == 1:
                    ComparePage()
