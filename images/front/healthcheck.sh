#!/bin/bash
# The front's HEALTHCHECK: nginx answers GET /healthz. The modes are not
# checked here: each has its own HEALTHCHECK, and a mode that is down shows
# as such on the page while the others stay usable.
set -eu
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: yourapplication-healthcheck\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 4 status <&3
case "$status" in
  "HTTP/1.1 200 "*) exit 0 ;;
  *) echo "GET /healthz: ${status:-no answer}" >&2; exit 1 ;;
esac
