"""Every setting the assistant reads from the environment, one module per process.

* ``settings.action_server``: the action server (``rasa run actions``) and the
  command-line tools that share its code (``python -m actions.db``, ``actions.agent``).
* ``settings.rasa_server``: the Rasa server's plugins (``stores/``,
  ``connectors/``), and the variables Rasa itself expands in endpoints.yml and
  credentials.yml.
* ``settings/offline.env``: the environment every process runs with.

A variable is declared once, with its default and its meaning; reading it checks
the value and names the variable when it cannot be used, so a typo in a
deployment stops the process at start-up with a message, not a traceback later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

OFFLINE_ENV_FILE = Path(__file__).with_name("offline.env")


class SettingError(ValueError):
    """A variable holds a value the code cannot use; the message names it."""


@dataclass(frozen=True)
class Variable(Generic[T]):
    name: str
    default: str  # as it would be written in the environment; "" for none
    meaning: str
    parse: Callable[[str], T]

    def read(self, environ: Mapping[str, str] | None = None) -> T:
        """The variable's value (its default when unset or blank), checked."""
        environ = os.environ if environ is None else environ
        raw = environ.get(self.name, "").strip() or self.default
        try:
            return self.parse(raw)
        except ValueError as error:
            raise SettingError(f"{self.name}={raw!r}: {error}") from None


def check(variables: Iterable[Variable], environ: Mapping[str, str] | None = None):
    """Read every variable; one SettingError naming each that cannot be used."""
    problems = []
    for variable in variables:
        try:
            variable.read(environ)
        except SettingError as error:
            problems.append(str(error))
    if problems:
        raise SettingError("; ".join(problems))


def share_with_child_processes(variable: Variable, value: str) -> None:
    """Set ``variable`` for this process and every process it starts from now on."""
    os.environ[variable.name] = value


# --- parsers: text in, a value out, ValueError with a reason otherwise ----------


def optional_text(raw: str) -> str | None:
    return raw or None


def whole_number(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.isdigit() or int(raw) < minimum:
            raise ValueError(f"must be a whole number, at least {minimum}")
        return int(raw)

    return parse


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return raw

    return parse


def fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be a number between 0 and 1")
    return value


def cosine_margin(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number between -1 and 1") from None
    if not -1.0 <= value <= 1.0:
        raise ValueError("must be a number between -1 and 1")
    return value


def optional_http_url(raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or len(raw) < 11:
        raise ValueError("must be an http:// or https:// URL")
    return raw.rstrip("/")


def optional_database_url(raw: str) -> str | None:
    """A SQLAlchemy URL such as postgresql+psycopg2://user:pw@host/db, or none."""
    if not raw:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(raw)
    except ArgumentError:
        raise ValueError(
            "must be a SQLAlchemy database URL, e.g. postgresql+psycopg2://host/db"
        ) from None
    return raw


def offline_environment() -> dict[str, str]:
    """The variables of settings/offline.env."""
    found = {}
    for line in OFFLINE_ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name] = value
    return found


# --- read by both servers -------------------------------------------------------

# prometheus-client reads it itself when it is imported (metrics/__init__.py).
METRICS_DIRECTORY = Variable(
    "PROMETHEUS_MULTIPROC_DIR",
    "",
    "directory where every worker process of a server writes its /metrics "
    "figures, added up at each scrape; it must be empty when the server starts. "
    "Unset: a fresh one per server, removed when the server stops",
    optional_text,
)
# Set by metrics/ beside the folder it makes: the process it belongs to.
METRICS_DIRECTORY_OWNER = Variable(
    "ASSISTANT_METRICS_OWNER",
    "",
    "set by the server itself: the process whose workers share "
    "PROMETHEUS_MULTIPROC_DIR; another server it starts gets a folder of its own",
    optional_text,
)


def for_another_server(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for a server this process starts: without the metrics folder
    this process made for its own workers (each server counts only itself)."""
    ours = os.environ.get(METRICS_DIRECTORY.name)
    made_here = os.environ.get(METRICS_DIRECTORY_OWNER.name) == str(os.getpid())
    if not (made_here and environ.get(METRICS_DIRECTORY.name) == ours):
        return dict(environ)
    own = (METRICS_DIRECTORY.name, METRICS_DIRECTORY_OWNER.name)
    return {name: value for name, value in environ.items() if name not in own}
