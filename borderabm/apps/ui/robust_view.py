"""The Compare tab's robust comparison: every policy across the calibration's plausible worlds.

The page runs (or opens from the results folder) a comparison over parameter draws, as
``borderabm compare A B … --uncertainty FILE --draws N`` does, and shows what the command line and
the report show, from the same functions: the answers in words
(:func:`borderabm.report.robust.all_answers`), the scorecard
(:func:`borderabm.report.robust.scorecard_rows`) and the chart of shares of worlds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import solara

from borderabm.analysis.robust import RobustComparison, load_robust
from borderabm.apps.ui.links import replay_link
from borderabm.experiments.engines import Engine
from borderabm.experiments.store import ResultsStore, StoreError
from borderabm.experiments.sweep import Sweep
from borderabm.metrics import format_value, metric_label
from borderabm.report.format import html_table, html_text
from borderabm.report.robust import HEADER, NOTES, all_answers, scorecard_rows, share_png
from borderabm.scenario.paths import PACKAGE_DATA

# The calibration's posterior ships in the package, so a wheel installed anywhere can use it.
SHIPPED_POSTERIOR = PACKAGE_DATA / "calibration" / "baseline_posterior.csv"
DEFAULT_DRAWS = 10
MAX_DRAWS = 50
MAX_RUN_ROWS = 1_000  # rows of the runs table (50 worlds x 4 policies x 5 seeds)


class RobustError(ValueError):
    """A robust comparison that cannot be shown (its message is one plain line)."""


@dataclass(frozen=True, eq=False)
class RobustResult:
    """A robust comparison as the page shows it (``link_id``: the id of its permanent link)."""

    robust: RobustComparison
    answers: list[str]
    chart_png: bytes
    results_dir: Path
    link_id: str = ""


def is_robust_store(folder: Path) -> bool:
    """Whether a results folder holds a comparison over parameter draws."""
    try:
        manifest = ResultsStore(folder).read_manifest()
    except StoreError:
        return False
    return manifest is not None and manifest.design is not None and manifest.design.kind == "draws"


def robust_result(folder: Path, link_id: str = "") -> RobustResult:
    """Read a robust comparison from its results folder.

    Raises:
        RobustError: For a folder that is not one, or holds no finished runs.
    """
    try:
        robust = load_robust(ResultsStore(folder))
    except StoreError as error:
        raise RobustError(str(error).replace(str(folder), folder.name)) from None
    return RobustResult(robust, all_answers(robust), share_png(robust), folder, link_id)


def robust_sweep(paths: Sequence[Path], draws: int, replicates: int, days: int,
                 seed: int = 1) -> Sweep:  # fmt: skip
    """The runs of a robust comparison on the shipped posterior's draws.

    Raises:
        RobustError: For a request the sweep refuses (one line).
    """
    from borderabm.experiments.sweep import comparison_sweep
    from borderabm.experiments.uncertainty import load_draws
    from borderabm.scenario import ScenarioError

    if not 1 <= draws <= MAX_DRAWS:
        raise RobustError(f"draws: {draws} (allowed: 1 to {MAX_DRAWS})")
    try:
        return comparison_sweep(list(paths), replicates, seed, days,
                                load_draws(SHIPPED_POSTERIOR, draws, seed=seed))  # fmt: skip
    except ScenarioError as error:
        raise RobustError("; ".join(error.problems)) from None


def run_robust(
    paths: Sequence[Path],
    draws: int,
    replicates: int,
    days: int,
    folder: Path,
    on_done: Callable[[dict], None] = lambda result: None,
    engine: Engine | None = None,
    link_id: str = "",
) -> RobustResult:
    """Run a robust comparison on the shipped posterior into ``folder`` (resuming it) and read it.

    Args:
        paths: The scenario files; the first is the reference.
        draws: Plausible worlds (rows of the shipped posterior).
        replicates: Seeds per world.
        days: Days per run.
        folder: The results store.
        on_done: Called after every run.
        engine: Where the runs execute (default: local processes).
        link_id: The id of the result's permanent link.

    Raises:
        RobustError: For a request the sweep refuses, or a store that cannot be used (one line).
    """
    from borderabm.experiments.engines import engine_for
    from borderabm.experiments.sweep import run_sweep

    sweep = robust_sweep(paths, draws, replicates, days)
    try:
        run_sweep(sweep, ResultsStore(folder), engine=engine or engine_for(None, None),
                  on_done=on_done)  # fmt: skip
    except StoreError as error:
        raise RobustError(str(error).replace(str(folder), folder.name)) from None
    return robust_result(folder, link_id)


TABLE_STYLE = (
    "<style>.robust-table table{border-collapse:collapse;font-size:13px}"
    ".robust-table td,.robust-table th{padding:2px 8px;border-bottom:1px solid #e5e5e5;"
    "text-align:right}.robust-table td:first-child,.robust-table td:nth-child(2){text-align:left}"
    "</style>"
)


def scorecard_html(robust: RobustComparison) -> str:
    """The scorecard as an HTML table (every cell escaped)."""
    rows = [[html_text(cell) for cell in row] for row in scorecard_rows(robust)]
    return TABLE_STYLE + html_table([html_text(h) for h in HEADER], rows)


def runs_html(robust: RobustComparison, link_id: str = "") -> str:
    """Every run, world by world: world, policy, seed, the metrics compared and its replay link.

    Args:
        robust: The robust comparison.
        link_id: The comparison's id: each stored run gets its permanent link (its replay on the
            Run tab; see :func:`~borderabm.apps.ui.links.replay_link`). Empty: no links.
    """
    runs = robust.runs
    metrics = list(dict.fromkeys(robust.table["metric"])) if not robust.table.empty else []
    rank = {policy: index for index, policy in enumerate(robust.order)}
    runs = runs.assign(_rank=runs["scenario"].map(rank)).sort_values(["point", "_rank", "seed"])
    header = ["world", "policy", "seed", *(metric_label(m) for m in metrics), "replay"]
    rows = []
    for row in runs.head(MAX_RUN_ROWS).to_dict(orient="records"):
        run_id = row.get("run_id")
        link = replay_link(link_id, run_id) if link_id and isinstance(run_id, str) else ""
        what = f"Replay {row['scenario']} in world {int(row['point']) + 1}, seed {int(row['seed'])}"
        cells = [str(int(row["point"]) + 1), html_text(row["scenario"]), str(int(row["seed"]))]
        cells += [html_text(format_value(m, float(row[m]))) for m in metrics]
        cells.append(f"<a class='robust-run-link' href='{html_text(link)}' title='{html_text(what)}'"
                     f" aria-label='{html_text(what)}'>replay</a>" if link else "—")  # fmt: skip
        rows.append(cells)
    return TABLE_STYLE + html_table([html_text(h) for h in header], rows)


def worlds_csv(robust: RobustComparison) -> str:
    """Each world's parameters and seed-averaged values per policy and metric, as CSV.

    ``world`` numbers the worlds from 1, as the runs table does (``point`` is the store's index).
    """
    values = robust.world_values
    return values.assign(world=values["point"] + 1)[["world", *values.columns]].to_csv(index=False)


@solara.component
def RobustView(result: RobustResult):
    """The answers in words, the scorecard, the chart, every run and downloads of a comparison."""
    robust = result.robust
    with solara.Column(classes=["robust-results"]):
        solara.v.Html(tag="h3", children=["Across plausible worlds: " + " vs ".join(robust.order)])
        solara.Text(
            f"{robust.worlds} plausible worlds (draws of the 2024 fit's uncertain parameters) × "
            f"{robust.seeds} seeds per policy; saved as {result.results_dir.name} in the results "
            "folder."
        )
        if result.link_id:
            link = f"?comparison={result.link_id}"
            with solara.Row(style={"align-items": "center"}):
                solara.Text(f"Comparison id {result.link_id}; permanent link:")
                solara.v.Html(tag="a", children=[link],
                              attributes={"href": link, "data-testid": "robust-link"})  # fmt: skip
        solara.v.Html(tag="h4", children=["In words"])
        with solara.v.Html(tag="ul", class_="robust-answers"):
            for text in result.answers:
                solara.v.Html(tag="li", children=[text])
        solara.v.Html(tag="h4", children=["Scorecard"])
        solara.Text(NOTES.format(reference=robust.reference))
        solara.FileDownload(
            lambda: robust.table.to_csv(index=False),
            filename=f"{result.results_dir.name}-robust.csv",
            label="Download the robust scorecard (CSV)",
            mime_type="text/csv",
        )
        solara.HTML(tag="div", unsafe_innerHTML=scorecard_html(robust),
                    classes=["robust-table"], attributes={"data-testid": "robust-table"})  # fmt: skip
        solara.Image(result.chart_png, format="png", width="100%", classes=["robust-chart"])
        solara.v.Html(tag="h4", children=["Every run, world by world"])
        solara.Text(
            "World n is the n-th draw of the uncertain parameters (their values are in the CSV). "
            "A run's link opens it on the Run tab: the same scenario, levers, world and seed."
        )
        solara.FileDownload(
            lambda: worlds_csv(robust),
            filename=f"{result.results_dir.name}-worlds.csv",
            label="Download each world's parameters and seed-averaged values (CSV)",
            mime_type="text/csv",
        )
        with solara.Details(f"Show the {len(robust.runs):,} runs"):
            html = solara.use_memo(lambda: runs_html(robust, result.link_id), [result])
            solara.HTML(tag="div", unsafe_innerHTML=html, classes=["robust-table"],
                        attributes={"data-testid": "robust-runs"})  # fmt: skip
