"""What the admin asked for one worker node, as the supervisor reconciles it (pure)."""

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class NodeSpec:
    """What the admin asked for one node."""

    kind: ClassVar[str] = "node"
    needs_port: ClassVar[bool] = True

    name: str
    weight: int = 1
    capacity: int = 10
    latency_ms: int = 0
    jitter_ms: int = 0
    ws_limit: int = 500
    reject_above: int = 80  # % pressure
    shed_above: int = 95  # % pressure
    admission: str = "fixed"
    shed_policy: str = "priority"

    def runtime_params(self) -> dict[str, int | str]:
        """The parameters a running node applies live, without a restart."""
        return {
            "weight": self.weight,
            "capacity": self.capacity,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "ws_limit": self.ws_limit,
            "reject_above": self.reject_above,
            "shed_above": self.shed_above,
            "admission": self.admission,
            "shed_policy": self.shed_policy,
        }
