"""The fitted scenario file: the base scenario's TOML with the fitted values written in.

Comments and layout of the base file are kept (:func:`~.toml_edit.set_toml_values`); the written
file is read back and checked before it is renamed into place.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from borderabm.analysis.calibration.spec import Calibration, CalibrationError, dotted_value
from borderabm.experiments.store import atomic_write
from borderabm.scenario import ScenarioError, load_scenario
from borderabm.scenario.toml_write import set_toml_values, toml_literal


def shown_path(path: Path) -> str:
    """A path as the report shows it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def fitted_toml(calibration: Calibration, fitted: Mapping[str, Any], written: str) -> str:
    """The base scenario file with the fitted values and a header saying where they came from."""
    text = calibration.base_path.read_text()
    header = [
        f"# Written by `borderabm calibrate` on {written} from {shown_path(calibration.source)}",
        f"# (spec sha256 {calibration.source_sha256[:16]}); base scenario "
        f"{shown_path(calibration.base_path)}.",
        "# Fitted values (the rest of the file is the base scenario, unchanged):",
        *[f"#   {key} = {toml_literal(value)}" for key, value in fitted.items()],
    ]
    return "\n".join(header) + "\n" + set_toml_values(text, fitted)


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
