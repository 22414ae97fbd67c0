"""Official gates: daily capacity, first-come first-served queues, processing time, fees.

Queued agents carry the gate and their arrival day; each open gate serves, in arrival order, as many
as its capacity allows today. Corridor gates get the corridor's capacity multiplier and fast-track.
"""

from __future__ import annotations

import numpy as np

from borderabm.policies import PolicyState


def capacity_today(policy: PolicyState, per_agent: float, trucks: bool) -> np.ndarray:
    """Agents each gate can serve today (0 when closed), before probabilistic rounding."""
    settings = policy.settings
    capacity = np.zeros(len(policy.gate_names))
    for g, gate in enumerate(policy.gate_names):
        if not policy.gate_open(gate):
            continue
        crossing = settings.crossings[gate]
        base = crossing.capacity_trucks_per_day if trucks else crossing.capacity_people_per_day
        if policy.is_corridor(gate):
            base *= settings.corridor.capacity_multiplier
        capacity[g] = base / per_agent
    return capacity


def processing_hours(policy: PolicyState) -> np.ndarray:
    """Processing time at each gate today (fast-track on corridor gates)."""
    settings = policy.settings
    hours = np.array([settings.crossings[g].processing_hours for g in policy.gate_names])
    for g, gate in enumerate(policy.gate_names):
        if policy.is_corridor(gate):
            hours[g] *= settings.corridor.processing_factor
    return hours


def serve_queues(
    gate: np.ndarray, arrival_day: np.ndarray, capacity: np.ndarray, order_key: np.ndarray
) -> np.ndarray:
    """Which queued agents are served today: first come, first served at each gate.

    Args:
        gate: Gate index of each queued agent.
        arrival_day: Day each joined the queue.
        capacity: Whole agents each gate serves today.
        order_key: Tie-break within a day (e.g. agent id), so the result is deterministic.

    Returns:
        A boolean mask over the queued agents.
    """
    if gate.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((order_key, arrival_day, gate))
    sorted_gate = gate[order]
    starts = np.searchsorted(sorted_gate, sorted_gate, side="left")
    rank = np.arange(gate.size) - starts
    served = np.zeros(gate.size, dtype=bool)
    served[order] = rank < capacity[sorted_gate]
    return served
