#!/bin/bash
# yourapplication-reload: the one zero-downtime reload of the app in every
# image (`make reload-<mode>` runs it with `docker compose exec`). New app
# processes take over from the old ones, requests in flight finish, and no
# request is refused meanwhile. Each mode uses its server's own graceful means:
#   apache-cgi     nothing to restart: every request starts the app anew from
#                  its file, so the next one already runs the new code (see
#                  below why not Apache's graceful restart).
#   apache-fcgid   apache2ctl -k graceful: mod_fcgid starts new app processes
#                  (then prespawned again, as at boot) and the old ones finish.
#   nginx-fcgi     one app process at a time (supervisorctl restart), so the
#                  FastCGI socket supervisord holds for the group is never
#                  closed: the other process keeps accepting on it meanwhile.
#   lighttpd-fcgi  SIGUSR1, lighttpd's graceful restart (dumb-init forwards it).
#   nginx-prefork  SIGHUP to the pre-fork master: each worker is replaced,
#                  and retired only once its replacement listens.
set -eu

# The app processes' pids: FastCGI servers and pre-fork workers (not the master).
app_pids() {
  pgrep -f '/srv/yourapplication/app/yourapplication\.fcgi|/gateway/http/worker-entry\.ts' || true
}

# Apache, lighttpd and the pre-fork master reload in the background once told
# to: return once none of the old app processes is left (at most 30 s), so
# that the reload is done when this command is.
wait_replaced() {
  local old="$1" i pid alive
  for i in $(seq 300); do
    alive=
    for pid in $old; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  echo "yourapplication-reload: old app processes still running after 30 s:" $old >&2
  return 1
}

old=$(app_pids)
case "${APP_MODE:-}" in
  apache-cgi)
    # Not `apache2ctl -k graceful`: that replaces mod_cgid's daemon too, and
    # its socket is gone for an instant meanwhile; a CGI request that
    # connects then is answered 503 ("unable to connect to cgi daemon":
    # mod_cgid retries a refused connection, not a missing socket). Measured
    # 2026-12-03: 1 of 25 graceful restarts under wrk -c4, 2 failed of 169 in
    # make soak. A CGI app needs no restart to take new code.
    echo "yourapplication-reload: apache-cgi starts the app anew for every request; nothing to restart"
    exit 0
    ;;
  apache-fcgid)
    apache2ctl -k graceful
    wait_replaced "$old"
    exec /usr/local/bin/yourapplication-prespawn --after-reload
    ;;
  nginx-fcgi)
    # yourapplication:yourapplication_0, _1, ... as supervisord names them.
    for process in $(supervisorctl status 'yourapplication:*' | awk '{print $1}'); do
      supervisorctl restart "$process"
    done
    ;;
  lighttpd-fcgi)
    kill -USR1 1
    wait_replaced "$old"
    ;;
  nginx-prefork)
    supervisorctl signal HUP 'yourapplication:*'
    wait_replaced "$old"
    ;;
  *)
    echo "yourapplication-reload: unknown APP_MODE '${APP_MODE:-}'" >&2
    exit 64
    ;;
esac
