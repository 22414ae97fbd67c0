"""The browser UI (Solara): watch a policy scenario unfold, pull the levers, compare scenarios.

Started by ``borderabm ui``. Scenarios come only from the shipped folder and the folder named by
``BORDERABM_SCENARIOS`` — never from a path sent by the browser — or from a file uploaded in the
tab, which is checked as the CLI checks it and held in memory for that tab only (see
:mod:`borderabm.apps.ui.scenario_file`); every lever is checked here, on the server, whatever the
page sends (see :mod:`borderabm.apps.ui.run_setup`).

Beside the map, the Run tab is an analyst's tool: the levers are saved as a scenario file (with
its difference from the file it came from), each lever has a help line (its meaning, unit, range
and source: :mod:`~borderabm.apps.ui.lever_help`), the dated events and the rules that fired are
drawn on a timeline (:mod:`~borderabm.apps.ui.timeline`), a provenance panel says where the
numbers come from (:mod:`~borderabm.apps.ui.provenance`), replicates on several seeds run in the
background with 95% bands (:mod:`~borderabm.apps.ui.replicates`), and the run downloads as CSV,
Parquet and its own scenario file.

What the Run tab shows is what the model computes: until a lever is changed it runs exactly the
scenario file with the seed and days shown (``borderabm run FILE --seed S --days N`` gives the same
totals). The run's settings live in kernel-scoped state, so switching tabs keeps them, and in a
per-browser-session store, so a reload rebuilds the run and fast-forwards it to the same day.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import io
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import solara
import solara.lab
import solara.server.settings

from borderabm.apps.ui import session
from borderabm.apps.ui.compare_page import (
    ComparePage,
    ComparisonError,
    is_replay_link,
    linked_id,
    linked_run,
    replay_request,
    stored_replay,
    without_server_paths,
)
from borderabm.apps.ui.inspection import cell_html, describe_cell, gate_status_text
from borderabm.apps.ui.lever_help import help_line
from borderabm.apps.ui.provenance import provenance, provenance_html
from borderabm.apps.ui.replicates import (
    DEFAULT_METRICS,
    DEFAULT_REPLICATES,
    MAX_REPLICATES,
    MIN_REPLICATES,
    Replicates,
    ReplicatesCancelled,
    band_charts,
    band_table_html,
    replicate_seeds,
    run_replicates,
)
from borderabm.apps.ui.run_setup import (
    DAYS,
    LEVER_BOUNDS,
    MAX_AGENTS,
    NUMBER_LEVERS,
    SEED,
    STRATEGIES,
    UPLOAD_PREFIX,
    NumberLever,
    ScenarioEntry,
    base_settings,
    build_model,
    changed_levers,
    default_scenario,
    lever_overrides,
    levers_of,
    parse_permalink,
    permalink,
    run_entries,
    run_overrides,
    run_settings,
    scenario_entries,
    settings_for,
    trigger_lever,
    uploaded_scenarios,
)
from borderabm.apps.ui.scenario_file import (
    MAX_UPLOAD_BYTES,
    add_upload,
    full_scenario_toml,
    read_upload,
    read_upload_event,
    saved_file_name,
    scenario_changes,
    scenario_hash,
    scenario_toml,
    upload_error_line,
    uploads_to_keep,
)
from borderabm.apps.ui.stepping import catch_up, run_control
from borderabm.apps.ui.timeline import timeline_events, timeline_html
from borderabm.experiments.run import build_model as build_scenario_model
from borderabm.gazetteer import crossing_names, sector_names
from borderabm.metrics import (
    BROWSER_CHART_METRICS,
    BROWSER_LEVEL_METRICS,
    BROWSER_TOTAL_METRICS,
    format_value,
    metric_info,
    metric_label,
)
from borderabm.model import BorderModel
from borderabm.report.raster import (
    GATE_HALF_SIZE,
    GATE_RGB,
    KIND_RGB,
    PIXELS_PER_CELL,
    gate_status,
    map_labels,
    overlay_png,
    terrain_png,
)
from borderabm.scenario import (
    Scenario,
    ScenarioError,
    replaced_dated_settings,
    validate_document,
)

__all__ = ["LEVER_BOUNDS", "MAX_AGENTS", "Page", "build_model", "levers_of", "scenario_names"]

# Play waits until the browser has drawn each day before stepping again, so it never runs ahead
# of the page and Pause takes effect at once. A browser that draws nothing for STALE_AFTER_S (a
# closed laptop, a killed browser) pauses the run, so the server does not step it for nobody.
FRAME_POLL_S = 0.2
STALE_AFTER_S = 5.0
MIN_FRAME_INTERVAL_S = 0.01
CHART_EVERY_DAYS = 5  # while playing, the charts are redrawn every five days
# A browser that vanished without closing its tab: Solara would keep its kernel (and models) for
# 24 h. The page's settings survive in the session store, so a minute is enough.
KERNEL_CULL_TIMEOUT = "60s"
if not os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT"):
    solara.server.settings.kernel.cull_timeout = KERNEL_CULL_TIMEOUT


def scenario_names() -> list[str]:
    """Names of the valid scenarios the page may open."""
    return [name for name, entry in scenario_entries().items() if entry.ok]


def running_totals(model: BorderModel) -> dict[str, float]:
    """The run's totals so far, exactly as ``borderabm run`` reports them after these days."""
    summary = model.summary()
    return {name: float(summary[name]) for name in BROWSER_TOTAL_METRICS if name in summary}


def play_days(
    step: Callable[[], None],
    keep_playing: Callable[[], bool],
    at_end: Callable[[], bool],
    frame_drawn: threading.Event,
    stale_after_s: float = STALE_AFTER_S,
) -> str:
    """Step one day at a time, each after the browser has drawn the last one.

    Args:
        step: Advances the model by one day (and tells the page).
        keep_playing: False once the analyst pressed Pause (checked while waiting, too).
        at_end: True when the run reached its horizon.
        frame_drawn: Set by the browser's acknowledgement of a drawn day.
        stale_after_s: Pause when no day was drawn for this long.

    Returns:
        Why it stopped: "paused", "end" or "browser silent".
    """
    while keep_playing():
        if at_end():
            return "end"
        frame_drawn.clear()
        step()
        waited = 0.0
        while not frame_drawn.wait(FRAME_POLL_S):
            waited += FRAME_POLL_S
            if not keep_playing():
                return "paused"
            if waited >= stale_after_s:
                return "browser silent"
        time.sleep(MIN_FRAME_INTERVAL_S)
    return "paused"


def chart_series(model: BorderModel) -> list[dict]:
    """The charts' data so far: cumulative totals (stranded people as a daily level)."""
    charts = []
    for column in BROWSER_CHART_METRICS:
        values = np.asarray(model.daily(column), dtype=float)
        if column not in BROWSER_LEVEL_METRICS:
            values = np.cumsum(values)
        days = np.arange(1, len(values) + 1)
        period = " per day" if column in BROWSER_LEVEL_METRICS else ", to date"
        title = metric_label(column) + period
        charts.append({"title": title, "x": days.tolist(), "y": values.tolist()})
    return charts


def chart_caption() -> str:
    """The caption above the daily charts: which are running totals and which are per day.

    Named from the same lists as :func:`chart_series`, so that it cannot miss a per-day chart.
    """
    levels = [metric_info(name).label.lower() for name in BROWSER_LEVEL_METRICS]
    listed = ", ".join(levels[:-1]) + " and " + levels[-1] if len(levels) > 1 else levels[0]
    return f"Running totals since day 0, except {listed} (each per day)."


def legend_html() -> str:
    """Colour keys of the map."""

    def swatch(rgb) -> str:
        return f'<span style="color: rgb{tuple(int(c) for c in rgb)}">■</span>'

    gates = " ".join(f"{swatch(rgb)} {kind}" for kind, rgb in GATE_RGB.items())
    kinds = " ".join(f"{swatch(rgb)} {kind}" for kind, rgb in KIND_RGB.items())
    return (f"<div>Gates: {gates} &nbsp;·&nbsp; Agents: {kinds} &nbsp;·&nbsp; "
            f"{swatch((255, 215, 0))} interdiction {swatch((255, 0, 0))} attack today</div>")  # fmt: skip


def read_model[T](read: Callable[[], T]) -> T:
    """``read()`` while no loop steps this tab's model (a day is never read half computed)."""
    with run_control().reading():
        return read()


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


def html_table(rows: list[tuple], header: tuple[str, str]) -> str:
    """Rows as a plain HTML table (far cheaper per frame than a data-table widget).

    A row may carry a third item, ``(metric, exact value)``: the value cell then holds them as
    ``data-metric``/``data-value`` attributes, so what is shown can be checked against the model.
    """
    head = (f"<tr><th align='left'>{html.escape(header[0])}</th>"
            f"<th align='left'>{html.escape(header[1])}</th></tr>")  # fmt: skip
    cells = []
    for row in rows:
        exact = ""
        if len(row) > 2:
            metric, value = row[2]
            exact = f" data-metric='{html.escape(metric)}' data-value='{value!r}'"
        cells.append(f"<tr><td style='padding-right:12px'>{html.escape(str(row[0]))}</td>"
                     f"<td{exact}>{html.escape(str(row[1]))}</td></tr>")  # fmt: skip
    return f"<table style='font-size:13px'>{head}{''.join(cells)}</table>"


@solara.component
def CellInfo(model: BorderModel, where: solara.Reactive, tick: solara.Reactive):
    """What is under the pointer (or at the last clicked cell), refreshed as the days pass."""
    _ = tick.value
    spot = where.value
    if spot is None:
        solara.Text("Point at the map, or click it, to see what is there.",
                    style={"font-size": "12px"})  # fmt: skip
        return
    rows = read_model(lambda: describe_cell(model, spot.get("column"), spot.get("row")))
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
    where: solara.Reactive[dict[str, Any] | None] = solara.use_reactive(None)
    pinned = solara.use_reactive(False)
    terrain = solara.use_memo(lambda: data_url(terrain_png(model.world)), [id(model.world)])
    labels = solara.use_memo(lambda: map_labels(model.world), [id(model.world)])

    def inspect(spot: dict):
        # A click pins a cell (a second click on it unpins); while pinned, hovering shows nothing new.
        if not isinstance(spot, dict):  # a malformed event from the browser is ignored
            return
        same_cell = where.value is not None and all(
            where.value.get(k) == spot.get(k) for k in ("column", "row")
        )
        if spot.get("pinned"):
            unpin = pinned.value and same_cell
            pinned.set(not unpin)
            where.set({**spot, "pinned": not unpin})
        elif not pinned.value:
            where.set(spot)

    # The model is read under the run's lock: a loop never steps it while it is drawn. Memos are
    # keyed by the model itself, not id(): a new model may reuse a freed one's id.
    with run_control().reading():
        horizon = model.settings.horizon_days
        # While playing, the totals (a summary of the whole history) are redone every few days only,
        # and always on the last day; hovering the map does not redo them.
        totals_key = (
            model.day // CHART_EVERY_DAYS if playing_now and model.day < horizon else model.day
        )
        totals_day, shown_totals = solara.use_memo(
            lambda: (model.day, running_totals(model)), [model, totals_key]
        )
        solara.Text(f"Day: {model.day} of {horizon} ({model.date.isoformat()})",
                    classes=["day-counter"])  # fmt: skip
        if model.day >= horizon:
            solara.Success(f"End of run: all {horizon} days simulated. Reset to run again.",
                           classes=["run-finished"], dense=True)  # fmt: skip
        solara.HTML(tag="div", unsafe_innerHTML=legend_html())
        with solara.Row():
            MapCanvas(terrain=terrain, overlay=data_url(overlay_png(model)), frame=frame,
                      width=model.world.grid.width, height=model.world.grid.height,
                      cell_pixels=PIXELS_PER_CELL, labels=labels, gates=gate_squares(model),
                      gate_half_size=GATE_HALF_SIZE, event_drawn=on_drawn,
                      event_inspect=inspect)  # fmt: skip
            with solara.Column():
                statuses = [
                    (c.name, gate_status_text(model, c.name)) for c in model.world.crossings
                ]
                solara.HTML(tag="div", unsafe_innerHTML=html_table(statuses, ("gate", "status")))
                totals = [
                    (metric_label(name), format_value(name, value), (name, value))
                    for name, value in shown_totals.items()
                ]
                solara.HTML(tag="div", classes=["run-totals"],
                            unsafe_innerHTML=html_table(totals, (f"totals to day {totals_day}", "")))  # fmt: skip
                CellInfo(model, where, tick)
                record = solara.use_memo(lambda: provenance(model.settings), [model])
                solara.HTML(tag="div", classes=["run-provenance"],
                            unsafe_innerHTML="<b>Provenance</b>" + provenance_html(record))  # fmt: skip
        # While playing, the charts' data go to the browser every few days only.
        chart_key = model.day // CHART_EVERY_DAYS if playing_now else model.day
        charts = solara.use_memo(lambda: chart_series(model), [model, chart_key])
        timeline = solara.use_memo(
            lambda: timeline_html(timeline_events(model), model.settings, model.day),
            [model, chart_key],
        )
        if model.day:
            solara.Text(chart_caption(), style={"font-size": "12px"})
            LineCharts(charts=charts, columns=4, panel_width=260, panel_height=130)
        solara.HTML(tag="div", classes=["run-timeline-panel"],
                    unsafe_innerHTML="<b>Timeline: the run's dated events and the rules that fired "
                    "(the black line is today)</b><br>" + timeline)  # fmt: skip
        if model.day:
            RunDownloads(model)


@solara.component
def RunDownloads(model: BorderModel):
    """The run's daily series (CSV, Parquet) and its scenario file (TOML, levers included)."""
    settings = model.settings
    stem = f"{settings.name}-seed{settings.seed}-days1-{model.day}"
    with solara.Row(style={"flex-wrap": "wrap", "gap": "8px"}):
        solara.FileDownload(
            lambda: read_model(lambda: model.timeseries().to_csv(index=False)),  # when asked for
            filename=f"{stem}.csv",
            label="Download the daily series (CSV)",
            mime_type="text/csv",
        )
        solara.FileDownload(
            lambda: read_model(lambda: parquet_bytes(model)),
            filename=f"{stem}.parquet",
            label="Download the daily series (Parquet)",
            mime_type="application/vnd.apache.parquet",
        )
        solara.FileDownload(
            lambda: run_scenario_toml(model),
            filename=saved_file_name(settings),
            label="Download the scenario of this run (TOML)",
            mime_type="application/toml",
        )


def parquet_bytes(model: BorderModel) -> bytes:
    """The daily series so far as a Parquet file (the format ``borderabm run`` writes)."""
    buffer = io.BytesIO()
    model.timeseries().to_parquet(buffer, index=False)
    return buffer.getvalue()


def run_scenario_toml(model: BorderModel) -> str:
    """The scenario file of the run on screen: its file with the run's levers, seed and days.

    Read back, it is exactly ``model.settings`` (else the whole scenario is written out).
    """
    current = applied.value
    entry = run_entries().get(current[0]) if current else None
    if entry is None or current is None:
        return full_scenario_toml(model.settings, model.settings.name)
    try:
        overrides = run_overrides(entry, current[1], current[2], current[3], current[4])
    except ScenarioError:
        return full_scenario_toml(model.settings, entry.path.name)
    return scenario_toml(entry, overrides, model.settings)


@solara.component
def NumberInput(
    lever: NumberLever,
    value: float,
    on_value: Callable[[float], None],
    label: str | None = None,
    file_value: float | None = None,
    help_text: str = "",
):
    """A typed number with its unit, refused (with a message) outside the server's bounds.

    Marks a value that differs from the scenario file's. The file's own value is always accepted,
    even beyond the page's bounds (the server does not check a lever left at the file's value).
    """
    refused = solara.use_reactive("")
    version = solara.use_reactive(0)  # a refused entry is cleared back to the current value
    text = label or lever.label

    def accept(entered: str | None):
        typed = read_number(entered)
        problem = typed_problem(lever, typed, file_value, text)
        if problem:  # the field goes back to the value in force, and says why
            refused.set(f"Refused: {problem}. It stays {lever.text(value)}.")
            version.set(version.value + 1)
            return
        refused.set("")
        on_value(int(typed) if lever.integer else float(typed))

    # A text field read here (not Solara's number fields, which keep text they cannot read, such
    # as "0x10", in the field while the run goes on with another value): every entry is either
    # taken or refused with one line, and the field always shows the value in force.
    with solara.Column(gap="0px", style={"min-width": "190px", "max-width": "260px"},
                       classes=[f"lever-{lever.key}"]):  # fmt: skip
        solara.InputText(
            label=text,
            value=str(int(value)) if lever.integer else str(float(value)),
            on_value=accept,
            continuous_update=False,
            suffix=lever.unit,
            classes=[f"lever-input-{lever.key}"],
        ).key(f"{lever.key}-{version.value}")
        solara.Text(lever_hint(lever, value, file_value),
                    classes=["lever-changed"] if changed_from_file(value, file_value) else [],
                    style={"font-size": "11px",
                           "color": "#b35900" if changed_from_file(value, file_value) else "#666"})  # fmt: skip
        if help_text:
            solara.Text(help_text, classes=[f"lever-help-{lever.key}"],
                        style={"font-size": "11px", "color": "#666"})  # fmt: skip
        if refused.value:
            solara.Text(refused.value, classes=["lever-refused"],
                        style={"font-size": "11px", "color": "#c62828"})  # fmt: skip


def changed_from_file(value: float, file_value: float | None) -> bool:
    """Whether a lever's value differs from the scenario file's (None: nothing to compare)."""
    return file_value is not None and value != file_value


def lever_hint(lever: NumberLever, value: float, file_value: float | None) -> str:
    """The line under a number lever: the file's value when changed, else the allowed range."""
    if changed_from_file(value, file_value) and file_value is not None:
        return f"● changed (file: {lever.text(file_value)})"
    return f"allowed {lever.bounds()}"


def read_number(entered: str | None) -> Any:
    """What a person typed into a number field: a whole number, a number, or the text itself.

    Digits of any script are read (Python's ``int`` and ``float`` do). Text that is no number is
    returned as it is, for :func:`typed_problem` to refuse by name; nothing becomes None.
    """
    if entered is None:
        return None
    text = str(entered).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:  # not a whole number (or more digits than Python reads at once)
        pass
    try:
        return float(text)
    except ValueError:
        return text


def typed_problem(lever: NumberLever, typed: Any, file_value: float | None, label: str) -> str:
    """Why a typed value is refused ("" if accepted); the file's own value is always accepted."""
    if typed is None:
        return f"{label}: enter a number"
    if file_value is not None and not isinstance(typed, bool) and typed == file_value:
        return ""
    return lever.check(typed)


def picker_items(entries: dict[str, ScenarioEntry]) -> list[dict]:
    """The scenario picker's entries; a file that cannot be opened is a disabled error entry."""
    items: list[dict[str, Any]] = []
    for name, entry in entries.items():
        if entry.ok:
            items.append({"text": name, "value": name})
        else:
            items.append({"text": f"⚠ {name}: {entry.problem}", "value": name, "disabled": True})
    return items


def dated_events(settings: Scenario) -> list[str]:
    """The file's dated closures and rules, one line each, for the analyst to see up front."""

    def date_of(day: int) -> str:
        return (settings.start_date + dt.timedelta(days=day)).isoformat()

    def after_end(day: int) -> str:  # the run stops first (the CLI's validate notes it too)
        return (
            " (after the run's last day: it does not apply)" if day >= settings.horizon_days else ""
        )

    lines = []
    for gate, crossing in settings.crossings.items():
        for closure in crossing.closures:
            reason = f": {closure.reason}" if closure.reason else ""
            lines.append(f"{gate} closed days {closure.start}–{closure.end - 1} "
                         f"({date_of(closure.start)} to {date_of(closure.end - 1)}){reason}"
                         f"{after_end(closure.start)}")  # fmt: skip
    for rule in settings.triggers:
        lines.append(f"Rule “{rule.name}”: {rule.metric} over {rule.window_days} days above "
                     f"{rule.threshold:g} close {', '.join(rule.crossings)} for "
                     f"{rule.duration_days} days (cooldown {rule.cooldown_days} days)")  # fmt: skip
    if settings.fence.schedule:
        points = ", ".join(f"day {p.day}: {p.coverage:g}" for p in settings.fence.schedule)
        lines.append(f"Fence built over time ({points})")
    if settings.deportation.enabled and settings.deportation.start_day:
        lines.append(f"Deportations start on day {settings.deportation.start_day}")
    for change in settings.changes:
        keys = ", ".join(f"{k} = {v}" for k, v in change.set.items())
        lines.append(
            f"From day {change.day} ({date_of(change.day)}): {keys}{after_end(change.day)}"
        )
    return lines


def replaced_by_levers(base: Scenario, levers: dict[str, Any] | None) -> list[str]:
    """The file's dated settings that the changed levers replace for the whole run, one line each.

    A lever holds from the first day to the last, as ``--set`` does (``apply_levers``); the file's
    dated events listed above would otherwise seem to apply.
    """
    if levers is None:
        return []
    try:
        keys = lever_overrides(base, levers, base.name)
    except ScenarioError:  # the run shown was refused: it has no overrides to speak of
        return []
    return replaced_dated_settings(base, keys)


# Kernel-scoped state (one value per browser tab): switching tabs keeps the run.
run_scenario: solara.Reactive[str | None] = solara.reactive(None)  # the chosen scenario's name
run_levers: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)  # the levers shown
run_seed: solara.Reactive[int | None] = solara.reactive(None)  # the seed shown
run_days: solara.Reactive[int | None] = solara.reactive(None)  # the days shown
# the model of the last Reset
live_model: solara.Reactive[BorderModel | None] = solara.reactive(None)
catch_up_to = solara.reactive(0)  # the day a reloaded run is being brought back to (0: none)
# the link (query string) that opened this browser's run
run_link: solara.Reactive[str | None] = solara.reactive(None)
picker_version = solara.reactive(0)  # a refused choice redraws the picker at the shown scenario
# a replayed sweep run's own overrides (its design point)
run_extra: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
# (scenario, levers, seed, days, extra) of that model
applied: solara.Reactive[tuple[Any, ...] | None] = solara.reactive(None)
# the last stored run replayed: {"link": its permanent link, "run": its value of ``applied``}
replayed: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
run_error = solara.reactive("")
run_notice = solara.reactive("")


def _remember_run() -> None:
    """Keep what a reload needs to rebuild this run: its settings, its day and the levers shown."""
    current = applied.value
    if current is None:
        return
    name, levers, seed, days, extra = current
    model = live_model.value
    day = max(model.day if model is not None else 0, catch_up_to.value)  # mid catch-up: the goal
    session.remember("run", {"scenario": name, "levers": levers, "seed": seed, "days": days,
                             "extra": extra, "day": day, "link": run_link.value,
                             "replayed": replayed.value,
                             "shown": {"scenario": run_scenario.value, "levers": run_levers.value,
                                       "seed": run_seed.value, "days": run_days.value}})  # fmt: skip


def start_run(name: str, levers: dict | None, seed: int | None, days: int | None,
              extra: dict | None = None, fast_forward: int = 0) -> bool:  # fmt: skip
    """Build the model for these settings (the old one is freed first) and show it.

    The fast-forward is not done here: the page's play thread does it day by day, with progress
    shown, and stops if the page goes away.

    Args:
        name: A listed scenario.
        levers: The levers (None: the file's own).
        seed: The seed (None: the file's).
        days: The days to run (None: the file's horizon).
        extra: A replayed sweep run's own overrides (None: none).
        fast_forward: The day to bring the new run back to (where a reloaded page was).

    Returns:
        Whether the run was started (else the reason is shown and the run on screen stays).
    """
    try:
        settings = settings_for(name, levers, seed, days, extra)
    except ScenarioError as problem:  # refused: the run on screen stays as it is
        run_error.set(plain_line(str(problem)))
        return False
    control = run_control()
    control.retire_loops()  # a play loop stops before its next day
    old = live_model.value
    live_model.set(None)  # free the old model before building the next
    control.release(old)  # after the day being computed, if any: never mid-day
    session.release_memory()
    try:
        model = build_scenario_model(settings)
    except Exception as problem:  # noqa: BLE001 - the page reports it; the server stays up
        run_error.set(f"{name}: the model could not be built ({type(problem).__name__})")
        applied.set(None)
        catch_up_to.set(0)
        return False
    run_error.set("")
    applied.set((name, levers, model.settings.seed, model.settings.horizon_days, extra))
    catch_up_to.set(max(0, min(int(fast_forward or 0), settings.horizon_days)))
    live_model.set(model)
    _remember_run()
    return True


def open_scenario(name: str, seed: int | None = None, days: int | None = None,
                  extra: dict | None = None) -> bool:  # fmt: skip
    """Show a scenario with the file's own levers (and the seed and days given, else the file's).

    ``extra`` are a replayed sweep run's own overrides: the levers start at their values.
    A scenario that is refused changes nothing: the picker, the levers and the run on screen stay
    as they were, and the reason is shown.

    Returns:
        Whether the scenario was opened.
    """
    entry = run_entries().get(name)
    if entry is None or not entry.ok:
        run_error.set(
            plain_line(f"{str(name)[:80]}.toml: {entry.problem if entry else 'not listed'}")
        )
        picker_version.set(picker_version.value + 1)  # the picker shows the run on screen again
        return False
    try:
        base = base_settings(entry, extra)
        levers = levers_of(base)
        seed = base.seed if seed is None else seed
        days = base.horizon_days if days is None else days
        settings_for(name, levers, seed, days, extra or None)  # refused before anything changes
    except ScenarioError as problem:
        run_error.set(plain_line(str(problem)))
        picker_version.set(picker_version.value + 1)
        return False
    if not start_run(name, levers, seed, days, extra or None):
        picker_version.set(picker_version.value + 1)
        return False
    run_scenario.set(name)
    run_extra.set(extra or None)
    run_levers.set(levers)
    run_seed.set(int(seed))
    run_days.set(int(days))
    _remember_run()
    return True


def open_replay(request: dict[str, Any]) -> bool:
    """Open a stored run (asked for by its Replay button or its link) at day 0, exactly.

    Args:
        request: As :data:`~borderabm.apps.ui.compare_page.replay_request`: the listed scenario,
            seed, days, the design point's ``overrides`` if any, and the run's ``link`` if it has
            one (then offered as the link of this run while it is the run on screen).

    Returns:
        Whether it was opened (else the reason is shown and the run on screen stays).
    """
    if not open_scenario(request["scenario"], request.get("seed"), request.get("days"),
                         request.get("overrides")):  # fmt: skip
        return False
    link = request.get("link")
    replayed.set({"link": link, "run": applied.value} if link else None)
    _remember_run()
    return True


def run_permalink(
    current: tuple[Any, ...], base: Scenario, replay: dict[str, Any] | None
) -> str | None:
    """The link of the run on screen (None: it has none).

    A run of a listed file and levers links to them (:func:`permalink`); a replayed stored run
    with a design point links to the stored run (its replay link), as long as it is exactly that
    run (no lever changed since); an upload has no link.

    Args:
        current: The run's (scenario, levers, seed, days, design point overrides).
        base: The scenario's settings with those overrides (what the levers are changes from).
        replay: The last stored run replayed (:data:`replayed`), if any.
    """
    name, levers, seed, days, extra = current
    if extra:
        return replay["link"] if replay and replay.get("run") == tuple(current) else None
    if str(name).startswith(UPLOAD_PREFIX):
        return None
    return permalink(name, base, levers or levers_of(base), seed, days)


def plain_line(text: str, limit: int = 300) -> str:
    """Text as one plain line of at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def guarded(action: Callable[..., Any]) -> Callable[..., Any]:
    """``action`` as the page calls it: any failure becomes one plain line above the run.

    The page's boundaries (opening a link or a saved run, Reset, Step, choosing a scenario,
    Replay) must never show a traceback or take the page down, whatever the browser sends.
    """

    @functools.wraps(action)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except ScenarioError as problem:
            run_error.set(plain_line(str(problem)))
        except Exception as problem:  # noqa: BLE001 - one line for the page, never a traceback
            run_error.set(f"That could not be done ({type(problem).__name__}); "
                          "the run on screen is unchanged.")  # fmt: skip
        return None

    return run


@guarded
def restore_or_open(search: str | None = None) -> None:
    """See :func:`_restore_or_open`; a link that cannot be opened is reported above the run."""
    problem = _restore_or_open(search)
    if problem:
        run_error.set(plain_line(problem))


def _restore_or_open(search: str | None) -> str:
    """A new tab: the run of a link, the run this browser had (rebuilt at its day), or the default.

    Args:
        search: The page's query string (a link made by :func:`permalink`, or a stored run's
            link made by :func:`~borderabm.apps.ui.compare_page.replay_link`), if any.

    Returns:
        Why the link could not be opened ("" if there was none, or it was opened).
    """
    if live_model.value is not None or replay_request.value:
        return ""
    saved = session.recall("run")
    _restore_uploads()
    entries = run_entries()
    linked, link_error = None, ""
    if search and is_replay_link(search):
        try:
            asked = linked_run(search)
            request = stored_replay(*asked) if asked else None
        except ComparisonError as problem:
            request = None
            link_error = f"This link cannot be opened: {without_server_paths(str(problem))}"
        # A reload keeps the address of the link: the run this browser has now comes back.
        if request is not None and not (saved is not None and saved.get("link") == search):
            run_link.set(search)
            if open_replay(request):
                return ""
            run_link.set(None)
            link_error = f"This link cannot be opened: {run_error.value}"
    elif search:
        try:
            linked = parse_permalink(search)
            if linked is not None:  # refused values are reported, not clamped
                settings_for(linked["scenario"], linked["levers"], linked["seed"], linked["days"])
        except ScenarioError as problem:
            linked, link_error = None, f"This link cannot be opened: {problem}"
    if linked is not None:
        same = saved is not None and not saved.get("extra") and all(
            saved.get(key) == linked[key] for key in ("scenario", "levers", "seed", "days")
        )  # fmt: skip
        # A reload keeps the address of the link that opened the run: the run this browser has
        # now (whatever was done since) is the one to bring back, not the link's day 0.
        opened_by_it = saved is not None and saved.get("link") == search
        if not same and not opened_by_it:  # a link to another run: open it at day 0
            run_link.set(search)
            run_scenario.set(linked["scenario"])
            run_extra.set(None)
            run_levers.set(linked["levers"])
            run_seed.set(linked["seed"])
            run_days.set(linked["days"])
            start_run(linked["scenario"], linked["levers"], linked["seed"], linked["days"])
            return ""
    if saved and saved.get("scenario") in entries and entries[saved["scenario"]].ok:
        run_link.set(saved.get("link"))
        run_extra.set(saved.get("extra"))
        replayed.set(saved.get("replayed"))
        # What the fields showed (the run's own values if they were never changed) is set before
        # the run starts: starting it saves them again, for the next reload or tab.
        shown = saved.get("shown") or {}
        run_scenario.set(shown.get("scenario") or saved["scenario"])
        run_levers.set(shown.get("levers") or saved["levers"])
        run_seed.set(saved["seed"] if shown.get("seed") is None else shown["seed"])
        run_days.set(saved["days"] if shown.get("days") is None else shown["days"])
        start_run(saved["scenario"], saved["levers"], saved["seed"], saved["days"],
                  saved.get("extra"), fast_forward=int(saved.get("day") or 0))  # fmt: skip
        return link_error
    name = default_scenario(entries)
    if name is None:
        return link_error or "No valid scenario in the scenario folders."
    open_scenario(name)
    return link_error


class LeverBox:
    """A lever's column with its help line under it (``with LeverBox(key): <the input>``)."""

    def __init__(self, key: str, wide: bool = False) -> None:
        self.key = key
        width = "360px" if wide else "260px"
        self.column = solara.Column(gap="0px", style={"min-width": "190px", "max-width": width},
                                    classes=[f"lever-{key}"])  # fmt: skip

    def __enter__(self) -> None:
        self.column.__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        solara.Text(help_line(self.key), classes=[f"lever-help-{self.key}"],
                    style={"font-size": "11px", "color": "#666"})  # fmt: skip
        self.column.__exit__(*exc_info)


@solara.component
def Levers(base: Scenario):
    """The levers of the chosen scenario, each typed, bounded and marked when changed."""
    lever = run_levers.value
    if lever is None:  # shown once a scenario is open, which sets the levers
        return
    original = levers_of(base)

    @guarded
    def set_lever(key: str, value: Any):
        run_levers.set({**(run_levers.value or {}), key: value})
        _remember_run()

    trigger, trigger_help = trigger_lever(base)

    def changed_text(key: str) -> str:
        return " ●" if key in changed_levers(base, lever) else ""

    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "12px"}):
        NumberInput(NUMBER_LEVERS["fence"], lever["fence"], lambda v: set_lever("fence", v),
                    file_value=original["fence"], help_text=help_line("fence"))  # fmt: skip
        NumberInput(NUMBER_LEVERS["units"], lever["units"], lambda v: set_lever("units", v),
                    file_value=original["units"], help_text=help_line("units"))  # fmt: skip
        NumberInput(NUMBER_LEVERS["deportation"], lever["deportation"],
                    lambda v: set_lever("deportation", v), file_value=original["deportation"],
                    help_text=help_line("deportation"))  # fmt: skip
        NumberInput(trigger, lever["trigger"], lambda v: set_lever("trigger", v),
                    file_value=original["trigger"],
                    help_text=f"{trigger_help} {help_line('trigger')}")  # fmt: skip
        with LeverBox("strategy"):
            solara.Select(label="Patrol strategy" + changed_text("strategy"),
                          value=lever["strategy"], values=list(STRATEGIES),
                          on_value=lambda v: set_lever("strategy", v))  # fmt: skip
        with LeverBox("lethal"):
            solara.Switch(label="Lethal force" + changed_text("lethal"),
                          value=bool(lever["lethal"]), on_value=lambda v: set_lever("lethal", v))  # fmt: skip
        with LeverBox("corridor"):
            solara.Switch(label="Trade corridor" + changed_text("corridor"),
                          value=bool(lever["corridor"]),
                          on_value=lambda v: set_lever("corridor", v))  # fmt: skip
    with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
        gates = list(crossing_names())
        with LeverBox("closed_gates", wide=True):
            solara.SelectMultiple("Closed gates" + changed_text("closed_gates"),
                                  values=lever["closed_gates"], all_values=gates,
                                  on_value=lambda v: set_lever("closed_gates", v))  # fmt: skip
        with LeverBox("corridor_gates", wide=True):
            solara.SelectMultiple("Corridor gates (when the corridor is on)"
                                  + changed_text("corridor_gates"),
                                  values=lever["corridor_gates"], all_values=gates,
                                  on_value=lambda v: set_lever("corridor_gates", v))  # fmt: skip
        with LeverBox("unfenced_sectors", wide=True):
            solara.SelectMultiple("Sectors left unfenced" + changed_text("unfenced_sectors"),
                                  values=lever["unfenced_sectors"],
                                  all_values=list(sector_names()),
                                  on_value=lambda v: set_lever("unfenced_sectors", v))  # fmt: skip
    if lever["corridor"] and not lever["corridor_gates"]:
        solara.Text("No corridor gates chosen: the run has no corridor.", classes=["corridor-off"],
                    style={"font-size": "12px"})  # fmt: skip
    elif lever["corridor"]:
        exempt = sorted(set(lever["corridor_gates"]) & set(lever["closed_gates"]))
        if exempt and base.corridor.exempt_from_closures:
            solara.Text(f"Corridor gates stay open whatever the closures: {', '.join(exempt)}.",
                        style={"font-size": "12px"})  # fmt: skip


upload_message = solara.reactive("")  # what the last upload became, or the CLI's error line for it
upload_failed = solara.reactive(False)


@solara.component
def ScenarioFile(entry: ScenarioEntry):
    """Save the levers shown as a scenario file, with what it changes in the file it comes from."""
    levers, seed, days, extra = run_levers.value, run_seed.value, run_days.value, run_extra.value

    def saved() -> tuple[str, dict[str, Any], Scenario | None]:
        try:
            return "", run_overrides(entry, levers, seed, days, extra), run_settings(
                entry, levers, seed, days, extra)  # fmt: skip
        except ScenarioError as problem:  # a lever the server refuses: nothing to save
            return plain_line(str(problem)), {}, None

    refused, overrides, settings = solara.use_memo(
        saved, [entry, repr(levers), seed, days, repr(extra)]
    )
    if settings is None:
        solara.Text(f"Cannot save these levers: {refused}", classes=["scenario-save-refused"],
                    style={"font-size": "12px"})  # fmt: skip
        return
    assert entry.settings is not None  # a valid file: the page shows levers for no other
    changes = scenario_changes(entry.settings, settings)
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
        solara.FileDownload(lambda: scenario_toml(entry, overrides, settings),
                            filename=saved_file_name(settings),
                            label="Save scenario (TOML: the levers, seed and days shown)",
                            mime_type="application/toml")  # fmt: skip
        solara.Text(f"Based on {entry.path.name}; `borderabm run FILE` runs it as this page does.",
                    style={"font-size": "12px"})  # fmt: skip
    rows = [(key, f"{old} → {new}") for key, old, new in changes]
    header = (f"changed from {entry.path.name}", "file value → saved value")
    solara.HTML(tag="div", classes=["scenario-diff"],
                unsafe_innerHTML=html_table(rows, header) if rows else
                f"No change from {html.escape(entry.path.name)}: the saved file runs as the "
                "original.", style={"font-size": "12px"})  # fmt: skip


@solara.component
def ScenarioUploader(on_opened: Callable[[], None], playing: solara.Reactive[bool]):
    """Upload a scenario file: checked as the CLI checks it, then run-able in this tab only."""

    def take(payload: dict) -> None:
        playing.set(False)
        if take_upload(payload):
            on_opened()

    ScenarioUpload(label="Upload a scenario file (TOML), checked as borderabm run checks it: ",
                   max_bytes=MAX_UPLOAD_BYTES, event_upload=take)  # fmt: skip
    if upload_message.value:
        style = {"font-size": "12px", "font-family": "monospace",
                 "color": "#c62828" if upload_failed.value else "#2e7d32"}  # fmt: skip
        solara.Text(upload_message.value, classes=["upload-error" if upload_failed.value
                                                   else "upload-ok"], style=style)  # fmt: skip


@guarded
def take_upload(payload: object) -> bool:
    """Read an upload event; a valid file joins this tab's scenarios and opens.

    Returns:
        Whether it was opened (else the CLI's error line for it is the upload message).
    """
    try:
        uploaded = read_upload_event(payload)
    except ScenarioError as problem:
        upload_failed.set(True)
        upload_message.set(upload_error_line(problem))
        return False
    uploaded_scenarios.set(add_upload(uploaded_scenarios.value, uploaded))
    session.remember("uploads", uploads_to_keep(uploaded_scenarios.value))
    if not open_scenario(uploaded.name):
        upload_failed.set(True)
        upload_message.set(run_error.value)
        return False
    upload_failed.set(False)
    upload_message.set(f"{uploaded.path.name} uploaded: it runs now as “{uploaded.name}” "
                       "(in this tab only; the server's folders are unchanged).")  # fmt: skip
    return True


@solara.component_vue("scenario_upload.vue", vuetify=False)
def ScenarioUpload(label: str, max_bytes: int, event_upload: Callable[[dict], None]):
    """A file input (``scenario_upload.vue``): the picked file's name, size and base64 bytes."""


def _restore_uploads() -> None:
    """Bring back this browser session's uploads (a reload forgets the tab's memory, not these)."""
    if uploaded_scenarios.value:
        return
    kept = session.recall("uploads") or {}
    uploads: dict[str, ScenarioEntry] = {}
    for name, text in kept.items():
        try:
            entry = read_upload(f"{name.removeprefix(UPLOAD_PREFIX)}.toml", text.encode("utf-8"))
        except ScenarioError:  # valid when uploaded; a new version of borderabm may refuse it
            continue
        uploads = add_upload(uploads, entry)
    if uploads:
        uploaded_scenarios.set(uploads)


REPLICATES = NumberLever("replicates", "Replicates (seeds)", "seeds", MIN_REPLICATES,
                         MAX_REPLICATES, True)  # fmt: skip
# The replicates of this tab (kernel-scoped): what was asked, the result, and how far it got.
replicates_request: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
replicates_result: solara.Reactive[Replicates | None] = solara.reactive(None)
replicates_progress = solara.reactive("")
replicates_count = solara.reactive(
    DEFAULT_REPLICATES
)  # the form, kept across Resets and tab switches
replicates_metrics: solara.Reactive[list[str]] = solara.reactive(list(DEFAULT_METRICS))


@solara.component
def ReplicatesPanel(model: BorderModel):
    """Run the run's settings on several seeds in the background; show the mean and 95% band."""
    count, metrics = replicates_count, replicates_metrics

    def work(cancel: threading.Event) -> None:
        request = replicates_request.value
        if request is None:
            return
        settings: Scenario = request["settings"]
        document = settings.model_dump(mode="json")

        def settings_of(seed: int) -> Scenario:  # the run on screen, on another seed
            return validate_document({**document, "seed": seed}, settings.name)

        def progress(done: int, total: int) -> None:
            replicates_progress.set(f"Replicates: {done} of {total} runs done…")

        try:
            progress(0, len(request["seeds"]))
            result = run_replicates(settings_of, request["seeds"], request["metrics"],
                                    request["title"], progress, cancel)  # fmt: skip
        except ReplicatesCancelled:
            return
        except Exception as problem:  # noqa: BLE001 - a failing run must not take the server down
            replicates_progress.set(f"The replicates failed ({type(problem).__name__}).")
            replicates_request.set(None)
            return
        if replicates_request.value is request:
            replicates_result.set(result)
            replicates_progress.set("")
            replicates_request.set(None)

    solara.use_thread(work, dependencies=[replicates_request.value], intrusive_cancel=False)

    def start() -> None:
        settings = model.settings
        seeds = replicate_seeds(settings.seed, int(count.value))
        title = (f"{settings.name}, {settings.horizon_days} days, seeds {seeds[0]}–{seeds[-1]} "
                 f"(scenario hash {scenario_hash(settings)} with seed {settings.seed})")  # fmt: skip
        replicates_result.set(None)
        replicates_request.set({"settings": settings, "seeds": seeds,
                                "metrics": list(metrics.value) or list(DEFAULT_METRICS),
                                "title": title})  # fmt: skip

    running = replicates_request.value is not None
    with solara.Column(classes=["run-replicates"], style={"margin-top": "8px"}):
        solara.HTML(tag="b", unsafe_innerHTML="Replicates: this run on several seeds "
                    "(in the background; the map above keeps running)")  # fmt: skip
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
            NumberInput(REPLICATES, count.value, count.set)
            with solara.Column(style={"min-width": "320px", "max-width": "520px"}):
                items = [
                    {"text": metric_label(name), "value": name} for name in BROWSER_CHART_METRICS
                ]
                solara.v.Select(label="Metrics", v_model=metrics.value, items=items, multiple=True,
                                on_v_model=lambda chosen: metrics.set(
                                    [name for name in chosen if name in BROWSER_CHART_METRICS]),
                                class_="replicate-metrics")  # fmt: skip
            solara.Button("Run replicates", on_click=start, disabled=running,
                          classes=["run-replicates-button"])  # fmt: skip
            if running:
                solara.Button("Cancel", on_click=lambda: replicates_request.set(None))
        if replicates_progress.value:
            solara.Text(replicates_progress.value, classes=["replicates-progress"],
                        style={"font-size": "12px"})  # fmt: skip
        result = replicates_result.value
        charts = solara.use_memo(lambda: band_charts(result) if result else [], [result])
        if result is not None:
            solara.Text(f"Mean of the seeds with its 95% band (percentile bootstrap): {result.title}",
                        style={"font-size": "12px"})  # fmt: skip
            LineCharts(charts=charts, columns=4, panel_width=260, panel_height=130)
            solara.HTML(tag="div", unsafe_innerHTML=band_table_html(result))


@solara.component
def RunPage():
    """Pick a scenario, set the levers, seed and days, and watch it run."""
    entries = run_entries()
    tick = solara.use_reactive(0)
    playing = solara.use_reactive(False)  # Play pressed, Pause not yet
    looping = solara.use_reactive(False)  # a loop (play or catch-up) is still stepping
    frame_drawn = solara.use_memo(threading.Event, [])
    control = run_control()  # kernel-scoped: shared with the loops of an earlier mount

    # Leaving the page (tab switch, closed tab, reload) stops its loops before their next day.
    solara.use_effect(lambda: control.retire_loops, [])

    router = solara.use_router()
    solara.use_effect(lambda: restore_or_open(router.search), [])

    @guarded
    def take_replay():
        request = replay_request.value
        if not request:
            return
        replay_request.set(None)
        playing.set(False)
        if request.get("scenario") in entries:
            open_replay(request)
            tick.set(tick.value + 1)

    solara.use_effect(take_replay, [replay_request.value])

    @guarded
    def reset():
        control.retire_loops()  # the play loop stops after the day it is computing
        playing.set(False)
        if run_scenario.value is None:
            return
        if start_run(run_scenario.value, run_levers.value, run_seed.value, run_days.value,
                     run_extra.value):  # fmt: skip
            run_notice.set("")
        tick.set(tick.value + 1)

    @guarded
    def choose(name: str):
        if name is None or name == run_scenario.value:
            return
        playing.set(False)
        open_scenario(name)
        tick.set(tick.value + 1)

    @guarded
    def step(days: int = 1):
        try:
            stepped = control.step(live_model.value, days)  # refused while a loop runs
        except Exception as problem:  # noqa: BLE001 - a failing run must not take the server down
            run_error.set(f"the run failed: {type(problem).__name__}")
            return
        if stepped:
            tick.set(tick.value + 1)
            _remember_run()

    def play_loop():
        target = live_model.value
        goal = catch_up_to.value
        wants_catch_up = target is not None and goal > target.day
        if target is None or not (playing.value or wants_catch_up):
            return
        # One loop at a time: this one retires every earlier loop (of this mount or an earlier
        # one), which stops before its next day; the model's lock keeps days from overlapping.
        mine = control.begin_loop(target)
        closed = _kernel_closed_event()
        looping.set(True)

        def page_there() -> bool:
            return (control.is_current(mine) and live_model.value is target
                    and not closed.is_set())  # fmt: skip

        try:
            if wants_catch_up:

                def progress(day: int) -> None:
                    run_notice.set(f"Coming back to day {goal} of this run: day {day} of {goal}…")
                    tick.set(tick.value + 1)

                progress(target.day)
                why = catch_up(lambda: control.loop_step(target, mine), lambda: target.day, goal,
                               page_there, progress)  # fmt: skip
                if why != "done":
                    return  # the page left or a Reset replaced the run: nothing more to do
                run_notice.set("")
                catch_up_to.set(0)
                tick.set(tick.value + 1)
            if not playing.value or not page_there():
                return
            run_notice.set("")

            def at_end() -> bool:
                return not page_there() or target.day >= target.settings.horizon_days

            def day_step() -> None:
                if control.loop_step(target, mine):
                    tick.set(tick.value + 1)
                    _remember_run()

            why = play_days(day_step, lambda: playing.value and page_there(), at_end, frame_drawn)
            if why == "browser silent":
                run_notice.set(f"Paused: the page drew nothing for {STALE_AFTER_S:g} s.")
            if control.is_current(mine):
                playing.set(False)
        except Exception as problem:  # noqa: BLE001 - a failing run must not take the server down
            playing.set(False)
            if live_model.value is target:
                catch_up_to.set(0)  # a run that failed is not brought back again
            run_error.set(f"the run failed: {type(problem).__name__}")
        finally:
            control.end_loop(mine)
            if live_model.value is not target:
                control.release(target)  # a Reset replaced it while this loop was stepping it
            looping.set(False)

    solara.use_thread(play_loop, dependencies=[playing.value, catch_up_to.value],
                      intrusive_cancel=False)  # fmt: skip

    name = run_scenario.value
    entry = entries.get(name) if name else None
    model = live_model.value
    at_end = model is not None and model.day >= model.settings.horizon_days
    with solara.Column(classes=["run-page"], style={"padding": "8px"}):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.v.Select(label="Scenario", v_model=name, items=picker_items(entries),
                            on_v_model=choose, class_="scenario-picker",
                            style_="max-width: 640px").key(f"picker-{picker_version.value}")  # fmt: skip
            solara.Button("Reset", on_click=reset, disabled=entry is None or not entry.ok)
            solara.Button("Step", on_click=lambda: step(1),
                          disabled=playing.value or looping.value or model is None or at_end)  # fmt: skip
            if playing.value or looping.value:  # Play shows again once the last day is drawn
                solara.Button("Pause", on_click=lambda: playing.set(False),
                              disabled=not playing.value)  # fmt: skip
            else:
                solara.Button("Play", on_click=lambda: playing.set(True),
                              disabled=model is None or at_end)  # fmt: skip
        if entry is not None and entry.settings is not None:  # a valid file
            settings = entry.settings
            extra = run_extra.value
            try:
                base = base_settings(entry, extra)
            except ScenarioError:
                base = settings
            if settings.description:
                solara.Text(settings.description, style={"font-size": "13px"},
                            classes=["scenario-description"])  # fmt: skip

            def choose_seed(value: int) -> None:
                run_seed.set(value)
                _remember_run()

            def choose_days(value: int) -> None:
                run_days.set(value)
                _remember_run()

            with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
                NumberInput(SEED, run_seed.value if run_seed.value is not None else settings.seed,
                            choose_seed, file_value=settings.seed, help_text=help_line("seed"))  # fmt: skip
                NumberInput(DAYS, run_days.value or settings.horizon_days, choose_days,
                            label=f"Days to run (from {settings.start_date.isoformat()})",
                            file_value=settings.horizon_days, help_text=help_line("days"))  # fmt: skip
            if run_levers.value is not None:
                Levers(base)
                ScenarioFile(entry)
            events = dated_events(settings)
            if events:
                solara.HTML(tag="div", classes=["scenario-events"],
                            unsafe_innerHTML="Dated events in the file: <ul style='margin:0'>" +
                            "".join(f"<li>{html.escape(e)}</li>" for e in events) + "</ul>",
                            style={"font-size": "12px"})  # fmt: skip
            shown = (name, run_levers.value, run_seed.value, run_days.value, extra)
            current = applied.value
            if current is not None:
                seed_now, days_now = current[2], current[3]
                same = current == shown
                overrides = changed_levers(base, current[1] or levers_of(base))
                point = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                                  for k, v in (current[4] or {}).items())  # fmt: skip
                note = (f"Running {current[0]}, seed {seed_now}, {days_now} days, "
                        + (f"with the sweep run's {point}, " if point else "")
                        + (f"levers changed from the file: {', '.join(overrides)}" if overrides
                           else "exactly as the file sets it" if not point
                           else "no lever changed"))  # fmt: skip
                replaced = replaced_by_levers(base, current[1])
                if replaced:
                    note += " (" + "; ".join(replaced) + ")"
                with solara.Row(style={"align-items": "baseline", "gap": "12px"}):
                    solara.Text(note + ("" if same else " — changes shown above apply on Reset"),
                                classes=["run-settings"],
                                style={"font-size": "12px", "font-weight": "bold"})  # fmt: skip
                    link = run_permalink(current, base, replayed.value)
                    if link:
                        solara.HTML(tag="a", unsafe_innerHTML="Link to this run",
                                    attributes={"href": link}, classes=["run-permalink"],
                                    style={"font-size": "12px"})  # fmt: skip
        if run_notice.value:
            solara.Warning(run_notice.value, classes=["run-notice"], dense=True)
        if run_error.value:
            solara.Error(run_error.value, classes=["run-error"])
        ScenarioUploader(lambda: tick.set(tick.value + 1), playing)
        if model is not None:
            LiveView(model, tick, on_drawn=lambda _frame: frame_drawn.set(),
                     playing_now=playing.value)  # fmt: skip
            ReplicatesPanel(model)


def _kernel_closed_event() -> threading.Event:
    """Set when this page's kernel closes (its tab closed or reloaded); never set outside one."""
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context().closed_event
    except Exception:  # noqa: BLE001 - outside a server kernel (tests, scripts)
        return threading.Event()


def _on_kernel_start():
    # When a tab closes, its kernel's models become garbage; give their memory back soon after.
    return session.release_memory_later


solara.lab.on_kernel_start(_on_kernel_start)


@solara.component
def Page():  # noqa: D103 - Solara's entry point
    solara.Title("borderabm")
    router = solara.use_router()
    # A comparison's permanent link (?comparison=<id>) opens on the Compare tab; the link of one
    # of its runs (?comparison=<id>&run=<run id>) on the Run tab, where that run is replayed.
    linked = linked_id(router.search) and not is_replay_link(router.search)
    tab = solara.use_reactive(1 if linked else 0)
    # A replay request from the compare page opens the run page on that exact run.
    solara.use_effect(lambda: tab.set(0) if replay_request.value else None, [replay_request.value])
    # The bottom padding keeps the last rows clear of Solara's corner badge.
    with solara.Column(style={"padding-bottom": "56px"}):
        solara.HTML(tag="h2", unsafe_innerHTML="borderabm — the Durand Line")
        with solara.lab.Tabs(value=tab.value, on_value=tab.set):
            with solara.lab.Tab("Run"):
                if tab.value == 0:
                    RunPage()
            with solara.lab.Tab("Compare"):
                if tab.value == 1:
                    ComparePage()
