# Task runner. `make run` and `make test` work on a fresh machine: each installs,
# trains and seeds whatever is missing first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/assistant.tar.gz

# Nothing may fetch weights at run time; quieter TensorFlow logs.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)

TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml) data/sentiment.csv \
	$(wildcard components/*.py)

.PHONY: run test setup train seed serve-actions bench lint format clean

run: setup $(MODEL) seed  ## Chat with the assistant in rasa shell
	scripts/run_shell.sh $(MODEL)

test: setup  ## Run the whole test suite from nothing
	$(BIN)/python -m pytest

setup: $(VENV)/.installed-from-lock

$(VENV)/.installed-from-lock: requirements.lock
	scripts/setup.sh

train: setup $(MODEL)  ## Train the model if data, config or components changed

$(MODEL): $(TRAINING_INPUTS) | setup
	$(BIN)/rasa train --fixed-model-name assistant --out models

seed: setup  ## Create the database schema and load the demo data (idempotent)
	$(BIN)/python -m actions.db init

serve-actions: setup seed  ## Run only the action server
	$(BIN)/rasa run actions --port 5055

bench: setup  ## Accuracy, latency and training time vs. stock DIET
	$(BIN)/python -m scripts.bench

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf models var results .pytest_cache
