"""Seeded fault injection, the same for every route: every request draws
exactly six numbers, so a given sequence of requests on one connection always
meets the same faults."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

@dataclass(frozen=True)
class FaultDecision:
    drop_request: bool = False
    fail_503: bool = False
    fail_429: bool = False
    slow: float = 0.0
    drop_response: bool = False
    cut_fraction: float = 0.0


class Faults:
    """Seeded fault injection; every request draws exactly six numbers."""

    def __init__(self, *, seed: int, drop_request: float, fail_503: float, fail_429: float,
                 slow: float, slow_p: float, drop_response: float):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.p = dict(drop_request=drop_request, fail_503=fail_503, fail_429=fail_429,
                      slow=slow, slow_p=slow_p, drop_response=drop_response)

    def draw(self) -> FaultDecision:
        with self._lock:
            r = [self._rng.random() for _ in range(6)]
        p = self.p
        return FaultDecision(
            drop_request=r[0] < p["drop_request"],
            fail_503=r[1] < p["fail_503"],
            fail_429=r[2] < p["fail_429"],
            slow=p["slow"] if (p["slow"] > 0 and r[3] < p["slow_p"]) else 0.0,
            drop_response=r[4] < p["drop_response"],
            cut_fraction=r[5],
        )

