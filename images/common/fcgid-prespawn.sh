#!/bin/bash
# The apache-fcgid image's CMD wrapper (only that image uses it): starts a one-off warm-up in the
# background, then execs the server (`yourapplication-prespawn apache2 -DFOREGROUND`), which
# so stays PID 1 and gets docker's signals.
#
# Why: mod_fcgid has no setting that starts app processes at boot
# (FcgidMinProcessesPerClass only keeps them once they exist): the first
# request starts the first process, and the image's mod_fcgid starts the
# second for a request that has to share the first with another one
# (FcgidProcessConcurrency, fcgid.conf). With quick requests one at a time
# that may not happen for a while.
# The warm-up makes it happen at once, on purpose: a request that keeps the
# first process busy for 1.5 s, and 0.3 s later another, which shares it and
# gets the second process spawned. Both are then kept
# (FcgidMinProcessesPerClass 2). The holding is the gateway's, not
# the app's (any app may be served, APP_MODULE): Apache gives these requests
# (from 127.0.0.1, with this User-Agent) TSGI_HOLD_MS=1500, and the gateway
# answers them with 204 after 1.5 s without calling the app
# (configs/apache/fcgid.conf, gateway/middleware/spawn-hold.ts).
# Takes ~1.5 s at start; the two requests are in the access log
# with the User-Agent "yourapplication-prespawn".
set -eu

get() {
  exec 3<>/dev/tcp/127.0.0.1/8080
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: yourapplication-prespawn\r\nConnection: close\r\n\r\n' "$1" >&3
  cat <&3 >/dev/null
}

warm_up() {
  local mount="${APP_MOUNT:-}" i
  mount="${mount%/}"
  # Apache is up once the port takes connections (at most ~10 s).
  for i in $(seq 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then break; fi
    sleep 0.1
  done
  get "$mount/" &
  sleep 0.3
  get "$mount/"
  wait
  # Say so in `docker logs` if the pool did not come up whole.
  local procs
  procs=$(pgrep -c -f '^node .*/srv/yourapplication/app/yourapplication\.fcgi$' || true)
  if [ "${procs:-0}" -lt 2 ]; then
    echo "prespawn: ${procs:-0} app process(es) after the warm-up, expected 2" >&2
  fi
}

# `yourapplication-prespawn --after-reload` (images/common/reload.sh): after a
# graceful restart mod_fcgid starts over with no app process; the warm-up
# again, in the foreground, unless the traffic has already brought both up.
if [ "${1:-}" = --after-reload ]; then
  sleep 1
  if [ "$(pgrep -c -f '^node .*/srv/yourapplication/app/yourapplication\.fcgi$' || true)" -lt 2 ]; then
    warm_up >/dev/null
  fi
  exit 0
fi

( warm_up >/dev/null ) </dev/null &
exec "$@"
