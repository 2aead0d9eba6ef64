#!/usr/bin/env bash
# Create .venv with Python 3.10 and install one pinned set in one pip command:
#   scripts/setup.sh runtime   requirements/runtime.lock (run, train, serve, cluster)
#   scripts/setup.sh dev       requirements/dev.lock (the runtime set + tests, lint)
# Re-running is cheap: it does nothing while the lock it installed is unchanged,
# and the dev set already holds the runtime set.
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:-runtime}
case "$tier" in
  runtime | dev) ;;
  *) echo "usage: scripts/setup.sh runtime|dev" >&2; exit 2 ;;
esac
lock=requirements/$tier.lock
installed() { [ -f ".venv/.installed-$1" ] && cmp -s "requirements/$1.lock" ".venv/.installed-$1"; }
if installed "$tier" || { [ "$tier" = runtime ] && installed dev; }; then
  exit 0
fi

python=$(scripts/find_python.sh)
echo "setup: using $python ($("$python" --version))"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  rm -rf .venv
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ ! -f .venv/.installed-runtime ] && [ ! -f .venv/.installed-dev ]; then
  echo "setup: installing $lock into .venv: about 7 GB, usually 3-6 minutes the first time"
else
  echo "setup: updating .venv from $lock"
fi
.venv/bin/python -m pip install --quiet --no-input -r "$lock"
.venv/bin/python -m pip check
cp "$lock" ".venv/.installed-$tier"
echo "setup: done"
