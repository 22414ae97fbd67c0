"""A Solara page to watch a scenario's policy state unfold on the map: pick, step, run, reset.

Started by ``borderabm ui``; scenarios come only from the shipped folder (no paths from the browser).
"""

from __future__ import annotations

import pandas as pd
import solara

from borderabm.cli import shipped_scenarios_dir
from borderabm.model import BorderModel
from borderabm.scenario import ScenarioError, load_scenario
from borderabm.viz.raster import GATE_RGB, frame_png, gate_status

RUN_CHUNK_DAYS = 30


def shipped_names() -> list[str]:
    """Names of the shipped scenarios the page may open."""
    return sorted(p.stem for p in shipped_scenarios_dir().glob("*.toml"))


def new_model(name: str) -> BorderModel:
    """A fresh model for a shipped scenario (the name must be one of ``shipped_names``)."""
    if name not in shipped_names():
        raise ScenarioError(name, ["not a shipped scenario"])
    return BorderModel(load_scenario(shipped_scenarios_dir() / f"{name}.toml"))


@solara.component
def Page():  # noqa: D103 - Solara's entry point
    names = shipped_names()
    chosen = solara.use_reactive("closures_oct2025" if "closures_oct2025" in names else names[0])
    model = solara.use_reactive(None)
    tick = solara.use_reactive(0)
    error = solara.use_reactive("")

    def reset():
        try:
            model.set(new_model(chosen.value))
            error.set("")
        except ScenarioError as problem:
            error.set(str(problem))
        tick.set(tick.value + 1)

    def advance(days: int):
        if model.value is None:
            reset()
        current = model.value
        if current is not None:
            current.run(min(days, current.settings.horizon_days - current.day))
        tick.set(tick.value + 1)

    solara.use_effect(reset, [chosen.value])
    solara.Title("borderabm")
    with solara.Column(style={"padding": "12px"}):
        solara.Markdown("## borderabm — the Durand Line")
        with solara.Row():
            solara.Select(label="Scenario", value=chosen, values=names)
            solara.Button("Reset", on_click=reset)
            solara.Button("Step", on_click=lambda: advance(1))
            solara.Button(f"Run {RUN_CHUNK_DAYS} days", on_click=lambda: advance(RUN_CHUNK_DAYS))
        if error.value:
            solara.Error(error.value)
        current = model.value
        if current is None:
            return
        _ = tick.value  # read so that Step/Run re-render the page
        solara.Text(
            f"Day: {current.day} of {current.settings.horizon_days} ({current.date.isoformat()})"
        )
        with solara.Row():
            solara.Image(frame_png(current.world, current.policy), format="png")
            with solara.Column():
                legend = " ".join(
                    f'<span style="color: rgb{tuple(int(c) for c in rgb)}">■</span> {kind}'
                    for kind, rgb in GATE_RGB.items()
                )
                solara.Markdown(f"Gates: {legend}")
                gates = pd.DataFrame(
                    {
                        "gate": [c.name for c in current.world.crossings],
                        "status": [
                            gate_status(current.policy, c.name) for c in current.world.crossings
                        ],
                    }
                )
                solara.DataFrame(gates, items_per_page=10)
                totals = current.summary() if current.day else {}
                summary = pd.DataFrame(
                    {"metric": list(totals), "value": [f"{v:,.2f}" for v in totals.values()]}
                )
                solara.DataFrame(summary, items_per_page=10)
