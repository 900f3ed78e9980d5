"""The server's settings (built by cli.py from flags and environment)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from .common import (DEFAULT_DPS_HOST, DEFAULT_ID_SCOPE, DEFAULT_IOTHUB_HOST, DEFAULT_MAX_SIZE,
                     DEFAULT_MANAGE_POLICY, DEFAULT_NAMESPACE_HOST, DEFAULT_POLICY)


@dataclass
class Config:
    namespace_host: str = DEFAULT_NAMESPACE_HOST
    policy: str = DEFAULT_POLICY
    eh_keys: list = field(default_factory=list)            # [SigningKey]
    # The namespace's policy with Manage rights (revokedpublishers needs it);
    # its tokens may also send and receive, as Azure's root policy's do.
    manage_policy: str = DEFAULT_MANAGE_POLICY
    manage_keys: list = field(default_factory=list)        # [SigningKey]
    eventhubs: set = field(default_factory=set)            # lower-case names
    queues: set = field(default_factory=set)
    topics: set = field(default_factory=set)
    subscriptions: dict = field(default_factory=dict)      # topic -> [subscription] (lower-case)
    partitions: int = 4
    iothub_host: str = DEFAULT_IOTHUB_HOST
    devices: dict = field(default_factory=dict)            # "dev" or "dev/mod" -> SigningKey
    iothub_policies: dict = field(default_factory=dict)    # name -> SigningKey
    clock_offset: float = 0.0
    max_size: int = DEFAULT_MAX_SIZE
    idle_timeout: float = 240.0
    chunked: bool = False
    chunk_size: int = 64
    retry_after: int = 1
    verbose: bool = False
    # Service Bus receive
    sb_lock_seconds: float = 60.0
    sb_max_delivery: int = 10
    sb_max_wait: float = 60.0           # cap on ?timeout= for .../messages/head
    # IoT Hub cloud-to-device
    c2d_lock_seconds: float = 60.0
    c2d_max_delivery: int = 10
    c2d_max_queued: int = 50
    # Device Provisioning Service
    dps_host: str = DEFAULT_DPS_HOST
    id_scope: str = DEFAULT_ID_SCOPE
    dps_enrollments: dict = field(default_factory=dict)    # registration id -> base64 key text
    dps_groups: dict = field(default_factory=dict)         # group name -> base64 group key text
    dps_disabled: set = field(default_factory=set)         # registration ids / group names
    dps_failed: set = field(default_factory=set)
    dps_never_assign: set = field(default_factory=set)
    dps_polls: int = 1                  # GETs answered "assigning" before the outcome
    dps_retry_after: int = 1

    def now(self) -> float:
        return time.time() + self.clock_offset

    def namespace_keys(self) -> dict:
        """skn -> [SigningKey] for Event Hubs/Service Bus tokens (the send
        policy and the Manage policy; the same name pools its keys)."""
        keys: dict = {}
        if self.eh_keys:
            keys[self.policy] = list(self.eh_keys)
        if self.manage_keys:
            keys.setdefault(self.manage_policy, []).extend(self.manage_keys)
        return keys

    def has_manage(self, skn: Optional[str]) -> bool:
        """Whether a token signed by policy ``skn`` carries Manage rights."""
        return skn == self.manage_policy and (bool(self.manage_keys) or skn == self.policy)

    def entity_service(self, entity: str) -> Optional[str]:
        """'eventhub', 'queue', 'topic' or None (unknown entity)."""
        name = entity.lower()
        if name in self.queues:
            return "queue"
        if name in self.topics:
            return "topic"
        if name in self.eventhubs:
            return "eventhub"
        if not (self.eventhubs or self.queues or self.topics):
            return "eventhub"        # nothing declared: any entity is an event hub
        return None

    def receive_targets(self, entity: str) -> list:
        """The receivable entity paths a message sent to ``entity`` lands in:
        the queue itself, or ``topic/subscriptions/sub`` for each subscription."""
        name = entity.lower()
        kind = self.entity_service(name)
        if kind == "queue":
            return [name]
        if kind == "topic":
            return [f"{name}/subscriptions/{s}" for s in self.subscriptions.get(name, [])]
        return []

    @property
    def iothub_name(self) -> str:
        return self.iothub_host.split(".", 1)[0]
