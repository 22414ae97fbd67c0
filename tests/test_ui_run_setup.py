"""What the Run tab runs: exactly the file until a lever is touched, and only the touched levers.

The model-building function tested here (``build_model``/``settings_for``) is the one the page's
Reset calls; the totals the page shows come from ``running_totals``.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from borderabm.apps.ui import run_setup
from borderabm.apps.ui.app import running_totals
from borderabm.apps.ui.run_setup import (
    LEVER_BOUNDS,
    NUMBER_LEVERS,
    build_model,
    changed_levers,
    lever_overrides,
    levers_of,
    scenario_entries,
    settings_for,
)
from borderabm.metrics import BROWSER_TOTAL_METRICS
from borderabm.scenario import ScenarioError, load_scenario
from tests.conftest import SCENARIOS

DAYS = 12
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))


def cli_summary(scenario: str, days: int, seed: int) -> dict:
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    done = subprocess.run(
        [exe, "run", scenario, "--days", str(days), "--seed", str(seed), "--json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(done.stdout)["summary"]


@pytest.mark.parametrize("name", SHIPPED)
def test_untouched_levers_run_exactly_the_file_as_the_cli_does(name):
    entry = scenario_entries()[name]
    seed = entry.settings.seed + 1  # a seed other than the file's, typed into the page
    levers = levers_of(entry.settings)
    assert lever_overrides(entry.settings, levers, name) == {}
    # The same settings as `borderabm run FILE --seed S --days N`, for the whole horizon too:
    # triggers, cooldowns, fence schedules and dated closures are the file's.
    for days in (DAYS, entry.settings.horizon_days):
        expected = load_scenario(entry.path, {"seed": seed, "horizon_days": days})
        assert settings_for(name, levers, seed, days) == expected
    model = build_model(name, levers, seed, DAYS)
    model.run(DAYS)
    shown = running_totals(model)
    cli = cli_summary(name, DAYS, seed)  # `borderabm run NAME`, as a user types it
    assert set(shown) == {m for m in BROWSER_TOTAL_METRICS if m in cli}
    assert shown == {k: cli[k] for k in shown}
    assert model.summary() == cli


def test_the_levers_start_at_the_files_exact_values():
    entry = scenario_entries()["closures_oct2025"]
    levers = levers_of(entry.settings)
    assert levers["fence"] == 0.94  # not snapped to a slider step
    assert levers["trigger"] == 60 and levers["closed_gates"] == ["Gursal", "Nawa Pass"]
    assert changed_levers(entry.settings, levers) == []


def test_a_changed_lever_is_the_only_override_and_keeps_the_rest_of_the_file():
    entry = scenario_entries()["closures_oct2025"]
    levers = {**levers_of(entry.settings), "trigger": 35, "units": 900}
    overrides = lever_overrides(entry.settings, levers, "x")
    assert overrides == {"triggers.0.threshold": 35.0, "patrols.units": 900}
    settings = settings_for("closures_oct2025", levers)
    rule = settings.triggers[0]
    assert (rule.threshold, rule.cooldown_days, rule.duration_days) == (35.0, 14, 14)
    assert settings.crossings["Torkham"].closures == entry.settings.crossings["Torkham"].closures
    assert settings.fence.coverage == 0.94
    off = settings_for("closures_oct2025", {**levers_of(entry.settings), "trigger": 0})
    assert off.triggers == ()


def test_typed_values_out_of_bounds_are_refused_not_clamped():
    entry = scenario_entries()["closures_oct2025"]
    levers = levers_of(entry.settings)
    for key, value in (("fence", 1.5), ("units", 10_001), ("deportation", -5), ("trigger", -1),
                       ("units", 2.5), ("fence", float("nan"))):  # fmt: skip
        with pytest.raises(ScenarioError) as refused:
            settings_for("closures_oct2025", {**levers, key: value})
        message = str(refused.value)
        assert NUMBER_LEVERS[key].label in message and "allowed:" in message
        assert str(run_setup.scenario_folders()[0]) not in message
    with pytest.raises(ScenarioError, match="Seed"):
        settings_for("closures_oct2025", levers, seed=-1)
    with pytest.raises(ScenarioError, match="Days to run"):
        settings_for("closures_oct2025", levers, days=0)
    wild = {**levers, "strategy": "nuke", "closed_gates": ["Nowhere"],
            "unfenced_sectors": ["Atlantis"], "corridor_gates": ["../../etc"]}  # fmt: skip
    with pytest.raises(ScenarioError) as refused:
        settings_for("closures_oct2025", wild)
    assert len(refused.value.problems) == 4
    # The bounds LEVER_BOUNDS publishes are the ones the server enforces on a changed lever:
    # the upper bound is accepted, anything above it refused.
    lever_of = {"fence.coverage": "fence", "patrols.units": "units",
                "deportation.daily_rate": "deportation", "trigger_threshold": "trigger"}  # fmt: skip
    for key, (low, high) in LEVER_BOUNDS.items():
        lever = lever_of[key]
        with pytest.raises(ScenarioError, match=re.escape(NUMBER_LEVERS[lever].label)):
            settings_for("closures_oct2025", {**levers, lever: low - 1})
        if high != float("inf"):
            settings_for("closures_oct2025", {**levers, lever: high})
            with pytest.raises(ScenarioError, match=re.escape(NUMBER_LEVERS[lever].label)):
                settings_for("closures_oct2025", {**levers, lever: high + 1})
    edge = {**levers, "fence": 1.0, "units": 10_000, "deportation": 50_000, "trigger": 5_000}
    settings = settings_for("closures_oct2025", edge)
    assert (settings.patrols.units, settings.deportation.daily_rate) == (10_000, 50_000)
    assert settings.triggers[0].threshold == 5_000  # no upper bound: its scale is the metric's
    with pytest.raises(ScenarioError, match="not a finite number"):
        settings_for("closures_oct2025", {**levers, "trigger": float("inf")})
    for name in ("../scenarios/baseline", "/etc/passwd", "nope"):
        with pytest.raises(ScenarioError):
            build_model(name, levers)


def test_an_empty_corridor_gate_list_means_no_corridor():
    entry = scenario_entries()["trade_corridor"]
    levers = levers_of(entry.settings)
    assert levers["corridor"] and levers["corridor_gates"]
    settings = settings_for("trade_corridor", {**levers, "corridor_gates": []})
    model = build_model("trade_corridor", {**levers, "corridor_gates": []}, days=5)
    assert not any(model.policy.is_corridor(g) for g in settings.crossings)
    assert not settings.corridor.enabled
    one = settings_for("trade_corridor", {**levers, "corridor_gates": ["Chaman"]})
    assert one.corridor.enabled and one.corridor.gates == ("Chaman",)


def test_closed_gates_and_unfenced_sectors_say_exactly_what_is_shut_and_unfenced():
    entry = scenario_entries()["baseline"]
    levers = levers_of(entry.settings)
    shut = settings_for("baseline", {**levers, "closed_gates": ["Torkham"]})
    assert [g for g, c in shut.crossings.items() if not c.open] == ["Torkham"]
    open_sector = settings_for("baseline", {**levers, "unfenced_sectors": ["Khyber"]})
    assert open_sector.fence.sectors == {"Khyber": 0.0}
    assert open_sector.fence.coverage == entry.settings.fence.coverage


def test_a_bad_file_is_an_error_entry_and_the_env_folder_adds_to_the_shipped_ones(
    tmp_path, monkeypatch
):
    (tmp_path / "aaa_syntax.toml").write_text("name = \n")
    (tmp_path / "aab_value.toml").write_text("[fence]\ncoverage = 1.5\n")
    (tmp_path / "my_variant.toml").write_text('description = "mine"\nhorizon_days = 20\n')
    (tmp_path / "aac_binary.toml").write_bytes(b"\xff\xfe\x00")
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(tmp_path))
    entries = scenario_entries()
    assert set(SHIPPED) <= set(entries)  # added to, not replaced
    assert entries["my_variant"].ok and entries["my_variant"].settings.horizon_days == 20
    for bad in ("aaa_syntax", "aab_value", "aac_binary"):
        entry = entries[bad]
        assert not entry.ok and entry.problem
        assert "\n" not in entry.problem and str(tmp_path) not in entry.problem
    assert "line 1" in entries["aaa_syntax"].problem
    assert "fence.coverage" in entries["aab_value"].problem
    assert run_setup.default_scenario(entries) == "closures_oct2025"
    with pytest.raises(ScenarioError) as refused:
        settings_for("aab_value")
    assert str(tmp_path) not in str(refused.value)
    from borderabm.apps.ui.app import picker_items

    items = {item["value"]: item for item in picker_items(entries)}
    assert items["aab_value"]["disabled"] and items["aab_value"]["text"].startswith("⚠ aab_value")
    assert not items["baseline"].get("disabled")


def test_a_link_names_the_changed_levers_only_and_opens_the_same_run():
    from borderabm.apps.ui.run_setup import parse_permalink, permalink

    entry = scenario_entries()["closures_oct2025"]
    levers = {**levers_of(entry.settings), "units": 900, "corridor": True,
              "closed_gates": ["Gursal"], "fence": 0.5}  # fmt: skip
    link = permalink("closures_oct2025", entry.settings, levers, 7, 30)
    assert link.startswith("?scenario=closures_oct2025&seed=7&days=30&")
    assert "trigger" not in link and "strategy" not in link
    opened = parse_permalink(link)
    assert opened == {"scenario": "closures_oct2025", "levers": levers, "seed": 7, "days": 30}
    assert settings_for(**{k: opened[k] for k in ("levers", "seed", "days")},
                        name="closures_oct2025") == settings_for("closures_oct2025", levers, 7, 30)  # fmt: skip
    plain = permalink("baseline", scenario_entries()["baseline"].settings,
                      levers_of(scenario_entries()["baseline"].settings), 1, 365)  # fmt: skip
    assert plain == "?scenario=baseline&seed=1&days=365"
    assert parse_permalink("?tab=run") is None
    for bad, problem in (("?scenario=../etc", "not a listed scenario"),
                         ("?scenario=baseline&units=many", "units: 'many' is not a number"),
                         ("?scenario=baseline&lethal=maybe", "allowed: 1 or 0"),
                         ("?scenario=baseline&rm=1", "rm: unknown key")):  # fmt: skip
        with pytest.raises(ScenarioError, match=problem):
            parse_permalink(bad)


BIG_FILE = """name = "big"
seed = 9223372036854775807
horizon_days = 4000
[patrols]
units = 20000
[deportation]
enabled = true
daily_rate = 60000
[[triggers]]
name = "slow"
metric = "attacks"
window_days = 365
threshold = 900
duration_days = 10
"""


def test_a_file_beyond_the_page_bounds_runs_as_the_file_until_a_lever_is_touched(
    tmp_path, monkeypatch
):
    # Units, deportations, trigger, days and seed all beyond the page's bounds: the schema allows
    # them, and the CLI runs them; so must the Run tab, and a replay of such a sweep run.
    (tmp_path / "big.toml").write_text(BIG_FILE)
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(tmp_path))
    entry = scenario_entries()["big"]
    assert entry.ok, entry.problem
    levers = levers_of(entry.settings)
    assert lever_overrides(entry.settings, levers, "big.toml") == {}
    settings = settings_for("big", levers, entry.settings.seed, entry.settings.horizon_days)
    assert settings == load_scenario(entry.path)
    assert settings_for("big", levers, entry.settings.seed, 30).horizon_days == 30
    # A touched lever is checked (and only it): the file's other values still pass.
    changed = settings_for("big", {**levers, "units": 900})
    assert (changed.patrols.units, changed.deportation.daily_rate) == (900, 60_000)
    with pytest.raises(ScenarioError, match="Patrol units"):
        settings_for("big", {**levers, "units": 20_001})
    with pytest.raises(ScenarioError, match="Days to run"):
        settings_for("big", levers, days=4_001)  # days other than the file's: within bounds
    assert settings_for("big", {**levers, "trigger": 1_000}).triggers[0].threshold == 1_000


def test_a_file_with_more_agents_than_the_page_allows_is_an_error_entry(tmp_path, monkeypatch):
    (tmp_path / "crowd.toml").write_text("[population]\ntraders = 2500000\n")
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(tmp_path))
    entry = scenario_entries()["crowd"]
    assert not entry.ok
    assert "agents" in entry.problem and f"{run_setup.MAX_AGENTS:,}" in entry.problem
    assert load_scenario(entry.path).population.traders == 2_500_000  # valid for the CLI
    # Gate travellers count too: 3 million people near Torkham, one agent each.
    (tmp_path / "crowd.toml").write_text(
        "[scale]\npeople_per_agent = 1\n[gate_travellers.catchments.Torkham]\npeople = 3000000\n"
    )
    entry = scenario_entries()["crowd"]
    assert not entry.ok and "agents" in entry.problem


def test_huge_numbers_are_refused_with_a_message_never_an_overflow():
    entry = scenario_entries()["closures_oct2025"]
    levers = levers_of(entry.settings)
    huge = 10**400
    for lever in (run_setup.SEED, run_setup.DAYS, NUMBER_LEVERS["units"]):
        problem = lever.check(huge)
        assert "out of bounds" in problem and "401 digits" in problem
    assert "not a finite number" in NUMBER_LEVERS["fence"].check(float("inf"))
    assert "not a number" in NUMBER_LEVERS["fence"].check("x" * 1000)
    for kwargs in ({"seed": huge}, {"days": huge}, {"levers": {**levers, "units": huge}}):
        with pytest.raises(ScenarioError, match="digits"):
            settings_for("closures_oct2025", **kwargs)
    assert run_setup.number_text(1234567890) == "1,234,567,890"
    assert run_setup.number_text(0.123456789) == "0.123456789"


def test_a_link_keeps_every_digit_of_a_typed_fraction():
    from borderabm.apps.ui.run_setup import parse_permalink, permalink

    entry = scenario_entries()["baseline"]
    for fence in (0.123456789, 0.1 + 0.2):
        levers = {**levers_of(entry.settings), "fence": fence}
        opened = parse_permalink(permalink("baseline", entry.settings, levers, 1, 10))
        assert opened["levers"]["fence"] == fence


def test_the_trigger_lever_says_it_sets_the_first_rule_only_and_0_removes_all(
    tmp_path, monkeypatch
):
    (tmp_path / "two_rules.toml").write_text(
        '[[triggers]]\nname = "attacks rule"\nthreshold = 20\n'
        '[[triggers]]\nname = "deaths rule"\nmetric = "border_deaths"\nthreshold = 5\n'
    )
    monkeypatch.setenv("BORDERABM_SCENARIOS", str(tmp_path))
    entry = scenario_entries()["two_rules"]
    lever, help_text = run_setup.trigger_lever(entry.settings)
    assert "“attacks rule”" in lever.label and "0 = no rules" in lever.label
    assert "first rule only" in help_text and "“deaths rule”" in help_text
    assert "0 removes all 2 rules" in help_text
    # What the help says is what happens.
    levers = levers_of(entry.settings)
    raised = settings_for("two_rules", {**levers, "trigger": 40})
    assert [r.threshold for r in raised.triggers] == [40, 5]
    assert settings_for("two_rules", {**levers, "trigger": 0}).triggers == ()
    _, none_help = run_setup.trigger_lever(scenario_entries()["baseline"].settings)
    assert "no rule" in none_help or "removes it" in none_help
