"""Every stylized fact holds on the real model, at a reduced size that keeps the power to pass.

CI runs 8 paired replicates over 180 days (the full suite, ``borderabm validate-model``, runs 20 over
each fact's own horizon). With 8 pairs the one-sided signed-rank test gives p = 0.0039 when every
pair moves the expected way; when this was written every fact had p = 0.0039 here but two with
p = 0.0078 (7 of 8 pairs: attacks in Balochistan, conflict and inflows), so a fact fails when its
mechanism breaks, not by luck.
"""

import json
import re
from pathlib import Path

import pytest

from borderabm.analysis.validation import (
    EXPECTED_FACTS,
    FACTS,
    FACTS_BY_ID,
    KNOWN_FAILURES,
    run_validation,
)
from borderabm.analysis.validation import suite as runner
from borderabm.analysis.validation.facts import (
    CLAIM_SEEDS,
    MECHANISM_CHECK,
    MECHANISM_CHECKS,
    STYLIZED_FACT,
    STYLIZED_FACTS,
    Reopenings,
    SectorTotal,
    SummaryMetric,
)
from borderabm.analysis.validation.suite import make_plan
from borderabm.experiments.store import StoreError
from borderabm.model import BorderModel
from borderabm.scenario import load_scenario
from tests.conftest import SCENARIOS

CI_REPLICATES = 8
CI_DAYS = 180


@pytest.fixture(scope="module")
def suite():
    run = run_validation(
        EXPECTED_FACTS, CI_REPLICATES, scenarios=SCENARIOS, days=CI_DAYS, workers=2
    )
    return {result.fact.id: result for result in run.results}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("fact", EXPECTED_FACTS, ids=lambda fact: fact.id)
def test_fact_holds(suite, fact):
    result = suite[fact.id]
    effect = result.effect
    assert effect.n == CI_REPLICATES
    assert result.days == CI_DAYS
    assert result.passed, (
        f"{fact.id}: {fact.statement} Expected to {fact.expected}; measured "
        f"{effect.control_mean:.4g} -> {effect.treatment_mean:.4g}, paired difference "
        f"{effect.diff_mean:+.4g} [{effect.diff_low:+.4g}, {effect.diff_high:+.4g}], "
        f"p = {effect.p_value:.3g}"
    )


def test_the_suite_has_at_least_twelve_sourced_stylized_facts():
    assert len(STYLIZED_FACTS) >= 12
    assert {f.id for f in EXPECTED_FACTS} == {f.id for f in STYLIZED_FACTS + MECHANISM_CHECKS}
    assert len({fact.id for fact in FACTS}) == len(FACTS)
    for fact in FACTS:
        assert fact.statement.endswith(".")
        assert fact.source.citation
        # A fact without a quote says what its source found, or that it is an assumption.
        assert fact.source.quote or fact.source.note
        assert fact.expected in ("increase", "decrease")
        assert fact.kind in (STYLIZED_FACT, MECHANISM_CHECK)
        # A mechanism check says why it holds by construction; a stylized fact does not need to.
        assert bool(fact.mechanism) == (fact.kind == MECHANISM_CHECK), fact.id
    for fact in KNOWN_FAILURES:
        assert len(fact.known_failure) > 40  # the reason is spelt out
        assert fact.kind == STYLIZED_FACT


@pytest.mark.parametrize("fact", FACTS, ids=lambda fact: fact.id)
def test_cited_seeds_and_claims_exist_and_belong_together(fact):
    source = fact.source
    text = f"{source.citation} {source.note}"
    assert set(source.seeds) <= {"000", "001", "002", "003", "004"}
    assert all(1 <= claim <= 20 for claim in source.claims)
    # Every seed and claim the text names is declared, and every declared one is named.
    assert set(re.findall(r"\b(00\d)\b", text)) == set(source.seeds)
    named_claims = {int(n) for n in re.findall(r"\bclaim (\d+)", text, flags=re.IGNORECASE)}
    assert named_claims == set(source.claims)
    # A claim is cited with at least one of the seeds the fact sheet gives for it.
    for claim in source.claims:
        assert set(CLAIM_SEEDS[claim]) & set(source.seeds), f"claim {claim}"
    # Without a seed behind it, a fact cites a published study or the sheet of published figures.
    if not source.seeds:
        published = ("Feigenberg", "Cornelius", "real-figures.md")
        assert any(name in source.citation for name in published), source.citation


def _flat(document, prefix=""):
    flat = {}
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


@pytest.mark.parametrize("fact", FACTS, ids=lambda fact: fact.id)
def test_control_and_treatment_differ_only_in_the_facts_levers(fact):
    arms = []
    for arm in (fact.control, fact.treatment):
        settings = load_scenario(SCENARIOS / f"{arm.scenario}.toml", dict(arm.overrides))
        arms.append(_flat(settings.model_dump(mode="json")))
    control, treatment = arms
    differing = {key for key in control.keys() | treatment.keys()
                 if control.get(key) != treatment.get(key)}  # fmt: skip
    differing -= {"name", "description"}
    assert differing, "control and treatment are the same"
    stray = {key for key in differing
             if not any(key == lever or key.startswith(lever + ".") for lever in fact.levers)}  # fmt: skip
    assert not stray, f"{fact.id}: also differs in {sorted(stray)}"


def test_every_fact_uses_real_keys_sectors_gates_and_metrics(world):
    # Every arm validates against the schema (a misspelt key or sector name raises here).
    plan = make_plan(FACTS, 5, SCENARIOS, days=3)
    for fact in FACTS:
        control, treatment = plan.sides[fact.id]
        assert control != treatment, f"{fact.id}: control and treatment are the same run"
    model = BorderModel(load_scenario(SCENARIOS / "baseline.toml", {"horizon_days": 3}),
                        world=world)  # fmt: skip
    model.run()
    summary, series = model.summary(), model.timeseries()
    for fact in FACTS:
        metric = fact.metric
        if isinstance(metric, SummaryMetric):
            assert metric.key in summary, f"{fact.id}: no summary metric {metric.key!r}"
        for column in metric.columns():
            assert column in series, f"{fact.id}: no daily column {column!r}"


def test_facts_share_arms_and_replicates_share_seeds():
    plan = make_plan(FACTS, 6, SCENARIOS, seed=11, days=30)
    assert plan.seeds == list(range(11, 17))
    # The closure facts compare the same two arms; so do the fence facts against no fence.
    sides = plan.sides
    assert sides["closure_cuts_formal_trade"] == sides["closure_raises_smuggling"]
    assert sides["fence_cuts_militant_crossings"][0] == sides["fence_cuts_local_crossings"][0]
    distinct_arms = {key for pair in sides.values() for key in pair}
    assert len(plan.arms) == len(distinct_arms) < 2 * len(FACTS)
    for arm in plan.arms.values():
        assert [run.seed for run in arm.runs] == plan.seeds
        assert all(run.document["horizon_days"] == 30 for run in arm.runs)
    run_ids = [run.run_id for arm in plan.arms.values() for run in arm.runs]
    assert len(set(run_ids)) == len(run_ids)
    # Only the arms read through the daily series keep it.
    series_arms = {key for key, arm in plan.arms.items() if arm.needs_series}
    assert series_arms == {
        key
        for fact in FACTS
        if not isinstance(fact.metric, SummaryMetric)
        for key in sides[fact.id]
    }


def test_series_metrics_on_a_hand_made_series():
    import pandas as pd

    series = pd.DataFrame(
        {
            "open.Torkham": [1, 0, 0, 1, 1, 0, 1, 0],
            "irregular_crossings.Zhob": [1.0, 2.0, 3.0, 0, 0, 0, 0, 0],
            "irregular_crossings.Kurram": [10.0, 0, 0, 0, 0, 0, 0, 5.0],
        }
    )
    assert Reopenings("Torkham")({}, series) == 2  # closed days 1-2 and 5; still closed at the end
    assert SectorTotal("irregular_crossings", ("Zhob", "Kurram"))({}, series) == 21
    assert SectorTotal("irregular_crossings", ("Zhob",))({}, series) == 6
    assert SummaryMetric("attacks")({"attacks": 7.0}, None) == 7.0
    with pytest.raises(ValueError):
        Reopenings("Torkham")({}, None)


def test_a_kept_store_is_reused_and_gives_the_same_answer(tmp_path):
    facts = [FACTS_BY_ID["fence_cuts_family_visits"], FACTS_BY_ID["fence_draws_breaches"]]
    kept = tmp_path / "store"
    first = run_validation(facts, 5, scenarios=SCENARIOS, days=10, workers=1, store_dir=kept)
    again = run_validation(facts, 5, scenarios=SCENARIOS, days=10, workers=1, store_dir=kept)
    assert first.runs_total == 3 * 5  # the two facts share the full-fence arm
    assert (first.runs_executed, again.runs_executed) == (15, 0)
    for a, b in zip(first.results, again.results, strict=True):
        assert (a.control, a.treatment, a.effect) == (b.control, b.treatment, b.effect)
    assert first.results[0].control != first.results[0].treatment
    assert first.environment["model_code_sha256"] == runner.model_code_hash()


def test_runs_of_other_model_code_are_not_reused(tmp_path, monkeypatch):
    fact = FACTS_BY_ID["fence_draws_breaches"]
    kept = tmp_path / "store"
    run_validation([fact], 5, scenarios=SCENARIOS, days=5, workers=1, store_dir=kept)
    manifest = json.loads((kept / "manifest.json").read_text())
    assert manifest["model_code_sha256"] == runner.model_code_hash()
    # The same scenarios, but the model's source has changed since the store was made.
    monkeypatch.setattr(runner, "model_code_hash", lambda: "0" * 64)
    with pytest.raises(StoreError, match="made by other model code"):
        run_validation([fact], 5, scenarios=SCENARIOS, days=5, workers=1, store_dir=kept)
    fresh = run_validation(
        [fact], 5, scenarios=SCENARIOS, days=5, workers=1, store_dir=tmp_path / "new"
    )
    assert fresh.runs_executed == fresh.runs_total == 2 * 5


def test_the_code_hash_covers_the_model_but_not_the_ui_or_the_suite(tmp_path, monkeypatch):
    import shutil

    import borderabm

    package = tmp_path / "borderabm"
    shutil.copytree(Path(borderabm.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.vue"))  # fmt: skip
    monkeypatch.setattr(borderabm, "__file__", str(package / "__init__.py"))

    def code_hash() -> str:
        runner.model_code_hash.cache_clear()
        return runner.model_code_hash()

    try:
        original = code_hash()
        for folder in ("apps", "analysis", "report"):
            (package / folder / "__init__.py").write_text("# changed\n", encoding="utf-8")
            assert code_hash() == original, folder
        with (package / "model.py").open("a", encoding="utf-8") as model_source:
            model_source.write("\n# changed\n")
        assert code_hash() != original
    finally:
        runner.model_code_hash.cache_clear()
