"""Park-wide network optimization on linopy and HiGHS: build, solve, write back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from symbiolink.accounting.policy import Policy
from symbiolink.matching import Limits
from symbiolink.model.park import ParkFile
from symbiolink.optimization.model import (
    OBJECTIVES,
    Built,
    Result,
    build_model,
    greedy,
    pareto,
    solve,
)
from symbiolink.optimization.network import (
    Arc,
    Facility,
    Network,
    Node,
    build_network,
    read_facilities,
)


def optimize_park(
    park: ParkFile,
    objective: str = "cost",
    *,
    policy: Policy | None = None,
    limits: Limits | None = None,
    facilities: Sequence[Facility] = (),
    no_outside: Iterable[str] = (),
    gap: float = 1e-3,
    pareto_points: int = 0,
    solver: str = "highs",
) -> Result:
    """The best exchange network of ``park`` for ``objective`` (a library call on a park in memory)."""
    net = build_network(park, policy=policy, limits=limits, facilities=facilities)
    built = build_model(net, policy=policy, no_outside=frozenset(no_outside))
    result = solve(built, objective, gap=gap, solver=solver)
    if pareto_points:
        result.pareto = pareto(built, pareto_points, gap=gap, solver=solver)
    return result


__all__ = [
    "OBJECTIVES", "Arc", "Built", "Facility", "Network", "Node", "Result", "build_model",
    "build_network", "greedy", "optimize_park", "pareto", "read_facilities", "solve",
]  # fmt: skip
