#!/usr/bin/env bash
# Start the action server in the background, chat in `rasa shell`, and stop the
# action server again when the shell ends (Ctrl-C or /stop).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/assistant.tar.gz}
port=${ACTION_SERVER_PORT:-5055}
set -a; . settings/offline.env; set +a  # no model hub, no telemetry
export PYTHONPATH=$PWD
mkdir -p var/log
# rasa shell would read credentials.yml and stop at its unset ${VARIABLES}.
.venv/bin/python -m scripts.credentials credentials.yml var/credentials.yml \
  2>var/log/credentials.log || { cat var/log/credentials.log >&2; exit 1; }

endpoints=$(scripts/endpoints.sh "$port" var)
if curl -fsS "http://localhost:$port/health" >/dev/null 2>&1; then
  echo "Port $port is in use (another action server?); set ACTION_SERVER_PORT." >&2
  exit 1
fi

.venv/bin/rasa run actions --port "$port" >var/log/action-server.log 2>&1 &
actions_pid=$!
trap 'kill "$actions_pid" 2>/dev/null; wait "$actions_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://localhost:$port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$actions_pid" 2>/dev/null; then
    echo "The action server did not start; see var/log/action-server.log" >&2
    exit 1
  fi
  sleep 0.5
done

# Rasa's and its libraries' logs and warnings go to the log file; the terminal
# shows the conversation.
echo "Loading the assistant (about half a minute; log: var/log/rasa-shell.log)."
echo "Then chat below; type /stop to end."
status=0
.venv/bin/rasa shell --model "$model" --endpoints "$endpoints" --port "${RASA_PORT:-5005}" \
  --credentials var/credentials.yml 2>>var/log/rasa-shell.log || status=$?
if [ "$status" -ne 0 ]; then
  echo "rasa shell stopped with status $status; the end of var/log/rasa-shell.log:" >&2
  tail -n 20 var/log/rasa-shell.log >&2
fi
exit "$status"
