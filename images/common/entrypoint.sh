#!/bin/sh
# Every image's entrypoint: checks the settings (a bad one stops the container
# here with the reason, status 64), renders the config templates for the
# mount, then execs the server (or supervisord), which so becomes
# PID 1 and receives docker's signals. No supervision loop.
#
# The mount (APP_MOUNT) is checked by yourapplication-mount (images/common/
# mount.sh): a bad value stops here, before any server starts, with the rule
# and the value on stderr and exit status 64, so that compose's restart
# policy (on-failure:3, compose.yaml) gives up instead of looping.
# What the servers get from it:
#   - Apache and lighttpd read the environment themselves: ${APP_MOUNT_PATTERN}
#     in configs/apache/*-mount.conf, env.APP_MOUNT_PATH in lighttpd.conf;
#   - nginx cannot, so its config is rendered like the official nginx
#     image does (templates + envsubst): every /etc/yourapplication/templates/
#     NAME.template becomes /run/yourapplication/conf/NAME with ${APP_MOUNT},
#     ${APP_MOUNT_PATH} and ${APP_MOUNT_PATTERN} replaced and nothing else
#     ($uri and the other nginx variables stay). /run, not /etc: the rendered
#     files are per container, and /run is writable (a tmpfs) when the root
#     filesystem is read-only.
set -eu

settings=$(yourapplication-mount "${APP_MOUNT:-}") || exit $?
eval "$settings"
export APP_MOUNT APP_MOUNT_PATH APP_MOUNT_PATTERN

# The app: APP_MODULE (default: the built-in app), a file in the container,
# optionally "file:export"; another app comes in a bind-mounted directory with
# its dependencies (README, "Bring your own app"). APP_HIDE_MOUNT: whether
# that app gets its URL without the mount (gateway/middleware/hide-mount.ts).
# Both exported in one spelling for the servers' configs and the app.
APP_MODULE=${APP_MODULE:-/srv/yourapplication/app/app.ts}
module_file=${APP_MODULE%:*}
# Absolute: the servers start the app in different working directories.
case $module_file in
  /*) ;;
  *)
    echo "bad app module APP_MODULE=\"$APP_MODULE\": an absolute path in the container, like /srv/app/app.ts" >&2
    exit 64
    ;;
esac
if [ ! -f "$module_file" ]; then
  echo "bad app module APP_MODULE=\"$APP_MODULE\": there is no file $module_file in the container (bind-mount the app's directory, e.g. -v \"\$PWD/myapp:/srv/app:ro\" -e APP_MODULE=/srv/app/app.ts)" >&2
  exit 64
fi
case ${APP_HIDE_MOUNT:-false} in
  true | on | yes | 1) APP_HIDE_MOUNT=true ;;
  false | off | no | 0) APP_HIDE_MOUNT=false ;;
  *)
    echo "bad APP_HIDE_MOUNT=\"$APP_HIDE_MOUNT\": true or false (on/off, yes/no, 1/0)" >&2
    exit 64
    ;;
esac
export APP_MODULE APP_HIDE_MOUNT

# sed replacement text: "\", "&" and the "|" delimiter escaped (a mount has none
# of them; the pattern has "\.").
replacement() { printf '%s' "$1" | sed 's/[\\&|]/\\&/g'; }

if [ -d /etc/yourapplication/templates ]; then
  mkdir -p /run/yourapplication/conf
  mount=$(replacement "$APP_MOUNT")
  path=$(replacement "$APP_MOUNT_PATH")
  pattern=$(replacement "$APP_MOUNT_PATTERN")
  for template in /etc/yourapplication/templates/*.template; do
    [ -e "$template" ] || continue
    out=/run/yourapplication/conf/$(basename "$template" .template)
    sed -e "s|\${APP_MOUNT_PATTERN}|$pattern|g" -e "s|\${APP_MOUNT_PATH}|$path|g" -e "s|\${APP_MOUNT}|$mount|g" \
      "$template" >"$out.tmp"
    mv "$out.tmp" "$out"
  done
fi

exec "$@"
