#!/bin/sh
# Picks the server config variant for the mount in APP_MOUNT, then execs the
# server (or supervisord), which so becomes PID 1 and receives docker's signals.
# Nothing else: no supervision loop, no config editing. The servers read
# APP_VARIANT themselves (Apache ${APP_VARIANT}, lighttpd env.APP_VARIANT,
# supervisord %(ENV_APP_VARIANT)s for nginx -c).
set -eu

case "${APP_MOUNT:-}" in
  "" | /) APP_VARIANT=root ;;
  /yourapplication | /yourapplication/) APP_VARIANT=yourapplication ;;
  *)
    echo "entrypoint: APP_MOUNT must be empty (the root) or /yourapplication, not '${APP_MOUNT}'" >&2
    exit 64
    ;;
esac
export APP_VARIANT

exec "$@"
