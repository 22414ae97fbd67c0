"""The browser UI (Solara): watch a policy scenario unfold, pull the levers, compare scenarios.

Started by ``borderabm ui``. Scenarios come only from the shipped folder or the folder named by
``BORDERABM_SCENARIOS`` — never from a path sent by the browser — and every lever is bounded here,
on the server, whatever the page sends.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable

import numpy as np
import solara

from borderabm.geography.sources import crossing_names, sector_names
from borderabm.model import BorderModel
from borderabm.scenario import ScenarioError, load_scenario, shipped_scenarios_dir, with_overrides
from borderabm.ui.compare_page import ComparePage, replay_request
from borderabm.ui.inspection import cell_html, describe_cell
from borderabm.viz.raster import (
    GATE_HALF_SIZE,
    GATE_RGB,
    KIND_RGB,
    PIXELS_PER_CELL,
    gate_status,
    map_labels,
    overlay_png,
    terrain_png,
)

MAX_AGENTS = 2_000_000  # a page may not ask the server for more than this
LEVER_BOUNDS = {
    "fence.coverage": (0.0, 1.0),
    "patrols.units": (0, 10_000),
    "deportation.daily_rate": (0, 50_000),
    "trigger_threshold": (0, 500),
}
STRATEGIES = ["static", "uniform", "adaptive", "stackelberg"]
# Play waits until the browser has drawn each day (or this long), so it never runs ahead of the
# page and Pause takes effect at once; the minimum gap leaves room for other messages.
FRAME_ACK_TIMEOUT_S = 1.0
MIN_FRAME_INTERVAL_S = 0.01
CHART_EVERY_DAYS = 5  # while playing, the charts are redrawn every five days
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
    if overrides["fence.coverage"] != base.fence.coverage_on(0):
        overrides["fence.schedule"] = []  # the page's coverage replaces a dated build-up
    for sector in levers["unfenced_sectors"]:
        if sector in sector_names():
            overrides[f"fence.sectors.{sector}"] = 0.0
    gates = [g for g in levers["corridor_gates"] if g in base.crossings]
    if gates:
        overrides["corridor.gates"] = gates
    for gate, crossing in base.crossings.items():  # the list says exactly which gates are shut
        if crossing.open == (gate in levers["closed_gates"]):
            overrides[f"crossings.{gate}.open"] = not crossing.open
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
        "unfenced_sectors": [name for name, share in settings.fence.sectors.items() if share == 0],
        "corridor_gates": list(settings.corridor.gates),
    }


def chart_series(model: BorderModel) -> list[dict]:
    """The charts' data so far: cumulative totals (stranded people as a daily level)."""
    history = model._history  # noqa: SLF001 - the model's own per-day counters
    charts = []
    for column, title in CHART_METRICS:
        values = np.asarray(history.get(column, []), dtype=float)
        if column != "stranded_people":
            values = np.cumsum(values)
        days = np.arange(1, len(values) + 1)
        charts.append({"title": title, "x": days.tolist(), "y": values.tolist()})
    return charts


def legend_html() -> str:
    """Colour keys of the map."""

    def swatch(rgb) -> str:
        return f'<span style="color: rgb{tuple(int(c) for c in rgb)}">■</span>'

    gates = " ".join(f"{swatch(rgb)} {kind}" for kind, rgb in GATE_RGB.items())
    kinds = " ".join(f"{swatch(rgb)} {kind}" for kind, rgb in KIND_RGB.items())
    return (f"<div>Gates: {gates} &nbsp;·&nbsp; Agents: {kinds} &nbsp;·&nbsp; "
            f"{swatch((255, 215, 0))} interdiction {swatch((255, 0, 0))} attack today</div>")  # fmt: skip


def data_url(png: bytes) -> str:
    """PNG bytes as a ``data:`` URL the browser can draw without another request."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@solara.component_vue("map_canvas.vue", vuetify=False)
def MapCanvas(
    terrain: str,
    overlay: str,
    frame: int,
    width: int,
    height: int,
    cell_pixels: int,
    labels: dict,
    gates: list,
    gate_half_size: int,
    event_drawn: Callable[[int], None],
    event_inspect: Callable[[dict], None],
):
    """The map canvas (``map_canvas.vue``): terrain once, a small overlay per day, labels."""


@solara.component_vue("line_charts.vue", vuetify=False)
def LineCharts(charts: list, columns: int, panel_width: int, panel_height: int):
    """Small line charts drawn by the browser (``line_charts.vue``) from ``{title, x, y}`` dicts."""


def gate_squares(model: BorderModel) -> list[list]:
    """Each gate as (column, row, CSS colour of its status) for the canvas."""
    height = model.world.grid.height
    squares = []
    for crossing in model.world.crossings:
        red, green, blue = (int(c) for c in GATE_RGB[gate_status(model.policy, crossing.name)])
        x, y = crossing.cell
        squares.append([x, height - 1 - y, f"rgb({red},{green},{blue})"])
    return squares


def html_table(rows: list[tuple[str, str]], header: tuple[str, str]) -> str:
    """Rows as a plain HTML table (far cheaper per frame than a data-table widget)."""
    head = f"<tr><th align='left'>{header[0]}</th><th align='left'>{header[1]}</th></tr>"
    body = "".join(f"<tr><td style='padding-right:12px'>{a}</td><td>{b}</td></tr>" for a, b in rows)
    return f"<table style='font-size:13px'>{head}{body}</table>"


@solara.component
def CellInfo(model: BorderModel, where: solara.Reactive, tick: solara.Reactive):
    """What is under the pointer (or at the last clicked cell), refreshed as the days pass."""
    _ = tick.value
    spot = where.value
    if spot is None:
        solara.Text("Point at the map, or click it, to see what is there.",
                    style={"font-size": "12px"})  # fmt: skip
        return
    rows = describe_cell(model, spot["column"], spot["row"])
    solara.HTML(tag="div", unsafe_innerHTML=cell_html(rows, spot.get("pinned", False)))


@solara.component
def LiveView(
    model: BorderModel,
    tick: solara.Reactive,
    on_drawn: Callable[[int], None],
    playing_now: bool = False,
):
    """The day counter, the map, gate statuses, totals and charts of a running model.

    Only this part of the page reads ``tick``, so a new day re-renders it and not the levers.
    """
    frame = tick.value
    where = solara.use_reactive(None)
    pinned = solara.use_reactive(False)
    terrain = solara.use_memo(lambda: data_url(terrain_png(model.world)), [id(model.world)])
    labels = solara.use_memo(lambda: map_labels(model.world), [id(model.world)])

    def inspect(spot: dict):
        # A click pins a cell (a second click on it unpins); while pinned, hovering shows nothing new.
        same_cell = where.value is not None and all(
            where.value.get(k) == spot.get(k) for k in ("column", "row")
        )
        if spot.get("pinned"):
            unpin = pinned.value and same_cell
            pinned.set(not unpin)
            where.set({**spot, "pinned": not unpin})
        elif not pinned.value:
            where.set(spot)

    solara.Text(f"Day: {model.day} of {model.settings.horizon_days} "
                f"({model.date.isoformat()})", classes=["day-counter"])  # fmt: skip
    solara.HTML(tag="div", unsafe_innerHTML=legend_html())
    with solara.Row():
        MapCanvas(terrain=terrain, overlay=data_url(overlay_png(model)), frame=frame,
                  width=model.world.grid.width, height=model.world.grid.height,
                  cell_pixels=PIXELS_PER_CELL, labels=labels, gates=gate_squares(model),
                  gate_half_size=GATE_HALF_SIZE, event_drawn=on_drawn,
                  event_inspect=inspect)  # fmt: skip
        with solara.Column():
            statuses = [(c.name, gate_status(model.policy, c.name)) for c in model.world.crossings]
            solara.HTML(tag="div", unsafe_innerHTML=html_table(statuses, ("gate", "status")))
            totals = [(k, f"{v:,.0f}") for k, v in running_totals(model).items()]
            solara.HTML(tag="div", unsafe_innerHTML=html_table(totals, ("so far", "total")))
            CellInfo(model, where, tick)
    # While playing, the charts' data go to the browser every few days only.
    chart_key = model.day // CHART_EVERY_DAYS if playing_now else model.day
    charts = solara.use_memo(lambda: chart_series(model), [id(model), chart_key])
    if model.day:
        LineCharts(charts=charts, columns=4, panel_width=260, panel_height=130)


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
    frame_drawn = solara.use_memo(threading.Event, [])

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
            frame_drawn.clear()
            step(1)
            frame_drawn.wait(FRAME_ACK_TIMEOUT_S)
            time.sleep(MIN_FRAME_INTERVAL_S)

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
            solara.Switch(label="Trade corridor", value=bool(lever["corridor"]),
                          on_value=lambda v: set_lever("corridor", v))  # fmt: skip
        with solara.Row():
            solara.SliderInt("Deportations per day", value=int(lever["deportation"]), min=0,
                             max=20_000, step=500,
                             on_value=lambda v: set_lever("deportation", v))  # fmt: skip
            solara.SliderInt("Close gates when attacks in 30 days exceed (0 = off)",
                             value=int(lever["trigger"]), min=0, max=100,
                             on_value=lambda v: set_lever("trigger", v))  # fmt: skip
        with solara.Row():
            gates = list(crossing_names())
            solara.SelectMultiple("Closed gates", values=lever["closed_gates"], all_values=gates,
                                  on_value=lambda v: set_lever("closed_gates", v))  # fmt: skip
            solara.SelectMultiple("Corridor gates", values=lever["corridor_gates"],
                                  all_values=gates,
                                  on_value=lambda v: set_lever("corridor_gates", v))  # fmt: skip
            solara.SelectMultiple("Sectors left unfenced", values=lever["unfenced_sectors"],
                                  all_values=sector_names(),
                                  on_value=lambda v: set_lever("unfenced_sectors", v))  # fmt: skip
        solara.Text("Levers apply on Reset.", style={"font-size": "12px"})
        if error.value:
            solara.Error(error.value)
        if model.value is not None:
            LiveView(model.value, tick, on_drawn=lambda _frame: frame_drawn.set(),
                     playing_now=playing.value)  # fmt: skip


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
