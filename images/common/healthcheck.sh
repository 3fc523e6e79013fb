#!/bin/bash
# The images' HEALTHCHECK: GET <mount>/hello through the web server must answer
# 200, so the server, its connection to the app and the app are all checked.
# Bash's /dev/tcp rather than curl (not installed) or node (a ~50 ms start,
# every few seconds, for the life of the container).
set -eu
mount="${APP_MOUNT:-}"
mount="${mount%/}"
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET %s/hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: yourapplication-healthcheck\r\nConnection: close\r\n\r\n' "$mount" >&3
IFS= read -r -t 4 status <&3
case "$status" in
  "HTTP/1.1 200 "*) exit 0 ;;
  *) echo "GET ${mount}/hello: ${status:-no answer}" >&2; exit 1 ;;
esac
