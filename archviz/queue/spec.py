"""What the admin asked for one queue consumer, as the supervisor reconciles it (pure)."""

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ConsumerSpec:
    """What the admin asked for one queue consumer."""

    kind: ClassVar[str] = "consumer"
    needs_port: ClassVar[bool] = False

    name: str
    work_ms: int = 0

    def runtime_params(self) -> dict[str, int]:
        return {"work_ms": self.work_ms}
