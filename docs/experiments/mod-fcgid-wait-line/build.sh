#!/usr/bin/env bash
# Builds yourapplication/apache-fcgid:wait-line: the apache-fcgid image built
# by images/Dockerfile with this experiment's wait-line.patch added to the
# image's own mod_fcgid patches (images/apache-fcgid/), then switched to the
# worker MPM (./Dockerfile).
# usage: docs/experiments/mod-fcgid-wait-line/build.sh   (from the project root)
set -euo pipefail
here=docs/experiments/mod-fcgid-wait-line
base="$(images/base/resolve.sh)"
extra=images/apache-fcgid/zz-experiment-wait-line.patch
cp "$here/wait-line.patch" "$extra"
trap 'rm -f "$extra"' EXIT
docker build -q -f images/Dockerfile --target apache-fcgid --build-arg BASE_IMAGE="$base" \
  -t yourapplication/apache-fcgid:wait-line-module .
rm -f "$extra"
docker build -q -t yourapplication/apache-fcgid:wait-line "$here"
