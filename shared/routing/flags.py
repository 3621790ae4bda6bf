"""Feature flags: whether a request takes the hybrid path or the legacy single-provider path.

The Powertools Feature Flags rules engine evaluates one document: in AWS it lives in AppConfig
(deployed by CDK from ``shared/data/feature_flags.json``, changed without a deploy); locally in
a JSON file the local server seeds and rewrites. Either way a change is seen within the cache's
lifetime (``FLAGS_CACHE_S``). ``HYBRID_ORCHESTRATOR_ENABLED=false`` in the environment is a hard
kill switch that no flag document can override.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.feature_flags import FeatureFlags
from aws_lambda_powertools.utilities.feature_flags.base import StoreProvider
from aws_lambda_powertools.utilities.feature_flags.exceptions import ConfigurationStoreError

from shared.core.cache import TtlCache
from shared.core.data import DATA_DIR
from shared.routing.paths import RequestPath

KILL_SWITCH = "hybrid_orchestrator_enabled"
ROLLOUT = "hybrid_rollout"
DEFAULT_FLAGS_FILE = DATA_DIR / "feature_flags.json"


def rollout_bucket(user_id: str) -> int:
    """A stable 0..99 bucket per user: the same user always lands in the same slice of a rollout."""
    return int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big") % 100


class JsonFileStore(StoreProvider):
    """A flag document in a local JSON file, re-read at most every ``max_age`` seconds (an unreadable file
    is read again on the next call)."""

    def __init__(self, path: str | Path, max_age: float = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = Path(path)
        self._cache: TtlCache[Path, dict[str, Any]] = TtlCache(max_age, clock)

    @property
    def get_raw_configuration(self) -> dict[str, Any]:
        """The whole document."""
        return self._cache.get(self._path, self._read)

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self._path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationStoreError(f"cannot read flags from {self._path}: {exc}") from exc

    def get_configuration(self) -> dict[str, Any]:
        """The flags (this store keeps no envelope around them)."""
        return self.get_raw_configuration


class DocumentStore(StoreProvider):
    """A flag document already in memory."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._document = document

    @property
    def get_raw_configuration(self) -> dict[str, Any]:
        """The whole document."""
        return self._document

    def get_configuration(self) -> dict[str, Any]:
        """The flags (this store keeps no envelope around them)."""
        return self._document


@dataclass(frozen=True)
class PathDecision:
    """Which path a request takes, and why (logged and shown to admins)."""

    path: RequestPath
    reason: str


class RolloutGate:
    """Decides hybrid or legacy per user from the kill switches and the rollout rules."""

    def __init__(self, flags: FeatureFlags, enabled_by_environment: bool = True) -> None:
        self._flags = flags
        self._enabled_by_environment = enabled_by_environment

    @staticmethod
    def context_for(user_id: str) -> dict[str, Any]:
        """What the rules can match on."""
        return {"userId": user_id, "rolloutBucket": rollout_bucket(user_id)}

    def decide(self, user_id: str) -> PathDecision:
        """Legacy when any switch is off or the user is outside the rollout; a broken store fails safe to legacy."""
        if not self._enabled_by_environment:
            return PathDecision("legacy", "HYBRID_ORCHESTRATOR_ENABLED is false")
        try:
            return self._evaluate(user_id)
        except ConfigurationStoreError:
            return PathDecision("legacy", "flag store unavailable")

    def probe(self, user_id: str = "health-check") -> PathDecision:
        """The same evaluation, raising when the flag store cannot be read (the health check's question)."""
        return self._evaluate(user_id)

    def _evaluate(self, user_id: str) -> PathDecision:
        context = self.context_for(user_id)
        if not self._flags.evaluate(name=KILL_SWITCH, context=context, default=True):
            return PathDecision("legacy", f"{KILL_SWITCH} is off")
        if self._flags.evaluate(name=ROLLOUT, context=context, default=False):
            return PathDecision("hybrid", "in rollout")
        return PathDecision("legacy", "deny-listed" if self._denied(context) else "outside rollout")

    def _denied(self, context: dict[str, Any]) -> bool:
        """Whether a rule sending users to legacy matched, rather than no rule (the rollout's default).

        The rules engine says only the value, so it evaluates the rollout's ``when_match: false`` rules
        alone, over a default of true: false then means one of them matched.
        """
        spec = self._flags.get_configuration().get(ROLLOUT, {})
        refusing = {name: rule for name, rule in spec.get("rules", {}).items() if rule.get("when_match") is False}
        if not refusing:
            return False
        document = {ROLLOUT: {"default": True, "rules": refusing}}
        return not FeatureFlags(store=DocumentStore(document)).evaluate(name=ROLLOUT, context=context, default=True)

    def describe(self, user_id: str) -> list[dict[str, Any]]:
        """Every flag with its rules and its value for this user (the admin view)."""
        context = self.context_for(user_id)
        document = self._flags.get_configuration()
        return [
            {
                "name": name,
                "default": spec.get("default"),
                "rules": spec.get("rules", {}),
                "value": self._flags.evaluate(name=name, context=context, default=spec.get("default")),
            }
            for name, spec in document.items()
        ]
