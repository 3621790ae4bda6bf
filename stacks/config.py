"""The stack's configuration, parsed once from CDK context so a bad value fails the synth, not the deploy."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.core.naming import resource_name
from stacks import constants as c
from stacks.route_table import ROUTES

_NAME_PART = re.compile(r"^[a-z0-9-]{1,24}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _aws_id(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}-(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})$")


@dataclass(frozen=True)
class RouteThrottle:
    """One route's own throttle on the default stage: steady requests per second and burst."""

    route_key: str  # "GET /api/docs"
    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class StackConfig:
    """What varies between deployments: identity, auth, alerting and optional endpoints."""

    stage: str
    resource_prefix: str
    jwt_issuer: str
    jwt_audience: tuple[str, ...]
    alert_emails: tuple[str, ...] = field(default_factory=tuple)
    daily_cost_threshold_usd: Decimal = Decimal("50")
    monthly_cost_threshold_usd: Decimal = Decimal("1000")
    azure_openai_endpoint: str = ""
    redis_url: str = ""
    redis_cluster_mode: str = "auto"  # of an imported Redis; the created cache is always cluster mode
    # An existing Redis inside an existing VPC (see stacks/network.py); empty: none, or created.
    vpc_id: str = ""
    vpc_subnet_ids: tuple[str, ...] = field(default_factory=tuple)
    vpc_availability_zones: tuple[str, ...] = field(default_factory=tuple)
    vpc_route_table_ids: tuple[str, ...] = field(default_factory=tuple)  # of those subnets: the DynamoDB endpoint
    redis_security_group_id: str = ""
    create_vpc_endpoints: bool = True
    sending_gateway_url: str = ""
    public_base_url: str = ""
    route_throttles: tuple[RouteThrottle, ...] = field(default_factory=lambda: _route_throttles(None))
    campaign_reserved_concurrency: int | None = c.DEFAULT_CAMPAIGN_RESERVED_CONCURRENCY

    def __post_init__(self) -> None:
        for label, value in (("stage", self.stage), ("resourcePrefix", self.resource_prefix)):
            if not _NAME_PART.match(value):
                raise ValueError(f"context {label}={value!r} must match {_NAME_PART.pattern}")
        if not self.jwt_issuer.startswith("https://"):
            raise ValueError(f"context jwtIssuer={self.jwt_issuer!r} must be an https:// URL")
        if not self.jwt_audience:
            raise ValueError("context jwtAudience must name at least one audience")
        for email in self.alert_emails:
            if not _EMAIL.match(email):
                raise ValueError(f"context alertEmails has an invalid address: {email!r}")
        if self.daily_cost_threshold_usd <= 0 or self.monthly_cost_threshold_usd <= 0:
            raise ValueError("cost thresholds must be positive")
        if self.campaign_reserved_concurrency is not None and self.campaign_reserved_concurrency < 1:
            raise ValueError(
                f"context {c.CTX_CAMPAIGN_RESERVED_CONCURRENCY}={self.campaign_reserved_concurrency!r} must be a "
                'positive integer, or "none" for no reservation'
            )
        if self.redis_cluster_mode not in c.REDIS_CLUSTER_MODES:
            raise ValueError(
                f"context redisClusterMode={self.redis_cluster_mode!r} must be one of {c.REDIS_CLUSTER_MODES}"
            )
        self._check_network()

    def _check_network(self) -> None:
        """An imported VPC needs the Redis URL, subnets in the AZs given, and the cache's security group."""
        if not self.vpc_id:
            return
        if not (self.redis_url and self.redis_security_group_id and self.vpc_subnet_ids):
            raise ValueError("context vpcId needs redisUrl, redisSecurityGroupId and vpcSubnetIds")
        for label, ids, pattern in (
            ("vpcId", (self.vpc_id,), _aws_id("vpc")),
            ("vpcSubnetIds", self.vpc_subnet_ids, _aws_id("subnet")),
            ("vpcRouteTableIds", self.vpc_route_table_ids, _aws_id("rtb")),
            ("redisSecurityGroupId", (self.redis_security_group_id,), _aws_id("sg")),
        ):
            bad = [value for value in ids if not pattern.match(value)]
            if bad:
                raise ValueError(f"context {label} has malformed ids: {', '.join(bad)}")
        zones = len(self.vpc_availability_zones)
        if not zones or len(self.vpc_subnet_ids) % zones:
            raise ValueError("context vpcSubnetIds must give the same number of subnets in each vpcAvailabilityZones")
        if self.create_vpc_endpoints and len(self.vpc_route_table_ids) != len(self.vpc_subnet_ids):
            raise ValueError("context vpcRouteTableIds: one per subnet in vpcSubnetIds (or createVpcEndpoints=false)")

    @property
    def reserved_concurrency(self) -> dict[str, int]:
        """Reserved concurrency by function name (functions not named here reserve none)."""
        return {} if self.campaign_reserved_concurrency is None else {"campaign": self.campaign_reserved_concurrency}

    @property
    def stack_name(self) -> str:
        """CloudFormation stack name, e.g. ``hybrid-orch-dev``."""
        return f"{self.resource_prefix}-{self.stage}"

    @property
    def retain_data(self) -> bool:
        """Whether stateful resources outlive the stack (every stage but the throw-away ones)."""
        return self.stage not in c.EPHEMERAL_STAGES

    def name(self, suffix: str) -> str:
        """Physical name of a resource, the same way the runtime settings derive it."""
        return resource_name(self.resource_prefix, self.stage, suffix)

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> StackConfig:
        """Build the configuration from CDK context values (strings when given with ``-c``)."""
        missing = [
            key for key in (c.CTX_STAGE, c.CTX_PREFIX, c.CTX_JWT_ISSUER, c.CTX_JWT_AUDIENCE) if not context.get(key)
        ]
        if missing:
            raise ValueError(f"missing CDK context: {', '.join(missing)}")
        return cls(
            stage=str(context[c.CTX_STAGE]),
            resource_prefix=str(context[c.CTX_PREFIX]),
            jwt_issuer=str(context[c.CTX_JWT_ISSUER]),
            jwt_audience=_as_tuple(context[c.CTX_JWT_AUDIENCE]),
            alert_emails=_as_tuple(context.get(c.CTX_ALERT_EMAILS) or ()),
            daily_cost_threshold_usd=_as_decimal(context.get(c.CTX_DAILY_THRESHOLD, "50"), c.CTX_DAILY_THRESHOLD),
            monthly_cost_threshold_usd=_as_decimal(
                context.get(c.CTX_MONTHLY_THRESHOLD, "1000"), c.CTX_MONTHLY_THRESHOLD
            ),
            azure_openai_endpoint=str(context.get(c.CTX_AZURE_ENDPOINT) or ""),
            redis_url=str(context.get(c.CTX_REDIS_URL) or ""),
            redis_cluster_mode=str(context.get(c.CTX_REDIS_CLUSTER_MODE) or "auto"),
            vpc_id=str(context.get(c.CTX_VPC_ID) or ""),
            vpc_subnet_ids=_as_tuple(context.get(c.CTX_VPC_SUBNET_IDS) or ()),
            vpc_availability_zones=_as_tuple(context.get(c.CTX_VPC_AZS) or ()),
            vpc_route_table_ids=_as_tuple(context.get(c.CTX_VPC_ROUTE_TABLE_IDS) or ()),
            redis_security_group_id=str(context.get(c.CTX_REDIS_SECURITY_GROUP) or ""),
            create_vpc_endpoints=str(context.get(c.CTX_CREATE_VPC_ENDPOINTS, True)).lower() not in ("false", "0", "no"),
            sending_gateway_url=str(context.get(c.CTX_GATEWAY_URL) or ""),
            public_base_url=str(context.get(c.CTX_PUBLIC_BASE_URL) or ""),
            route_throttles=_route_throttles(context.get(c.CTX_ROUTE_THROTTLES)),
            campaign_reserved_concurrency=_reserved_concurrency(context.get(c.CTX_CAMPAIGN_RESERVED_CONCURRENCY)),
        )


def _as_tuple(value: Any) -> tuple[str, ...]:
    """Accept a JSON list or a comma-separated string (what ``cdk -c key=a,b`` gives)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(item) for item in value)


def _as_decimal(value: Any, key: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"context {key}={value!r} is not a number") from exc


def _route_throttles(value: Any) -> tuple[RouteThrottle, ...]:
    """The defaults, overridden per route key by ``{"<METHOD> <path>": {"rateLimit", "burstLimit"} | null}``
    (a JSON object, or its text with ``-c``); null drops a route's own throttle (it keeps the stage's).

    A key must be a route of the route table: API Gateway refuses a stage naming an unknown route key,
    and a typo would otherwise leave the route unthrottled without a word.
    """
    key = c.CTX_ROUTE_THROTTLES
    overrides = json.loads(value) if isinstance(value, str) and value.strip() else value or {}
    if not isinstance(overrides, Mapping):
        raise ValueError(f"context {key} must map route keys to {{rateLimit, burstLimit}}")
    known = {route.key for route in ROUTES}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"context {key} names routes that do not exist: {', '.join(unknown)}")
    merged: dict[str, Any] = {
        route_key: {"rateLimit": rate, "burstLimit": burst}
        for route_key, (rate, burst) in c.DEFAULT_ROUTE_THROTTLES.items()
    }
    merged.update(overrides)
    throttles = []
    for route_key, limits in merged.items():
        if limits is None:
            continue
        try:
            rate, burst = float(limits["rateLimit"]), limits["burstLimit"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"context {key}[{route_key!r}] needs a numeric rateLimit and burstLimit") from exc
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0 or rate < 0:
            raise ValueError(f"context {key}[{route_key!r}]: rateLimit >= 0 and an integer burstLimit >= 0")
        throttles.append(RouteThrottle(route_key, rate, burst))
    return tuple(sorted(throttles, key=lambda throttle: throttle.route_key))


def _reserved_concurrency(value: Any) -> int | None:
    """An integer (given or the default), or None for "none"."""
    if value is None or value == "":
        return c.DEFAULT_CAMPAIGN_RESERVED_CONCURRENCY
    if str(value).strip().lower() == "none":
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise ValueError(f"context {c.CTX_CAMPAIGN_RESERVED_CONCURRENCY}={value!r} is not an integer") from exc
