# Apache's ErrorLog goes through this filter (yourapplication.conf:
# ErrorLog "||/usr/bin/mawk -W interactive -f .../error-log-limit.awk"), so that
# nobody can flood the container's log through Apache: not a CGI app that
# fails on every request (each CGI process is new, so the gateway's own
# per-process limit cannot sum them up; the script's stderr reaches the error
# log line by line), not 500 slow clients (one timeout line each).
#
# The same rule as the gateway's logger (gateway/logger.ts): per kind, the
# first 10 messages in a 10 s window are written whole, the rest are counted,
# and one line sums them up: "... and 512 more like it in the last 10 s".
# A kind is Apache's module:level plus its AH code ("core:error AH00126");
# a line without Apache's prefix (the stderr of a CGI script or of a
# mod_fcgid app process, passed on as it is) is of kind "stderr". A message
# is a line and its continuation lines (those whose text starts with white
# space: the frames of a stack trace), which share its fate.
# awk has no timers: a window's sum is written with the next line that comes
# after the window closed (of any kind), or when Apache stops.
BEGIN {
  LIMIT = 10; WINDOW = 10
}

function out(line) {
  print line > "/dev/stderr"
  fflush("/dev/stderr")
}

# Writes the sums of the windows that have closed by `now` (all of them when `all`).
function close_windows(now, all,    k) {
  for (k in start) {
    if (!all && now - start[k] < WINDOW) continue
    if (suppressed[k] > 0) {
      out(sprintf("%s [yourapplication:notice] ... and %d more like it in the last %d s (%s)",
        strftime("[%a %b %d %H:%M:%S %Y]"), suppressed[k], (now - start[k] < 1 ? 1 : now - start[k]), k))
    }
    delete start[k]; delete written[k]; delete suppressed[k]
  }
}

{
  now = systime()
  close_windows(now, 0)
  kind = "stderr"; text = $0
  # "[date] [module:level] [pid N:tid N] [client A:P] AH01215: text"
  if (match($0, /^\[[^]]*\] \[[^]]*\] /)) {
    head = substr($0, 1, RLENGTH)
    sub(/^\[[^]]*\] \[/, "", head); sub(/\] $/, "", head)
    kind = head
    if (match($0, /AH[0-9][0-9][0-9][0-9][0-9]: /)) {
      kind = kind " " substr($0, RSTART, RLENGTH - 2)
      text = substr($0, RSTART + RLENGTH)
    }
  }
  if (text ~ /^[ \t]/ && kind == last_kind) {
    # A continuation line: written if its message was.
    if (last_written) out($0)
    next
  }
  last_kind = kind
  if (!(kind in start)) { start[kind] = now; written[kind] = 0; suppressed[kind] = 0 }
  if (written[kind] < LIMIT) {
    written[kind]++; last_written = 1; out($0)
  } else {
    suppressed[kind]++; last_written = 0
  }
}

END {
  close_windows(systime(), 1)
}
