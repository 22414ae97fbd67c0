"""Play paces itself on the browser: one day per drawn frame, and a silent browser pauses the run."""

import threading
import time

from borderabm.apps.ui.app import play_days


def test_play_steps_once_per_drawn_day_until_the_end():
    days = []
    drawn = threading.Event()

    def step():
        days.append(len(days) + 1)
        drawn.set()  # the browser drew the day at once

    why = play_days(step, lambda: True, lambda: len(days) >= 5, drawn)
    assert (why, days) == ("end", [1, 2, 3, 4, 5])


def test_play_pauses_when_the_browser_stops_drawing():
    steps = []
    drawn = threading.Event()
    started = time.monotonic()
    # The browser drew the first two days, then vanished: no acknowledgement ever comes again.
    why = play_days(lambda: (steps.append(1), len(steps) <= 2 and drawn.set()), lambda: True,
                    lambda: False, drawn, stale_after_s=0.6)  # fmt: skip
    waited = time.monotonic() - started
    assert why == "browser silent"
    assert len(steps) == 3  # it never stepped ahead of the browser
    assert 0.6 <= waited < 3


def test_pause_takes_effect_while_waiting_for_the_browser():
    drawn = threading.Event()
    playing = {"on": True}
    threading.Timer(0.3, lambda: playing.update(on=False)).start()
    started = time.monotonic()
    why = play_days(lambda: None, lambda: playing["on"], lambda: False, drawn, stale_after_s=30)
    assert why == "paused" and time.monotonic() - started < 2


def test_a_vanished_browsers_kernel_is_culled_within_a_minute_not_a_day():
    import solara.server.settings

    from borderabm.apps.ui import app

    assert solara.server.settings.kernel.cull_timeout == app.KERNEL_CULL_TIMEOUT == "60s"
