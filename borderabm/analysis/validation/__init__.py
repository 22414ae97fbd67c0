"""Validation against stylized facts: directional claims of the sources, tested on paired runs.

* :mod:`~borderabm.analysis.validation.facts` — the facts as data: statement, source, control and treatment
  (scenario + overrides), metric and expected direction;
* :mod:`~borderabm.analysis.validation.suite` — paired replicates on common seeds through the sweep engines;
* :mod:`~borderabm.analysis.validation.stats` — the one-sided Wilcoxon signed-rank test and effect sizes;
* :mod:`~borderabm.report.validation` — the console table and the Markdown/HTML report;
* :mod:`~borderabm.apps.cli.validate` — ``borderabm validate-model``.
"""

from borderabm.analysis.validation.facts import (
    EXPECTED_FACTS,
    FACTS,
    FACTS_BY_ID,
    KNOWN_FAILURES,
    Fact,
)
from borderabm.analysis.validation.stats import PairedEffect, paired_effect
from borderabm.analysis.validation.suite import run_validation, select_facts

__all__ = [
    "EXPECTED_FACTS",
    "FACTS",
    "FACTS_BY_ID",
    "KNOWN_FAILURES",
    "Fact",
    "PairedEffect",
    "paired_effect",
    "run_validation",
    "select_facts",
]
