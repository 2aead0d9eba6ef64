# Task runner. `make run` and `make test` work on a fresh machine: each installs,
# trains and seeds whatever is missing first. Three tiers of set-up, each only
# where it is used: `setup` (the Python environment to run the assistant),
# `setup-dev` (plus the test and lint tools) and `system-packages` (Chromium,
# PostgreSQL, Redis, RabbitMQ, nginx from apt: the full test suite and the cluster).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/assistant.tar.gz
WEB_DEPS := web/node_modules/.package-lock.json
DEBIAN_PACKAGES := chromium fonts-dejavu-core fonts-wqy-microhei postgresql redis-server rabbitmq-server nginx prometheus
DEBIAN_STAMP := var/.debian-packages
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Nothing may fetch weights at run time or report to Rasa's telemetry: the
# environment every process runs with, written once in settings/offline.env.
include settings/offline.env
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' settings/offline.env)
export PYTHONPATH := $(CURDIR)

TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml data/reviewed/*.yml) data/sentiment.csv data/sentiment_zh.csv \
	$(wildcard components/*.py) $(wildcard base_models/*.py)

.PHONY: run test test-fast setup setup-dev system-packages web-deps train train-english seed serve \
	serve-actions cluster cluster-status loadtest bench bench-nlu bench-kb bench-languages \
	bench-analytics bench-alerts bench-retrain report lint format clean

run: setup $(MODEL) seed  ## Chat with the assistant in rasa shell
	scripts/run_shell.sh $(MODEL)

test: setup-dev web-deps system-packages  ## Run the whole test suite from nothing
	$(BIN)/python -m pytest

# Unit and component tests on tiny data: no servers, no browser, no training of
# the project's model (tests/conftest.py marks what needs those).
test-fast: setup-dev  ## The fast tests, a few minutes: make test-fast ARGS=-x
	$(BIN)/python -m pytest -m "not e2e and not model and not servers" $(ARGS)

# The script does nothing while .venv holds the lock it would install (the dev
# set holds the runtime set).
setup:
	@scripts/setup.sh runtime
setup-dev:
	@scripts/setup.sh dev
system-packages: $(DEBIAN_STAMP)
web-deps: $(WEB_DEPS)

# The chat widget's socket.io client, from npm (web/package-lock.json).
$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund

# Debian packages, in one apt-get: Chromium for the browser test (never a browser
# downloaded by a test tool) and the engines of the cluster and its tests, each run
# as a private instance by cluster/services.py, never as the system service.
$(DEBIAN_STAMP):
	@mkdir -p $(@D)
	dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1 || { \
		echo "system-packages: installing $(DEBIAN_PACKAGES) with apt (a few minutes)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(DEBIAN_PACKAGES); }
	touch $@

train: setup $(MODEL)  ## Train the model if data, config or components changed

# The English-only assistant, the baseline of bench-languages (docs/languages.md).
ENGLISH_MODEL := models/assistant-english.tar.gz
train-english: setup $(ENGLISH_MODEL)  ## Train the English-only baseline model

$(ENGLISH_MODEL): $(TRAINING_INPUTS) scripts/english_config.py | setup
	scripts/train.sh english

$(MODEL): $(TRAINING_INPUTS) | setup
	scripts/train.sh

seed: setup  ## Create the database schema and load the demo data (idempotent)
	$(BIN)/python -m actions.db init

serve: setup web-deps $(MODEL) seed  ## Serve every channel and the web page; Ctrl-C stops it
	scripts/serve.sh $(MODEL)

serve-actions: setup seed  ## Run only the action server
	$(BIN)/rasa run actions --port 5055

# The multi-replica topology on this machine (cluster/): PostgreSQL, Redis,
# RabbitMQ, the action server, REPLICAS Rasa servers of WORKERS processes each
# and nginx on CLUSTER_PORT.
REPLICAS ?= 2
WORKERS ?= 1
CLUSTER_PORT ?= 8000

cluster: setup system-packages $(MODEL)  ## Run REPLICAS Rasa replicas behind nginx; Ctrl-C stops all
	$(BIN)/python -m cluster --replicas $(REPLICAS) --workers $(WORKERS) \
		--port $(CLUSTER_PORT)

cluster-status:  ## Each service of the running `make cluster`: state, pid, restarts
	@$(BIN)/python -m cluster status

loadtest: setup system-packages $(MODEL)  ## Reply latency and messages/s: cluster vs. stock Rasa
	$(BIN)/python -m scripts.loadtest

bench: bench-nlu bench-kb bench-languages bench-analytics bench-alerts bench-retrain  ## The benchmarks below, one after the other

bench-nlu: setup  ## NLU accuracy, latency and training time vs. stock DIET
	$(BIN)/python -m scripts.bench

bench-languages: setup  ## English-only vs. default model, trained in one run: each runtime, English and Chinese
	$(BIN)/python -m scripts.bench_languages

bench-kb: setup $(MODEL)  ## Help center: hybrid/dense/lexical vs. FAQ intents, latency
	$(BIN)/python -m scripts.kb_bench

bench-analytics: setup system-packages  ## The analytics page's queries over 1M events on PostgreSQL
	$(BIN)/python -m scripts.analytics_bench

bench-alerts: setup  ## Surge alerts on replayed traffic: detection delay, false alarms
	$(BIN)/python -m scripts.alerts_bench

bench-retrain: setup $(MODEL)  ## Fine-tuning from the live model vs. a full training: time, forgetting
	$(BIN)/python -m scripts.retrain_bench

# The analytics page as a static HTML file: make report FROM=2026-11-01 TO=2026-11-07
# (TO inclusive; default the last 7 days), written to OUT.
OUT ?= var/analytics-report.html
report: setup seed  ## The analytics page for a period as one HTML file (FROM, TO, OUT)
	$(BIN)/python -m analytics report $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) --out $(OUT)

lint: setup-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf models var results .pytest_cache

# Hand-over tickets for agents (python -m actions.agent; see README "Upset
# customers, a person, and ratings"). release needs Rasa's HTTP API: make serve
# with RASA_API_TOKEN set, and the same RASA_API_TOKEN (and RASA_URL) here.
.PHONY: tickets release retry-deliveries kb kb-search review retrain rollback

tickets: setup  ## List open hand-over tickets with transcript and sentiment
	$(BIN)/python -m actions.agent list

release: setup  ## Give a conversation back to the assistant: make release TICKET=TCK-...
	@test -n "$(TICKET)" || { echo "usage: make release TICKET=TCK-XXXXXX" >&2; exit 2; }
	$(BIN)/python -m actions.agent release "$(TICKET)"

retry-deliveries: setup  ## Re-send tickets $HANDOFF_WEBHOOK_URL has not accepted yet
	$(BIN)/python -m actions.agent retry-deliveries

# The help center's articles in the database (python -m actions.kb --help):
# make kb ARGS="import data/help_center", ARGS=list, ARGS="export kb.csv", ...
review: setup seed  ## The review queue: make review ARGS="build|list|review|decide ID VERDICT|export"
	$(BIN)/python -m learning $(or $(ARGS),review)

retrain: setup $(MODEL)  ## Train a candidate on all data; promote it only if not worse (docs/learning.md)
	$(BIN)/python -m learning retrain $(ARGS)

rollback: setup  ## Serve the model that was live before the current one
	$(BIN)/python -m learning rollback

kb: setup seed  ## Help-center articles: make kb ARGS="list|add ...|edit SLUG ...|import PATH|..."
	$(BIN)/python -m actions.kb $(ARGS)

kb-search: setup seed  ## The help center's ranking, scored: make kb-search Q="do you ship to canada"
	@test -n "$(Q)" || { echo 'usage: make kb-search Q="a question"' >&2; exit 2; }
	$(BIN)/python -m actions.kb search "$(Q)"
