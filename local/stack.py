"""Everything the handlers need, started in one call; used by ``make run`` and by the tests.

``with LocalStack() as stack:`` gives a real Redis, a moto server holding the synthesized
template's resources, the provider simulator, the handlers' environment computed from the
template (plus the local endpoints), and optionally the local API and the queue pollers. The
same object backs ``make run`` and the pytest fixtures, so they cannot disagree on set-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from local.aws import LOCAL_CREDENTIALS, EmailOutbox, LocalResources, MotoServer, create_resources
from local.console import Console
from local.events import DEFAULT_JWT_SECRET
from local.flags_store import LocalFlagStore
from local.gateway_sim import GatewaySimulator
from local.provider_sim import DEFAULT_KEYS
from local.queue_poller import QueuePoller, event_sources
from local.redis_server import RedisServer, free_port
from local.server import HandlerRegistry, LocalApi
from local.simulators import SimulatorHandle, start_simulator
from local.slack_sim import PREFIX as SLACK_SIM_PREFIX
from local.slack_sim import WEBHOOK_PREFIX as SLACK_WEBHOOK_PREFIX
from local.slack_sim import SlackSimulator
from local.stream_poller import StreamPoller, stream_sources
from local.template import REGION, Resolver, Template, jwt_settings, lambda_environment, template_paths
from shared.core.naming import SECRET_SUFFIXES

Mode = Literal["thread", "process"]
# Set here, never taken from the template: they point the handlers at the local services.
LOCAL_ONLY_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "REDIS_URL",
    "REDIS_CLUSTER_MODE",
    "POWERTOOLS_TRACE_DISABLED",
    "GATEWAY_URL",
    "SLACK_WEBHOOK_LOCAL_BASE",
    "PUBLIC_BASE_URL",
)
REAL_KEY_VARS = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}
# Values (never names) an operator may set in the shell for `make run`, over the template's:
# e.g. `DAILY_COST_THRESHOLD_USD=0.001 make run` to watch an alert e-mail arrive at /_local/emails,
# or `OF_RATE_WINDOW_S=6 make run` to watch the limiter pace sends at /_sim/sent. Tests use
# `LocalStack(settings=...)` or `LocalStack.override_settings(...)` for any setting.
SHELL_OVERRIDABLE_KEYS = (
    "DAILY_COST_THRESHOLD_USD",
    "MONTHLY_COST_THRESHOLD_USD",
    "OF_RATE_LIMIT",
    "HYBRID_ORCHESTRATOR_ENABLED",
    "FLAGS_CACHE_S",
    "OF_RATE_WINDOW_S",
    "OF_RATE_GUARD_MS",
    "OF_LIMITER_UNAVAILABLE_DELAY_S",
    "SEND_RETRY_BACKOFF_S",
    "FAN_GENERATION_CONCURRENCY",
    "FAN_SYNC_MAX_RECIPIENTS",
)


def real_provider_keys(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Providers with a real key configured: those are called for real, not simulated."""
    return {provider: environ[var] for provider, var in REAL_KEY_VARS.items() if environ.get(var)}


class LocalStack:
    """Redis + moto (template resources) + provider simulator [+ API server + queue pollers]."""

    def __init__(
        self,
        api_port: int | None = None,
        with_api: bool = True,
        sim_latency_ms: int = 0,
        *,
        sim_mode: Mode = "thread",
        moto_mode: Mode = "thread",
        templates: Sequence[Path] | None = None,
        redis_url: str | None = None,
        drain_queues: bool | None = None,
        handlers: HandlerRegistry | None = None,
        use_real_providers: bool = False,
        settings: Mapping[str, str] | None = None,
        console: Console | None = None,
        recording_path: str | None = None,
    ) -> None:
        self.api_port = api_port
        self.console = console  # request and batch lines (`make run`); None: quiet, as in tests
        self.with_api = with_api
        self.sim_latency_ms = sim_latency_ms
        self.sim_mode, self.moto_mode = sim_mode, moto_mode
        self._template_paths = templates
        self.drain_queues = with_api if drain_queues is None else drain_queues
        self.redis = RedisServer(url=redis_url or os.environ.get("REDIS_URL") or None)
        self.moto = MotoServer(mode=moto_mode, recording_path=recording_path)  # recording: benchmarks
        self.handlers = handlers or HandlerRegistry()
        # Tests always simulate (never spend tokens); `make run` calls real providers whose key is set.
        self.real_keys = real_provider_keys() if use_real_providers else {}
        self.sim: SimulatorHandle | None = None
        self.gateway: GatewaySimulator | None = None
        self.slack: SlackSimulator | None = None
        # Documented settings (``shared.config.settings`` names, upper case) that win over the template's values.
        self.settings = {key.upper(): str(value) for key, value in (settings or {}).items()}
        self.template = Template()
        self.resources = LocalResources()
        self.outbox: EmailOutbox | None = None
        self.flags = LocalFlagStore()
        self.env: dict[str, str] = {}
        self.api: LocalApi | None = None
        self.pollers: list[QueuePoller] = []
        self.stream_pollers: list[StreamPoller] = []
        self.startup_s = 0.0
        self._saved_env: dict[str, str | None] | None = None

    @property
    def moto_url(self) -> str:
        """The moto server's endpoint."""
        return self.moto.url

    @property
    def api_url(self) -> str | None:
        """Base URL of the local API, once started."""
        return self.api.url if self.api else None

    def start(self) -> LocalStack:
        """Start the services, create the resources and compute the handlers' environment."""
        started = time.perf_counter()
        try:
            self.template = Template.load(self._template_paths or template_paths())
            self.redis.start()
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request log lines
            self.moto.start()
            self.sim = start_simulator(self.sim_mode, self.sim_latency_ms)
            self.gateway = GatewaySimulator().start()
            self.slack = SlackSimulator().start()
            self.resources = create_resources(self.template, self.moto, {**DEFAULT_KEYS, **self.real_keys})
            self._store_gateway_key()
            self.outbox = EmailOutbox(self.moto, self.resources)
            self.env = self._environment()
            if self.with_api:
                self.apply_env()
                self.start_api(self.api_port)
            if self.drain_queues:
                self.apply_env()
                self.start_pollers()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - started
        return self

    def _environment(self) -> dict[str, str]:
        """The template's Lambda environment with the local endpoints laid over it."""
        assert self.sim is not None
        overrides = {
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "REDIS_URL": self.redis.url,
            # The template says "cluster" for the ElastiCache Serverless cache it creates; the local
            # Redis (or REDIS_URL) is whatever it is, so the client asks it.
            "REDIS_CLUSTER_MODE": "auto",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "GATEWAY_URL": self.gateway.url if self.gateway else "",
            "FEATURE_FLAGS_FILE": str(self.flags.path),
            "FLAGS_CACHE_S": "1",
        }
        overrides.update({key: os.environ[key] for key in SHELL_OVERRIDABLE_KEYS if os.environ.get(key)})
        # Simulated providers point at the simulator; real ones keep the caller's endpoint if given
        # (the real key itself is stored in the provider's local secret, as deployed).
        for provider, var, simulated in (
            ("openai", "OPENAI_BASE_URL", f"{self.sim.url}/v1"),
            ("azure", "AZURE_OPENAI_ENDPOINT", self.sim.url),
        ):
            if provider not in self.real_keys:
                overrides[var] = simulated
            elif os.environ.get(var):
                overrides[var] = os.environ[var]
        resolver = Resolver(self.template, self.resources.physical)
        env = lambda_environment(self.template, resolver, skip=overrides.keys())
        env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HybridOrchestrator")
        env.pop("POWERTOOLS_DEV", None)
        return {**env, **overrides, **self.settings}

    def _store_gateway_key(self) -> None:
        """The gateway key secret holds the simulator's key, as ops store the real one when deployed."""
        if self.gateway is None:
            return
        client = self.moto.client("secretsmanager")
        for name in self.resources.secrets:
            if name.endswith(SECRET_SUFFIXES["gateway"]):
                client.put_secret_value(SecretId=name, SecretString=self.gateway.key)

    @contextlib.contextmanager
    def override_settings(self, values: Mapping[str, str]) -> Iterator[None]:
        """Run a block with some settings changed for every handler (``{"OF_RATE_LIMIT": "10"}``).

        The handlers share this process, so the values go into ``os.environ`` and every cached
        collaborator is rebuilt; the previous values come back afterwards.
        """
        changed = {key.upper(): str(value) for key, value in values.items()}
        before = {key: os.environ.get(key) for key in changed}
        saved_env = dict(self.env)
        self.env.update(changed)
        os.environ.update(changed)
        _clear_settings_cache()
        try:
            yield
        finally:
            self.env = saved_env
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _clear_settings_cache()

    def apply_env(self) -> None:
        """Put :attr:`env` into ``os.environ`` (handlers run in this process); undone by stop()."""
        if self._saved_env is None:
            self._saved_env = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        _clear_settings_cache()

    def restore_env(self) -> None:
        """Give ``os.environ`` back its values from before :meth:`apply_env`."""
        saved, self._saved_env = self._saved_env, None
        for key, value in (saved or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _clear_settings_cache()

    def start_api(self, port: int | None = None) -> str:
        """Serve the API on 127.0.0.1:``port`` (a free one when None); return its URL."""
        if self.api is None:
            issuer, audiences = jwt_settings()
            proxies = {"/_sim/": self.sim.url} if self.sim else {}
            if self.gateway is not None:
                proxies.update({"/_sim/sent": self.gateway.url, "/_sim/gateway/": self.gateway.url})
            if self.slack is not None:
                proxies[SLACK_SIM_PREFIX] = self.slack.url
            self.api = LocalApi(
                port or free_port(),
                jwt_secret=os.environ.get("JWT_SECRET") or DEFAULT_JWT_SECRET,
                jwt_issuer=issuer,
                jwt_audiences=audiences,
                registry=self.handlers,
                proxies=proxies,
                local_routes={"/_local/emails": self._emails_route, "/_local/flags": self.flags.route},
                console=self.console,
            ).start()
            self._point_handlers_at_the_api(self.api.url)
        return self.api.url

    def _point_handlers_at_the_api(self, url: str) -> None:
        """What only the API's address tells: the dashboard's base URL (alert links) and the Slack simulator's
        webhook base (the one non-Slack base rules may name, locally)."""
        values = {"PUBLIC_BASE_URL": url, "SLACK_WEBHOOK_LOCAL_BASE": f"{url}{SLACK_WEBHOOK_PREFIX}"}
        values = {key: value for key, value in values.items() if key not in self.settings}
        self.env.update(values)
        if self._saved_env is not None:  # the environment is applied: carry the new keys into it
            for key in values:
                self._saved_env.setdefault(key, os.environ.get(key))
            os.environ.update(values)
            _clear_settings_cache()

    def start_pollers(self) -> list[QueuePoller]:
        """One poller per SQS event source mapping in the template, and one per table stream mapping."""
        if not self.pollers:
            arns = {lid: p.attributes.get("Arn", "") for lid, p in self.resources.physical.items()}
            sqs = self.moto.client("sqs")
            for source in event_sources(self.template, self.resources.queue_arns, arns):
                poller = QueuePoller(sqs, source, self.handlers.get(source.function), console=self.console)
                self.pollers.append(poller.start())
        self.start_stream_pollers()
        return self.pollers

    def start_stream_pollers(self) -> list[StreamPoller]:
        """The table streams drained as the template's DynamoDB mappings would (the cost aggregator)."""
        if not self.stream_pollers:
            physical = self.resources.physical
            streams = {lid: p.attributes["StreamArn"] for lid, p in physical.items() if p.attributes.get("StreamArn")}
            urls = {lid: p.attributes["QueueUrl"] for lid, p in physical.items() if "QueueUrl" in p.attributes}
            client, sqs = self.moto.client("dynamodbstreams"), self.moto.client("sqs")
            for source in stream_sources(self.template, streams, urls):
                poller = StreamPoller(client, sqs, source, self.handlers.get(source.function))
                self.stream_pollers.append(poller.start())
        return self.stream_pollers

    def _emails_route(self, method: str, body: bytes) -> Any:
        assert self.outbox is not None
        if method == "GET":
            return self.outbox.emails()
        if method == "DELETE":
            self.outbox.clear()
            return []
        raise LookupError(f"{method} is not allowed on /_local/emails")

    def emails(self) -> list[dict[str, Any]]:
        """Alert e-mails published so far (what ``GET /_local/emails`` returns)."""
        return self.outbox.emails() if self.outbox else []

    def stop(self) -> None:
        """Stop everything that was started, in reverse order; safe to call twice."""
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        for stream_poller in self.stream_pollers:
            stream_poller.stop()
        self.stream_pollers = []
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.slack is not None:
            self.slack.stop()
            self.slack = None
        self.moto.stop()
        self.redis.close()
        self.flags.close()
        self.restore_env()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _clear_settings_cache() -> None:
    """Settings are parsed once per container; a changed environment needs a fresh parse."""
    try:
        from shared.config.settings import get_settings
    except ImportError:  # pragma: no cover - only before the shared package exists
        return
    cache_clear = getattr(get_settings, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
    from shared.wiring import container

    clear_collaborators = getattr(container, "clear_caches", None)  # built from the old settings
    if clear_collaborators is not None:
        clear_collaborators()
