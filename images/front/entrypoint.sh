#!/bin/sh
# The front's entrypoint: checks MOUNT, renders the nginx config template for
# it into /tmp/front (a tmpfs; the root fs stays read-only), then execs nginx,
# which so becomes PID 1 and receives docker's signals (SIGQUIT: graceful).
# A bad MOUNT stops here with the rule and the value, exit status 64.
set -eu

template=/etc/nginx/yourapplication-front/nginx.conf.template
out=/tmp/front

# The modes' own check of the mount (images/common/mount.sh): the same rule
# and the same words; it prints APP_MOUNT and APP_MOUNT_PATTERN (dots escaped).
settings=$(yourapplication-mount "${MOUNT:-}") || exit $?
eval "$settings"
mount=$APP_MOUNT
mount_regex=$APP_MOUNT_PATTERN

mkdir -p "$out/body" "$out/proxy" "$out/fastcgi" "$out/uwsgi" "$out/scgi"
# '|' can't occur in a valid mount; '\' in the regex form is escaped for sed.
sed -e "s|\${MOUNT_REGEX}|$(printf '%s' "$mount_regex" | sed 's/\\/\\\\/g')|g" \
    -e "s|\${MOUNT}|$mount|g" "$template" >"$out/nginx.conf"

exec "$@"
