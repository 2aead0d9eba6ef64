"""The multi-replica topology on one machine: what `make cluster` runs.

PostgreSQL (orders and conversations), Redis (locks, socket.io routing),
RabbitMQ (event stream), the action server, N Rasa replicas, nginx in front of
them and Prometheus scraping them, each a private instance under ``state``. The
replicas read the same ``cluster/endpoints.yml`` as the container deployments
(deploy/), with the same environment variable names; Prometheus reads
deploy/prometheus/ with the cluster's ports as its targets.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from cluster.services import (
    Service,
    create_database,
    free_port,
    listening_socket,
    nginx,
    postgres,
    prometheus,
    rabbitmq,
    rasa_environment,
    redis,
)
from learning.versions import LIVE_FILE, ModelStore
from scripts.credentials import render
from settings import rasa_server

REPO_ROOT = Path(__file__).resolve().parents[1]
RASA = Path(sys.executable).with_name("rasa")
DATABASE_NAME = "assistant"
EVENT_QUEUE = "rasa_events"
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"


@dataclass
class ClusterSettings:
    """What differs between `make cluster`, the tests and the load test."""

    state: Path
    model: Path
    replicas: int = 2
    # Sanic worker processes per replica (Rasa's SANIC_WORKERS): one Python process
    # uses one core, so a replica uses more cores only through workers. Each worker
    # holds its own socket.io sessions: with more than one, socket.io clients must
    # use the websocket transport (the widget can), not long-polling.
    workers: int = 1
    port: int = 8000
    rate_per_client: int = 20
    burst_per_client: int = 40
    rate_per_conversation: int = 2
    connections_per_client: int = 100
    # How long a crashed replica's lock on a conversation can hold it up (Rasa's
    # default is 60 s); it must exceed the longest message handling.
    lock_lifetime_s: int = 20
    # Rasa's HTTP API is on only with a token (RASA_API_TOKEN for `make cluster`);
    # nginx never passes it to the public either way.
    api_token: str | None = field(default_factory=rasa_server.RASA_API_TOKEN.read)
    # How often Prometheus reads each server's /metrics (deploy/prometheus/ says
    # 15 s; the tests want figures sooner).
    scrape_interval_s: int = 15
    # The model store (learning/versions.py) whose live.tar.gz nginx serves and
    # every replica pulls, checking for a new one this often: a promoted model or
    # a rollback is live everywhere within the interval and a load, no restart.
    models_dir: Path = REPO_ROOT / "models"
    model_pull_s: int = 10
    extra_env: dict[str, str] = field(default_factory=dict)


def _same_file(copy: Path, original: Path) -> bool:
    """Whether ``copy`` is a copy of ``original`` made after its last change."""
    if not copy.is_file():
        return False
    ours, theirs = copy.stat(), original.stat()
    return ours.st_size == theirs.st_size and ours.st_mtime >= theirs.st_mtime


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


class Cluster:
    """Start, inspect, break and stop the whole topology."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.state = settings.state.resolve()
        self.api_token = settings.api_token
        ports = {name: free_port() for name in ("postgres", "redis", "rabbitmq")}
        self.postgres = postgres(self.state, ports["postgres"])
        self.redis = redis(self.state, ports["redis"])
        self.rabbitmq = rabbitmq(self.state, ports["rabbitmq"])
        self.ports = ports
        self.actions_port = free_port()
        self.actions_proxy_port = free_port()
        self.replica_ports = [free_port() for _ in range(settings.replicas)]
        self.prometheus_port = free_port()
        self.models_port = free_port()
        self.database_url = ""
        self.actions: Service | None = None
        self.alerts: Service | None = None
        self.replicas: list[Service] = []
        self.nginx: Service | None = None
        self.prometheus: Service | None = None
        # The public and action-proxy ports, held here for nginx to inherit: they
        # stay open while nginx restarts (see cluster.services.nginx).
        self._listeners: list[socket.socket] = []

    @property
    def url(self) -> str:
        """The public address: nginx."""
        return f"http://127.0.0.1:{self.settings.port}"

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.replica_ports[index]}"

    @property
    def model_url(self) -> str:
        """Where the replicas pull the live model from (nginx)."""
        return f"http://127.0.0.1:{self.models_port}/models/{LIVE_FILE}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports['redis']}/0"

    def endpoints(self) -> dict[str, object]:
        """Where each part listens (for `python -m cluster status` and tests)."""
        return {
            "url": self.url,
            "replicas": [self.replica_url(i) for i in range(self.settings.replicas)],
            "actions": f"http://127.0.0.1:{self.actions_port}",
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "rabbitmq_port": self.ports["rabbitmq"],
            "event_queue": EVENT_QUEUE,
            "prometheus": self.prometheus_url,
            "model_server": self.model_url,
        }

    def environment(self) -> dict[str, str]:
        """The variables every process of the topology reads (see deploy/)."""
        return rasa_environment(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            RABBITMQ_HOST="127.0.0.1",
            RABBITMQ_PORT=str(self.ports["rabbitmq"]),
            RABBITMQ_USERNAME="guest",
            RABBITMQ_PASSWORD="guest",
            RABBITMQ_QUEUE=EVENT_QUEUE,
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.actions_proxy_port}/webhook",
            RASA_API_TOKEN=self.api_token or "",
            TICKET_LOCK_LIFETIME=str(self.settings.lock_lifetime_s),
            **self.settings.extra_env,
        )

    def start(self) -> None:
        """Start everything, in dependency order; raise with a log if a part fails."""
        with ThreadPoolExecutor() as pool:
            for future in [
                pool.submit(service.start)
                for service in (self.postgres, self.redis, self.rabbitmq)
            ]:
                future.result()
        self.database_url = create_database(self.ports["postgres"], DATABASE_NAME)
        env = self.environment()
        self._run([sys.executable, "-m", "actions.db", "init"], env)
        credentials = self.state / "credentials.yml"
        render(REPO_ROOT / "credentials.yml", credentials, env)
        self._serve_a_live_model()
        self.actions = Service(
            "actions",
            [str(RASA), "run", "actions", "--port", str(self.actions_port)],
            self.state / "log" / "actions.log",
            lambda: _ok(f"http://127.0.0.1:{self.actions_port}/health"),
            env=env,
            cwd=REPO_ROOT,
        )
        # Surge alerts (analytics/alerts.py): a loop with no port; idempotent,
        # so a restart (or a second watcher) never raises an alert twice.
        self.alerts = Service(
            "alerts",
            [sys.executable, "-m", "analytics", "watch", "--every", "300"],
            self.state / "log" / "alerts.log",
            lambda: True,
            env=env,
            cwd=REPO_ROOT,
        )
        self.replicas = [
            self._replica(index, env, credentials)
            for index in range(self.settings.replicas)
        ]
        # nginx first: the replicas reach the action server through it.
        self._listeners = [
            listening_socket(port)
            for port in (self.settings.port, self.actions_proxy_port)
        ]
        self.nginx = nginx(
            self.state, self.nginx_config(), self.settings.port, self._listeners
        )
        self.nginx.start()
        self.prometheus = prometheus(
            self.state,
            self.prometheus_config(),
            PROMETHEUS_DIR / "alerts.yml",
            self.prometheus_port,
        )
        with ThreadPoolExecutor() as pool:
            for future in [
                pool.submit(service.start)
                for service in (self.actions, self.alerts, *self.replicas)
            ] + [pool.submit(self.prometheus.start)]:
                future.result()

    def _replica(self, index: int, env: dict[str, str], credentials: Path) -> Service:
        port = self.replica_ports[index]
        command = [
            *(str(RASA), "run", "--model", str(self.settings.model.resolve())),
            *("--endpoints", str(self.endpoints_file())),
            *("--credentials", str(credentials)),
            *("--interface", "127.0.0.1", "--port", str(port)),
        ]
        if self.api_token:
            command += ["--enable-api", f"--auth-token={self.api_token}"]
        return Service(
            f"rasa-{index}",
            command,
            self.state / "log" / f"rasa-{index}.log",
            lambda: _ok(f"http://127.0.0.1:{port}/webhooks/rest/"),
            env={**env, "SANIC_WORKERS": str(self.settings.workers)},
            cwd=REPO_ROOT,
        )

    def _serve_a_live_model(self) -> None:
        """Until `make retrain` manages the store (a live version in its
        manifest), the replicas serve the model the cluster was given."""
        store = ModelStore(self.settings.models_dir.resolve())
        model = self.settings.model.resolve()
        if store.live() is None and not _same_file(store.live_path, model):
            store.add_live_copy(model)

    def endpoints_file(self) -> Path:
        """cluster/endpoints.yml and the model server to pull models from (kept
        as text: Rasa expands ${VARIABLES} only in unquoted values)."""
        path = self.state / "endpoints.yml"
        path.write_text(
            (REPO_ROOT / "cluster" / "endpoints.yml").read_text()
            + "\n# The live model (learning/versions.py), pulled with its ETag.\n"
            + f"models:\n  url: {self.model_url}\n"
            + f"  wait_time_between_pulls: {self.settings.model_pull_s}\n"
        )
        return path

    def nginx_config(self) -> str:
        settings = self.settings
        user = getpass.getuser()
        fields = {
            "STATE": str(self.state),
            "USER": f"user {user};" if os.geteuid() == 0 else "",
            "PORT": str(settings.port),
            "ACTIONS_PORT": str(self.actions_proxy_port),
            "MODELS_PORT": str(self.models_port),
            "MODELS_DIR": str(self.settings.models_dir.resolve()),
            "ACTION_UPSTREAMS": f"    server 127.0.0.1:{self.actions_port};",
            "RATE_PER_CLIENT": str(settings.rate_per_client),
            "BURST_PER_CLIENT": str(settings.burst_per_client),
            "RATE_PER_CONVERSATION": str(settings.rate_per_conversation),
            "CONNECTIONS_PER_CLIENT": str(settings.connections_per_client),
            "UPSTREAMS": "\n".join(
                f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
                for port in self.replica_ports
            ),
        }
        config = (REPO_ROOT / "cluster" / "nginx.conf").read_text()
        for name, value in fields.items():
            config = config.replace(f"@{name}@", value)
        return config

    def prometheus_config(self) -> str:
        """deploy/prometheus/prometheus.yml with this cluster's servers as targets
        (instead of the compose services' DNS names) and its scrape interval."""
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        interval = f"{self.settings.scrape_interval_s}s"
        config["global"].update(scrape_interval=interval, evaluation_interval=interval)
        targets = {
            "rasa": [f"127.0.0.1:{port}" for port in self.replica_ports],
            "actions": [f"127.0.0.1:{self.actions_port}"],
        }
        for job in config["scrape_configs"]:
            del job["dns_sd_configs"]
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
        return yaml.safe_dump(config, sort_keys=False)

    @staticmethod
    def _run(command: list[str], env: dict[str, str]) -> None:
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}:\n{result.stderr[-3000:]}")

    def services(self) -> list[Service]:
        """Every part, front to back (the order to stop them in)."""
        parts = [self.prometheus, self.nginx, *self.replicas, self.actions, self.alerts]
        parts += [self.rabbitmq, self.redis, self.postgres]
        return [part for part in parts if part is not None]

    def stop(self) -> None:
        for service in self.services():
            service.stop()
        for listener in self._listeners:
            listener.close()
        self._listeners = []
