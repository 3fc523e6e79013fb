#!/bin/bash
# yourapplication-reload: the one zero-downtime reload of the app in every
# image (`make reload-<mode>` runs it with `docker compose exec`). New app
# processes take over from the old ones, requests in flight finish, and no
# request is refused meanwhile. Each mode uses its server's own graceful means:
#   apache-cgi     apache2ctl -k graceful: every request starts the app anew
#                  anyway; this re-reads the config and replaces the children
#                  once their requests are done.
#   apache-fcgid   apache2ctl -k graceful: mod_fcgid starts new app processes
#                  (then prespawned again, as at boot) and the old ones finish.
#   nginx-fcgi     one app process at a time (supervisorctl restart), so the
#                  FastCGI socket supervisord holds for the group is never
#                  closed: the other process keeps accepting on it meanwhile.
#   lighttpd-fcgi  SIGUSR1, lighttpd's graceful restart (dumb-init forwards it).
#   nginx-prefork  SIGHUP to the pre-fork master: each worker is replaced,
#                  and retired only once its replacement listens.
set -eu

case "${APP_MODE:-}" in
  apache-cgi)
    exec apache2ctl -k graceful
    ;;
  apache-fcgid)
    apache2ctl -k graceful
    exec /usr/local/bin/yourapplication-prespawn --after-reload
    ;;
  nginx-fcgi)
    # yourapplication:yourapplication_0, _1, ... as supervisord names them.
    for process in $(supervisorctl status 'yourapplication:*' | awk '{print $1}'); do
      supervisorctl restart "$process"
    done
    ;;
  lighttpd-fcgi)
    exec kill -USR1 1
    ;;
  nginx-prefork)
    exec supervisorctl signal HUP 'yourapplication:*'
    ;;
  *)
    echo "yourapplication-reload: unknown APP_MODE '${APP_MODE:-}'" >&2
    exit 64
    ;;
esac
