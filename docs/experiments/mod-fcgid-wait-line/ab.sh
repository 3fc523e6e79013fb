#!/usr/bin/env bash
# Interleaved A/B of two apache-fcgid images, wrk inside each container's
# network namespace, both started as compose.yaml starts the mode.
# usage: docs/experiments/mod-fcgid-wait-line/ab.sh [conns] [rounds] [seconds]
#   (A = yourapplication/apache-fcgid:prefork, B = ...:latest; override with A= B=)
set -euo pipefail
conns=${1:-16} rounds=${2:-5} secs=${3:-5}
a=${A:-yourapplication/apache-fcgid:prefork} b=${B:-yourapplication/apache-fcgid:latest}
flags=$(node -e "import('./tests/integration/hardening.ts').then(m=>console.log(m.dockerRunFlags('apache-fcgid').join(' ')))")
ids=()
# shellcheck disable=SC2086 # the flags are words
for image in "$a" "$b"; do ids+=("$(docker run -d $flags "$image")"); done
trap 'docker rm -f "${ids[@]}" >/dev/null' EXIT
wrk() { docker run --rm --network "container:$1" yourapplication/wrk:latest -t1 "-c$conns" "-d${2}s" --latency http://127.0.0.1:8080/hello; }
for id in "${ids[@]}"; do
  for _ in $(seq 60); do docker exec "$id" yourapplication-healthcheck >/dev/null 2>&1 && break; sleep 1; done
  wrk "$id" 2 >/dev/null
done
for r in $(seq "$rounds"); do
  line="round $r:"
  for i in 0 1; do
    out=$(wrk "${ids[$i]}" "$secs")
    line+=" $([ "$i" = 0 ] && echo A || echo B)=$(awk '/Requests\/sec/{printf "%d", $2}' <<<"$out") p99=$(awk '$1=="99%"{print $2}' <<<"$out") $({ grep -oE 'timeout [0-9]+|Non-2xx.*' <<<"$out" || true; } | tr '\n' ' ')"
  done
  echo "$line"
done
