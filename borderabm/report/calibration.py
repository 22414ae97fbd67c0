"""The calibration report: Markdown, one-page HTML, the chart, the CSVs and the fitted scenario."""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from borderabm.analysis.calibration.fitted_scenario import shown_path, write_fitted_scenario
from borderabm.analysis.calibration.fitting import SIGNIFICANT_DIGITS, Fit
from borderabm.analysis.calibration.spec import (
    FRESH_SEED_OFFSET,
    VERIFY_SEED_OFFSET,
    Calibration,
)
from borderabm.analysis.compare import short_number
from borderabm.experiments.store import atomic_write
from borderabm.scenario.toml_write import toml_literal

if TYPE_CHECKING:
    pass

FILES = ("calibration.md", "calibration.html", "calibration.png", "posterior.csv", "design.csv",
         "baseline_fitted.toml")  # fmt: skip


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if abs(value) < 1e5 else short_number(float(value))
    value = float(value)
    if not math.isfinite(value):
        return "n/a"
    if abs(value) < 1e-9:  # rounding noise of an exact match
        return "0"
    if abs(value) >= 1e5:
        return short_number(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def chart(calibration: Calibration, result: Fit, out: Path) -> Path:
    """Prior against posterior for every parameter; verification against tolerance per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    names = calibration.names
    targets = result.verification
    columns = max(len(names), 1)
    fig, axes = plt.subplots(2, columns, figsize=(3.6 * columns, 6.4), squeeze=False)
    for ax, (key, prior) in zip(axes[0], calibration.spec.parameters.items(), strict=False):
        edges = (np.geomspace(prior.low, prior.high, 25) if prior.log
                 else np.linspace(prior.low, prior.high, 25))  # fmt: skip
        prior_points = result.design.loc[result.design["wave"] == 1, key]
        # Shares per bin (not densities): on log-spaced bins a log-uniform prior then looks flat.
        ax.hist(prior_points, bins=edges, weights=np.full(len(prior_points), 1 / len(prior_points)),
                color="#cccccc", label="prior (first-wave design)")  # fmt: skip
        posterior = result.posterior[key]
        ax.hist(posterior, bins=edges, weights=np.full(len(posterior), 1 / max(len(posterior), 1)),
                alpha=0.7, color="#3b75af", label="posterior")  # fmt: skip
        row = result.ranges.set_index("parameter").loc[key]
        ax.axvline(float(row["fitted"]), color="#c0504d", lw=2, label="fitted")
        ax.axvline(float(row["default"]), color="#333333", lw=1, ls="--", label="old default")
        if prior.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(key, fontsize=9)
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, loc="upper right")
    checks = targets.reset_index(drop=True)
    for ax in axes[1]:
        ax.set_visible(False)
    ax = fig.add_subplot(2, 1, 2)
    positions = np.arange(len(checks))
    scale = checks["value"].abs().replace(0, 1.0)
    ax.barh(positions, (checks["high"] - checks["low"]) / scale, left=checks["low"] / scale,
            color="#d9ead3", height=0.6, label="tolerance")  # fmt: skip
    ax.errorbar(checks["mean"] / scale, positions,
                xerr=[(checks["mean"] - checks["ci_low"]) / scale,
                      (checks["ci_high"] - checks["mean"]) / scale],
                fmt="o", color="#c0504d", label="model (fitted), 95% interval")  # fmt: skip
    ax.scatter(np.ones(len(checks)), positions, marker="|", s=300, color="#333333",
               label="published value")  # fmt: skip
    ax.set_yticks(positions, [f"{r.target} ({r.role})" for r in checks.itertuples()], fontsize=8)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("model / published value (symlog scale)")
    ax.legend(fontsize=7, loc="center left")
    ax.invert_yaxis()
    fig.suptitle(f"Calibration '{calibration.spec.name}': prior vs posterior, and fit per target")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda path: fig.savefig(path, dpi=100, format="png"))
    plt.close(fig)
    return out


def _tables(calibration: Calibration, result: Fit) -> dict[str, tuple[list[str], list[list[str]]]]:
    spec = calibration.spec
    fit_rows = []
    for r in result.verification.itertuples():
        if r.target in result.design:
            reach = f"{_number(result.design[r.target].min())} – {_number(result.design[r.target].max())}"
        else:
            reach = "not run on the design"
        fit_rows.append([
            r.target, r.role, r.label, f"{_number(r.value)} {r.unit}".strip(),
            f"{_number(r.low)} – {_number(r.high)}",
            f"{_number(r.mean)} [{_number(r.ci_low)} – {_number(r.ci_high)}]",
            "yes" if r.within else "**no**", _number(r.z), reach, r.source,
        ])  # fmt: skip
    mapping_rows = [[r.target, f"`{r.metric}` ({r.statistic})"
                     + (f"; run with {r.overrides}" if r.overrides else ""), r.mapping]
                    for r in result.verification.itertuples()]  # fmt: skip
    range_rows = []
    for r in result.ranges.itertuples():
        range_rows.append([
            f"`{r.parameter}`", _number(r.default),
            f"{_number(r.prior_low)} – {_number(r.prior_high)} ({r.prior_scale})",
            f"{_number(r.abc_low)} – {_number(r.abc_high)}",
            f"{_number(r.posterior_low)} – {_number(r.posterior_high)}",
            _number(r.posterior_median), f"**{_number(r.fitted)}**", r.source,
        ])  # fmt: skip
    surrogate_rows = [[name, "log" if s.log else "linear", str(s.points), f"{s.r2:.3f}", f"{s.q2:.3f}"]
                      for name, s in result.surrogates.items()]  # fmt: skip
    correlation = result.posterior[calibration.names].corr(method="spearman")
    corr_rows = [[f"`{a}`"] + [f"{correlation.loc[a, b]:+.2f}" for b in calibration.names]
                 for a in calibration.names]  # fmt: skip
    best = result.design.sort_values("distance").head(5)
    design_rows = [[str(int(r["point"]))] + [_number(r[k]) for k in calibration.names]
                   + [_number(r[t]) for t in spec.fitted_targets()] + [f"{r['distance']:.2f}"]
                   for _, r in best.iterrows()]  # fmt: skip
    fitted_names = list(spec.fitted_targets())
    candidate_rows = [
        [str(r["origin"]), *[_number(r[k]) for k in calibration.names],
         *[_number(r.get(f"selection.{t}", math.nan)) for t in fitted_names],
         f"{r.get('selection.distance', math.nan):.2f}", "**yes**" if r.get("chosen") else ""]
        for r in result.candidates.to_dict("records")
    ]  # fmt: skip
    return {
        "candidates": (["candidate", *[f"`{n}`" for n in calibration.names], *fitted_names,
                        "distance", "chosen"], candidate_rows),  # fmt: skip
        "fit": (["target", "role", "published figure", "value", "tolerance",
                 "model mean [95% interval]", "within", "z", "prior design range (point means)",
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


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def clean(cell: str) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _intro(calibration: Calibration, result: Fit, meta: Mapping[str, Any]) -> list[str]:
    spec = calibration.spec
    fits = result.verification[result.verification["role"] == "fit"]
    fresh = spec.seed + FRESH_SEED_OFFSET
    verify_seed = spec.seed + VERIFY_SEED_OFFSET
    second = int((result.design["wave"] == 2).sum())
    return [
        f"Spec `{shown_path(calibration.source)}` (sha256 {calibration.source_sha256[:16]}), base "
        f"scenario `{shown_path(calibration.base_path)}`, written {meta['written']}; {meta['runs']} "
        "design runs "
        f"({spec.design.samples} Latin hypercube points"
        + (f" + {second} second-wave points" if second else "")
        + f", × {spec.replicates} replicates on seeds {spec.seed}–"
        f"{spec.seed + spec.replicates - 1}, {calibration.base.horizon_days} days), "
        f"{meta['executed']} of them run by this invocation, which took {meta['seconds']:.0f} s "
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


def write_report(calibration: Calibration, result: Fit, out: Path,
                 meta: Mapping[str, Any]) -> list[Path]:  # fmt: skip
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
    md = [f"# Calibration: {spec.name}", "", spec.description, ""]
    md += [paragraph + "\n" for paragraph in _intro(calibration, result, meta)]
    md += [f"**Fitted values:** {fitted_lines}.", ""]
    for key, title in titles.items():
        md += [f"## {title}", "", _markdown_table(*tables[key]), ""]
    md += ["## Chart", "", "![prior vs posterior and fit per target](calibration.png)", ""]
    md += ["Files: `posterior.csv` (accepted surrogate draws with their predicted quantities), "
           "`design.csv` (simulated points, replicate means, distance, ABC acceptance), "
           "`baseline_fitted.toml` (the base scenario with the fitted values).", ""]  # fmt: skip
    atomic_write(out / "calibration.md", lambda path: path.write_text("\n".join(md)))

    image = base64.b64encode(png.read_bytes()).decode()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Calibration: {html.escape(spec.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1300px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}th{background:#f2f2f2}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Calibration: {html.escape(spec.name)}</h1><p>{html.escape(spec.description)}</p>",
    ]
    parts += [f"<p>{_md_inline(p)}</p>" for p in _intro(calibration, result, meta)]
    parts.append(f"<p>{_md_inline('**Fitted values:** ' + fitted_lines)}.</p>")
    for key, title in titles.items():
        header, rows = tables[key]
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>"
                     + "".join(f"<th>{_md_inline(h)}</th>" for h in header) + "</tr>")  # fmt: skip
        parts += ["<tr>" + "".join(f"<td>{_md_inline(c)}</td>" for c in row) + "</tr>"
                  for row in rows]  # fmt: skip
        parts.append("</table>")
    parts.append(
        f"<h2>Chart</h2><img alt='prior vs posterior' src='data:image/png;base64,{image}'>"
    )
    parts.append("</body></html>")
    atomic_write(out / "calibration.html", lambda path: path.write_text("\n".join(parts)))
    atomic_write(out / "posterior.csv", lambda path: result.posterior.to_csv(path, index=False))
    atomic_write(out / "design.csv", lambda path: result.design.to_csv(path, index=False))
    write_fitted_scenario(calibration, result.fitted, out / "baseline_fitted.toml", meta["written"])
    return [out / name for name in FILES]


def _md_inline(text: str) -> str:
    escaped = html.escape(str(text))
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\*(.+?)\*", r"<i>\1</i>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)
