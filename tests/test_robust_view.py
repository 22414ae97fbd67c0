"""The Compare tab's robust comparison shows what the command line computes."""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.apps.ui.robust_view import (
    SHIPPED_POSTERIOR,
    RobustError,
    is_robust_store,
    robust_result,
    run_robust,
    scorecard_html,
)
from borderabm.scenario import resolve_scenario_path

runner = CliRunner()


def test_the_page_and_the_command_give_the_same_robust_table(tmp_path):
    paths = [resolve_scenario_path(n) for n in ("baseline", "trade_corridor")]
    shown = run_robust(paths, draws=2, replicates=1, days=10, folder=tmp_path / "page")
    cli = runner.invoke(app, [
        "compare", "baseline", "trade_corridor", "--uncertainty", str(SHIPPED_POSTERIOR),
        "--draws", "2", "--replicates", "1", "--days", "10", "--workers", "1", "--json",
        "--out", str(tmp_path / "cli"),
    ])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    table = pd.DataFrame(json.loads(cli.stdout)["table"])
    page = shown.robust.table
    assert list(table.columns) == list(page.columns)
    for column in page.columns:  # exact numbers (JSON keeps every digit; NaN as null)
        expected = page[column].astype(object).where(page[column].notna(), None).tolist()
        cells = table[column].astype(object).where(table[column].notna(), None).tolist()
        assert cells == expected, column
    assert is_robust_store(tmp_path / "page") and is_robust_store(tmp_path / "cli")
    assert robust_result(tmp_path / "cli").answers == shown.answers
    html = scorecard_html(shown.robust)
    assert "trade_corridor" in html and "Attacks (lower)" in html
    assert shown.chart_png.startswith(b"\x89PNG")


def test_a_plain_comparison_is_not_robust_and_bad_requests_are_one_line(tmp_path):
    plain = runner.invoke(app, ["compare", "baseline", "fence_full", "--replicates", "1",
                                "--days", "5", "--workers", "1", "--out", str(tmp_path / "p")])  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert not is_robust_store(tmp_path / "p")
    assert not is_robust_store(tmp_path / "nothing")
    with pytest.raises(RobustError, match=r"draws: 0 \(allowed: 1 to 50\)"):
        run_robust([Path("x")], draws=0, replicates=1, days=5, folder=tmp_path / "q")
    with pytest.raises(RobustError, match="not a comparison over parameter draws"):
        robust_result(tmp_path / "p")
