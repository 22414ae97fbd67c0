"""The Run tab's state outside the browser: what opens, what a reload brings back, who steps.

These drive the page's own functions (the ones its buttons and mount effects call) with real
scenarios and models; outside a server the kernel-scoped state is global, so each test starts
from a clean slate.
"""

import threading
import time

import numpy as np

from borderabm.apps.ui import app, session
from borderabm.apps.ui.inspection import describe_cell, gate_status_text
from borderabm.apps.ui.run_setup import NUMBER_LEVERS, SEED, permalink, scenario_entries
from borderabm.apps.ui.stepping import RunControl, catch_up, run_control
from borderabm.model import BorderModel
from borderabm.scenario import validate_document


# Defect: a rule's name was added to every closed gate once any rule had ever fired.
def test_a_closed_gate_names_a_rule_only_if_that_rule_closed_it_and_only_while_it_lasts():
    document = {
        "horizon_days": 30,
        "crossings": {"Chaman": {"closures": [{"start": 0, "end": 25}]},
                      "Torkham": {"closures": [{"start": 10, "end": 20, "reason": "talks"}]}},
        "triggers": [{"name": "torkham rule", "metric": "militant_crossings", "window_days": 1,
                      "threshold": 0, "crossings": ["Torkham"], "duration_days": 3,
                      "cooldown_days": 100}],
    }  # fmt: skip
    model = BorderModel(validate_document(document, "rules.toml"))
    seen_rule = False
    for _ in range(14):
        model.run(1)
        torkham, chaman = gate_status_text(model, "Torkham"), gate_status_text(model, "Chaman")
        assert "rule" not in chaman, (model.day, chaman)  # the rule never closed Chaman
        seen_rule |= "torkham rule" in torkham
        if torkham.startswith("closed: talks"):  # the rule's closure is over by then
            assert "rule" not in torkham, (model.day, torkham)
    assert seen_rule and sum(model.daily("trigger_closures")) >= 1
    assert gate_status_text(model, "Torkham").startswith("closed: talks")


# Defect: a malformed hover event (sent by the browser) raised in int().
def test_a_malformed_cell_from_the_browser_is_ignored(world):
    model = BorderModel(validate_document({"horizon_days": 5}, "x.toml"), world=world)
    for column, row in (("x", 3), (None, 1), (float("nan"), 2), (1e400, 0), ({}, []), (3, "7y")):
        assert describe_cell(model, column, row) == []
    assert describe_cell(model, "3", "4")  # a number sent as text is still a cell


# Defect: an integer lever's file value was printed with :g ("1.23457e+09").
def test_a_changed_lever_shows_the_files_value_in_full():
    assert app.lever_hint(SEED, 5, 1234567890) == "● changed (file: 1,234,567,890)"
    assert app.lever_hint(NUMBER_LEVERS["fence"], 0.5, 0.94) == "● changed (file: 0.94)"
    assert app.lever_hint(NUMBER_LEVERS["units"], 600, 600) == "allowed 0 to 10,000"


def test_what_is_typed_is_read_as_a_number_or_refused_by_name():
    units = NUMBER_LEVERS["units"]
    assert [app.read_number(t) for t in (" 5 ", "１２", "0.5", "1e309", "", None)] == [
        5, 12, 0.5, float("inf"), None, None]  # fmt: skip
    assert app.read_number("0x10") == "0x10"
    assert "'0x10' is not a number" in app.typed_problem(units, app.read_number("0x10"), 600, "U")
    assert "not a whole number" in app.typed_problem(units, app.read_number("0.5"), 600, "U")
    assert "not a finite number" in app.typed_problem(units, app.read_number("nan"), 600, "U")


def test_typing_the_files_own_value_is_accepted_even_beyond_the_page_bounds():
    units = NUMBER_LEVERS["units"]
    assert app.typed_problem(units, 20_000, 20_000, "Patrol units") == ""
    assert "out of bounds" in app.typed_problem(units, 20_001, 20_000, "Patrol units")
    assert "digits" in app.typed_problem(SEED, 10**400, 1, "Seed")  # no OverflowError


# Defect: a refused scenario moved the picker while the old model stayed on screen.
def test_a_refused_scenario_leaves_the_picker_and_the_run_as_they_were(page_state, monkeypatch):
    app.open_scenario("baseline", days=5)
    model = app.live_model.value
    assert (app.run_scenario.value, model.settings.horizon_days) == ("baseline", 5)
    for refused in ("no_such_scenario", "../etc/passwd"):
        app.open_scenario(refused)
        assert app.run_scenario.value == "baseline" and app.live_model.value is model
        assert app.run_error.value
    app.open_scenario("fence_full", seed=-1)  # refused settings: nothing changes
    assert app.run_scenario.value == "baseline" and app.live_model.value is model
    assert "Seed" in app.run_error.value
    version = app.picker_version.value
    app.open_scenario("nope")
    assert app.picker_version.value == version + 1  # the picker is redrawn at "baseline"


# Defect: an int beyond float range in a link (or typed) raised OverflowError, uncaught.
def test_a_link_with_a_huge_number_is_one_error_line_and_the_default_opens(page_state):
    huge = "1" + "0" * 400
    for link in (f"?scenario=baseline&seed={huge}", f"?scenario=baseline&days={huge}",
                 f"?scenario=baseline&units={huge}", "?scenario=baseline&fence=1e400"):  # fmt: skip
        app.live_model.set(None)
        app.restore_or_open(link)
        error = app.run_error.value
        assert error.startswith("This link cannot be opened") and "\n" not in error, error
        assert app.live_model.value is not None  # the default scenario opened instead


def test_any_failure_at_the_page_boundary_is_one_plain_line(page_state, monkeypatch):
    def broken(_search):
        raise RuntimeError("/srv/secret/path exploded\nTraceback")

    monkeypatch.setattr(app, "_restore_or_open", broken)
    app.restore_or_open("?scenario=baseline")
    assert app.run_error.value == (
        "That could not be done (RuntimeError); the run on screen is unchanged."
    )


# Defect: the URL kept the link, so a reload threw the current run away for the link's day 0.
def test_a_reload_of_a_link_brings_back_the_run_made_since_not_the_link(page_state):
    link = "?scenario=baseline&seed=5&days=12&units=900"
    app.restore_or_open(link)
    assert app.applied.value[0] == "baseline" and app.live_model.value.settings.seed == 5
    # The analyst then opens another scenario and steps it; the address still shows the link.
    app.open_scenario("fence_full", seed=3, days=9)
    run_control().step(app.live_model.value, 4)
    app._remember_run()
    app.live_model.set(None)  # a reload: a new kernel with nothing in it
    app.restore_or_open(link)
    assert app.applied.value[:4] == ("fence_full", app.applied.value[1], 3, 9)
    assert app.catch_up_to.value == 4  # brought back to day 4 (by the play thread)
    # Another link (not the one that opened this run) opens at day 0.
    app.live_model.set(None)
    app.restore_or_open("?scenario=baseline&seed=6&days=10")
    assert app.applied.value[2:4] == (6, 10) and app.catch_up_to.value == 0


def a_new_tab() -> None:
    """What a new tab (or a reload) of the same browser starts with: a kernel with nothing in it."""
    for state in (app.run_scenario, app.run_levers, app.run_seed, app.run_days, app.live_model):
        state.set(None)


# Defect (UI audit): a reload saved the run's shown seed and days as None, so the next tab showed
# the file's seed and days beside the run (seed 3, 22 days) and a Reset there discarded the run.
def test_every_reload_and_new_tab_shows_the_seed_days_and_levers_the_run_uses(page_state):
    link = "?scenario=baseline&days=22&seed=3&units=900"
    app.restore_or_open(link)
    run_control().step(app.live_model.value, 1)
    app._remember_run()
    for _ in range(3):  # a reload, another reload, a second tab: each brings back the same run
        a_new_tab()
        app.restore_or_open(link if _ < 2 else None)
        assert app.applied.value[2:4] == (3, 22) and app.catch_up_to.value == 1
        assert (app.run_scenario.value, app.run_seed.value, app.run_days.value) == (
            "baseline", 3, 22)  # fmt: skip
        assert app.run_levers.value["units"] == 900
        assert session.recall("run")["shown"]["seed"] == 3


class SlowModel:
    """A model whose days take time and which records overlapping days and use after release."""

    def __init__(self, horizon: int = 1_000, day_s: float = 0.02):
        self.day, self.day_s = 0, day_s
        self.settings = type("Settings", (), {"horizon_days": horizon})()
        self.inside = 0
        self.overlaps = 0
        self.stepped_after_release = 0
        self.freed = False
        self._guard = threading.Lock()

    def run(self, days: int) -> None:
        for _ in range(days):
            with self._guard:
                self.inside += 1
                self.overlaps += self.inside > 1
            if self.freed:
                self.stepped_after_release += 1
            time.sleep(self.day_s)
            self.day += 1
            with self._guard:
                self.inside -= 1

    def release(self) -> None:
        assert self.inside == 0, "released mid-day"
        self.freed = True


def loop(control: RunControl, model: SlowModel, days: int) -> threading.Thread:
    """A play loop as the page runs it: begin, step while allowed, end."""

    def body():
        mine = control.begin_loop(model)
        try:
            for _ in range(days):
                if not control.loop_step(model, mine):
                    break
        finally:
            control.end_loop(mine)

    thread = threading.Thread(target=body)
    thread.start()
    return thread


# Defect: the guard lived in the page component, the model in the kernel: after a tab switch two
# loops stepped one model, and a Reset could release it mid-day.
def test_a_second_loop_retires_the_first_and_days_never_overlap():
    control, model = RunControl(), SlowModel()
    first = loop(control, model, 200)
    time.sleep(0.1)
    second = loop(control, model, 10)  # the page mounted again (tab switch) and plays
    second.join(timeout=10)
    first.join(timeout=10)
    assert model.overlaps == 0
    assert 10 <= model.day < 30  # the first loop stopped once the second began
    assert control.looping_model is None


def test_a_reset_waits_for_the_day_in_progress_and_no_day_follows_the_release():
    control, model = RunControl(), SlowModel(day_s=0.05)
    thread = loop(control, model, 200)
    time.sleep(0.12)
    control.retire_loops()
    control.release(model)  # what start_run does with the old model
    thread.join(timeout=10)
    assert model.freed and model.stepped_after_release == 0
    assert not control.step(model)  # a released model is never stepped


def test_a_manual_step_is_refused_while_a_loop_runs_and_the_loop_owner_is_kept():
    control, model = RunControl(), SlowModel()
    old = control.begin_loop(model)
    newer = control.begin_loop(model)  # a newer loop took over
    assert not control.step(model)
    control.end_loop(old)  # the older loop finishing must not clear the newer loop's claim
    assert control.looping_model is model and not control.step(model)
    assert not control.loop_step(model, old)  # retired
    control.end_loop(newer)
    assert control.looping_model is None
    assert control.step(model, 2) and model.day == 2


# Defect: the reload's fast-forward ran synchronously in the mount effect and could not be stopped.
def test_the_catch_up_reports_progress_and_stops_when_the_page_goes():
    control, model = RunControl(), SlowModel(day_s=0.01)
    mine = control.begin_loop(model)
    seen = []
    why = catch_up(lambda: control.loop_step(model, mine), lambda: model.day, 25,
                   lambda: True, seen.append, every=10)  # fmt: skip
    assert (why, model.day, seen) == ("done", 25, [10, 20, 25])
    page = {"there": True}
    threading.Timer(0.1, lambda: page.update(there=False)).start()  # the tab closed
    started = time.monotonic()
    why = catch_up(lambda: control.loop_step(model, mine), lambda: model.day, 10_000,
                   lambda: page["there"], lambda day: None)  # fmt: skip
    assert why == "stopped" and model.day < 100 and time.monotonic() - started < 2
    control.retire_loops()  # a reload retires the loop: it stops before the next day
    day = model.day
    assert catch_up(lambda: control.loop_step(model, mine), lambda: model.day, 10_000,
                    lambda: True, lambda d: None) == "stopped"  # fmt: skip
    assert model.day == day


def test_a_reloaded_run_is_brought_back_by_the_play_thread_not_the_mount(page_state):
    app.open_scenario("baseline", days=20)
    run_control().step(app.live_model.value, 6)
    app._remember_run()
    app.live_model.set(None)
    started = time.monotonic()
    app.restore_or_open(None)
    assert app.live_model.value.day == 0 and app.catch_up_to.value == 6
    assert time.monotonic() - started < 30
    assert session.recall("run")["day"] == 6  # a reload now keeps the goal, not the day reached


def test_the_permalink_is_for_the_levers_shown_in_the_run(page_state):
    entry = scenario_entries()["baseline"]
    levers = {**app.levers_of(entry.settings), "fence": float(np.float64(0.1) + 0.2)}
    assert "fence=0.30000000000000004" in permalink("baseline", entry.settings, levers, 1, 9)


def test_a_day_is_never_computed_while_the_page_reads_the_model():
    control, model = RunControl(), SlowModel(day_s=0.0)
    mine = control.begin_loop(model)
    stepped_at = []
    with control.reading():
        thread = threading.Thread(
            target=lambda: (control.loop_step(model, mine), stepped_at.append(model.day))
        )
        thread.start()
        time.sleep(0.2)
        assert model.day == 0 and not stepped_at  # the loop waits for the page to finish
    thread.join(timeout=5)
    assert stepped_at == [1]


# UI audit: a change after the run's last day was listed as if it applied.
def test_the_listed_events_say_which_fall_after_the_runs_last_day():
    from borderabm.scenario import load_scenario, resolve_scenario_path, with_overrides

    base = load_scenario(resolve_scenario_path("baseline"))
    settings = with_overrides(base, {"horizon_days": 10, "changes": [
        {"day": 5, "set": {"fence.coverage": 0.5}}, {"day": 151, "set": {"fence.coverage": 0.6}}
    ]}, "test")  # fmt: skip
    early, late = [line for line in app.dated_events(settings) if line.startswith("From day")]
    assert early == "From day 5 (2025-01-06): fence.coverage = 0.5"
    assert late == ("From day 151 (2025-06-01): fence.coverage = 0.6 (after the run's last day: it "
                    "does not apply)")  # fmt: skip
