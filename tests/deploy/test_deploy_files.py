"""The deployment files in deploy/ agree with the code and with each other.

Nothing here builds an image or talks to a cluster: the files are parsed and
compared with what the code reads (environment variables, cluster/endpoints.yml,
credentials.yml) and with each other (service names, ports, secrets). Where the
tools are installed, nginx checks its configuration (`nginx -t`, and a real
nginx answering with the error pages) and kubectl renders the kustomization.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import http.server
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from settings import action_server, offline_environment, rasa_server

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
NGINX_CONF = DEPLOY / "nginx.conf"
ACTIONS_PROXY_CONF = K8S / "actions-proxy.conf"
CLUSTER_ENDPOINTS = REPO_ROOT / "cluster" / "endpoints.yml"
CREDENTIALS = REPO_ROOT / "credentials.yml"

APP_IMAGE = "customer-assistant"  # the image deploy/Dockerfile builds (k8s name)
APP_SERVICES = ("rasa", "actions", "migrate", "alerts")  # what runs that image
# The parts of the topology (cluster/topology.py starts the same ones on one
# machine); the ingress plays nginx's part on Kubernetes.
COMPOSE_SERVICES = {
    *("rasa", "actions", "migrate", "alerts"),
    *("postgres", "redis", "rabbitmq", "nginx", "prometheus"),
}
K8S_WORKLOADS = {
    "rasa",
    "actions",
    "migrate",
    "alerts",
    "postgres",
    "redis",
    "rabbitmq",
}
K8S_SERVICES = {"rasa", "actions", "postgres", "redis", "rabbitmq"}

# Variables that code outside this repository reads, so scanning our sources
# cannot find them. Keep it short: each needs a reader.
THIRD_PARTY_VARIABLES = {
    "RASA_TELEMETRY_ENABLED": "Rasa (rasa/telemetry.py): false, no telemetry",
    "HF_HUB_OFFLINE": "huggingface_hub: never download at run time",
    "TRANSFORMERS_OFFLINE": "transformers: never download at run time",
    "TF_CPP_MIN_LOG_LEVEL": "TensorFlow's C++ runtime: quieter logs",
    "PYTHONPATH": "the Python interpreter: the project is importable",
    "PYTHONUNBUFFERED": "the Python interpreter: logs reach the container log",
    "PYTHONDONTWRITEBYTECODE": "the Python interpreter: no .pyc in the image",
    "PIP_NO_CACHE_DIR": "pip, at image build time",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip, at image build time",
    "POSTGRES_USER": "the postgres image; k8s pods also build DATABASE_URL from it",
    "POSTGRES_DB": "the postgres image; k8s pods also build DATABASE_URL from it",
    "POSTGRES_PASSWORD": "the postgres image; k8s pods build DATABASE_URL from it",
}

# Variables a Rasa replica cannot start or work without, beyond the ${VARS} of
# cluster/endpoints.yml: the tracker store's database (stores/tracker_store.py)
# and the HTTP API's token (the image's command refuses to start without it).
RASA_REQUIRED = {"DATABASE_URL", "RASA_API_TOKEN"}

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASS$|_KEY$|CREDENTIAL")
# A reference to a value kept elsewhere: ${VAR}, ${VAR:?message}, ${VAR:-} (no
# default value: a default would be a committed secret), or Kubernetes' $(VAR).
REFERENCE = re.compile(
    r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*|:?-)?\}|\$\([A-Za-z_][A-Za-z0-9_]*\)"
)
# The password of a URL with credentials; a reference may hold spaces (${X:?set X}).
URL_PASSWORD = re.compile(r"://[^:/@\s]+:(\$\{[^}]*\}|\$\([^)]*\)|[^@\s]+)@")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
COMPOSE_VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
)
K8S_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
SHELL_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# Not our sources: environments, dependencies, state, and the tests themselves.
SKIPPED_DIRS = {".venv", "node_modules", "tests", "var", "models", "results"}


# --- What the code reads ------------------------------------------------------


def _is_environ(node: ast.AST) -> bool:
    """``os.environ``, or a name ``environ`` (an alias or a parameter for it)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _is_getenv(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "getenv") or (
        isinstance(node, ast.Name) and node.id == "getenv"
    )


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"``: how modules name their variables."""
    found = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = value.value
    return found


def environ_reads(source: str, shared: dict[str, str] | None = None) -> set[str]:
    """Names read by ``os.environ[...]``, ``.get``, ``in``, ``os.getenv(...)``.

    The name may be a literal or a constant of this module, or of any scanned
    module (``shared``), e.g. ``from actions.ticket_delivery import WEBHOOK_ENV``.
    """
    tree = ast.parse(source)
    constants = {**(shared or {}), **_string_constants(tree)}
    keys: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            is_get = isinstance(func, ast.Attribute) and func.attr == "get"
            if (is_get and _is_environ(func.value)) or _is_getenv(func):
                keys.append(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            keys.append(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and _is_environ(node.comparators[-1])
        ):
            keys.append(node.left)
    names = set()
    for key in keys:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
        elif isinstance(key, ast.Name) and key.id in constants:
            names.add(constants[key.id])
    return names


def _python_sources() -> Iterator[Path]:
    for path in REPO_ROOT.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).parts
        if not any(part in SKIPPED_DIRS or part.startswith(".") for part in parts):
            yield path


@cache
def variables_read_by_code() -> frozenset[str]:
    """Declared in settings/ (each process's settings module), or read directly."""
    declared = {v.name for v in action_server.VARIABLES + rasa_server.VARIABLES}
    sources = {path: path.read_text() for path in _python_sources()}
    shared: dict[str, str] = {}
    for text in sources.values():
        shared.update(_string_constants(ast.parse(text)))
    names: set[str] = set()
    for text in sources.values():
        names |= environ_reads(text, shared)
    return frozenset(names | declared)


def yaml_placeholders(path: Path) -> frozenset[str]:
    """The ${VARIABLES} in a YAML file's values (Rasa expands them), not comments."""

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield from PLACEHOLDER.findall(value)
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    return frozenset(walk(yaml.safe_load(path.read_text())))


@cache
def endpoint_variables() -> frozenset[str]:
    """The ${VARIABLES} a replica's cluster/endpoints.yml needs."""
    return yaml_placeholders(CLUSTER_ENDPOINTS)


@cache
def allowed_variables() -> frozenset[str]:
    """What may be set for our image: read by our Python code, expanded by Rasa in
    the endpoints or credentials, read by the image's own command (a shell line,
    e.g. CHAT_ORIGINS for --cors), or by third-party code."""
    placeholders = endpoint_variables() | yaml_placeholders(CREDENTIALS)
    command = set(SHELL_VARIABLE.findall(image_command()))
    return (
        variables_read_by_code() | placeholders | command | set(THIRD_PARTY_VARIABLES)
    )


# --- Dockerfile ---------------------------------------------------------------


@cache
def dockerfile() -> tuple[tuple[str, str, str], ...]:
    """(stage, INSTRUCTION, arguments) with continuation lines joined."""
    instructions = []
    stage, pending = "", ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not pending):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical, pending = (pending + line).strip(), ""
        if not logical:
            continue
        instruction, _, arguments = logical.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = arguments.split()
            stage = words[2].lower() if len(words) >= 3 else words[0]
        instructions.append((stage, instruction, arguments.strip()))
    return tuple(instructions)


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the image `docker build` makes by default."""
    last = dockerfile()[-1][0]
    return [(ins, args) for stage, ins, args in dockerfile() if stage == last]


def image_env() -> dict[str, str]:
    env = {}
    for instruction, arguments in final_stage():
        if instruction == "ENV":
            words = shlex.split(arguments)
            if "=" not in words[0]:  # legacy `ENV NAME value`
                env[words[0]] = " ".join(words[1:])
                continue
            for word in words:
                name, _, value = word.partition("=")
                env[name] = value
    return env


def image_command() -> str:
    commands = [args for ins, args in final_stage() if ins == "CMD"]
    assert commands, "deploy/Dockerfile: the app image needs a CMD (the Rasa server)"
    return commands[-1]


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics, near enough for our patterns: a path is out when
    it or a parent folder matches, the last matching pattern wins, `!` keeps."""
    parts = Path(path).parts
    candidates = [str(Path(*parts[:n])) for n in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        forms = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(c, f) for c in candidates for f in forms):
            ignored = not negate
    return ignored


def test_dockerfile_installs_the_lock_in_one_pip_command() -> None:
    runs = [args for ins, args in final_stage() if ins == "RUN"]
    installs = [run for run in runs if re.search(r"pip install", run)]
    count = sum(len(re.findall(r"pip install", run)) for run in runs)
    assert count == 1, f"one pip install, from the lock: {installs}"
    assert re.search(r"-r \S*runtime\.lock", installs[0]), installs[0]
    assert "pip check" in installs[0], "pip check must run after the install"
    copied = [args for ins, args in final_stage() if ins == "COPY"]
    # The runtime set only: the image has no test or lint tools.
    assert any(args.startswith("requirements/runtime.lock ") for args in copied)


def test_dockerfile_image_is_python_310_slim_non_root_with_healthcheck() -> None:
    base = [args for ins, args in final_stage() if ins == "FROM"][0]
    assert base.split()[0].startswith("python:3.10-slim"), base
    users = [args for ins, args in final_stage() if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert any(ins == "HEALTHCHECK" for ins, _ in final_stage())
    healthcheck = DEPLOY / "healthcheck.py"
    assert healthcheck.exists()


def test_dockerfile_bakes_in_the_model_the_command_serves() -> None:
    copies = " ".join(args for ins, args in final_stage() if ins == "COPY")
    assert "models/assistant.tar.gz" in copies, "the model is baked into the image"
    assert "--model models/assistant.tar.gz" in image_command()


def test_dockerfile_copies_only_existing_files_the_context_keeps() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert _ignored(".venv", patterns) and _ignored("var/assistant.db", patterns)
    assert _ignored("deploy/kubernetes/secrets.env", patterns), "secrets in the image"
    for _, instruction, arguments in dockerfile():
        if instruction != "COPY" or "--from=" in arguments:
            continue
        sources = [word for word in shlex.split(arguments) if not word.startswith("--")]
        for source in sources[:-1]:
            if source == ".":
                continue
            assert not _ignored(source, patterns), f"{source} is .dockerignored"
            # The model is made by `make train`; everything else is in the repo.
            if not source.startswith("models/"):
                assert (REPO_ROOT / source).exists(), f"COPY {source}: no such file"


def test_image_environment_is_read_by_someone() -> None:
    env = image_env()
    # The offline environment comes from settings/offline.env, via the entrypoint.
    entrypoint = [args for ins, args in final_stage() if ins == "ENTRYPOINT"]
    assert entrypoint == ['["/app/deploy/entrypoint.sh"]'], entrypoint
    assert ". /app/settings/offline.env" in (DEPLOY / "entrypoint.sh").read_text()
    offline = offline_environment()
    assert offline["RASA_TELEMETRY_ENABLED"] == "false"
    assert offline["HF_HUB_OFFLINE"] == "1" and offline["TRANSFORMERS_OFFLINE"] == "1"
    assert not set(env) - allowed_variables(), "ENV nobody reads"
    assert not [name for name in env if SECRET_NAME.search(name)], "secret in image"


def test_image_command_starts_a_replica_like_the_cluster() -> None:
    command = image_command()
    render = command.find("scripts.credentials credentials.yml")
    run = command.find("rasa run")
    assert 0 <= render < run, "render credentials.yml before `rasa run`"
    rendered = command[render:].split()[2]
    assert f"--credentials {rendered}" in command
    assert "--endpoints cluster/endpoints.yml" in command
    assert re.search(r"--enable-api \"?--auth-token[ =]\"?\$\{?RASA_API_TOKEN", command)


# --- YAML everywhere ----------------------------------------------------------


def _yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])


@pytest.mark.parametrize(
    "path", _yaml_files(), ids=lambda path: str(path.relative_to(DEPLOY))
)
def test_every_yaml_file_parses(path: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert documents, f"{path} is empty"
    assert all(isinstance(doc, dict) for doc in documents)


def test_there_are_yaml_files_to_check() -> None:
    names = {path.name for path in _yaml_files()}
    assert {"docker-compose.yml", "kustomization.yaml"} <= names


# --- Docker Compose -----------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def compose_env(service: str) -> dict[str, str]:
    env = compose_service(service).get("environment") or {}
    if isinstance(env, list):  # ["NAME=value", "NAME"]
        env = dict(item.partition("=")[::2] for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def interpolated(value: str) -> str:
    """The value with nothing set in the shell: defaults, and "<set>" for required."""

    def substitute(match: re.Match[str]) -> str:
        if match["op"] and "?" in match["op"]:
            return "<set>"
        return match["arg"] if match["op"] and "-" in match["op"] else ""

    return COMPOSE_VARIABLE.sub(substitute, value)


def compose_uses_app_image(service: str) -> bool:
    build = compose_service(service).get("build") or {}
    from_dockerfile = build.get("dockerfile") == "deploy/Dockerfile"
    return from_dockerfile and build.get("target", "app") == "app"


def test_compose_has_every_service() -> None:
    assert not COMPOSE_SERVICES - set(compose()["services"])
    for service in APP_SERVICES:
        assert compose_uses_app_image(service), f"{service}: build deploy/Dockerfile"


def test_compose_runs_two_rasa_and_two_action_replicas() -> None:
    for service in ("rasa", "actions"):
        replicas = compose_service(service).get("deploy", {}).get("replicas", 1)
        assert int(interpolated(str(replicas))) >= 2, service


def test_compose_rasa_uses_the_cluster_endpoints() -> None:
    command = compose_service("rasa").get("command") or image_command()
    command = " ".join(command) if isinstance(command, list) else command
    assert "--endpoints cluster/endpoints.yml" in command


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_sets_only_variables_the_code_reads(service: str) -> None:
    unknown = set(compose_env(service)) - allowed_variables()
    assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"


def test_compose_rasa_has_everything_its_endpoints_need() -> None:
    env = compose_env("rasa")
    for name in sorted(endpoint_variables() | RASA_REQUIRED):
        assert interpolated(env.get(name, "")), f"rasa: {name} unset or empty"


def test_compose_actions_and_migrate_use_the_same_database() -> None:
    urls = {compose_env(service).get("DATABASE_URL") for service in APP_SERVICES}
    assert len(urls) == 1 and None not in urls, urls
    url = urls.pop()
    postgres = compose_env("postgres")
    assert "@postgres:5432/" in url
    assert url.startswith(f"postgresql+psycopg2://{postgres['POSTGRES_USER']}:")
    assert url.endswith(f"/{postgres['POSTGRES_DB']}")
    assert URL_PASSWORD.search(url)[1] == postgres["POSTGRES_PASSWORD"]


def test_compose_rabbitmq_credentials_match_the_event_broker() -> None:
    rasa, rabbitmq = compose_env("rasa"), compose_env("rabbitmq")
    assert rasa["RABBITMQ_HOST"] == "rabbitmq"
    assert rasa["RABBITMQ_USERNAME"] == rabbitmq["RABBITMQ_DEFAULT_USER"]
    assert rasa["RABBITMQ_PASSWORD"] == rabbitmq["RABBITMQ_DEFAULT_PASS"]
    assert compose_service("rabbitmq").get("hostname"), "a stable node name"


def test_compose_dependencies_wait_for_health_or_completion() -> None:
    services = compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                check = services[target].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), target
            else:
                assert condition == "service_completed_successfully", (name, target)
                assert services[target].get("restart", "no") == "no", target
    # One-shot, and a loop with no port (restarted whenever it exits).
    for name in COMPOSE_SERVICES - {"migrate", "alerts"}:
        assert services[name].get("healthcheck", {}).get("test"), f"{name}: no check"
    assert set(services["rasa"]["depends_on"]) >= {"postgres", "redis", "rabbitmq"}
    assert "migrate" in services["actions"]["depends_on"]


def test_compose_publishes_only_nginx_on_the_port_it_listens_on() -> None:
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}
    listens = set(re.findall(r"^\s*listen\s+(?:[\d.]+:)?(\d+)", _nginx(), re.M))
    for mapping in services["nginx"]["ports"]:
        assert str(mapping).rsplit(":", 1)[-1] in listens, mapping


def test_compose_action_endpoint_is_nginx_action_proxy() -> None:
    url = compose_env("rasa")["ACTION_ENDPOINT_URL"]
    host, port = re.match(r"http://([\w-]+):(\d+)/webhook$", url).groups()
    assert host in compose()["services"]
    if host == "nginx":  # nginx answers for the action server when none is up
        assert re.search(rf"^\s*listen\s+(?:[\d.]+:)?{port};", _nginx(), re.M)
    else:
        assert host == "actions" and port == "5055"


def test_compose_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in compose()["services"].items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} not declared"


# --- Kubernetes ---------------------------------------------------------------


@cache
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@cache
def k8s_objects() -> tuple[dict[str, Any], ...]:
    objects = []
    for resource in kustomization()["resources"]:
        documents = yaml.safe_load_all((K8S / resource).read_text())
        objects += [doc for doc in documents if doc]
    return tuple(objects)


def k8s(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in k8s_objects() if o["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        found.update(k8s(kind))
    return found


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def app_container(name: str) -> dict[str, Any]:
    """The container of workload ``name`` that runs our image."""
    ours = [c for c in containers(workloads()[name]) if c["image"] == APP_IMAGE]
    assert len(ours) == 1, f"{name}: one container with image {APP_IMAGE}"
    return ours[0]


def secret_generator(name: str) -> dict[str, Any]:
    generators = {g["name"]: g for g in kustomization().get("secretGenerator", [])}
    return generators[name]


def _env_file_keys(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def secret_template(name: str) -> dict[str, str]:
    """The keys (and placeholder values) of a Secret: generated from a git-ignored
    env file, whose committed template is ``<file>.example``; or a manifest."""
    if name in k8s("Secret"):
        secret = k8s("Secret")[name]
        return {**secret.get("data", {}), **secret.get("stringData", {})}
    keys: dict[str, str] = {}
    for env_file in secret_generator(name).get("envs", []):
        keys.update(_env_file_keys(K8S / f"{env_file}.example"))
    return keys


def config_map(name: str) -> dict[str, str]:
    return {key: str(value) for key, value in k8s("ConfigMap")[name]["data"].items()}


def container_env(container: dict[str, Any]) -> dict[str, str | None]:
    """Every variable the container gets, with its value (None: from a Secret or
    a ConfigMap key); envFrom first, as Kubernetes builds it."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_map(source["configMapRef"]["name"]))
        if "secretRef" in source:
            env.update(dict.fromkeys(secret_template(source["secretRef"]["name"])))
    for item in container.get("env", []):
        env[item["name"]] = item.get("value")
    return env


def test_kustomization_lists_every_manifest_and_each_exists() -> None:
    manifests = {
        path.name
        for path in [*K8S.glob("*.yaml"), *K8S.glob("*.yml")]
        if path.name not in ("kustomization.yaml", "kustomization.yml")
    }
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed)), "a manifest listed twice"
    assert set(listed) == manifests, "kustomization.yaml resources != the files"
    for generator in [
        *kustomization().get("configMapGenerator", []),
        *kustomization().get("secretGenerator", []),
    ]:
        for entry in generator.get("files", []):
            assert (K8S / entry.split("=")[-1]).is_file(), entry
        for env_file in generator.get("envs", []):
            # A git-ignored secrets file need not exist; its template must.
            template = K8S / f"{env_file}.example"
            assert (K8S / env_file).is_file() or template.is_file(), env_file


def test_kustomization_names_the_app_image() -> None:
    images = {image["name"]: image for image in kustomization().get("images", [])}
    assert APP_IMAGE in images and images[APP_IMAGE].get("newName"), (
        "map the image to a registry: an unqualified name is pulled from Docker Hub"
    )


def test_k8s_has_every_part() -> None:
    assert not K8S_WORKLOADS - set(workloads())
    assert not K8S_SERVICES - set(k8s("Service"))
    assert k8s("Namespace") and kustomization().get("namespace") in k8s("Namespace")
    for name in APP_SERVICES:
        app_container(name)  # runs our image
    assert k8s("Job")["migrate"]
    for name in ("postgres", "rabbitmq"):  # data that must survive a restart
        assert workloads()[name]["kind"] == "StatefulSet"
        assert workloads()[name]["spec"].get("volumeClaimTemplates"), name
    ingresses = k8s("Ingress").values()
    assert ingresses and all(
        i["spec"]["ingressClassName"] == "nginx" for i in ingresses
    )


def test_k8s_rasa_and_actions_run_two_replicas_with_probes() -> None:
    for name in ("rasa", "actions"):
        assert workloads()[name]["spec"]["replicas"] == 2, name
    rasa = app_container("rasa")
    for probe in ("readinessProbe", "livenessProbe"):
        assert rasa[probe]["httpGet"]["path"] in ("/webhooks/rest/", "/"), probe
    assert app_container("actions")["readinessProbe"]["httpGet"]["path"] == "/health"


def test_k8s_rasa_command_uses_the_cluster_endpoints() -> None:
    rasa = app_container("rasa")
    command = " ".join([*rasa.get("command", []), *rasa.get("args", [])])
    assert "--endpoints cluster/endpoints.yml" in (command or image_command())
    for name, expected in (("actions", "rasa run actions"), ("migrate", "actions.db")):
        container = app_container(name)
        # args, not command: the image's entrypoint must run (settings/offline.env).
        assert "command" not in container, name
        assert expected in " ".join(container["args"]), name


def _quantity(value: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "k": 1e3, "M": 1e6}
    units |= {"G": 1e9}
    match = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(value))
    return float(match[1]) * units.get(match[2], 1)


def test_k8s_containers_have_requests_and_limits() -> None:
    for name, workload in workloads().items():
        for container in containers(workload):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (
                    f"{name}/{container['name']}: {bound}"
                )
            requests_, limits = resources["requests"], resources["limits"]
            for what in ("cpu", "memory"):
                assert _quantity(requests_[what]) <= _quantity(limits[what])
    rasa = app_container("rasa")["resources"]
    assert _quantity(rasa["requests"]["memory"]) >= 2 * 2**30, "Rasa needs ~2 GB"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_k8s_sets_only_variables_the_code_reads(name: str) -> None:
    unknown = set(container_env(app_container(name))) - allowed_variables()
    assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_k8s_config_and_secret_keys_are_read_by_the_code() -> None:
    keys = set()
    for config in k8s("ConfigMap").values():
        keys |= set(config.get("data", {}))
    for generator in kustomization().get("secretGenerator", []):
        keys |= set(secret_template(generator["name"]))
    assert not keys - allowed_variables(), sorted(keys - allowed_variables())


def test_k8s_rasa_has_everything_its_endpoints_need() -> None:
    env = container_env(app_container("rasa"))
    missing = (endpoint_variables() | RASA_REQUIRED) - set(env)
    assert not missing, f"rasa pods lack {sorted(missing)}"
    for name in ("actions", "migrate"):
        assert "DATABASE_URL" in container_env(app_container(name)), name


def test_k8s_variable_references_are_defined_first() -> None:
    """$(VAR) in a value expands only when VAR is defined before it; otherwise
    Kubernetes leaves the text as it is (e.g. a broken DATABASE_URL)."""
    for name, workload in workloads().items():
        for container in containers(workload):
            defined: set[str] = set()
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    defined |= set(config_map(source["configMapRef"]["name"]))
                if "secretRef" in source:
                    defined |= set(secret_template(source["secretRef"]["name"]))
            for item in container.get("env", []):
                for reference in K8S_REFERENCE.findall(item.get("value") or ""):
                    assert reference in defined, f"{name}: $({reference}) undefined"
                defined.add(item["name"])


def test_k8s_referenced_config_and_secret_keys_exist() -> None:
    for name, workload in workloads().items():
        for container in containers(workload):
            for item in container.get("env", []):
                source = item.get("valueFrom", {})
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    assert ref["key"] in config_map(ref["name"]), (name, ref)
                if "secretKeyRef" in source and not source["secretKeyRef"].get(
                    "optional"
                ):
                    ref = source["secretKeyRef"]
                    assert ref["key"] in secret_template(ref["name"]), (name, ref)


def test_k8s_services_select_pods_and_name_their_ports() -> None:
    for name, service in k8s("Service").items():
        selector = service["spec"]["selector"]
        selected = [
            workload
            for workload in workloads().values()
            if selector.items()
            <= workload["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert selected, f"Service {name} selects no pods"
        ports = {
            port.get("name")
            for workload in selected
            for container in containers(workload)
            for port in container.get("ports", [])
        } | {
            port["containerPort"]
            for workload in selected
            for container in containers(workload)
            for port in container.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port.get("targetPort", port["port"]) in ports, (name, port)


def test_k8s_ingress_upgrades_websockets_and_limits_requests() -> None:
    routes = {}
    for ingress in k8s("Ingress").values():
        notes = ingress["metadata"].get("annotations", {})
        assert notes.get("nginx.ingress.kubernetes.io/proxy-body-size")
        assert notes.get("nginx.ingress.kubernetes.io/limit-rps")
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                routes[path["path"]] = (path["backend"]["service"], notes)
    assert {"/webhooks/", "/socket.io/"} <= set(routes)
    for backend, _ in routes.values():
        assert backend["name"] == "rasa"
        rasa_ports = {p.get("name") for p in k8s("Service")["rasa"]["spec"]["ports"]}
        assert backend["port"].get("name") in rasa_ports
    socketio = routes["/socket.io/"][1]
    assert socketio.get("nginx.ingress.kubernetes.io/proxy-http-version") == "1.1"
    assert int(socketio["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 60
    assert socketio.get("nginx.org/websocket-services") == "rasa"
    # Long-polling: an engine.io session lives in one replica.
    assert socketio.get("nginx.ingress.kubernetes.io/upstream-hash-by")


def test_k8s_rasa_reaches_actions_through_its_proxy() -> None:
    url = container_env(app_container("rasa"))["ACTION_ENDPOINT_URL"]
    port = re.match(r"http://127\.0\.0\.1:(\d+)/webhook$", url)[1]
    proxy_conf = ACTIONS_PROXY_CONF.read_text()
    assert re.search(rf"listen\s+127\.0\.0\.1:{port};", proxy_conf)
    assert re.search(r"server\s+actions:5055;", proxy_conf)
    generated = {g["name"] for g in kustomization().get("configMapGenerator", [])}
    volumes = pod_spec(workloads()["rasa"])["volumes"]
    assert {v["configMap"]["name"] for v in volumes if "configMap" in v} <= generated


# --- Secrets ------------------------------------------------------------------


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, text) pair in a parsed YAML tree."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, str(name))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and "=" in item:  # compose "NAME=value"
                name, _, text = item.partition("=")
                yield name, text
            else:
                yield from _strings(item, key)
    elif value is not None:
        yield key, str(value)


def _assert_not_a_secret(where: str, key: str, value: str) -> None:
    if SECRET_NAME.search(key):
        assert value == "" or REFERENCE.fullmatch(value), (
            f"{where}: {key} has a value; reference a variable or secret instead"
        )
    password = URL_PASSWORD.search(value)
    if password:
        assert REFERENCE.fullmatch(password[1]), f"{where}: password in {key}"


def test_reference_pattern_tells_secrets_from_references() -> None:
    for fine in ("${X}", "${X:?set X}", "${X:-}", "$(X)", ""):
        _assert_not_a_secret("example", "SOME_TOKEN", fine)
    for leaked in ("hunter2", "${X:-hunter2}", "x${X}"):
        with pytest.raises(AssertionError):
            _assert_not_a_secret("example", "SOME_PASSWORD", leaked)
    with pytest.raises(AssertionError):
        _assert_not_a_secret("example", "DATABASE_URL", "postgresql://u:pw@db/x")


def test_no_secret_values_in_compose() -> None:
    for key, value in _strings(compose()):
        _assert_not_a_secret("docker-compose.yml", key, value)


def test_no_secret_values_in_kubernetes() -> None:
    for obj in k8s_objects():
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "ConfigMap":
            secret_keys = [
                key for key in obj.get("data", {}) if SECRET_NAME.search(key)
            ]
            assert not secret_keys, f"{where}: secrets belong in a Secret"
        if obj["kind"] == "Secret":
            for key, value in {
                **obj.get("data", {}),
                **obj.get("stringData", {}),
            }.items():
                assert not value, f"{where}: {key} is committed with a value"
        for key, value in _strings(obj):
            _assert_not_a_secret(where, key, value)
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            for container in containers(obj):
                for item in container.get("env", []):
                    if SECRET_NAME.search(item["name"]):
                        assert "value" not in item, f"{where}: {item['name']}"
    for generator in kustomization().get("secretGenerator", []):
        for key, value in secret_template(generator["name"]).items():
            assert value == "", f"secrets template: {key} has a value"


def test_secrets_file_is_git_ignored() -> None:
    git = shutil.which("git")
    if git is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("git is not available")
    for generator in kustomization().get("secretGenerator", []):
        for env_file in generator.get("envs", []):
            path = (K8S / env_file).relative_to(REPO_ROOT)
            result = subprocess.run(
                [git, "check-ignore", "-q", "--no-index", str(path)],
                cwd=REPO_ROOT,
                capture_output=True,
            )
            assert result.returncode == 0, f"{path} must be git-ignored"


# --- nginx --------------------------------------------------------------------


def _nginx() -> str:
    return NGINX_CONF.read_text()


def test_nginx_upgrades_websockets_and_limits_bodies_and_rates() -> None:
    conf = _nginx()
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", conf)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", conf)
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade", conf)
    assert re.search(r"client_max_body_size\s+\d+k;", conf)
    assert re.search(r"limit_req_zone\s", conf) and re.search(
        r"limit_req\s+zone=", conf
    )
    assert re.search(r"location\s+/socket\.io/", conf)
    assert re.search(r"error_page\s+429\b", conf) and re.search(
        r"error_page\s+413", conf
    )


def test_nginx_upstreams_are_compose_services() -> None:
    services = compose()["services"]
    hosts = re.findall(r"^\s*server\s+([A-Za-z][\w.-]*):(\d+)", _nginx(), re.M)
    assert {host for host, _ in hosts} >= {"rasa", "actions"}
    for host, port in hosts:
        assert host in services, f"nginx upstream {host} is no compose service"
        assert port == {"rasa": "5005", "actions": "5055"}.get(host, port)


def _nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (str(p) for p in [Path("/usr/sbin/nginx")] if p.exists()), None
    )


def _local_copy(conf: str, tmp: Path, ports: dict[str, int] | None = None) -> Path:
    """The config with what only exists in its container replaced: upstream hosts
    by 127.0.0.1 (`resolve` dropped: it needs a name, and nginx 1.27.3+), pid,
    logs and temporary files in ``tmp``, listen ports by ``ports``."""
    conf = re.sub(
        r"^(\s*server\s+)[A-Za-z][\w.-]*:(\d+)", r"\g<1>127.0.0.1:\2", conf, flags=re.M
    )
    conf = re.sub(r"\s+resolve(?=[\s;])", "", conf)
    conf = re.sub(r"^(\s*pid\s+)\S+;", rf"\g<1>{tmp}/nginx.pid;", conf, flags=re.M)
    conf = re.sub(r"^(\s*error_log\s+)\S+", rf"\g<1>{tmp}/error.log", conf, flags=re.M)
    conf = re.sub(
        r"^(\s*access_log\s+)\S+;", rf"\g<1>{tmp}/access.log;", conf, flags=re.M
    )
    conf = re.sub(r"^(\s*\w+_temp_path\s+)/tmp/", rf"\g<1>{tmp}/", conf, flags=re.M)
    if not Path("/etc/nginx/mime.types").exists():
        conf = conf.replace("include /etc/nginx/mime.types;", "types {}")
    for old, new in (ports or {}).items():
        conf = re.sub(rf"listen\s+(?:[\d.]+:)?{old};", f"listen 127.0.0.1:{new};", conf)
    path = tmp / "nginx.conf"
    path.write_text(conf)
    return path


@pytest.mark.parametrize(
    "conf", [NGINX_CONF, ACTIONS_PROXY_CONF], ids=lambda path: path.name
)
def test_nginx_accepts_the_config(conf: Path, tmp_path: Path) -> None:
    nginx = _nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed")
    path = _local_copy(conf.read_text(), tmp_path)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(path), "-e", str(tmp_path / "e")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _running_nginx(conf: str, tmp: Path, ports: dict[str, int]) -> Iterator[None]:
    nginx = _nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed")
    path = _local_copy(conf, tmp, ports)
    process = subprocess.Popen(
        [nginx, "-p", str(tmp), "-c", str(path), "-e", str(tmp / "e"), "-g",
         "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", next(iter(ports.values())))) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"nginx did not start: {error}")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_nginx_answers_like_the_cluster_when_nothing_is_up(tmp_path: Path) -> None:
    """A real nginx with deploy/nginx.conf, no Rasa and no action server behind it:
    friendly JSON answers, the action fallback, the page, limits."""
    web, actions = _free_port(), _free_port()
    conf = re.sub(
        r"^(\s*root\s+)\S+;", rf"\g<1>{REPO_ROOT / 'web'};", _nginx(), flags=re.M
    )
    # Upstreams on a port where nothing listens: every replica "down".
    conf = re.sub(
        r"(^\s*server\s+[A-Za-z][\w.-]*:)\d+", rf"\g<1>{_free_port()}", conf, flags=re.M
    )
    base = f"http://127.0.0.1:{web}"
    with _running_nginx(conf, tmp_path, {"8080": web, "5056": actions}):
        session = requests.Session()
        assert session.get(f"{base}/nginx-health", timeout=5).status_code == 200

        page = session.get(f"{base}/", allow_redirects=False, timeout=5)
        assert page.status_code == 302
        assert page.headers["Location"].endswith(f"/?rasa=http://127.0.0.1:{web}")
        assert session.get(f"{base}/?rasa=x", timeout=5).status_code == 200
        assert session.get(f"{base}/chat-widget.js", timeout=5).status_code == 200
        assert session.get(f"{base}/package.json", timeout=5).status_code == 404
        # Rasa's HTTP API is not public.
        api = session.get(f"{base}/conversations/x/tracker", timeout=5)
        assert api.status_code == 404 and api.json()

        message = {"sender": "deploy-test", "message": "hi"}
        down = session.post(f"{base}/webhooks/rest/webhook", json=message, timeout=10)
        # The upstream error's status (502 here), with the REST channel's shape.
        assert down.status_code in (502, 503, 504)
        assert "try again" in down.json()[0]["text"]
        too_big = {"sender": "deploy-test", "message": "x" * 20_000}
        large = session.post(f"{base}/webhooks/rest/webhook", json=too_big, timeout=5)
        assert large.status_code == 413 and "too long" in large.json()[0]["text"]

        action = session.post(
            f"http://127.0.0.1:{actions}/webhook", json={"next_action": "x"}, timeout=10
        )
        assert action.status_code == 200
        assert action.json()["responses"] == [{"response": "utter_db_unavailable"}]

        # (A location that only `return`s answers before limits apply; a file
        # is served after them, like the proxied channels.)
        statuses = [
            session.get(f"{base}/chat-widget.css", timeout=5).status_code
            for _ in range(150)
        ]
        assert 429 in statuses, "per-client rate limit"
        # The channels share that limit. The bucket may have refilled by a request
        # or two since the burst (a slow machine), so ask until it says no.
        answers = [session.get(f"{base}/webhooks/rest/", timeout=5) for _ in range(20)]
        limited = [answer for answer in answers if answer.status_code == 429]
        assert limited, [answer.status_code for answer in answers]
        assert "faster" in limited[0].json()[0]["text"]


# --- kubectl (optional) -------------------------------------------------------


def test_kustomization_renders(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    copy = tmp_path / "kubernetes"
    shutil.copytree(K8S, copy)
    for generator in kustomization().get("secretGenerator", []):
        for env_file in generator.get("envs", []):
            template = _env_file_keys(K8S / f"{env_file}.example")
            (copy / env_file).write_text(
                "".join(f"{key}=test-value\n" for key in template)
            )
    result = subprocess.run(
        [kubectl, "kustomize", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    namespace = kustomization()["namespace"]
    for obj in rendered:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]
    generated = {o["metadata"]["name"] for o in rendered if o["kind"] == "Secret"}
    assert any(name.startswith("assistant-secrets-") for name in generated)
    images = {
        container["image"]
        for obj in rendered
        if obj["kind"] in ("Deployment", "StatefulSet", "Job")
        for container in containers(obj)
    }
    assert APP_IMAGE not in images, "the kustomization maps the app image"


# --- The scanner itself -------------------------------------------------------


def test_environ_scanner_finds_every_form() -> None:
    source = (
        "import os\n"
        "from os import environ, getenv\n"
        'NAME_ENV = "VIA_CONSTANT"\n'
        'a = os.environ["SUBSCRIPT"]\n'
        'b = os.environ.get("GET", "")\n'
        'c = os.getenv("GETENV")\n'
        "d = os.environ.get(NAME_ENV)\n"
        'e = "MEMBER" in os.environ\n'
        "f = environ.get(IMPORTED)\n"
        'g = getenv("BARE_GETENV")\n'
    )
    found = environ_reads(source, {"IMPORTED": "FROM_OTHER_MODULE"})
    assert found == {
        "SUBSCRIPT",
        "GET",
        "GETENV",
        "VIA_CONSTANT",
        "MEMBER",
        "FROM_OTHER_MODULE",
        "BARE_GETENV",
    }


def test_the_code_reads_what_the_deployment_relies_on() -> None:
    """If these vanish, the scan is broken (or the code moved on): look first."""
    assert {"DATABASE_URL", "RASA_API_TOKEN", "RASA_URL"} <= variables_read_by_code()
    assert {"ACTION_ENDPOINT_URL", "REDIS_URL"} <= endpoint_variables()


def test_healthcheck_script_tells_up_from_down() -> None:
    """deploy/healthcheck.py: healthy when one of the URLs answers 2xx."""

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the handler's API)
            self.send_response(200 if self.path == "/health" else 500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    def check(*urls: str) -> int:
        command = [sys.executable, str(DEPLOY / "healthcheck.py"), *urls]
        return subprocess.run(command, capture_output=True, timeout=30).returncode

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        up = f"http://127.0.0.1:{server.server_address[1]}"
        closed = f"http://127.0.0.1:{_free_port()}/health"
        assert check(f"{up}/health") == 0
        assert check(closed, f"{up}/health") == 0
        assert check(f"{up}/failing") == 1
        assert check(closed) == 1
    finally:
        server.shutdown()
        server.server_close()
