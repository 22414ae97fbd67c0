"""The Compare tab's lever variants: one scenario under 2-4 variants of its levers, on common seeds.

The analyst picks a base scenario (a listed file, or one uploaded in this tab on the Run tab: held
in memory, never written to the server's folders) and types 2-4 variant lines of ``key=value``
items, as ``borderabm compare SCENARIO --variant "..."`` takes them (the first line is the
reference; left empty, it is the file as written). The runs are the CLI's
(:func:`~borderabm.experiments.sweep.variant_sweep`), made in the background like any comparison
of the page into ``<results folder>/ui-variants-...-<id>``, and shown with the page's scorecard,
charts, maps and downloads (:func:`~borderabm.apps.ui.compare_page.ComparisonView`). With plausible
worlds asked for (draws of the shipped posterior, as ``--uncertainty ... --draws N``), every variant
runs in every world and the page shows the robust comparison
(:func:`~borderabm.apps.ui.robust_view.RobustView`). A line the schema refuses shows the CLI's
error line, with the server's folders named, not spelled out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import threading
from collections.abc import Callable, Sequence
from typing import Any

import solara

from borderabm.apps.cli.common import error_line
from borderabm.apps.ui import session
from borderabm.apps.ui.compare_page import (
    DEFAULT_SEED,
    ID_LENGTH,
    MAX_DAYS,
    MAX_REPLICATES,
    MIN_DAYS,
    MIN_REPLICATES,
    ComparisonError,
    ComparisonResult,
    Progress,
    compare_days,
    compare_replicates,
    open_comparison,
    results_root,
    run_into_store,
    without_server_paths,
)
from borderabm.apps.ui.robust_view import MAX_DRAWS, SHIPPED_POSTERIOR, RobustResult
from borderabm.apps.ui.run_setup import ScenarioEntry, run_entries
from borderabm.experiments.store import safe_file_name
from borderabm.experiments.sweep import MAX_VARIANTS, Sweep, parse_variant, variant_sweep
from borderabm.experiments.uncertainty import load_draws
from borderabm.scenario import ScenarioError

VARIANTS = "Lever variants"  # the Compare tab's mode
DEFAULT_BASE = "baseline"
# The file as written against the whole fence: the question the issue asks first.
DEFAULT_LINES = ("", "fence.coverage=1.0", "", "")
FORM_KEY = "variants_form"  # what a browser session keeps of the form (see session.remember)
UPLOADED_NO_REPLAY = "its scenario was uploaded in a tab (open it on the Run tab to replay)"
# How the command line names the shipped posterior (the same file as the package's copy).
POSTERIOR_IN_CHECKOUT = "docs/calibration/posterior.csv"

# Kernel-scoped (one value per browser tab): switching tabs keeps the form.
variants_base: solara.Reactive[str | None] = solara.reactive(None)
variants_lines: solara.Reactive[tuple[str, ...]] = solara.reactive(DEFAULT_LINES)
variants_worlds = solara.reactive(0)  # plausible worlds to run every variant in (0: the file's own)


# Inputs ----------------------------------------------------------------------------------------
def base_entries() -> dict[str, ScenarioEntry]:
    """The scenarios a variant comparison may start from: listed files, then this tab's uploads."""
    return {name: entry for name, entry in run_entries().items() if entry.ok}


def default_base(names: Sequence[str]) -> str | None:
    """The base offered first: the baseline if listed, else the first scenario."""
    return DEFAULT_BASE if DEFAULT_BASE in names else next(iter(names), None)


def asked_lines(lines: Sequence[str]) -> list[str]:
    """The variant lines a form asks for: the first, then the others that are not empty.

    The first line is the reference even when empty (the file as written).
    """
    lines = [str(line).strip() for line in lines]
    return lines[:1] + [line for line in lines[1:] if line]


def cli_command(base: str, entry: ScenarioEntry, lines: Sequence[str], replicates: int, days: int,
                seed: int = DEFAULT_SEED, worlds: int = 0) -> str:  # fmt: skip
    """The ``borderabm compare`` command line that makes the same runs (the same numbers)."""
    scenario = entry.path.name if entry.uploaded else base
    parts = ["borderabm", "compare", scenario]
    for line in asked_lines(lines):
        parts += ["--variant", line]
    parts += ["--replicates", str(int(replicates)), "--days", str(int(days)), "--seed", str(seed)]
    if worlds:
        parts += ["--uncertainty", POSTERIOR_IN_CHECKOUT, "--draws", str(int(worlds))]
    return " ".join(shlex.quote(part) for part in parts)


def _sweep_of(base: str, lines: Sequence[str], replicates: int, days: int,
              seed: int, worlds: int = 0) -> tuple[ScenarioEntry, Sweep]:  # fmt: skip
    """The base's entry and the sweep of its variants (in ``worlds`` draws of the posterior).

    Raises:
        ComparisonError: For a base that is not offered, options out of the page's bounds, or
            variants the CLI refuses (its error lines, server folders not spelled out).
    """
    entry = base_entries().get(str(base))
    if entry is None:
        raise ComparisonError(f"{base!r}: not a listed scenario or one uploaded in this tab")
    problems = []
    if not MIN_REPLICATES <= int(replicates) <= MAX_REPLICATES:
        problems.append(
            f"replicates must be {MIN_REPLICATES} to {MAX_REPLICATES} (got {replicates})"
        )
    if not MIN_DAYS <= int(days) <= MAX_DAYS:
        problems.append(f"days must be {MIN_DAYS} to {MAX_DAYS} (got {days})")
    if not 0 <= int(worlds) <= MAX_DRAWS:
        problems.append(f"plausible worlds must be 0 to {MAX_DRAWS} (got {worlds})")
    if problems:
        raise ComparisonError("; ".join(problems))
    source = str(entry.path)
    try:
        variants = [parse_variant(line, number, source)
                    for number, line in enumerate(asked_lines(lines), start=1)]  # fmt: skip
        draws = load_draws(SHIPPED_POSTERIOR, int(worlds), seed) if worlds else None
        sweep = variant_sweep(entry.path, variants, int(replicates), seed, int(days),
                              text=entry.text, draws=draws)  # fmt: skip
    except ScenarioError as error:
        raise ComparisonError(
            without_server_paths(error_line(error.problems, error.source))
        ) from None
    return entry, sweep


def variants_problems_and_notes(base: str | None, lines: Sequence[str], replicates: int,
                                days: int, worlds: int = 0) -> tuple[list[str], list[str]]:  # fmt: skip
    """What is wrong with a variant comparison, and the notes ``compare --variant`` prints.

    A note says which of the file's dated settings a variant replaces for the whole run.
    """
    if base is None:
        return ["choose a base scenario"], []
    try:
        _, sweep = _sweep_of(base, lines, replicates, days, DEFAULT_SEED, worlds)
    except ComparisonError as error:
        return [str(error)], []
    return [], list(sweep.notes)


def variants_id(sweep: Sweep, replicates: int, seed: int, days: int) -> str:
    """The id of a variant comparison: a short hash of the scenario file, variants and options.

    The worlds' draws are part of it when there are any.
    """
    what = {"scenarios": sorted([name, sha] for name, (_, sha) in sweep.scenario_files.items()),
            "variants": sweep.variants, "replicates": int(replicates), "seed": int(seed),
            "days": int(days)}  # fmt: skip
    if sweep.draws is not None:  # ids of variants alone stay as they were
        what["worlds"] = sweep.draws.points
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:ID_LENGTH]


# Work ------------------------------------------------------------------------------------------
def run_variants(
    base: str,
    lines: Sequence[str],
    replicates: int,
    days: int,
    progress: Progress | None = None,
    *,
    seed: int = DEFAULT_SEED,
    cancel: threading.Event | None = None,
    worlds: int = 0,
) -> ComparisonResult | RobustResult:
    """Run a scenario under its lever variants on common seeds (in this process), for the page.

    The runs go to ``<results folder>/ui-variants-<scenario>-...-<id>`` (asking again reuses them;
    the id's link opens them); nothing is written to the scenario folders. With ``worlds``, every
    variant runs in that many draws of the shipped posterior, and the result is the robust
    comparison of the variants.

    Args:
        base: A listed scenario's name, or an upload of this tab (``uploaded:...``).
        lines: Variant lines (``key=value`` items); the first is the reference, empty for the
            file as written; later empty lines are left out.
        replicates: Runs per variant; replicate k uses seed + k - 1.
        days: Days to simulate.
        progress: Called with (runs done, runs in total) at the start and after every run.
        seed: Seed of the first replicate.
        cancel: When set, the comparison stops after the run in progress.
        worlds: Plausible worlds (draws of the shipped posterior); 0: the file's own parameters.

    Raises:
        ComparisonError: For a request the page or the CLI refuses (the CLI's error line), or a
            store that cannot be used.
        ComparisonCancelled: When ``cancel`` was set.
    """
    from borderabm.experiments.store import ResultsStore

    entry, sweep = _sweep_of(base, lines, replicates, days, seed, worlds)
    identity = variants_id(sweep, replicates, seed, days)
    stem = safe_file_name(entry.path.stem)[:40]
    across = f"w{worlds}-" if worlds else ""
    store = ResultsStore(results_root() / f"ui-variants-{stem}-{across}r{replicates}-d{days}-"
                         f"s{seed}-{identity}")  # fmt: skip
    run_into_store(sweep, store, progress, cancel)
    # Shown as its permanent link shows it: a listed base's runs replay with their variant's
    # overrides (the manifest's design points), checked against the listed file's sha256.
    result = open_comparison(identity)
    if isinstance(result, RobustResult):  # across worlds: no replays are offered
        return result
    if entry.uploaded:  # not in the scenario folders: the Run tab holds it
        runs = result.runs.assign(replay=None, replay_refused=UPLOADED_NO_REPLAY)
        result = dataclasses.replace(result, runs=runs)
    return result


# Component -------------------------------------------------------------------------------------
@solara.component
def VariantsForm(busy: bool, start: Callable[[str, tuple[Any, ...]], None]):
    """Base scenario, 2-4 variant lines, replicates, days, worlds; the CLI's line for a bad line.

    Args:
        busy: Whether a comparison is running (the button waits for it).
        start: Starts the page's background work: ``start(VARIANTS, (base, lines, replicates,
            days, worlds))``, which the page hands to :func:`run_variants`.
    """
    entries = base_entries()
    names = list(entries)
    base = variants_base.value if variants_base.value in entries else default_base(names)
    lines = tuple(variants_lines.value) + ("",) * (MAX_VARIANTS - len(variants_lines.value))
    replicates, days, worlds = compare_replicates.value, compare_days.value, variants_worlds.value
    problems, notes = solara.use_memo(
        lambda: variants_problems_and_notes(base, lines, replicates, days, worlds),
        [base, lines, replicates, days, worlds, len(entries)],
    )

    def restore() -> None:
        # A reloaded page shows the lines of the comparison it asks for again.
        form = session.recall(FORM_KEY)
        if form and variants_base.value is None and variants_lines.value == DEFAULT_LINES:
            variants_base.set(form["base"])
            variants_lines.set(tuple(form["lines"]))
            variants_worlds.set(int(form.get("worlds", 0)))

    solara.use_effect(restore, [])

    def keep(new_base: str | None, new_lines: tuple[str, ...]) -> None:
        variants_base.set(new_base)
        variants_lines.set(new_lines)
        session.remember(FORM_KEY, {"base": new_base, "lines": list(new_lines),
                                    "worlds": variants_worlds.value})  # fmt: skip

    def set_worlds(count: int) -> None:
        variants_worlds.set(int(count))
        keep(base, lines)

    def set_line(index: int, text: str) -> None:
        changed = list(lines)
        changed[index] = text
        keep(base, tuple(changed))

    def line_setter(index: int) -> Callable[[str], None]:
        return lambda text: set_line(index, text)

    solara.Text(
        "One scenario under 2-4 variants of its levers, on common seeds. Each line: key=value "
        "items separated by spaces (e.g. fence.coverage=0.5 patrols.units=400), as "
        "borderabm compare SCENARIO --variant takes them. Line 1 is the reference (empty: the "
        "file as written); empty lines 2-4 are left out. Nothing is written to the scenario "
        "folders; uploads (Run tab) are offered too. With plausible worlds above 0, every "
        "variant runs in that many draws of the 2024 fit's posterior (the robust comparison)."
    )
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Select("Base scenario", values=names, value=base, on_value=lambda name: keep(name, lines),
                      classes=["variants-base"], style={"min-width": "320px"})  # fmt: skip
    with solara.Column(style={"max-width": "760px"}):
        for index in range(MAX_VARIANTS):
            label = f"Variant {index + 1}" + (" (reference; empty: the file as written)"
                                              if index == 0 else "")  # fmt: skip
            solara.InputText(label, value=lines[index],
                             on_value=line_setter(index),
                             continuous_update=False,
                             classes=["variants-line", f"variants-line-{index + 1}"])  # fmt: skip
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        with solara.Column(classes=["compare-replicates"], style={"min-width": "260px"}):
            solara.SliderInt("Replicates", value=compare_replicates, min=MIN_REPLICATES,
                             max=MAX_REPLICATES)  # fmt: skip
        solara.Text(str(replicates), style={"min-width": "2em"})
        with solara.Column(classes=["compare-days"], style={"min-width": "260px"}):
            solara.SliderInt("Days", value=compare_days, min=MIN_DAYS, max=MAX_DAYS, step=10)
        solara.Text(str(days), style={"min-width": "3em"})
        with solara.Column(classes=["variants-worlds"], style={"min-width": "260px"}):
            solara.SliderInt("Plausible worlds (0: the file's own parameters)", value=worlds,
                             on_value=set_worlds, min=0, max=MAX_DRAWS)  # fmt: skip
        solara.Text(str(worlds), style={"min-width": "2em"}, classes=["variants-worlds-value"])
        solara.Button(
            "Run lever variants",
            on_click=lambda: start(VARIANTS, (base, lines, replicates, days, worlds)),
            disabled=busy or bool(problems),
            color="primary",
            classes=["variants-run"],
        )
    for problem in problems:
        solara.Error(problem, classes=["variants-error"])
    for note in notes:
        solara.Text(note, classes=["variants-note"], style={"font-size": "12px"})
    if base is not None and not problems:
        solara.Text("Same runs from the command line: "
                    + cli_command(base, entries[base], lines, replicates, days, worlds=worlds),
                    classes=["variants-cli"], style={"font-size": "12px", "color": "#555"})  # fmt: skip
