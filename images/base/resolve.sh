#!/usr/bin/env bash
# Prints the base image the Dockerfiles should be built FROM (their BASE_IMAGE
# build arg), making it available first:
#   1. $BASE_IMAGE, if set: the caller knows best;
#   2. node:24-bookworm-slim, if it is present or can be pulled;
#   3. otherwise tsgi-base:24-bookworm, built from a Debian mirror and the npm
#      registry by build-offline.sh when it isn't there yet (no registry needed).
# Progress goes to stderr; stdout is only the image name, for
#   BASE_IMAGE="$(images/base/resolve.sh)" docker compose build
set -euo pipefail

official="node:24-bookworm-slim"
offline="tsgi-base:24-bookworm"

if [ -n "${BASE_IMAGE:-}" ]; then
  echo "$BASE_IMAGE"
  exit 0
fi
if docker image inspect "$official" >/dev/null 2>&1 ||
   timeout "${PULL_TIMEOUT:-120}" docker pull -q "$official" >/dev/null 2>&1; then
  echo "$official"
  exit 0
fi
if ! docker image inspect "$offline" >/dev/null 2>&1; then
  echo "resolve: $official cannot be pulled; building $offline offline" >&2
  "$(dirname "$0")/build-offline.sh" "$offline" >&2
fi
echo "$offline"
