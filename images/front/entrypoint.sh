#!/bin/sh
# The front's entrypoint: checks MOUNT, renders the nginx config template for
# it into /tmp/front (a tmpfs; the root fs stays read-only), then execs nginx,
# which so becomes PID 1 and receives docker's signals (SIGQUIT: graceful).
# A bad MOUNT stops here with the rule and the value, exit status 64.
set -eu

template=/etc/nginx/yourapplication-front/nginx.conf.template
out=/tmp/front

mount="${MOUNT:-}"
[ "$mount" = / ] && mount=""
mount="${mount%/}"
# One or more /segments of letters, digits and . _ ~ - (RFC 3986 unreserved
# characters: nothing nginx, sed or a URL would read as syntax), no . or .. segment.
if [ -n "$mount" ]; then
  if ! printf '%s' "$mount" | grep -Eqx '(/[A-Za-z0-9._~-]+)+' \
     || printf '%s/' "$mount" | grep -Eq '/\.\.?/'; then
    echo "front: MOUNT must be empty (the root) or /segments of letters, digits and . _ ~ - (no . or .. segment), e.g. /team-1/app.v2; not '${MOUNT}'" >&2
    exit 64
  fi
fi
mount_regex="$(printf '%s' "$mount" | sed 's/\./\\./g')"

mkdir -p "$out/body" "$out/proxy" "$out/fastcgi" "$out/uwsgi" "$out/scgi"
# '|' can't occur in a valid mount; '\' in the regex form is escaped for sed.
sed -e "s|\${MOUNT_REGEX}|$(printf '%s' "$mount_regex" | sed 's/\\/\\\\/g')|g" \
    -e "s|\${MOUNT}|$mount|g" "$template" >"$out/nginx.conf"

exec "$@"
