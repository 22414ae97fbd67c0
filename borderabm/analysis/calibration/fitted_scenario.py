"""The fitted scenario: the base scenario's TOML text with the fitted values written in.

Comments and layout of the base file are kept (:func:`~borderabm.scenario.toml_write.set_toml_values`).
:func:`borderabm.report.calibration.write_fitted_scenario` writes it, after reading it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from borderabm.analysis.calibration.spec import Calibration
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
