#!/usr/bin/env bash
# Re-resolve requirements/runtime.in, then requirements/dev.in constrained by the
# runtime lock, each in ONE pip command in a fresh venv (numpy must be resolved
# together with TensorFlow/Rasa, or later packages drag it past numpy<1.24), and
# write requirements/runtime.lock and requirements/dev.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/find_python.sh)

resolve() {  # resolve OUTPUT PIP-ARGS...: one pip install in a fresh venv, frozen
  local out=$1 tmp
  shift
  tmp=$(mktemp -d)
  "$python" -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install -q --upgrade pip
  "$tmp/venv/bin/pip" install "$@"
  "$tmp/venv/bin/pip" check
  "$tmp/venv/bin/pip" freeze --exclude-editable >"$out"
  rm -rf "$tmp"
}

resolve requirements/runtime.lock -r requirements/runtime.in
resolve requirements/dev.lock -r requirements/dev.in -c requirements/runtime.lock
echo "requirements/runtime.lock and requirements/dev.lock updated"
