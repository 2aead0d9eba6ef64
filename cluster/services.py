"""Private instances of the engines the cluster runs on, as foreground processes.

Each service (PostgreSQL, Redis, RabbitMQ, nginx, a Rasa replica, the action
server) runs from Debian's package in its own process group, with its data and
log under the cluster's state directory, on its own port: nothing touches the
machine's system-wide instances. ``start`` returns once the service answers;
``stop`` asks it to shut down, ``kill`` is ``kill -9`` (for fault tests).
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from settings import for_another_server, offline_environment

DEBIAN_PACKAGES = {
    "postgres": "postgresql",
    "redis-server": "redis-server",
    "rabbitmq-server": "rabbitmq-server",
    "nginx": "nginx",
    "prometheus": "prometheus",
}
POSTGRES_USER = "postgres"
REPO_ROOT = Path(__file__).resolve().parents[1]
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


def rasa_environment(**extra: str) -> dict[str, str]:
    """Environment for Rasa and action-server processes: nothing downloaded or
    reported (no model hub, no telemetry), the project importable."""
    return for_another_server(
        {
            **os.environ,
            **offline_environment(),
            "PYTHONPATH": str(REPO_ROOT),
            **extra,
        }
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def http_answers(port: int) -> bool:
    """Something on ``port`` answers HTTP (an open port alone may be a socket
    that waits for its server, see ``nginx``)."""
    with socket.socket() as probe:
        probe.settimeout(1)
        try:
            probe.connect(("127.0.0.1", port))
            probe.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return probe.recv(5) == b"HTTP/"
        except OSError:
            return False


def _end_group(group: int, first_signal: int, grace_s: float) -> None:
    """``first_signal`` to process group ``group``, ``kill -9`` after ``grace_s``."""
    if first_signal != signal.SIGKILL:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, first_signal)
        if _group_gone(group, grace_s):
            return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    _group_gone(group, 5)


def _group_gone(group: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for process group ``group`` to have no member."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _postgres_bin() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parents[1].name.split(".")[0]),
    )
    return found[-1].parent if found else None


def _installed(program: str) -> bool:
    if program == "postgres":
        return _postgres_bin() is not None
    if program == "rabbitmq-server":
        return (RABBITMQ_BIN / "rabbitmq-server").exists()
    return shutil.which(program) is not None or Path("/usr/sbin", program).exists()


def ensure_installed(*programs: str) -> None:
    """Install the Debian packages of any missing program, in one apt-get call."""
    missing = [DEBIAN_PACKAGES[name] for name in programs if not _installed(name)]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        # Another apt-get (maybe installing the same package) is waited for.
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq",
         "--no-install-recommends", *missing],
    ):  # fmt: skip
        subprocess.run([*sudo, *command], check=True, env=env, capture_output=True)


class ServiceError(RuntimeError):
    """A service did not start; the message ends with its log."""


@dataclass
class Service:
    """A server process in its own process group, with a readiness check."""

    name: str
    command: list[str]
    log: Path
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None

    # File descriptors the process inherits (nginx's listening sockets).
    pass_fds: tuple[int, ...] = ()
    # How the leftovers of a dead leader are ended (see kill_leftovers).
    leftover_signal: int = signal.SIGKILL
    leftover_grace_s: float = 0
    # Whether the next instance may start while those leftovers finish: nginx's
    # old workers and a new master can serve the inherited sockets side by side,
    # as in nginx's binary upgrade. A request an old worker still has in flight
    # may need the new one (a Rasa replica reaches the action server through
    # nginx), so waiting for the old ones first would deadlock until the grace.
    overlap_leftovers: bool = False

    def start(self, timeout_s: float = 300) -> None:
        self.launch()
        self.wait_ready(timeout_s)

    def launch(self) -> None:
        """Start the process and return at once; ``wait_ready`` waits for it."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                pass_fds=self.pass_fds,
            )

    def wait_ready(
        self, timeout_s: float, cancelled: Callable[[], bool] = lambda: False
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if not self.running:
                raise ServiceError(f"{self.name} exited:\n{self.log_tail()}")
            if cancelled():
                raise ServiceError(f"{self.name}: start cancelled")
            if time.monotonic() > deadline:
                raise ServiceError(f"{self.name} not ready:\n{self.log_tail()}")
            time.sleep(0.3)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running else None

    def stop(self, timeout_s: float = 30) -> None:
        if not self.running:
            self.kill_leftovers()
            return
        assert self.process is not None
        os.killpg(self.process.pid, self.stop_signal)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self.kill_leftovers()

    def kill(self) -> None:
        """``kill -9`` the whole process group: a crash, not a shutdown."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def kill_leftovers(self, before_restart: bool = False) -> None:
        """End what is left of the process group once its leader is gone.

        A leader that died alone leaves its children behind: PostgreSQL backends
        holding the shared memory a new postmaster needs, nginx workers still
        accepting on the listening socket, Erlang helpers. Like systemd's
        ``KillMode=control-group``, nothing of the old instance outlives it.
        They get ``leftover_signal`` first (nginx's workers: finish the requests
        in flight), then ``kill -9`` after ``leftover_grace_s``. Before a restart
        of a service with ``overlap_leftovers`` this returns once they are told,
        and a thread ends them while the new instance starts.
        """
        if self.process is None or self.running:
            return
        end = functools.partial(
            _end_group, self.process.pid, self.leftover_signal, self.leftover_grace_s
        )
        if before_restart and self.overlap_leftovers:
            threading.Thread(target=end, name=f"{self.name} leftovers").start()
        else:
            end()

    def restart(self, timeout_s: float = 300) -> None:
        self.stop()
        self.start(timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _as_postgres_user(path: Path) -> list[str]:
    """PostgreSQL refuses to run as root: hand ``path`` to the package's account."""
    if os.geteuid() != 0:
        return []
    account = pwd.getpwnam(POSTGRES_USER)
    for entry in [path, *path.rglob("*")]:
        os.chown(entry, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", POSTGRES_USER, "--"]


@dataclass
class PostgresService(Service):
    """PostgreSQL; the data directory is created (``initdb``) on first start."""

    bin_dir: Path = Path()
    data: Path = Path()

    def launch(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [*_as_postgres_user(self.data), str(self.bin_dir / "initdb"),
                 "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust",
                 "--encoding=UTF8", "--no-sync"],
                check=True, capture_output=True,
            )  # fmt: skip
        _as_postgres_user(self.data)
        super().launch()


def postgres(state: Path, port: int) -> Service:
    """PostgreSQL with trust auth on localhost, run as the package's account."""
    ensure_installed("postgres")
    bin_dir = _postgres_bin()
    assert bin_dir is not None
    data = state / "postgres"
    run_as = ["runuser", "-u", POSTGRES_USER, "--"] if os.geteuid() == 0 else []

    def ready() -> bool:
        check = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
        return subprocess.run(check, capture_output=True).returncode == 0

    return PostgresService(
        "postgres",
        [*run_as, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
         "-h", "127.0.0.1", "-k", str(data), "-c", "fsync=off"],
        state / "log" / "postgres.log",
        ready,
        stop_signal=signal.SIGINT,  # "fast" shutdown: roll back open transactions
        bin_dir=bin_dir,
        data=data,
    )  # fmt: skip


def create_database(port: int, name: str) -> str:
    """Create database ``name`` if missing; its SQLAlchemy URL."""
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1", port=port, user=POSTGRES_USER, dbname="postgres"
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"postgresql+psycopg2://{POSTGRES_USER}@127.0.0.1:{port}/{name}"


def redis(state: Path, port: int) -> Service:
    """Redis without persistence: locks and socket.io routing only."""
    ensure_installed("redis-server")
    data = state / "redis"
    data.mkdir(parents=True, exist_ok=True)

    def ready() -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            try:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    return False
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    return Service(
        "redis",
        [shutil.which("redis-server") or "/usr/bin/redis-server",
         "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(data)],
        state / "log" / "redis.log",
        ready,
    )  # fmt: skip


def rabbitmq(state: Path, port: int) -> Service:
    """A RabbitMQ node of its own (name, Erlang ports, cookie, data)."""
    ensure_installed("rabbitmq-server")
    home = state / "rabbitmq"
    home.mkdir(parents=True, exist_ok=True)
    (home / "enabled_plugins").write_text("[].\n")
    node = f"cluster{port}@localhost"
    epmd_port = free_port()
    env = {
        **os.environ,
        "HOME": str(home),  # the Erlang cookie lives here
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
    }
    return RabbitMQService(
        "rabbitmq",
        [str(RABBITMQ_BIN / "rabbitmq-server")],
        state / "log" / "rabbitmq.log",
        lambda: port_open(port),
        env=env,
        cwd=home,
        epmd_port=epmd_port,
    )


@dataclass
class RabbitMQService(Service):
    """RabbitMQ also starts an Erlang port mapper daemon, which outlives it."""

    epmd_port: int = 0

    def stop(self, timeout_s: float = 30) -> None:
        super().stop(timeout_s)
        subprocess.run(
            ["epmd", "-port", str(self.epmd_port), "-kill"],
            capture_output=True,
            env=self.env,
        )


def listening_socket(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:``port`` for nginx to inherit."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4096)
    listener.set_inheritable(True)
    return listener


def nginx(
    state: Path, config: str, port: int, sockets: list[socket.socket] = ()
) -> Service:
    """nginx in the foreground with the given configuration file text.

    ``sockets`` are listening sockets nginx takes over instead of opening its
    own (its ``NGINX`` variable, the mechanism of its binary upgrade): whoever
    holds them keeps the ports open while nginx restarts, so customers' new
    connections wait in the kernel's queue for a moment instead of being refused.
    """
    ensure_installed("nginx")
    prefix = state / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    fds = tuple(listener.fileno() for listener in sockets)
    env = dict(os.environ)
    if fds:
        env["NGINX"] = "".join(f"{fd};" for fd in fds)
    return Service(
        "nginx",
        [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix), "-c",
         str(conf), "-e", str(state / "log" / "nginx-error.log"),
         "-g", "daemon off;"],
        state / "log" / "nginx.log",
        lambda: http_answers(port),
        env=env,
        stop_signal=signal.SIGQUIT,  # graceful: finish the requests in flight
        pass_fds=fds,
        # A worker left by a dead master finishes its requests in flight too.
        leftover_signal=signal.SIGQUIT,
        leftover_grace_s=10,
        overlap_leftovers=True,
    )  # fmt: skip


def prometheus(state: Path, config: str, rules: Path, port: int) -> Service:
    """Debian's Prometheus with the configuration text ``config``, which names
    ``rules`` (copied beside it) in its ``rule_files``."""
    ensure_installed("prometheus")
    home = state / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    (home / "prometheus.yml").write_text(config)
    shutil.copy(rules, home / rules.name)
    return Service(
        "prometheus",
        [shutil.which("prometheus") or "/usr/bin/prometheus",
         f"--config.file={home / 'prometheus.yml'}",
         f"--storage.tsdb.path={home / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        state / "log" / "prometheus.log",
        lambda: http_answers(port),
    )  # fmt: skip
