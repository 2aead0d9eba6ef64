#!/usr/bin/env bash
# Print the endpoints file whose action server is on PORT: endpoints.yml itself
# for 5055, else a copy in DIR with the port changed.
#   scripts/endpoints.sh PORT DIR
set -euo pipefail
cd "$(dirname "$0")/.."
port=$1 dir=$2
if [ "$port" = 5055 ]; then
  echo endpoints.yml
  exit 0
fi
moved=$dir/endpoints.yml
sed "s#//localhost:5055/webhook#//localhost:$port/webhook#" endpoints.yml >"$moved"
if ! grep -q "//localhost:$port/webhook" "$moved"; then
  echo "endpoints.yml must name http://localhost:5055/webhook to move the action server" >&2
  exit 1
fi
echo "$moved"
