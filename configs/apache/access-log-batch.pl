#!/usr/bin/perl
# Apache's access log goes through this (yourapplication.conf:
# CustomLog "||/usr/bin/perl .../access-log-batch.pl" combined): it passes the
# lines to the container's stdout in batches, at most 5 writes a second, the
# way nginx's `access_log ... buffer=32k flush=1s` does in the nginx modes.
#
# Why: a write per request to stdout wakes Docker's log pipeline
# (containerd-shim, dockerd) once per request, which on the 2-core machine
# cost more CPU than the app itself at apache-fcgid's rates
# (docs/performance.md). Apache's own `BufferedLogs On` batches too but has no
# time limit: at workshop rates a line would show up only dozens of requests
# later. Here a line that comes after a quiet spell goes out at once (the read
# below wakes for it); only under load do lines wait, up to BATCH_SECONDS.
#
# Nothing is lost by waiting: Apache writes each line with one write(2), and
# while this sleeps the lines queue in the pipe, which is made 1 MiB (the
# unprivileged maximum, /proc/sys/fs/pipe-max-size) so that a second of
# lines at ~5,000 requests/s fits; past that Apache's write waits, it does not
# fail. On SIGTERM (Apache's stop and graceful restart send it; the old
# children may still be finishing requests) it stops sleeping and passes on
# everything until the last writer has closed the pipe.
use strict;
use warnings;

my $BATCH_SECONDS = 0.2;
my $F_SETPIPE_SZ = 1031;    # <linux/fcntl.h>; Perl's Fcntl does not export it
fcntl(STDIN, $F_SETPIPE_SZ, 1 << 20);    # best effort: the default 64 KiB also works, with waits

my $stopping = 0;
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = $SIG{USR1} = $SIG{WINCH} = sub { $stopping = 1 };
$SIG{PIPE} = 'IGNORE';    # stdout gone: syswrite fails and the loop ends, no signal death

while (1) {
    my $read = sysread(STDIN, my $lines, 1 << 20);
    if (!defined $read) {
        next if $!{EINTR};
        last;
    }
    last if $read == 0;    # every writer (Apache's parent and children) has closed the pipe
    my $offset = 0;
    while ($offset < $read) {
        my $written = syswrite(STDOUT, $lines, $read - $offset, $offset);
        if (!defined $written) {
            next if $!{EINTR};
            exit 1;
        }
        $offset += $written;
    }
    select(undef, undef, undef, $BATCH_SECONDS) unless $stopping;
}
