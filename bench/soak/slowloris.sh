#!/usr/bin/env bash
# Slow clients against one running deployment container, from inside its
# network namespace (docker's port proxy would be the first thing to give
# way): Debian's slowhttptest keeps CONNECTIONS slow connections open, and a
# probe asks GET <mount>/hello once a second; a probe that gets no 200 within
# 1 s counts as a second unavailable (the goal of issue 7: 0).
#
#   bench/soak/slowloris.sh CONTAINER [header|body] [SECONDS] [CONNECTIONS]
#
# header: slowloris (a request head that never ends, a header line every 10 s);
# body:   slow POST bodies (R-U-Dead-Yet: a few bytes of an 8 KiB body every 10 s).
# Prints the seconds unavailable on stdout (the probes' verdicts on stderr).
# Bounded: slowhttptest stops after SECONDS (default 40), docker run is killed
# 30 s after that whatever happens. Builds the tool image on first use
# (images/slowhttptest, BASE_IMAGE as for the deployments).
set -euo pipefail

container="${1:?usage: $0 CONTAINER [header|body] [SECONDS] [CONNECTIONS]}"
kind="${2:-header}"
seconds="${3:-40}"
connections="${4:-500}"
image="${SLOWHTTPTEST_IMAGE:-yourapplication/slowhttptest:latest}"
here="$(cd "$(dirname "$0")" && pwd)"

case "$kind" in
  header) mode=(-H) ;;
  body) mode=(-B -s 8192) ;;
  *) echo "slowloris: kind must be header or body, not '$kind'" >&2; exit 64 ;;
esac

if ! docker image inspect "$image" >/dev/null 2>&1; then
  base="${BASE_IMAGE:-$("$here/../../images/base/resolve.sh")}"
  DOCKER_BUILDKIT=0 docker build -q -t "$image" --build-arg BASE_IMAGE="$base" "$here/../../images/slowhttptest" >&2
fi

# The mount the container serves (APP_MOUNT in its environment).
mount="$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$container" | sed -n 's/^APP_MOUNT=//p' | head -1)"
mount="${mount%/}"
url="http://127.0.0.1:8080${mount}/hello"

# Inside the tool container: slowhttptest in the background, the probe in the
# foreground (starting once the slow connections are open), then the count.
script='
  slowhttptest "$@" -c "$CONNECTIONS" -r 200 -i 10 -x 24 -l "$SECONDS_" -u "$URL" >/dev/null 2>&1 &
  sleep 5
  down=0; probes=$((SECONDS_ - 10))
  for i in $(seq "$probes"); do
    t0=$(date +%s%N)
    code=$(curl -s -o /dev/null -m 1 -w "%{http_code}" "$URL" || true)
    if [ "$code" != 200 ]; then down=$((down + 1)); echo "probe $i: ${code:-none}" >&2; fi
    rest=$(( 1000000000 - ($(date +%s%N) - t0) ))
    [ "$rest" -gt 0 ] && sleep "0.$(printf %09d "$rest")"
  done
  echo "slowloris: $KIND, $CONNECTIONS connections: $down of $probes probes without a 200 within 1 s" >&2
  echo "$down"
  wait
'
timeout $((seconds + 30)) docker run --rm --network "container:$container" \
  -e CONNECTIONS="$connections" -e SECONDS_="$seconds" -e URL="$url" -e KIND="$kind" \
  --entrypoint sh "$image" -c "$script" sh "${mode[@]}"
