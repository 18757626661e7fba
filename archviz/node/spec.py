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

    def runtime_params(self) -> dict[str, int]:
        """The parameters a running node applies live, without a restart."""
        return {
            "weight": self.weight,
            "capacity": self.capacity,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
        }
