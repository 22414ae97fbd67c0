"""The stylized facts: directional claims from the sources, stated as paired model experiments.

Each fact names a **control** and a **treatment** (a shipped scenario plus dotted-key overrides, as
with ``--set``), a **metric** (a summary metric, or a function of the daily series such as a sector
total), the **direction** the treatment should move it, and its **source**: a seed paper, cited by
its number (000-004) and, where one fits, a testable causal claim of section 5 of
``shared/domain/seed-facts.md`` (claims 1-20), with a verbatim quote that may come from any
section of that sheet (actors in section 3, policies in section 4, places in section 2); or
Feigenberg (2020) or Cornelius (2001); or "model assumption" where no source states the claim, the
seeds then being background only. Where the fact goes beyond what the seed says (an inference), the
source's note says so.

Each fact is of one of two **kinds**. A *stylized fact* is a claim about the world that the model
could get wrong: the lever reaches the metric through agents' choices that could offset it. A
*mechanism check* holds largely by construction — it tests that a rule works as configured (the
trigger rule closes gates, a deportation drive sends people through the gates) — and is reported
separately, so that it does not count as evidence for the model.

A fact whose size has been measured in the world carries that **published effect** (a relative
change and where it was measured); the verdict is still on the direction, and the report shows the
model's relative change beside the published one.

Most facts switch the trigger rule off in both arms (``triggers = []``) so that the lever under test
is the only difference; facts about corridors, deportation drives and the escalation cycle keep the
2025 rule, because it is part of what they describe.

A fact with ``known_failure`` set is one the model does not reproduce (measured, and kept visible
rather than dropped): it is run and reported, but does not decide the suite's verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from borderabm.analysis.validation.stats import Direction
from borderabm.metrics import METRICS, MetricName, breakdown_column
from borderabm.scenario.schema import NO_DOCUMENT_CHECK

Kind = Literal["stylized fact", "mechanism check"]
STYLIZED_FACT: Kind = "stylized fact"
MECHANISM_CHECK: Kind = "mechanism check"

# Levers shared by several facts ----------------------------------------------------------------
NO_TRIGGERS: dict[str, Any] = {"triggers": []}
CLOSURE_START_DAY = 30  # a normal month first, then the gates stay shut to the end of the run
UNTIL_THE_END = 36_500  # the latest day a closure may end (the schema's bound)
# Every gate open in normal times (Gursal and Nawa Pass are closed to trade and people already).
NORMALLY_OPEN_GATES = (
    "Torkham", "Chaman", "Angoor Adda", "Ghulam Khan", "Kharlachi", "Arandu", "Badini",
)  # fmt: skip
FEIGENBERG_FENCED = ("North Waziristan", "South Waziristan")
FEIGENBERG_NEIGHBOURS = ("Zhob", "Kurram")  # the sectors either side of them along the line
# The four sectors with the smoothest ground among those refugees cross (mean Riley ruggedness of
# their informal points 5-44 m, against 75-237 m for Kurram, Khyber, Bajaur, Chitral and Wakhan;
# Chagai is smooth but nobody crosses there): the analogue of the easy urban corridors where
# Operation Gatekeeper concentrated enforcement (Cornelius 2001).
EASY_GROUND_SECTORS = ("Zhob", "Chaman", "South Waziristan", "North Waziristan")
FUNNEL_WEIGHT = 6.0
ATTACKS_UNIT = METRICS[MetricName.ATTACKS].unit  # "attacks": the unit, not the metric


# Torkham's travellers with the documents of 2016: ~15% held a passport and visa, derived from
# IOM's 2,000-2,500 Afghans a day once the rule came in, of the >15,000 a day before (IOM 2017).
TORKHAM_2016_DOCUMENTS: dict[str, Any] = {
    "gate_travellers.catchments.Torkham.passport_visa_share": 0.15
}


def closed_from(day: int, gates: tuple[str, ...]) -> dict[str, Any]:
    """Overrides closing ``gates`` from ``day`` to the end of the run."""
    closure = [{"start": day, "end": UNTIL_THE_END, "reason": "validation"}]
    return {f"crossings.{gate}.closures": closure for gate in gates}


# Building blocks ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where a fact comes from.

    Attributes:
        citation: The seeds and claim numbers, or the publication, or "Model assumption".
        quote: A short verbatim quote from the source, or empty.
        note: The finding in other words where there is no quote, and anything a reader should
            know about how far the source supports the fact.
        seeds: Every seed (``"000"``-``"004"``) the citation or note names.
        claims: Every causal claim of the fact sheet's section 5 (1-20) they name.
    """

    citation: str
    quote: str = ""
    note: str = ""
    seeds: tuple[str, ...] = ()
    claims: tuple[int, ...] = ()


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: a shipped scenario with overrides.

    Attributes:
        scenario: The name of a shipped scenario (``scenarios/<name>.toml``).
        overrides: Dotted-key overrides, as with ``borderabm run --set``.
        label: A short description for the report.
    """

    scenario: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def describe(self) -> str:
        """The label, or the scenario and its overrides."""
        if self.label:
            return self.label
        shown = ", ".join(f"{k}={v}" for k, v in self.overrides.items())
        return f"{self.scenario}" + (f" ({shown})" if shown else "")


@dataclass(frozen=True)
class SummaryMetric:
    """A metric of the run summary (``BorderModel.summary()``)."""

    key: str
    unit: str = ""
    needs_series = False

    def columns(self) -> tuple[str, ...]:
        """Daily-series columns needed (none)."""
        return ()

    def describe(self) -> str:
        """What is measured, for the report."""
        return f"`{self.key}`" + (f" ({self.unit})" if self.unit else "")

    def __call__(self, summary: Mapping[str, float], series: pd.DataFrame | None) -> float:
        """The metric of one run."""
        return float(summary[self.key])


@dataclass(frozen=True)
class SectorTotal:
    """A breakdown metric summed over some sectors and every day of the run."""

    metric: str
    sectors: tuple[str, ...]
    unit: str = ""
    needs_series = True

    def columns(self) -> tuple[str, ...]:
        """The daily-series columns summed."""
        return tuple(breakdown_column(self.metric, sector) for sector in self.sectors)

    def describe(self) -> str:
        """What is measured, for the report."""
        unit = f" ({self.unit})" if self.unit else ""
        return f"`{self.metric}` summed over {' + '.join(self.sectors)}{unit}"

    def __call__(self, summary: Mapping[str, float], series: pd.DataFrame | None) -> float:
        """The metric of one run."""
        if series is None:
            raise ValueError(f"{self.describe()} needs the daily series")
        return float(series[list(self.columns())].to_numpy().sum())


@dataclass(frozen=True)
class Reopenings:
    """Complete closure-reopening cycles of a gate: days it opens after being closed the day before."""

    gate: str
    needs_series = True

    def columns(self) -> tuple[str, ...]:
        """The gate's daily open/closed column."""
        return (breakdown_column(MetricName.OPEN, self.gate),)

    def describe(self) -> str:
        """What is measured, for the report."""
        return f"closure-reopening cycles at {self.gate} (closed one day, open the next)"

    def __call__(self, summary: Mapping[str, float], series: pd.DataFrame | None) -> float:
        """The metric of one run."""
        if series is None:
            raise ValueError(f"{self.describe()} needs the daily series")
        is_open = series[breakdown_column(MetricName.OPEN, self.gate)].to_numpy() > 0
        return float((is_open[1:] & ~is_open[:-1]).sum())


Metric = SummaryMetric | SectorTotal | Reopenings


@dataclass(frozen=True)
class PublishedEffect:
    """A published estimate of a fact's size, reported beside the model's relative change.

    The suite does not test the size (the verdict is on the direction): settings differ from the
    study's, and the model's parameters are not fitted to it.

    Attributes:
        relative_change: The estimate as a relative change (-0.27 for -27%).
        citation: Who found it, briefly (the fact's source gives the full reference).
        setting: Where and what was measured, so a reader can judge how far it carries over.
    """

    relative_change: float
    citation: str
    setting: str

    def describe(self) -> str:
        """The estimate in words, for the report."""
        return f"{self.relative_change:+.0%} ({self.citation}; {self.setting})"


@dataclass(frozen=True)
class Fact:
    """One directional stylized fact, as a paired experiment.

    Attributes:
        id: A short, stable identifier (``--only`` takes these).
        statement: The fact in words.
        source: Where it comes from.
        control: The reference arm.
        treatment: The arm with the lever moved.
        metric: What is compared.
        expected: The direction treatment minus control should take.
        levers: The settings (dotted keys, or a section) in which control and treatment differ;
            nothing else may differ between them.
        days: The horizon of both arms (``--days`` overrides it).
        known_failure: Why the model does not reproduce this fact, if it does not (then the fact
            is reported but does not decide the suite's verdict).
        kind: A stylized fact, or a mechanism check (holds largely by construction).
        mechanism: For a mechanism check, why it holds by construction.
        published: A published estimate of the effect's size, if there is one.
    """

    id: str
    statement: str
    source: Source
    control: Arm
    treatment: Arm
    metric: Metric
    expected: Direction
    levers: tuple[str, ...]
    days: int = 365
    known_failure: str | None = None
    kind: Kind = STYLIZED_FACT
    mechanism: str = ""
    published: PublishedEffect | None = None


# The arms ---------------------------------------------------------------------------------------
BASELINE = Arm("baseline", NO_TRIGGERS, "baseline, no trigger rule")
BASELINE_WITH_RULE = Arm("baseline", {}, "baseline, with the 2025 trigger rule")
GATES_SHUT = Arm(
    "baseline",
    {**NO_TRIGGERS, **closed_from(CLOSURE_START_DAY, ("Torkham", "Chaman"))},
    f"baseline, no trigger rule; Torkham and Chaman closed from day {CLOSURE_START_DAY} on",
)
NO_FENCE = Arm("baseline", {**NO_TRIGGERS, "fence.coverage": 0.0}, "baseline with no fence")
HALF_FENCE = Arm("baseline", {**NO_TRIGGERS, "fence.coverage": 0.5}, "baseline, fence 50%")
FULL_FENCE = Arm("baseline", {**NO_TRIGGERS, "fence.coverage": 1.0}, "baseline, fence 100%")
WAZIRISTAN_FENCED = Arm(
    "baseline",
    {**NO_TRIGGERS, "fence.coverage": 0.0,
     "fence.sectors": dict.fromkeys(FEIGENBERG_FENCED, 1.0)},
    "baseline with no fence except North and South Waziristan (100%)",
)  # fmt: skip
PRE_FENCE = Arm("no_fence", NO_TRIGGERS, "no_fence (pre-2017), no trigger rule")
FUNNELLED = Arm(
    "no_fence",
    {**NO_TRIGGERS, "patrols.sector_weights": dict.fromkeys(EASY_GROUND_SECTORS, FUNNEL_WEIGHT)},
    f"no_fence, no trigger rule; the same 600 patrol units weighted x{FUNNEL_WEIGHT:g} in "
    + ", ".join(EASY_GROUND_SECTORS),
)
LARGER_SANCTUARIES = Arm(
    "baseline",
    {**NO_TRIGGERS, "militants.sanctuary_capacity": 1.5},
    "baseline, no trigger rule; sanctuary capacity x1.5",
)
# A surge: since the 2024 fit most attacks come from groups based in Pakistan, so sanctuaries x1.5
# add ~15% to the attacks and seldom reach the rule's 60 in 30 days within CI's 180 days.
ATTACK_SURGE_WITH_RULE = Arm(
    "baseline",
    {"militants.sanctuary_capacity": 3.0},
    "baseline with the 2025 trigger rule; sanctuary capacity x3 (an attack surge)",
)
MORE_PATROLS = Arm(
    "baseline", {**NO_TRIGGERS, "patrols.units": 1500}, "baseline, no trigger rule; 1,500 units"
)
OCTOBER_2025 = Arm(
    "closures_oct2025", {}, "closures_oct2025 (five gates closed days 41-90, 2025 trigger rule)"
)
OCTOBER_2025_CORRIDOR = Arm(
    "closures_oct2025",
    {"corridor.enabled": True, "corridor.gates": ["Torkham", "Chaman"]},
    "the same with Torkham and Chaman as 24/7 trade corridors (exempt from closures)",
)
CORRIDOR_UNSCREENED = Arm(
    "trade_corridor", {"corridor.screening": 0.0}, "trade_corridor, screening 0"
)
CORRIDOR_SCREENED = Arm(
    "trade_corridor", {"corridor.screening": 0.9}, "trade_corridor, screening 0.9"
)
DEPORTATION = Arm("deportation_drive", {}, "deportation_drive (3,000 people/day from day 59)")
ALL_GATES_SHUT = Arm(
    "baseline",
    {**NO_TRIGGERS, **closed_from(0, NORMALLY_OPEN_GATES)},
    "baseline, no trigger rule; every normally open gate closed all run",
)
ALL_GATES_SHUT_DEPORTING = Arm(
    "baseline",
    {**NO_TRIGGERS, **closed_from(0, NORMALLY_OPEN_GATES), "deportation.enabled": True},
    "the same, with a deportation drive (1,000 people/day from day 0)",
)
MORE_CONFLICT = Arm(
    "baseline",
    {**NO_TRIGGERS, "refugees.conflict_intensity": 2.0},
    "baseline, no trigger rule; conflict intensity x2",
)

# The facts --------------------------------------------------------------------------------------
# Why the corridor facts are stated for a closure: in normal times the corridor only halves
# processing and doubles capacity at gates that are rarely full, so its effect is small.
CORRIDOR_IN_NORMAL_TIMES = (
    "Stated for a closure, where the seeds speak of corridors: in normal times (trade_corridor "
    "against baseline) the model's corridor effect is small, since it mostly saves the wait at "
    "gates shut by the trigger rule."
)
# The seeds behind each causal claim of section 5 of the fact sheet (copied from it, so that the
# tests can check a fact's claim against the seeds it cites without reading the sheet).
CLAIM_SEEDS: dict[int, tuple[str, ...]] = {
    1: ("000", "001", "004"), 2: ("001",), 3: ("000", "003", "004"), 4: ("000", "003"),
    5: ("000",), 6: ("002", "003"), 7: ("000",), 8: ("000",), 9: ("000", "002", "004"),
    10: ("003", "004"), 11: ("004",), 12: ("004",), 13: ("000", "003", "004"), 14: ("003",),
    15: ("003",), 16: ("003",), 17: ("003",), 18: ("004",), 19: ("004",), 20: ("002",),
}  # fmt: skip
SEED_000 = "Seed 000 (Khayam, 'Twin Security Paradox', 2025)"
SEED_001 = "Seed 001 ('Analyzing the Role of Cross Border Trade Policies')"
SEED_002 = "Seed 002 (policy brief on October 2025)"
SEED_003 = "Seed 003 (Wattoo & Khan)"
SEED_004 = "Seed 004 (Abbas et al., 2024)"
FEIGENBERG = (
    "Feigenberg (2020), 'Fenced Out: The Impact of Border Construction on US-Mexico Migration', "
    "American Economic Journal: Applied Economics 12(3): 106-139"
)
CORNELIUS = (
    "Cornelius (2001), 'Death at the Border: Efficacy and Unintended Consequences of US "
    "Immigration Control Policy', Population and Development Review 27(4): 661-685"
)

FACTS: tuple[Fact, ...] = (
    Fact(
        id="closure_cuts_formal_trade",
        statement="Closing the main official crossings lowers formal trade.",
        source=Source(
            f"{SEED_000}, quoted in section 4 of the fact sheet (closures)",
            "Trade corridors should not be closed under any circumstances",
            "The seed recommends keeping trade open; that closure cuts formal trade is implied, "
            "not stated. Traders can divert to the gates that stay open, so the model could fail.",
            seeds=("000",),
        ),
        control=BASELINE,
        treatment=GATES_SHUT,
        metric=SummaryMetric(MetricName.FORMAL_TRADE_USD, "US$"),
        expected="decrease",
        levers=("crossings.Torkham.closures", "crossings.Chaman.closures"),
    ),
    Fact(
        id="closure_raises_smuggling",
        statement="Closing the main official crossings raises informal trade (smuggling).",
        source=Source(
            f"{SEED_001}, claim 2; the link to closures is an inference, not stated in the seeds",
            "fostered smuggling and informal trade, affecting the formal economies of both "
            "countries and evading tax collection",
            "Claim 2: as informal crossings grow, smuggling and informal trade rise. The seeds do "
            "not say that closures raise smuggling (the fact sheet's own caveat to claim 2).",
            seeds=("001",),
            claims=(2,),
        ),
        control=BASELINE,
        treatment=GATES_SHUT,
        metric=SummaryMetric(MetricName.INFORMAL_TRADE_USD, "US$"),
        expected="increase",
        levers=("crossings.Torkham.closures", "crossings.Chaman.closures"),
    ),
    Fact(
        id="closure_strands_people",
        statement="Closing the main official crossings strands people at the gates.",
        source=Source(
            "Model assumption (issue 6's example)",
            "",
            f"Background: {SEED_002} reports the 'temporary closing of major crossings' in "
            f"October 2025 and {SEED_000} the 'uncertainty' abrupt measures create, but no seed "
            "counts stranded people.",
            seeds=("002", "000"),
        ),
        control=BASELINE,
        treatment=GATES_SHUT,
        metric=SummaryMetric(MetricName.STRANDED_PEOPLE_MAX, "people, the most on any day"),
        expected="increase",
        levers=("crossings.Torkham.closures", "crossings.Chaman.closures"),
        kind=MECHANISM_CHECK,
        mechanism="People are counted as stranded while they wait at a closed gate.",
    ),
    Fact(
        id="closure_strands_trucks",
        statement="Closing the main official crossings strands trucks at the gates.",
        source=Source(
            "Published closure reports (shared/domain/real-figures.md, sections 2b and 3c)",
            "",
            "October 2025: transit halted with 584 transit vehicles en route or stuck "
            "(en.didpress.com/21141); exporters paid demurrage of US$150-200 a vehicle a day "
            "(southasiandesk.com). No seed counts stranded trucks.",
        ),
        control=BASELINE,
        treatment=GATES_SHUT,
        metric=SummaryMetric(MetricName.STRANDED_TRUCKS_MAX, "trucks, the most on any day"),
        expected="increase",
        levers=("crossings.Torkham.closures", "crossings.Chaman.closures"),
        kind=MECHANISM_CHECK,
        mechanism="Trucks are counted as stranded while they queue at a closed gate.",
    ),
    Fact(
        id="passport_regime_cuts_gate_crossings",
        statement=(
            "Requiring a passport and visa at Torkham (June 2016) cuts the people crossing there."
        ),
        source=Source(
            "IOM Pakistan, Torkham assessment, June 2017 (shared/domain/real-figures.md, 3a)",
            "",
            "More than 20 thousand Afghans and Pakistanis crossed Torkham a day before June 2016; "
            "2.0-2.5 thousand Afghans a day after the passport and visa rule.",
        ),
        control=Arm(
            "baseline",
            {
                **NO_TRIGGERS,
                **TORKHAM_2016_DOCUMENTS,
                "crossings.Torkham.document_regime": NO_DOCUMENT_CHECK,
            },
            "baseline, no trigger rule; Torkham's 2016 documents, no document checked",
        ),
        treatment=Arm(
            "baseline",
            {**NO_TRIGGERS, **TORKHAM_2016_DOCUMENTS},
            "baseline, no trigger rule; Torkham's 2016 documents, passport and visa required",
        ),
        metric=SummaryMetric(breakdown_column(MetricName.GATE_PEOPLE, "Torkham"), "people"),
        expected="decrease",
        levers=("crossings.Torkham.document_regime",),
        kind=MECHANISM_CHECK,
        mechanism="Travellers without a passport and visa are refused at the gate; the 2016 share "
        "of passport holders (0.15) is derived from the same IOM figures, so the size is not "
        "independent evidence.",
        published=PublishedEffect(
            -0.89,
            "IOM 2017",
            "Torkham, June 2016: >20,000 a day before the rule, 2,000-2,500 Afghans a day after",
        ),
    ),
    Fact(
        id="fence_cuts_militant_crossings",
        statement="A full fence lowers militant crossings into Pakistan compared with no fence.",
        source=Source(
            f"{SEED_004}, claim 3 (and claim 1: porosity eases infiltration)",
            "Effective border barriers can hugely diminish the militants who are entering with "
            "illegal goods",
            "Quoted in section 4 of the fact sheet (fencing). Militants can breach the fence, so "
            "the model could fail.",
            seeds=("004",),
            claims=(3, 1),
        ),
        control=NO_FENCE,
        treatment=FULL_FENCE,
        metric=SummaryMetric(MetricName.MILITANT_CROSSINGS, "fighters"),
        expected="decrease",
        levers=("fence.coverage",),
    ),
    Fact(
        id="fence_cuts_local_crossings",
        statement="Fencing some sectors lowers irregular crossings in those sectors.",
        source=Source(
            FEIGENBERG,
            "construction in a municipality reduces migration by 27 percent for municipality "
            "residents",
            "The size is reported beside Feigenberg's -27%, not tested: his fence was built on "
            "the US-Mexico border in 2007-2010 and his figure is for migrants from the "
            "municipalities behind it. The model's civilians do not cut the fence: a group that "
            "meets it goes through a gap or with a paid guide (an even chance, an assumption, "
            "paying US$50 a person) or turns back, and chooses its point knowing this, so the "
            "local fall is partial and could be offset by those who pay.",
        ),
        control=NO_FENCE,
        treatment=WAZIRISTAN_FENCED,
        metric=SectorTotal(
            MetricName.IRREGULAR_CROSSINGS,
            FEIGENBERG_FENCED,
            "refugees, border communities and travellers",
        ),
        expected="decrease",
        levers=("fence.sectors",),
        published=PublishedEffect(
            -0.27,
            "Feigenberg 2020",
            "US-Mexico border fence of 2007-2010, migration from the municipalities behind it",
        ),
    ),
    Fact(
        id="fence_shifts_crossings_to_neighbours",
        statement=(
            "Fencing some sectors shifts irregular crossings to the unfenced sectors next to "
            "them (substitution)."
        ),
        source=Source(
            FEIGENBERG,
            "construction induces migrants to substitute toward alternative crossing locations",
        ),
        control=NO_FENCE,
        treatment=WAZIRISTAN_FENCED,
        metric=SectorTotal(
            MetricName.IRREGULAR_CROSSINGS,
            FEIGENBERG_NEIGHBOURS,
            "refugees, border communities and travellers",
        ),
        expected="increase",
        levers=("fence.sectors",),
    ),
    Fact(
        id="fence_cuts_family_visits",
        statement="A full fence lowers divided border communities' visits across the line.",
        source=Source(
            f"{SEED_000}, claim 3",
            "The fence is a wall between brothers.",
            "Communities do not cut the fence but may pass it through a gap or with a paid "
            "guide, at a cost and a risk; those turned back lose the trip.",
            seeds=("000",),
            claims=(3,),
        ),
        control=NO_FENCE,
        treatment=FULL_FENCE,
        metric=SummaryMetric(MetricName.COMMUNITY_CROSSINGS, "people"),
        expected="decrease",
        levers=("fence.coverage",),
    ),
    Fact(
        id="fence_draws_breaches",
        statement="A fuller fence (100% against 50%) is breached by militants more often.",
        source=Source(
            f"{SEED_003}, claim 3",
            "armed conflicts and fencing destruction along Durand Line",
            seeds=("003",),
            claims=(3,),
        ),
        control=HALF_FENCE,
        treatment=FULL_FENCE,
        metric=SummaryMetric(MetricName.MILITANT_FENCE_BREACHES, "breaches"),
        expected="increase",
        levers=("fence.coverage",),
    ),
    Fact(
        id="funnel_pushes_onto_rugged_ground",
        statement=(
            "Concentrating patrols on the easy-ground stretches pushes refugees' irregular "
            "crossings onto more rugged ground (the funnel effect)."
        ),
        source=Source(
            CORNELIUS,
            "",
            "Finding: enforcement concentrated in the main urban crossing corridors "
            "re-channelled migrants to remote mountains and deserts. Holds when patrols "
            "concentrate on smooth ground as here; concentrating them on the busiest sectors "
            "instead (which include rugged Khyber and Kurram) can push crossers onto smoother "
            "ground.",
        ),
        control=PRE_FENCE,
        treatment=FUNNELLED,
        metric=SummaryMetric(
            MetricName.IRREGULAR_RUGGEDNESS_M_MEAN,
            "m, Riley ruggedness of the points refugees try, mean per person",
        ),
        expected="increase",
        levers=("patrols.sector_weights",),
    ),
    Fact(
        id="sanctuary_raises_attacks_kp",
        statement="Larger TTP sanctuaries in Afghanistan raise attacks in Khyber Pakhtunkhwa.",
        source=Source(
            f"{SEED_000} and {SEED_003}, claim 4",
            "regrouping, training, and operations within Afghanistan",
            "Seed 000's words (section 3 of the fact sheet); seed 003 calls the Taliban's return "
            "'directly associated' with the rise of attacks.",
            seeds=("000", "003"),
            claims=(4,),
        ),
        control=BASELINE,
        treatment=LARGER_SANCTUARIES,
        metric=SummaryMetric(MetricName.ATTACKS_KP, ATTACKS_UNIT),
        expected="increase",
        levers=("militants.sanctuary_capacity",),
    ),
    Fact(
        id="sanctuary_raises_attacks_balochistan",
        statement="Larger TTP sanctuaries in Afghanistan raise attacks in Balochistan.",
        source=Source(
            f"{SEED_000} and {SEED_003}, claim 4",
            "the bordering provinces of Afghanistan i.e. Khyber Pakhtunkhwa (KP) and Balochistan",
            "Seed 003 names the two bordering provinces (section 2 of the fact sheet); claim 4 "
            "is that growing sanctuaries raise attacks in both.",
            seeds=("000", "003"),
            claims=(4,),
        ),
        control=BASELINE,
        treatment=LARGER_SANCTUARIES,
        metric=SummaryMetric(MetricName.ATTACKS_BALOCHISTAN, ATTACKS_UNIT),
        expected="increase",
        levers=("militants.sanctuary_capacity",),
    ),
    Fact(
        id="patrols_lower_attacks",
        statement="More border patrol units (1,500 against 600) lower militant attacks.",
        source=Source(
            f"{SEED_004}, claim 13",
            "have led to a decline in internal terrorist threats",
            "The seed speaks of military operations; reading border patrols as such operations "
            "is the model's.",
            seeds=("004",),
            claims=(13,),
        ),
        control=BASELINE,
        treatment=MORE_PATROLS,
        metric=SummaryMetric(MetricName.ATTACKS, ATTACKS_UNIT),
        expected="decrease",
        levers=("patrols.units",),
    ),
    Fact(
        id="attack_surge_drives_closure_cycles",
        statement=(
            "Under the 2025 trigger rule, an attack surge (larger sanctuaries) produces more "
            "escalation-closure-reopening cycles at the border."
        ),
        source=Source(
            f"{SEED_002}, claim 6",
            "temporary closing of major crossings",
            "Claim 6 (seed 002's part): as attacks rise, Pakistan escalates with closures, then "
            "negotiates (the Istanbul ceasefire, late October 2025). The rule's numbers (60 "
            "attacks in 30 days close every gate for 14 days) are an assumption.",
            seeds=("002",),
            claims=(6,),
        ),
        control=BASELINE_WITH_RULE,
        treatment=ATTACK_SURGE_WITH_RULE,
        metric=Reopenings("Torkham"),
        expected="increase",
        levers=("militants.sanctuary_capacity",),
        kind=MECHANISM_CHECK,
        mechanism="The configured trigger rule closes the gates when attacks pass its threshold; "
        "this checks that more attacks reach it more often.",
    ),
    Fact(
        id="corridor_raises_formal_trade_in_closures",
        statement=(
            "When the main crossings close (October 2025), a 24/7 trade corridor at Torkham and "
            "Chaman raises formal trade."
        ),
        source=Source(
            f"{SEED_000} and {SEED_004}, quoted in section 4 of the fact sheet",
            "Trade corridors should not be closed under any circumstances",
            f"{SEED_004}: 'Facilitating legal cross-border business may boost economic "
            f"relations'. Both are recommendations; the effect is implied. "
            f"{CORRIDOR_IN_NORMAL_TIMES}",
            seeds=("000", "004"),
        ),
        control=OCTOBER_2025,
        treatment=OCTOBER_2025_CORRIDOR,
        metric=SummaryMetric(MetricName.FORMAL_TRADE_USD, "US$"),
        expected="increase",
        levers=("corridor.enabled", "corridor.gates"),
        days=150,
    ),
    Fact(
        id="corridor_cuts_smuggling_in_closures",
        statement=(
            "When the main crossings close (October 2025), a 24/7 trade corridor lowers informal "
            "trade (smuggling)."
        ),
        source=Source(
            f"{SEED_003}, quoted in section 4 of the fact sheet (trade); {SEED_001}, claim 2; "
            "that a corridor cuts smuggling is an inference, not stated in the seeds",
            "regularizing and legitimizing cross-border trade",
            "Seed 003 recommends legitimizing trade; claim 2 (seed 001) ties smuggling to "
            "informal crossings. No seed says that closures raise smuggling or that corridors "
            f"lower it. {CORRIDOR_IN_NORMAL_TIMES}",
            seeds=("003", "001"),
            claims=(2,),
        ),
        control=OCTOBER_2025,
        treatment=OCTOBER_2025_CORRIDOR,
        metric=SummaryMetric(MetricName.INFORMAL_TRADE_USD, "US$"),
        expected="decrease",
        levers=("corridor.enabled", "corridor.gates"),
        days=150,
    ),
    Fact(
        id="screening_limits_corridor_misuse",
        statement="Screening corridor cargo limits militants' use of the corridor to cross.",
        source=Source(
            "Model assumption",
            "",
            "No seed discusses cargo screening. Background: claim 9 (seeds 000, 002 and 004) "
            "expects trade interdependence and corridor access to reduce conflict and militant "
            "exploitation, which militants hiding in corridor cargo would undercut.",
            seeds=("000", "002", "004"),
            claims=(9,),
        ),
        control=CORRIDOR_UNSCREENED,
        treatment=CORRIDOR_SCREENED,
        metric=SummaryMetric(MetricName.CORRIDOR_MILITANT_CROSSINGS, "fighters"),
        expected="decrease",
        levers=("corridor.screening",),
        kind=MECHANISM_CHECK,
        mechanism="Screening catches each militant hiding in corridor cargo with the configured "
        "probability.",
    ),
    Fact(
        id="deportation_raises_formal_returns",
        statement="A deportation drive raises formal returns of Afghans through the gates.",
        source=Source(
            f"{SEED_003} and {SEED_000}, quoted in section 4 of the fact sheet (deportation)",
            "decided to repatriate these refugees… in large numbers",
            "Seed 000 speaks of the 'deportation of Afghan refugees'. Claim 6 (seeds 002 and 003) "
            "is that rising attacks lead to repatriations; this check is only about the lever.",
            seeds=("003", "000", "002"),
            claims=(6,),
        ),
        control=BASELINE_WITH_RULE,
        treatment=DEPORTATION,
        metric=SummaryMetric(MetricName.FORMAL_RETURNS, "people"),
        expected="increase",
        levers=("deportation",),
        kind=MECHANISM_CHECK,
        mechanism="A deportation drive is defined as people sent back through the open gates.",
    ),
    Fact(
        id="deportation_with_closed_gates_raises_irregular_crossings",
        statement=(
            "A deportation drive while the gates are closed raises irregular crossings (deportees "
            "stranded at shut gates take the mountain paths)."
        ),
        source=Source(
            f"Model assumption (background: {SEED_003}, claim 17)",
            "",
            "Claim 17 (seed 003 only; the fact sheet's wording): refugees using illegal "
            "crossings raise the risk of extremist infiltration. Seeds 000 and 003 describe "
            "deportations, and seeds 000 and 002 closures, separately; that deportees stranded "
            "at shut gates take the mountain paths is the model's.",
            seeds=("003", "000", "002"),
            claims=(17,),
        ),
        control=ALL_GATES_SHUT,
        treatment=ALL_GATES_SHUT_DEPORTING,
        metric=SummaryMetric(MetricName.REFUGEE_CROSSINGS_IRREGULAR, "people"),
        expected="increase",
        levers=("deportation.enabled",),
    ),
    Fact(
        id="conflict_raises_irregular_inflows",
        statement="More instability in Afghanistan raises irregular refugee crossings.",
        source=Source(
            f"{SEED_003} and {SEED_004}, claim 10",
            "",
            "Claim 10 (the fact sheet's wording): instability in Afghanistan raises refugee "
            "inflows, drug trafficking and terrorism.",
            seeds=("003", "004"),
            claims=(10,),
        ),
        control=BASELINE,
        treatment=MORE_CONFLICT,
        metric=SummaryMetric(MetricName.REFUGEE_CROSSINGS_IRREGULAR, "people"),
        expected="increase",
        levers=("refugees.conflict_intensity",),
    ),
    # Known failures: kept in the report so that the disagreement stays visible ------------------
    Fact(
        id="funnel_raises_border_deaths",
        statement=(
            "Concentrating patrols on the easy-ground stretches raises deaths at the border "
            "(the funnel effect)."
        ),
        source=Source(
            CORNELIUS,
            "",
            "Finding: migrant deaths rose as crossings were re-channelled to mountains and "
            "deserts.",
        ),
        control=PRE_FENCE,
        treatment=FUNNELLED,
        metric=SummaryMetric(MetricName.BORDER_DEATHS, "deaths"),
        expected="increase",
        levers=("patrols.sector_weights",),
        known_failure=(
            "Crossers do move onto rougher ground (fact funnel_pushes_onto_rugged_ground), but "
            "border deaths are dominated by border communities' short local trips and by lethal "
            "force, which the patrols' placement hardly moves, and the deaths among refugees are "
            "few: +17% with p = 0.085 over 20 replicates before issue 12; +24% with p = 0.008 "
            "after it; -2.3% with p = 0.55 after the 2024 fit of issue 13 (docs/validation/), "
            "which takes the refugees in Pakistan to 1.36 M registered while the border "
            "communities stay 3,270 groups, so it stays a known failure."
        ),
    ),
    Fact(
        id="fence_cuts_legal_commerce",
        statement="A full fence lowers legal (formal) trade.",
        source=Source(
            f"{SEED_000}, claim 3",
            "disrupting neighborhoods, damaging family bonds, and hindering legal commerce",
            seeds=("000",),
            claims=(3,),
        ),
        control=NO_FENCE,
        treatment=FULL_FENCE,
        metric=SummaryMetric(MetricName.FORMAL_TRADE_USD, "US$"),
        expected="decrease",
        levers=("fence.coverage",),
        known_failure=(
            "The model has no path by which the fence hinders trade through the gates. Since "
            "trucks (issue 12), only compact loads (~10% of bilateral loads; bulk coal, cement, "
            "flour, sugar and fruit cannot go by pack train) can choose smuggling, and a full "
            "fence moves some of them to the gates: formal trade US$1.72 bn a year with no fence, "
            "1.82 bn with a full fence (+5%; 20 replicates, no trigger rules; it was "
            "US$273M -> 922M, x3, when every consignment could be smuggled). Local petty trade "
            "across the line, which the seed likely means, is not modelled apart from border "
            "communities' visits."
        ),
    ),
)

FACTS_BY_ID: dict[str, Fact] = {fact.id: fact for fact in FACTS}
EXPECTED_FACTS: tuple[Fact, ...] = tuple(f for f in FACTS if f.known_failure is None)
KNOWN_FAILURES: tuple[Fact, ...] = tuple(f for f in FACTS if f.known_failure is not None)
STYLIZED_FACTS: tuple[Fact, ...] = tuple(f for f in EXPECTED_FACTS if f.kind == STYLIZED_FACT)
MECHANISM_CHECKS: tuple[Fact, ...] = tuple(f for f in EXPECTED_FACTS if f.kind == MECHANISM_CHECK)
