"""A value given for a run holds for the whole run, on every path: ``--set``, a sweep parameter,
a lever variant and a lever of the page.

Before, on the history and episode scenarios (whose fence is a dated construction schedule),
``--set fence.coverage=0.5``, sweep parameters and variants kept the schedule's 98% fence while
their tables printed 0.5, and the page's fence lever built a 50% fence: one scenario, seed and
lever gave two answers.
"""

from __future__ import annotations

import json
from functools import cache

import pytest
from typer.testing import CliRunner

from borderabm.apps.cli import app
from borderabm.apps.ui.run_setup import run_entries, run_settings
from borderabm.experiments.run import run_one
from borderabm.experiments.sweep import load_sweep, parse_variant, variant_sweep
from borderabm.scenario import (
    ScenarioError,
    load_scenario,
    replaced_dated_settings,
    resolve_relative,
    resolve_scenario_path,
)

EPISODE = "episode_closures_oct2025"
DAYS, SEED = 8, 3
runner = CliRunner()


@cache
def cli_summary(*options: str) -> tuple[dict[str, float], str]:
    result = runner.invoke(app, ["run", EPISODE, "--days", str(DAYS), "--seed", str(SEED),
                                 "--json", *options])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["summary"], result.stderr


def test_a_fence_coverage_given_on_the_command_line_is_the_one_the_page_runs():
    half, notes = cli_summary("--set", "fence.coverage=0.5")
    as_written, _ = cli_summary()
    assert as_written["fence_share_mean"] > 0.9  # the episode's dated fence: about 98%
    assert half["fence_share_mean"] == pytest.approx(0.5, abs=0.01)
    assert notes.startswith("note: ") and "fence.coverage: holds for the whole run" in notes

    page = run_settings(run_entries()[EPISODE], {**lever_values(), "fence": 0.5}, SEED, DAYS)
    assert page.fence.schedule == () and page.fence.coverage == 0.5
    assert run_one(page).summary == half


def lever_values() -> dict:
    from borderabm.apps.ui.run_setup import base_settings, levers_of

    return levers_of(base_settings(run_entries()[EPISODE]))


def test_a_sweep_parameter_and_a_lever_variant_hold_for_the_run(tmp_path):
    sweep_file = tmp_path / "fence.toml"
    sweep_file.write_text(
        f'name = "fence"\nscenarios = ["{EPISODE}"]\nreplicates = 1\nseed = {SEED}\n'
        f'days = {DAYS}\n[design]\nkind = "factorial"\n'
        '[parameters."fence.coverage"]\nlevels = [0.5, 1.0]\n'
    )
    sweep = load_sweep(sweep_file, resolve_relative)
    assert [run.settings().fence.coverage for run in sweep.runs] == [0.5, 1.0]
    assert all(run.settings().fence.schedule == () for run in sweep.runs)
    assert any("fence.coverage: holds for the whole run" in note for note in sweep.notes)

    path = resolve_scenario_path(EPISODE)
    variants = [parse_variant(line, n, str(path)) for n, line in
                enumerate(["", "fence.coverage=0.5"], start=1)]  # fmt: skip
    loaded = variant_sweep(path, variants, 1, SEED, DAYS)
    plain, half = (run.settings() for run in loaded.runs)
    assert plain.fence.schedule != () and half.fence.schedule == ()
    assert run_one(half).summary == cli_summary("--set", "fence.coverage=0.5")[0]
    assert [note.split(":")[0] for note in loaded.notes] == ["variant 2"]


def test_a_key_set_by_dated_changes_holds_and_other_changes_stay():
    path = resolve_scenario_path("history_2014_2025")
    history = load_scenario(path)
    rate_days = [c.day for c in history.changes if "deportation.daily_rate" in c.set]
    assert len(rate_days) >= 2
    held = load_scenario(path, {"deportation.daily_rate": 500})
    assert not any("deportation.daily_rate" in c.set for c in held.changes)
    assert held.deportation.daily_rate == 500
    # A change that set other keys as well keeps them; one that set only the rate is gone.
    others = [{k: v for k, v in c.set.items() if k != "deportation.daily_rate"}
              for c in history.changes]  # fmt: skip
    assert [c.set for c in held.changes] == [kept for kept in others if kept]
    lines = replaced_dated_settings(history, ["deportation.daily_rate", "population.militants"])
    assert len(lines) == 1 and lines[0].startswith("deportation.daily_rate: holds")


def test_a_key_inside_a_table_a_change_sets_whole_is_an_error_line(tmp_path):
    scenario = tmp_path / "whole.toml"
    scenario.write_text(
        'name = "whole"\nhorizon_days = 10\n[[changes]]\nday = 5\n'
        "set = { patrols = { units = 900 } }\n"
    )
    with pytest.raises(ScenarioError) as raised:
        load_scenario(scenario, {"patrols.units": 700})
    assert raised.value.problems == [
        "patrols.units: cannot hold for the whole run: changes[0] sets the whole table 'patrols' "
        "(allowed: a change that sets the keys of 'patrols' one by one)"
    ]
    result = runner.invoke(app, ["run", str(scenario), "--set", "patrols.units=700"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        result.stderr.startswith("error: ") and "changes[0] sets the whole table" in result.stderr
    )


def test_the_compare_tab_shows_the_notes_compare_variant_prints():
    from borderabm.apps.ui import variants as page_variants

    problems, notes = page_variants.variants_problems_and_notes(
        EPISODE, ("", "fence.coverage=1.0"), 2, 30
    )
    path = resolve_scenario_path(EPISODE)
    cli = variant_sweep(path, [parse_variant(line, n, str(path)) for n, line in
                               enumerate(["", "fence.coverage=1.0"], start=1)], 2, 1, 30)  # fmt: skip
    assert problems == [] and notes == list(cli.notes)
    assert notes == [
        "variant 2: fence.coverage: holds for the whole run, in place of the fence's "
        "construction schedule (1 dated point)"
    ]


def test_dated_changes_given_with_the_values_are_kept():
    """``--set changes=[...]`` beside a key those changes set: the caller's own dated settings."""
    own = [{"day": 3, "set": {"crossings.Torkham.document_regime": "passport_visa"}}]
    path = resolve_scenario_path("baseline")
    scenario = load_scenario(path, {"crossings.Torkham.document_regime": "open", "changes": own})
    assert scenario.crossings["Torkham"].document_regime == "open"
    assert [change.set for change in scenario.changes] == [own[0]["set"]]
    history = load_scenario(resolve_scenario_path("history_2014_2025"))
    keys = ["deportation.daily_rate", "fence.coverage"]
    assert len(replaced_dated_settings(history, keys)) == 2
    assert replaced_dated_settings(history, [*keys, "changes", "fence.schedule"]) == []
