#!/usr/bin/env bash
# Serve the assistant on every channel: the action server, the Rasa server (REST,
# socket.io, and each messaging connector whose secrets are in the environment)
# and the web page with the chat widget. Prints "serve: ready" once all three
# answer their health checks; Ctrl-C (or SIGTERM) stops all three.
#
#   scripts/serve.sh [MODEL]
#
# Environment: RASA_PORT (5005), ACTION_SERVER_PORT (5055), WEB_PORT (8080),
# SERVE_INTERFACE (0.0.0.0), RASA_API_TOKEN (HTTP API on only when set),
# CHAT_ORIGINS (web origins allowed to call Rasa from a browser; default the
# page's own), SERVE_DIR (var: rendered credentials and logs), DATABASE_URL,
# SERVE_READY_TIMEOUT_S (300), CHAT_JWT_SECRET (website channels take messages
# only with a token; set it in production) and REDIS_URL (socket.io across
# replicas): both reach Rasa through credentials.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-models/assistant.tar.gz}
rasa_port=${RASA_PORT:-5005}
actions_port=${ACTION_SERVER_PORT:-5055}
web_port=${WEB_PORT:-8080}
interface=${SERVE_INTERFACE:-0.0.0.0}
state=${SERVE_DIR:-var}
read -r -a origins <<<"${CHAT_ORIGINS:-http://localhost:$web_port http://127.0.0.1:$web_port}"
ready_timeout_s=${SERVE_READY_TIMEOUT_S:-300}
set -a; . settings/offline.env; set +a  # no model hub, no telemetry
export PYTHONPATH=$PWD
mkdir -p "$state/log"

# Messaging connectors: on when their variables are set, off (logged) otherwise.
.venv/bin/python -m scripts.credentials credentials.yml "$state/credentials.yml"

endpoints=$(scripts/endpoints.sh "$actions_port" "$state")

analytics_state="off (set ANALYTICS_TOKEN to enable it)"
if [ -n "${ANALYTICS_TOKEN:-}" ]; then
  analytics_state="http://localhost:$rasa_port/analytics (sign in with ANALYTICS_TOKEN)"
fi

api=(); api_state="off (set RASA_API_TOKEN to enable it)"
if [ -n "${RASA_API_TOKEN:-}" ]; then
  api=(--enable-api "--auth-token=$RASA_API_TOKEN"); api_state="on, token from RASA_API_TOKEN"
fi

names=(); pids=(); logs=()
launch() {  # launch NAME COMMAND...: run in the background, output to its log
  local log="$state/log/$1.log"
  "${@:2}" >"$log" 2>&1 &
  names+=("$1"); pids+=($!); logs+=("$log")
}

stop_all() {
  trap '' INT TERM  # a second Ctrl-C must not leave servers behind
  trap - EXIT
  echo "serve: stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 40); do  # up to 20 s for a graceful stop, then force it
    local alive=0 pid
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "serve: stopped"
}
trap stop_all EXIT
trap 'exit 0' INT TERM  # a requested stop is a clean one; EXIT stops the servers

# died I: report the server at index I if it has exited, with its log's end.
died() {
  kill -0 "${pids[$1]}" 2>/dev/null && return 1
  echo "serve: ${names[$1]} exited; last lines of ${logs[$1]}:" >&2
  tail -n 30 "${logs[$1]}" >&2
}

launch actions .venv/bin/rasa run actions --port "$actions_port"
launch rasa .venv/bin/rasa run --model "$model" --endpoints "$endpoints" \
  --credentials "$state/credentials.yml" --interface "$interface" --port "$rasa_port" \
  "${api[@]}" --cors "${origins[@]}"
launch web .venv/bin/python -m http.server "$web_port" --bind "$interface" --directory web
# Alerts when negative messages surge (docs/analytics.md), every 5 minutes.
launch alerts .venv/bin/python -m analytics watch --every 300

health=(
  "http://127.0.0.1:$actions_port/health"
  "http://127.0.0.1:$rasa_port/webhooks/rest/"
  "http://127.0.0.1:$web_port/"
)
deadline=$((SECONDS + ready_timeout_s))
for i in "${!health[@]}"; do
  until curl -fsS -o /dev/null "${health[$i]}" 2>/dev/null; do
    if died "$i"; then exit 1; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "serve: ${names[$i]} not ready after ${ready_timeout_s}s; see ${logs[$i]}" >&2
      exit 1
    fi
    sleep 1
  done
done

page="http://localhost:$web_port/"
[ "$rasa_port" = 5005 ] || page="$page?rasa=http://localhost:$rasa_port"
cat <<EOF
serve: ready
  web page with the chat widget   $page
  REST channel                    POST http://localhost:$rasa_port/webhooks/rest/webhook
  socket.io channel               http://localhost:$rasa_port/socket.io
  HTTP API                        $api_state
  action server                   http://localhost:$actions_port/webhook
  analytics page                  $analytics_state
  metrics for Prometheus          http://localhost:$rasa_port/metrics and http://localhost:$actions_port/metrics
  logs                            $state/log/
Press Ctrl-C to stop.
EOF

while true; do
  for i in "${!pids[@]}"; do
    if died "$i"; then exit 1; fi
  done
  sleep 1
done
