"""Validation against stylized facts: directional claims of the sources, tested on paired runs.

* :mod:`~borderabm.validation.facts` — the facts as data: statement, source, control and treatment
  (scenario + overrides), metric and expected direction;
* :mod:`~borderabm.validation.runner` — paired replicates on common seeds through the sweep engines;
* :mod:`~borderabm.validation.stats` — the one-sided Wilcoxon signed-rank test and effect sizes;
* :mod:`~borderabm.validation.report` — the console table and the Markdown/HTML report;
* :mod:`~borderabm.validation.command` — ``borderabm validate-model``.
"""

from borderabm.validation.facts import EXPECTED_FACTS, FACTS, FACTS_BY_ID, KNOWN_FAILURES, Fact
from borderabm.validation.runner import run_validation, select_facts
from borderabm.validation.stats import PairedEffect, paired_effect

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
