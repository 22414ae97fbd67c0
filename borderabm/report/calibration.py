"""The calibration report: Markdown, one-page HTML, the chart, the CSVs and the fitted scenario."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import NullFormatter
from rich.console import Console
from rich.table import Table
from rich.text import Text

from borderabm.analysis.calibration import DesignRuns
from borderabm.analysis.calibration.fitted_scenario import fitted_toml, shown_path
from borderabm.analysis.calibration.fitting import SIGNIFICANT_DIGITS, Fit
from borderabm.analysis.calibration.spec import (
    FRESH_SEED_OFFSET,
    VERIFY_SEED_OFFSET,
    Calibration,
    CalibrationError,
    dotted_value,
)
from borderabm.files import atomic_write
from borderabm.report import charts
from borderabm.report.format import (
    estimate_text,
    html_table,
    html_text,
    inline_markdown_html,
    markdown_table,
    markdown_text,
    one_line,
    range_text,
    readable_number,
)
from borderabm.scenario import ScenarioError, load_scenario
from borderabm.scenario.toml_write import toml_literal

FILES = ("calibration.md", "calibration.html", "calibration.png", "posterior.csv", "design.csv",
         "baseline_fitted.toml")  # fmt: skip


def chart(calibration: Calibration, result: Fit, out: Path) -> Path:
    """Prior against posterior for every parameter; verification against tolerance per target."""
    names = calibration.names
    targets = result.verification
    columns = max(len(names), 1)
    figure = charts.empty_figure(3.6 * columns, 6.4)
    grid = figure.add_gridspec(2, columns)
    top = [figure.add_subplot(grid[0, column]) for column in range(columns)]
    for ax, (key, prior) in zip(top, calibration.spec.parameters.items(), strict=False):
        edges = (np.geomspace(prior.low, prior.high, 25) if prior.log
                 else np.linspace(prior.low, prior.high, 25))  # fmt: skip
        prior_points = result.design.loc[result.design["wave"] == 1, key]
        # Shares per bin (not densities): on log-spaced bins a log-uniform prior then looks flat.
        ax.hist(prior_points, bins=edges.tolist(), weights=np.full(len(prior_points), 1 / len(prior_points)),
                color=charts.LIGHT, label="prior (first-wave design)")  # fmt: skip
        posterior = result.posterior[key]
        ax.hist(posterior, bins=edges.tolist(), weights=np.full(len(posterior), 1 / max(len(posterior), 1)),
                alpha=0.7, color=charts.PRIMARY, label="posterior")  # fmt: skip
        row = result.ranges.set_index("parameter").loc[key]
        ax.axvline(float(row["fitted"]), color=charts.ACCENT, lw=2, label="fitted")
        ax.axvline(float(row["default"]), color=charts.INK, lw=1, ls="--", label="old default")
        if prior.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        charts.style_axes(ax, key, grid=None)
        ax.set_yticks([])
    charts.legend(top[0], loc="upper right")
    checks = targets.reset_index(drop=True)
    ax = figure.add_subplot(grid[1, :])
    positions = np.arange(len(checks))
    scale = checks["value"].abs().replace(0, 1.0)
    ax.barh(positions, (checks["high"] - checks["low"]) / scale, left=checks["low"] / scale,
            color=charts.WITHIN, height=0.6, label="tolerance")  # fmt: skip
    ax.errorbar(checks["mean"] / scale, positions,
                xerr=[(checks["mean"] - checks["ci_low"]) / scale,
                      (checks["ci_high"] - checks["mean"]) / scale],
                fmt="o", color=charts.ACCENT,
                label="model (fitted), 95% CI of the mean over the seeds")  # fmt: skip
    ax.scatter(np.ones(len(checks)), positions, marker="|", s=300, color=charts.INK,
               label="published value")  # fmt: skip
    ax.set_yticks(positions, [f"{r.target} ({r.role})" for r in checks.itertuples()], fontsize=8)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("model / published value (symlog scale)")
    charts.style_axes(ax, grid="x")
    charts.legend(ax, loc="center left")
    ax.invert_yaxis()
    name = calibration.spec.name
    charts.title(figure, f"Calibration '{name}': prior vs posterior, and fit per target")
    return charts.save(figure, out)


def print_fit(calibration: Calibration, result: Fit, console: Console) -> None:
    """The fit per target at the fitted point, then the posterior ranges and fitted values."""
    spec = calibration.spec
    table = Table(title=f"Calibration {spec.name}: fit per target at the fitted point "
                  f"({spec.verify_replicates} fresh replicates)")  # fmt: skip
    for column in (
        "target",
        "role",
        "published",
        "tolerance",
        "model mean [95% CI of the mean]",
        "within",
    ):
        table.add_column(column, justify="left" if column in ("target", "role") else "right")
    for r in result.verification.itertuples():
        table.add_row(r.target, r.role, readable_number(r.value), range_text(r.low, r.high),
                      estimate_text(r.mean, r.ci_low, r.ci_high),
                      "yes" if r.within else Text("no", style="red"))  # fmt: skip
    console.print(table)
    ranges = Table(title="Posterior ranges (5–95%) and fitted values")
    for column in ("parameter", "prior", "posterior", "fitted"):
        ranges.add_column(column, justify="left" if column == "parameter" else "right")
    for r in result.ranges.itertuples():
        ranges.add_row(r.parameter, range_text(r.prior_low, r.prior_high),
                       range_text(r.posterior_low, r.posterior_high),
                       readable_number(r.fitted))  # fmt: skip
    console.print(ranges)


def _tables(calibration: Calibration, result: Fit) -> dict[str, tuple[list[str], list[list[str]]]]:
    spec = calibration.spec
    fit_rows = []
    for r in result.verification.itertuples():
        if r.target in result.design:
            reached = result.design[r.target]
            reach = range_text(reached.min(), reached.max())
        else:
            reach = "not run on the design"
        fit_rows.append([
            r.target, r.role, r.label, f"{readable_number(r.value)} {r.unit}".strip(),
            range_text(r.low, r.high),
            estimate_text(r.mean, r.ci_low, r.ci_high),
            "yes" if r.within else "**no**", readable_number(r.z), reach, r.source,
        ])  # fmt: skip
    mapping_rows = [[r.target, f"`{r.metric}` ({r.statistic})"
                     + (f"; run with {r.overrides}" if r.overrides else ""), r.mapping]
                    for r in result.verification.itertuples()]  # fmt: skip
    range_rows = []
    for r in result.ranges.itertuples():
        range_rows.append([
            f"`{r.parameter}`", readable_number(r.default),
            f"{range_text(r.prior_low, r.prior_high)} ({r.prior_scale})",
            range_text(r.abc_low, r.abc_high),
            range_text(r.posterior_low, r.posterior_high),
            readable_number(r.posterior_median), f"**{readable_number(r.fitted)}**", r.source,
        ])  # fmt: skip
    surrogate_rows = [[name, "log" if s.log else "linear", str(s.points), f"{s.r2:.3f}", f"{s.q2:.3f}"]
                      for name, s in result.surrogates.items()]  # fmt: skip
    correlation = result.posterior[calibration.names].corr(method="spearman")
    corr_rows = [[f"`{a}`"] + [f"{correlation.loc[a, b]:+.2f}" for b in calibration.names]
                 for a in calibration.names]  # fmt: skip
    best = result.design.sort_values("distance").head(5)
    design_rows = [[str(int(r["point"]))] + [readable_number(r[k]) for k in calibration.names]
                   + [readable_number(r[t]) for t in spec.fitted_targets()] + [f"{r['distance']:.2f}"]
                   for _, r in best.iterrows()]  # fmt: skip
    fitted_names = list(spec.fitted_targets())
    candidate_rows = [
        [str(r["origin"]), *[readable_number(r[k]) for k in calibration.names],
         *[readable_number(r.get(f"selection.{t}", math.nan)) for t in fitted_names],
         f"{r.get('selection.distance', math.nan):.2f}", "**yes**" if r.get("chosen") else ""]
        for r in result.candidates.to_dict("records")
    ]  # fmt: skip
    return {
        "candidates": (["candidate", *[f"`{n}`" for n in calibration.names], *fitted_names,
                        "distance", "chosen"], candidate_rows),  # fmt: skip
        "fit": (["target", "role", "published figure", "value", "tolerance",
                 f"model mean [95% CI of the mean, {calibration.spec.verify_replicates} seeds]",
                 "within", "z", "prior design range (point means)",
                 "source"], fit_rows),
        "mapping": (["target", "model quantity", "how the figure maps to the model"],
                    mapping_rows),
        "ranges": (["parameter", "old value", "prior", "ABC rejection 5–95%",
                    "posterior 5–95%", "posterior median", "fitted", "why uncertain"],
                   range_rows),
        "surrogate": (["fitted target", "scale", "points", "R²", "leave-one-out Q²"], surrogate_rows),
        "correlation": (["Spearman ρ (posterior)", *[f"`{n}`" for n in calibration.names]],
                        corr_rows),
        "design": (["point", *[f"`{n}`" for n in calibration.names],
                    *spec.fitted_targets(), "distance"], design_rows),
    }  # fmt: skip


def _intro(calibration: Calibration, result: Fit, runs: DesignRuns) -> list[str]:
    spec = calibration.spec
    fits = result.verification[result.verification["role"] == "fit"]
    fresh = spec.seed + FRESH_SEED_OFFSET
    verify_seed = spec.seed + VERIFY_SEED_OFFSET
    second = int((result.design["wave"] == 2).sum())
    return [
        f"Spec `{shown_path(calibration.source)}` (sha256 {calibration.source_sha256[:16]}), base "
        f"scenario `{shown_path(calibration.base_path)}`, written {runs.written}; {runs.runs} "
        "design runs "
        f"({spec.design.samples} Latin hypercube points"
        + (f" + {second} second-wave points" if second else "")
        + f", × {spec.replicates} replicates on seeds {spec.seed}–"
        f"{spec.seed + spec.replicates - 1}, {calibration.base.horizon_days} days), "
        f"{runs.executed} of them run by this invocation, which took {runs.seconds:.0f} s "
        "(finished runs are kept in the store and reused).",
        "**Method.** Every target is scored by z = (model − published) / (tolerance on that "
        "side), so |z| ≤ 1 is within tolerance. *ABC rejection* keeps the closest "
        f"{spec.design.accept_share:.0%} of the Latin hypercube points by √(mean z²) over the "
        "fitted targets. *Surrogate ABC* scores "
        f"{spec.design.surrogate_draws:,} fresh prior draws with quadratic surrogates of the fitted "
        f"quantities: {result.posterior_rule}. The posterior is the set of accepted draws. "
        f"Candidates are rounded to {SIGNIFICANT_DIGITS} significant digits and run with "
        f"{spec.verify_replicates} fresh seeds ({fresh}–{fresh + spec.verify_replicates - 1}); the "
        "closest to the fitted targets is the fitted point, verified with "
        f"{spec.verify_replicates} other fresh seeds ({verify_seed}–"
        f"{verify_seed + spec.verify_replicates - 1}); *within* means the model mean lies in the "
        "tolerance range. Checks are not fitted; those with their own overrides are run on the "
        "fitted scenario with the same verification seeds.",
        f"**Result.** {int(fits['within'].sum())} of {len(fits)} fitted targets and "
        f"{int(result.verification['within'].sum()) - int(fits['within'].sum())} of "
        f"{len(result.verification) - len(fits)} checks are within tolerance.",
    ]


def write_report(calibration: Calibration, result: Fit, out: Path, runs: DesignRuns) -> list[Path]:
    """Write the Markdown and HTML reports, the chart, the CSVs and the fitted scenario."""
    out.mkdir(parents=True, exist_ok=True)
    spec = calibration.spec
    png = chart(calibration, result, out / "calibration.png")
    tables = _tables(calibration, result)
    titles = {
        "fit": "Fit per target (fitted point, fresh replicates)",
        "mapping": "How each target maps to the model",
        "ranges": "Parameters: prior and posterior ranges",
        "surrogate": "Surrogate quality",
        "correlation": "Posterior correlations (trade-offs between parameters)",
        "design": "Closest simulated design points (replicate means)",
        "candidates": "Fitted-point candidates on fresh seeds (means of the selection runs)",
    }
    fitted_lines = ", ".join(f"`{k} = {toml_literal(v)}`" for k, v in result.fitted.items())
    # The spec's name and description are user text: plain text in Markdown too.
    md = [f"# Calibration: {markdown_text(spec.name)}", "", markdown_text(spec.description), ""]
    md += [one_line(paragraph) + "\n" for paragraph in _intro(calibration, result, runs)]
    md += [f"**Fitted values:** {fitted_lines}.", ""]
    for key, title in titles.items():
        md += [f"## {title}", "", markdown_table(*tables[key]), ""]
    md += ["## Chart", "", "![prior vs posterior and fit per target](calibration.png)", ""]
    md += ["Files: `posterior.csv` (accepted surrogate draws with their predicted quantities), "
           "`design.csv` (simulated points, replicate means, distance, ABC acceptance), "
           "`baseline_fitted.toml` (the base scenario with the fitted values).", ""]  # fmt: skip
    atomic_write(out / "calibration.md", lambda path: path.write_text("\n".join(md)))

    image = base64.b64encode(png.read_bytes()).decode()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Calibration: {html_text(spec.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1300px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}th{background:#f2f2f2}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Calibration: {html_text(spec.name)}</h1><p>{html_text(spec.description)}</p>",
    ]
    parts += [f"<p>{inline_markdown_html(p)}</p>" for p in _intro(calibration, result, runs)]
    parts.append(f"<p>{inline_markdown_html('**Fitted values:** ' + fitted_lines)}.</p>")
    for key, title in titles.items():
        header, rows = tables[key]
        parts.append(f"<h2>{html_text(title)}</h2>")
        parts.append(html_table([inline_markdown_html(h) for h in header],
                                [[inline_markdown_html(c) for c in row] for row in rows]))  # fmt: skip
    parts.append(
        f"<h2>Chart</h2><img alt='prior vs posterior' src='data:image/png;base64,{image}'>"
    )
    parts.append("</body></html>")
    atomic_write(out / "calibration.html", lambda path: path.write_text("\n".join(parts)))
    atomic_write(out / "posterior.csv", lambda path: result.posterior.to_csv(path, index=False))
    atomic_write(out / "design.csv", lambda path: result.design.to_csv(path, index=False))
    write_fitted_scenario(calibration, result.fitted, out / "baseline_fitted.toml", runs.written)
    return [out / name for name in FILES]


def write_fitted_scenario(
    calibration: Calibration, fitted: Mapping[str, Any], path: Path, written: str
) -> None:
    """Write the fitted scenario file atomically, after reading it back to check the values.

    Raises:
        CalibrationError: If the written file does not load or does not hold the fitted values
            (the file is then not written).
    """
    text = fitted_toml(calibration, fitted, written)

    def write_and_check(temp: Path) -> None:
        temp.write_text(text)
        try:
            document = load_scenario(temp).model_dump(mode="json")
        except ScenarioError as error:
            raise CalibrationError(f"the fitted scenario does not load: {error}") from None
        wrong = {key: value for key, value in fitted.items()
                 if dotted_value(document, key) != value}  # fmt: skip
        if wrong:
            raise CalibrationError(f"the fitted scenario file does not hold {wrong}")

    atomic_write(path, write_and_check)
