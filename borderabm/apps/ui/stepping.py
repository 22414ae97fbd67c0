"""Who may step the Run tab's model, and when: one control per browser tab (kernel).

The model lives in kernel-scoped state, so it outlives the Run tab's component: a tab switch
unmounts the page and mounts a new one while the old page's play loop may still be computing a
day. The guard must therefore be kernel-scoped too (:func:`run_control`): one lock taken by every
day computed and by every release (a Reset never frees a model mid-day), one generation counter
(a new loop, or a page leaving, retires every older loop: it stops before its next day), and the
loop that owns the model (a manual Step is refused while one runs).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import solara

CATCH_UP_PROGRESS_DAYS = 10  # while coming back to a reloaded run's day, show progress this often


class RunControl:
    """Serialises the stepping and releasing of one kernel's models.

    Attributes:
        generation: Increased by every new loop and by :meth:`retire_loops`; a loop steps only
            while the generation is still the one it began with.
    """

    def __init__(self) -> None:
        self._model_lock = threading.RLock()  # held while a day is computed or a model released
        self._state_lock = threading.Lock()  # guards the generation and the loop owner only
        self.generation = 0
        self._loop: tuple[int, Any] | None = None  # (generation, model) of the running loop
        self._released: weakref.WeakSet = weakref.WeakSet()

    def retire_loops(self) -> None:
        """Stop every running loop before its next day (the page left, or a Reset/Pause)."""
        with self._state_lock:
            self.generation += 1

    def begin_loop(self, model: Any) -> int:
        """Make the caller the only loop allowed to step ``model``; returns its generation."""
        with self._state_lock:
            self.generation += 1
            self._loop = (self.generation, model)
            return self.generation

    def end_loop(self, mine: int) -> None:
        """Forget the loop owner, but only if it is still the loop of generation ``mine``."""
        with self._state_lock:
            if self._loop is not None and self._loop[0] == mine:
                self._loop = None

    def is_current(self, mine: int) -> bool:
        """Whether the loop of generation ``mine`` may still step."""
        return self.generation == mine

    @property
    def looping_model(self) -> Any:
        """The model a loop is stepping (None when no loop runs)."""
        loop = self._loop
        return loop[1] if loop is not None else None

    def step(self, model: Any, days: int = 1) -> bool:
        """A manual Step of ``days`` days; refused (False) while a loop runs or once released."""
        if self._loop is not None:
            return False
        return self._advance(model, days)

    def loop_step(self, model: Any, mine: int) -> bool:
        """One day of the loop of generation ``mine``; False once it is retired or the model freed."""
        with self._model_lock:
            if not self.is_current(mine):
                return False
            return self._advance(model, 1)

    def release(self, model: Any) -> None:
        """Free ``model`` (once), after the day being computed, if any."""
        with self._model_lock:
            if model is None or model in self._released:
                return
            self._released.add(model)
            model.release()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold off stepping while the page reads a model (no half-computed day is ever shown)."""
        with self._model_lock:
            yield

    def released(self, model: Any) -> bool:
        """Whether ``model`` was released through this control."""
        return model in self._released

    def _advance(self, model: Any, days: int) -> bool:
        with self._model_lock:
            if model is None or model in self._released:
                return False
            remaining = model.settings.horizon_days - model.day
            model.run(max(0, min(days, remaining)))
            return True


# Kernel-scoped: one RunControl per browser tab.
_control: solara.Reactive[RunControl | None] = solara.reactive(None)
_CREATE_LOCK = threading.Lock()


def run_control() -> RunControl:
    """This kernel's :class:`RunControl` (made on first use)."""
    with _CREATE_LOCK:
        control = _control.peek()
        if control is None:
            control = RunControl()
            _control.set(control)
        return control


def catch_up(
    step: Callable[[], bool],
    day: Callable[[], int],
    goal: int,
    still_wanted: Callable[[], bool],
    progress: Callable[[int], None],
    every: int = CATCH_UP_PROGRESS_DAYS,
) -> str:
    """Step day by day up to ``goal`` (a reloaded run's day), as long as the page is there.

    Args:
        step: Computes one day; False when it may not (retired loop, released model).
        day: The model's day now.
        goal: The day to reach.
        still_wanted: False once the page left (closed tab, reload, tab switch): checked each day.
        progress: Told the day every ``every`` days and on reaching the goal.
        every: Days between progress reports.

    Returns:
        "done" when the goal was reached, else "stopped".
    """
    while day() < goal:
        if not still_wanted() or not step():
            return "stopped"
        now = day()
        if now % every == 0 or now >= goal:
            progress(now)
    return "done"
