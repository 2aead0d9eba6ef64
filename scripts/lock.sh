#!/usr/bin/env bash
# Re-resolve requirements.in in one pip command (numpy must be resolved together with
# TensorFlow/Rasa, or later packages drag it past numpy<1.24) and write requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/find_python.sh)
tmp=$(mktemp -d)
"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade pip
"$tmp/venv/bin/pip" install -r requirements.in
"$tmp/venv/bin/pip" check
"$tmp/venv/bin/pip" freeze --exclude-editable > requirements.lock
rm -rf "$tmp"
echo "requirements.lock updated"
