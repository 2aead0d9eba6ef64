#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the pinned dependency set in one pip
# command. Re-running is cheap: it does nothing while requirements.lock is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.installed-from-lock
if [ -f "$stamp" ] && cmp -s requirements.lock "$stamp"; then
  exit 0
fi

python=$(scripts/find_python.sh)
echo "setup: using $python ($("$python" --version))"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  rm -rf .venv
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "setup: installing requirements.lock (about 7 GB on first run, a few minutes)"
.venv/bin/python -m pip install --quiet --no-input -r requirements.lock
.venv/bin/python -m pip check
cp requirements.lock "$stamp"
echo "setup: done"
