#!/bin/sh
# The image's entrypoint: every process gets the offline environment (no model
# hub, no telemetry) from settings/offline.env, the one place it is written.
set -e
set -a
. /app/settings/offline.env
set +a
exec "$@"
