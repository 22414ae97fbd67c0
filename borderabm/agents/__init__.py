"""The agent kinds: each a population stored as numpy arrays, with its rules as array expressions."""

from borderabm.agents import militants, patrols, refugees, traders

STATES_BY_KIND = {
    "militant": militants.STATES,
    "trader": traders.STATES,
    "refugee": refugees.STATES,
    "patrol": patrols.STATES,
}
