"""The Run tab's analyst tools outside the browser: scenario files in and out, the timeline, help
per lever, provenance and replicates, with real scenarios, real models and the real CLI."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from borderabm.apps.ui import app, provenance
from borderabm.apps.ui.lever_help import LEVER_HELP, help_line
from borderabm.apps.ui.replicates import (
    Replicates,
    band_charts,
    band_table_html,
    replicate_seeds,
    run_replicates,
)
from borderabm.apps.ui.run_setup import build_model as page_model
from borderabm.apps.ui.run_setup import (
    levers_of,
    run_entries,
    run_overrides,
    run_settings,
    scenario_entries,
    scenario_folders,
    settings_for,
    uploaded_scenarios,
)
from borderabm.apps.ui.scenario_file import (
    UploadError,
    canonical_document,
    read_upload,
    read_upload_event,
    scenario_changes,
    scenario_hash,
    scenario_toml,
    upload_error_line,
    write_overrides,
)
from borderabm.apps.ui.timeline import fired_rules, scenario_events, timeline_events, timeline_html
from borderabm.experiments.run import run_one
from borderabm.scenario import Fence, PatrolParams, load_scenario
from tests.conftest import REPO

EXE = os.path.join(os.path.dirname(sys.executable), "borderabm")


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def changed_levers_of(name: str) -> dict:
    levers = levers_of(scenario_entries()[name].settings)
    levers.update(units=900, fence=0.5, trigger=30, strategy="adaptive")
    levers["closed_gates"] = [*levers["closed_gates"], "Torkham"]
    levers["unfenced_sectors"] = ["Khyber"]
    return levers


# Saving ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(n for n, e in scenario_entries().items() if e.ok))
def test_a_saved_scenario_reads_back_as_exactly_the_run_of_the_page(name, tmp_path):
    entry = scenario_entries()[name]
    levers = changed_levers_of(name)
    settings = run_settings(entry, levers, 3, 20)
    text = scenario_toml(entry, run_overrides(entry, levers, 3, 20), settings)
    path = tmp_path / f"{name}_saved.toml"
    path.write_text(text)
    read = load_scenario(path)
    assert canonical_document(read) == canonical_document(settings)
    assert scenario_hash(read) == scenario_hash(settings)


def test_a_saved_file_keeps_the_files_comments_and_layout():
    entry = scenario_entries()["closures_oct2025"]
    levers = changed_levers_of("closures_oct2025")
    text = scenario_toml(entry, run_overrides(entry, levers), run_settings(entry, levers))
    original = entry.path.read_text()
    kept = [line for line in original.splitlines() if line.startswith("#")]
    assert kept and all(line in text.splitlines() for line in kept)
    assert "units = 900" in text and "threshold = 30.0" in text
    assert "[crossings.Torkham]" in text and "open = false" in text


def test_the_saved_file_run_by_the_cli_with_seed_and_days_gives_the_pages_totals(tmp_path):
    entry = scenario_entries()["closures_oct2025"]
    levers = changed_levers_of("closures_oct2025")
    settings = run_settings(entry, levers)  # the file's own seed and days: given on the CLI
    path = tmp_path / "saved.toml"
    path.write_text(scenario_toml(entry, run_overrides(entry, levers), settings))
    model = page_model("closures_oct2025", levers, 6, 15)
    model.run()
    done = cli("run", str(path), "--seed", "6", "--days", "15", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["summary"]
    page = app.running_totals(model)
    assert page == {name: summary[name] for name in page}


def test_the_difference_from_the_base_lists_the_changed_keys_old_and_new():
    entry = scenario_entries()["closures_oct2025"]
    levers = changed_levers_of("closures_oct2025")
    changes = scenario_changes(entry.settings, run_settings(entry, levers, 3, 20))
    assert ("patrols.units", "600", "900") in changes
    assert ("seed", "1", "3") in changes and ("horizon_days", "150", "20") in changes
    assert ("crossings.Torkham.open", "true", "false") in changes
    assert ("fence.sectors.Khyber", "(not set)", "0.0") in changes
    assert scenario_changes(entry.settings, entry.settings) == []


def test_write_overrides_replaces_arrays_of_tables_and_adds_missing_tables():
    text = "# head\nseed = 1\n\n[fence]\ncoverage = 0.5 # kept\n\n[[triggers]]\nthreshold = 3\n"
    written = write_overrides(text, {"triggers": [], "patrols.units": 7, "seed": 2,
                                     "crossings.Torkham.open": False})  # fmt: skip
    assert tomllib.loads(written) == {"seed": 2, "fence": {"coverage": 0.5}, "triggers": [],
                                      "patrols": {"units": 7},
                                      "crossings": {"Torkham": {"open": False}}}  # fmt: skip
    assert "coverage = 0.5 # kept" in written and written.startswith("# head")


# Uploading ---------------------------------------------------------------------------------------
BAD_FILES = {
    "syntax.toml": b"name = \n",
    "unknown_key.toml": b"[fence]\ncoverege = 0.5\n",
    "out_of_range.toml": b"[fence]\ncoverage = 2.0\n",
    "bad_gate.toml": b'[corridor]\ngates = ["Torkam"]\n',
    "not_utf8.toml": b'name = "\xff\xfe"\n',
}


@pytest.mark.parametrize("file_name", sorted(BAD_FILES))
def test_an_uploaded_bad_file_is_refused_with_the_clis_own_error_line(file_name, tmp_path):
    data = BAD_FILES[file_name]
    (tmp_path / file_name).write_bytes(data)
    done = cli("run", file_name, cwd=tmp_path)
    assert done.returncode == 2
    with pytest.raises(UploadError) as refused:
        read_upload(file_name, data)
    assert upload_error_line(refused.value) == done.stderr.strip()
    assert upload_error_line(refused.value).startswith(f"error: {file_name}: ")


def test_an_upload_never_reads_a_server_path_and_its_name_is_made_safe():
    with pytest.raises(UploadError) as refused:
        read_upload("../../etc/episode.toml", b'cut_from = "/etc/passwd"\n')
    line = upload_error_line(refused.value)
    assert line.startswith("error: episode.toml: cut_from:") and "passwd" not in line
    for malformed in (None, {"name": 3}, {"name": "x.toml", "data": "%%%"}, {"name": "x.toml"}):
        with pytest.raises(UploadError):
            read_upload_event(malformed)
    with pytest.raises(UploadError, match="too large"):
        read_upload_event({"name": "big.toml", "size": 10**9, "data": None})


def upload_event(name: str, text: str) -> dict:
    import base64

    data = text.encode()
    return {"name": name, "size": len(data), "data": base64.b64encode(data).decode()}


def test_a_valid_upload_runs_in_this_tab_only_with_its_lever_variants(page_state):
    folders = {folder: sorted(p.name for p in folder.iterdir()) for folder in scenario_folders()}
    text = 'name = "variant"\nhorizon_days = 6\nseed = 2\n[patrols]\nunits = 700  # mine\n'
    assert app.take_upload(upload_event("my variant.toml", text))
    assert app.upload_message.value.startswith("my_variant.toml uploaded"), app.upload_message.value
    assert app.run_scenario.value == "uploaded:my_variant"
    assert app.live_model.value.settings.patrols.units == 700
    assert (
        "uploaded:my_variant" in run_entries() and "uploaded:my_variant" not in scenario_entries()
    )
    # A lever variant of the upload runs, and its saved file keeps the upload's comment.
    levers = {**app.run_levers.value, "units": 650}
    model = page_model("uploaded:my_variant", levers, 2, 6)
    assert model.settings.patrols.units == 650
    entry = run_entries()["uploaded:my_variant"]
    saved = scenario_toml(entry, run_overrides(entry, levers), settings_for("uploaded:my_variant",
                                                                             levers))  # fmt: skip
    assert "units = 650  # mine" in saved
    # A bad upload is the CLI's line, and the run on screen stays.
    assert not app.take_upload(upload_event("broken.toml", "[fence]\ncoverage = 2.0\n"))
    assert app.upload_message.value.startswith("error: broken.toml: fence.coverage")
    assert app.run_scenario.value == "uploaded:my_variant"
    # Nothing was written into the server's scenario folders; a reload brings the upload back.
    assert folders == {f: sorted(p.name for p in f.iterdir()) for f in scenario_folders()}
    app._remember_run()
    uploaded_scenarios.set({})
    app.live_model.set(None)
    app.restore_or_open("")
    assert app.applied.value[0] == "uploaded:my_variant"


# The timeline --------------------------------------------------------------------------------------
def test_the_timeline_shows_a_shipped_episodes_closures_at_their_days():
    settings = scenario_entries()["episode_closures_oct2025"].settings
    events = scenario_events(settings)
    closures = [e for e in events if e.kind == "closure"]
    assert closures, events
    shown = set()
    for event in closures:
        for gate in event.what.split(" closed")[0].split(", "):
            assert any(c.start == event.day and c.end == event.end
                       for c in settings.crossings[gate].closures)  # fmt: skip
            shown.add((gate, event.day, event.end))
    every = {(gate, c.start, c.end) for gate, crossing in settings.crossings.items()
             for c in crossing.closures if c.start <= settings.horizon_days}  # fmt: skip
    assert shown == every  # each gate's closure, once
    # 12 October 2025 is day 41 of an episode starting on 1 September.
    assert any(
        e.day == 41 and e.when(settings.start_date).startswith("2025-10-12") for e in closures
    )
    svg = timeline_html(events, settings, 50)
    assert svg.count("class='timeline-event'") == len(events)
    assert "data-day='41'" in svg and "class='timeline-today' data-day='50'" in svg


def test_the_timeline_shows_fence_steps_dated_changes_and_deportations_of_the_2024_history():
    settings = scenario_entries()["history_2024"].settings
    events = scenario_events(settings)
    kinds = {event.kind for event in events}
    assert {"fence", "change", "deportation"} <= kinds, kinds
    for change in settings.changes:
        if change.day <= settings.horizon_days:
            assert any(e.kind == "change" and e.day == change.day for e in events)
    for point in settings.fence.schedule:
        if point.day <= settings.horizon_days:
            assert any(e.kind == "fence" and e.day == point.day for e in events)


def test_rules_that_fired_are_found_exactly_as_the_model_fired_them():
    levers = {**levers_of(scenario_entries()["closures_oct2025"].settings), "trigger": 5}
    model = page_model("closures_oct2025", levers, 1, 60)
    model.run()
    fired = fired_rules(model)
    assert len(fired) == sum(model.daily("trigger_closures")) >= 2
    rule = model.settings.triggers[0]
    last = fired[-1][1]
    assert model.trigger_armed_from[0] == last + 1 + rule.duration_days + rule.cooldown_days
    events = [e for e in timeline_events(model) if e.kind == "rule"]
    assert [(e.day, e.end) for e in events] == [
        (d + 1, d + 1 + rule.duration_days) for _, d in fired
    ]
    assert all("attack surge closes gates" in e.what for e in events)


def test_the_timeline_escapes_user_text():
    document = {"horizon_days": 30, "crossings": {"Torkham": {"closures": [
        {"start": 2, "end": 5, "reason": "<script>alert(1)</script>"}]}}}  # fmt: skip
    from borderabm.scenario import validate_document

    settings = validate_document(document, "x.toml")
    svg = timeline_html(scenario_events(settings), settings, 0)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


# Help per lever --------------------------------------------------------------------------------
def test_every_lever_has_help_with_meaning_unit_range_and_a_source_found_in_the_odd():
    odd = (REPO / "docs" / "odd.md").read_text()
    rows = [line for line in odd.splitlines() if line.startswith("| `")]  # parameter tables
    for key in ("fence", "units", "deportation", "trigger", "strategy", "lethal", "corridor",
                "closed_gates", "corridor_gates", "unfenced_sectors", "seed", "days"):  # fmt: skip
        entry = LEVER_HELP[key]
        line = help_line(key)
        assert "Allowed:" in line and "Source:" in line, key
        if entry.odd_key:
            row = next(line for line in rows if f"`{entry.odd_key}`" in line.split("|")[1])
            assert entry.source in row, (key, entry.source)
    assert Fence.model_fields["coverage"].description in help_line("fence").lower()
    assert PatrolParams.model_fields["lethal_force"].description in help_line("lethal").lower()


# Provenance -----------------------------------------------------------------------------------
def test_provenance_reads_the_version_the_fit_and_the_validation_it_can_find(monkeypatch):
    settings = scenario_entries()["closures_oct2025"].settings
    record = provenance.provenance(settings)
    assert record.seed == 1 and record.scenario_hash == scenario_hash(settings)
    assert record.version.startswith("borderabm ")
    reported = re.search(r"\*\*Result\.\*\* (\d+) of (\d+) fitted",
                         (REPO / "docs/calibration/calibration.md").read_text())  # fmt: skip
    assert f"{reported.group(1)}/{reported.group(2)} within tolerance" in record.calibration
    assert (
        "fitted to 2024 targets" in record.calibration
        and "uses the fitted point" in record.calibration
    )
    assert "stylized facts pass" in record.validation
    # A scenario that moves a fitted parameter says so; an install without docs/ says what is missing.
    moved = settings_for("closures_oct2025", None, None, None, {"population.militants": 10_000})
    assert "population.militants" in provenance.calibration_status(moved)
    monkeypatch.setattr(provenance, "source_docs", lambda: None)
    assert provenance.validation_status() == "validation report not shipped in this install"
    assert "verification report not shipped" in provenance.calibration_status(settings)
    html = provenance.provenance_html(record)
    assert record.scenario_hash in html and "data-provenance='seed'>1<" in html


def test_the_hash_changes_with_what_changes_a_run_and_not_with_the_name():
    entry = scenario_entries()["baseline"]
    base = entry.settings
    assert scenario_hash(run_settings(entry, None, 2)) != scenario_hash(base)
    renamed = settings_for("baseline", None, None, None, {"name": "other", "description": "x"})
    assert scenario_hash(renamed) == scenario_hash(base)


# Replicates and downloads --------------------------------------------------------------------------
def test_a_band_is_written_in_one_precision_as_everywhere_else():
    """The Run tab's band is written by format_estimate, as report.md and the scorecard write theirs."""
    trade = np.array([[1.970e9], [1.975e9], [1.980e9]])
    shown = band_table_html(Replicates("t", (1, 2, 3), 1, {"formal_trade_usd": trade},
                                       {"formal_trade_usd": (1.970e9, 1.975e9, 1.980e9)}))  # fmt: skip
    assert "US$1.98bn [US$1.97bn – US$1.98bn]" in shown  # as report.md and the scorecard


def test_the_replicates_band_is_the_mean_of_each_seeds_run_never_below_zero():
    def settings_of(seed):
        return settings_for("closures_oct2025", None, seed, 12)

    seeds = replicate_seeds(3, 3)
    result = run_replicates(settings_of, seeds, ["attacks", "formal_trade_usd"], "t")
    runs = [run_one(settings_of(seed)) for seed in seeds]
    for metric in ("attacks", "formal_trade_usd"):
        mean, low, high = result.band(metric)
        totals = [run.summary[metric] for run in runs]
        assert mean[-1] == pytest.approx(np.mean(totals), rel=1e-12)
        assert list(result.totals[metric]) == totals
        assert (low >= 0).all() and (low <= mean).all() and (mean <= high).all()
    chart = band_charts(result)[0]
    assert len(chart["x"]) == len(chart["low"]) == len(chart["high"]) == 12


def test_the_parquet_download_is_the_daily_series(tmp_path):
    model = page_model("baseline", None, 1, 5)
    model.run()
    path = tmp_path / "series.parquet"
    path.write_bytes(app.parquet_bytes(model))
    # Parquet keeps dates in milliseconds: the same days, another resolution.
    pd.testing.assert_frame_equal(pd.read_parquet(path), model.timeseries().reset_index(drop=True),
                                  check_dtype=False)  # fmt: skip


def test_a_session_keeps_the_newest_uploads_within_its_budget():
    from borderabm.apps.ui.scenario_file import MAX_KEPT_UPLOAD_BYTES, add_upload, uploads_to_keep

    uploads = {}
    filler = "# " + "x" * 15_000 + "\n"
    for index in range(8):
        uploads = add_upload(
            uploads, read_upload(f"f{index}.toml", (filler + "seed = 1\n").encode())
        )
    kept = uploads_to_keep(uploads)
    assert list(kept) == [f"uploaded:f{index}" for index in range(4, 8)]  # the newest, in order
    assert sum(len(text) for text in kept.values()) <= MAX_KEPT_UPLOAD_BYTES


def test_no_file_of_this_module_writes_into_the_package(tmp_path):
    # Saving and uploading work on text in memory: the package's folders are unchanged.
    package = Path(app.__file__).resolve().parents[2] / "data"
    before = sorted(str(p) for p in package.rglob("*"))
    read_upload("x.toml", b"horizon_days = 3\n")
    entry = scenario_entries()["baseline"]
    scenario_toml(entry, {"patrols.units": 5}, run_settings(entry, {**levers_of(entry.settings),
                                                                    "units": 5}))  # fmt: skip
    assert sorted(str(p) for p in package.rglob("*")) == before
