#!/bin/sh
# The CGI script Apache runs in the apache-cgi image
# (/srv/yourapplication/app/yourapplication.cgi): reads the request body whole
# into a temp file, then execs the app's CGI entry (yourapplication.cgi.ts)
# with that file on stdin. Without a body it execs the app at once.
#
# Why: mod_cgid starts the script as soon as the request head is in and
# streams the body to it as it arrives. A client sending its body slowly held
# a Node process (~40 MB, ~60 ms of CPU to start) for as long as it liked:
# 500 slow POSTs (slowhttptest -B) meant hundreds of Node processes, 2 GB and
# every core busy starting them. This shell costs ~1 MB and ~1 ms while it
# waits, and Node starts only for a body that arrived whole; nginx, lighttpd
# and mod_fcgid also read the body before the app gets the request.
# mod_reqtimeout still cuts a stalled body off (yourapplication.conf); the
# shell then sees a short body and exits without starting the app.
# The temp file is in $TMPDIR (/tmp, a tmpfs under compose), unlinked once open.
set -eu
app=/srv/yourapplication/app/yourapplication.cgi.ts

if [ "${CONTENT_LENGTH:-0}" = 0 ] && [ -z "${HTTP_TRANSFER_ENCODING:-}" ]; then
  exec "$app"
fi

fail() {
  trap '' PIPE
  echo "yourapplication.cgi: $1" >&2
  printf 'Status: 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n503 Service Unavailable\n'
  exit 0
}

tmp="${TMPDIR:-/tmp}"
body="$(mktemp)" || fail "cannot create a temp file for the request body in $tmp"
if ! cat >"$body" 2>/dev/null; then
  # Either the client is gone (mod_reqtimeout cut a stalled body off and
  # Apache closed our stdin: nobody to answer, nothing worth a log line per
  # connection), or the temp dir is full (answer 503 and say so).
  free_kb="$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')"
  rm -f "$body"
  [ "${free_kb:-0}" -lt 64 ] || exit 0
  fail "cannot store the request body in $tmp: no space left"
fi
# A body shorter than announced: the client stalled or left and Apache has
# already answered it (408/400); nobody is waiting for the app's answer.
# (Compared as numbers: "003" is a valid Content-Length of 3, RFC 9110 8.6.)
if [ -n "${CONTENT_LENGTH:-}" ] && [ "$(wc -c <"$body")" -ne "$CONTENT_LENGTH" ]; then
  rm -f "$body"
  exit 0
fi
exec <"$body"
rm -f "$body"
exec "$app"
