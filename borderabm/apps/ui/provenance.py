"""Where a run's numbers come from: model version, calibration, validation, seed, scenario hash.

Everything is read from what this install has, never written in: the version from the package,
the calibration from the spec and posterior the package ships (and, in a source checkout, the
verification in ``docs/calibration``), the validation from ``docs/validation`` when the checkout
has it. An installed wheel has no ``docs/``: the panel then says the report is not shipped in this
install. Shared by the Run tab and (later) the Compare tab: :func:`provenance` takes a scenario and
returns plain rows, :func:`provenance_html` the panel.
"""

from __future__ import annotations

import csv
import functools
import html
import importlib.metadata
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import borderabm
from borderabm.apps.ui.scenario_file import canonical_document, scenario_hash
from borderabm.scenario import Scenario, ScenarioError, load_scenario, packaged_dir

CALIBRATION_SPEC = (
    "baseline"  # the shipped calibration every scenario's shared parameters come from
)
FITTED_SCENARIO = "baseline"  # written with the fitted point by scripts/apply_fit.py
NOT_SHIPPED = "not shipped in this install"
_CALIBRATION_RESULT = re.compile(r"\*\*Result\.\*\*\s*(\d+) of (\d+) fitted targets")
_VALIDATION_HEADLINE = re.compile(r"^\*\*(\d+ of \d+ stylized facts pass[^*]*)\*\*", re.MULTILINE)
_VALIDATION_MODEL = re.compile(r"\*\*Model:\*\*\s*borderabm (\S+), git revision (\w+)")


@dataclass(frozen=True)
class Provenance:
    """The provenance of one run, each item as a person reads it."""

    version: str
    calibration: str
    validation: str
    seed: int
    scenario_hash: str

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows, in the order the panel shows them."""
        return [
            ("Model version", self.version),
            ("Calibration", self.calibration),
            ("Validation", self.validation),
            ("Seed", str(self.seed)),
            ("Scenario hash", f"{self.scenario_hash} (sha256 of the scenario in force, short)"),
        ]


def provenance(settings: Scenario) -> Provenance:
    """The provenance of a run of ``settings`` (its seed and days included)."""
    return Provenance(
        version=model_version(),
        calibration=calibration_status(settings),
        validation=validation_status(),
        seed=settings.seed,
        scenario_hash=scenario_hash(settings),
    )


def provenance_html(record: Provenance) -> str:
    """The provenance as a small table (every value escaped)."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:10px;vertical-align:top'>"
        f"{html.escape(label)}</th><td data-provenance='{html.escape(label.lower())}'>"
        f"{html.escape(value)}</td></tr>"
        for label, value in record.rows()
    )
    return f"<table class='provenance' style='font-size:12px'>{rows}</table>"


def model_version() -> str:
    """Borderabm's version: the installed distribution's, else the package's own."""
    try:
        installed = importlib.metadata.version("borderabm")
    except importlib.metadata.PackageNotFoundError:
        installed = ""
    return f"borderabm {installed or borderabm.__version__}"


def source_docs() -> Path | None:
    """The ``docs/`` folder of a source checkout (None in an installed wheel, which has none)."""
    root = Path(borderabm.__file__).resolve().parent.parent
    docs = root / "docs"
    return docs if (root / "pyproject.toml").is_file() and docs.is_dir() else None


@dataclass(frozen=True)
class _Fit:
    """The shipped calibration: the year it fits, its parameters, targets and posterior."""

    year: str
    parameters: tuple[str, ...]
    fitted_targets: int
    posterior: dict[str, tuple[float, float]]  # parameter -> (lowest, highest) accepted draw
    point: dict[str, Any]  # parameter -> the fitted value (as the fitted scenario holds it)


@functools.cache
def _shipped_fit() -> _Fit | None:
    folder = packaged_dir("calibration")
    try:
        spec = tomllib.loads((folder / f"{CALIBRATION_SPEC}.toml").read_text(encoding="utf-8"))
        base = load_scenario(packaged_dir("scenarios") / f"{spec['scenario']}.toml")
        fitted = _flat(canonical_document(
            load_scenario(packaged_dir("scenarios") / f"{FITTED_SCENARIO}.toml")))  # fmt: skip
        with (folder / f"{CALIBRATION_SPEC}_posterior.csv").open(encoding="utf-8") as handle:
            draws = list(csv.DictReader(handle))
    except (OSError, KeyError, ValueError, ScenarioError):
        return None
    parameters = tuple(spec.get("parameters", {}))
    years = sorted({base.start_date.year, base.end_date.year})
    posterior = {}
    for name in parameters:
        values = [float(row[name]) for row in draws if row.get(name) not in (None, "")]
        if values:
            posterior[name] = (min(values), max(values))
    targets = spec.get("targets", {})
    return _Fit(
        year="–".join(str(year) for year in years),
        parameters=parameters,
        fitted_targets=sum(1 for t in targets.values() if t.get("role", "fitted") == "fitted"),
        posterior=posterior,
        point={name: fitted.get(name) for name in parameters},
    )


def _flat(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def calibration_status(settings: Scenario) -> str:
    """Which fit the scenario uses, and how well that fit meets its targets (as far as shipped)."""
    fit = _shipped_fit()
    if fit is None:
        return f"calibration {NOT_SHIPPED}"
    values = _flat(canonical_document(settings))
    differ = [name for name in fit.parameters if values.get(name) != fit.point.get(name)]
    outside = [name for name in differ if name in fit.posterior and not
               fit.posterior[name][0] <= float(values.get(name) or 0) <= fit.posterior[name][1]]  # fmt: skip
    lead = (f"fitted to {fit.year} targets ({fit.fitted_targets} targets, "
            f"{len(fit.parameters)} parameters; spec {CALIBRATION_SPEC}, posterior shipped)")  # fmt: skip
    if not differ:
        use = "this scenario uses the fitted point"
    elif not outside:
        use = (f"this scenario differs from the fitted point on {len(differ)} parameter(s), within "
               f"the posterior's range: {', '.join(differ)}")  # fmt: skip
    else:
        use = f"this scenario leaves the fit: {', '.join(outside)} outside the posterior's range"
    return f"{lead}; {use}; {_verification(fit)}"


def _report_text(relative: str) -> str:
    """A report of the checkout's docs/ folder ("" when it is not there, e.g. in a wheel)."""
    docs = source_docs()
    try:
        return (docs / relative).read_text(encoding="utf-8") if docs else ""
    except OSError:
        return ""


def _verification(fit: _Fit) -> str:
    text = _report_text("calibration/calibration.md")
    found = _CALIBRATION_RESULT.search(text)
    if not found:
        return f"verification report {NOT_SHIPPED}"
    within, total = found.groups()
    return f"{within}/{total} within tolerance (docs/calibration/calibration.md)"


def validation_status() -> str:
    """The validation suite's headline from the checkout's report, or that it is not shipped."""
    text = _report_text("validation/validation.md")
    headline = _VALIDATION_HEADLINE.search(text)
    if not headline:
        return f"validation report {NOT_SHIPPED}"
    model = _VALIDATION_MODEL.search(text)
    run_on = f", run on borderabm {model.group(1)} at {model.group(2)[:7]}" if model else ""
    return f"{headline.group(1).rstrip('. ')} (docs/validation/validation.md{run_on})"
