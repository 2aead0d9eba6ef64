#!/usr/bin/env bash
# Train models/assistant.tar.gz with `rasa train`. Everything Rasa prints goes to
# var/log/train-NAME.log; the terminal shows what is happening and how long it takes.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . settings/offline.env; set +a  # no model hub, no telemetry
export PYTHONPATH=$PWD
mkdir -p var/log
# `train.sh english`: the English-only assistant, the baseline of
# `make bench-languages` (scripts/english_config.py).
if [ "${1:-}" = english ]; then
  name=assistant-english
  read -ra english_data <<<"$(.venv/bin/python -m scripts.english_config var/english/config.yml)"
  arguments=(--config var/english/config.yml --data "${english_data[@]}")
  duration="about 4 minutes"
else
  name=assistant
  arguments=()
  duration="about 8 minutes"
fi
log=var/log/train-$name.log
echo "train: training $name ($duration on 2 cores; log: $log)"
started=$SECONDS
# Progress lines only: each NLU epoch (with the time left), each component, the end.
show='components\.training +- |Starting to train component|Your Rasa model is trained'
if .venv/bin/rasa train "${arguments[@]}" --fixed-model-name "$name" --out models 2>&1 \
  | tee "$log" | sed -u 's/\r/\n/g' | grep --line-buffered -E "$show" \
  | sed -u -E 's/^.*(components\.training|rasa\.engine\.training\.hooks) +- /  /; s/\x1b\[[0-9;]*m//g'; then
  echo "train: done in $((SECONDS - started)) s: models/$name.tar.gz"
else
  echo "train: failed; the end of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
