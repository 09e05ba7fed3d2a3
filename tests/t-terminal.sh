#!/bin/bash
# Terminals: process.terminal with --console-socket (as conmon and the
# containerd shim use it), `moat run` in the foreground relaying its own
# stdio, exec -t both ways. What the process sees is read from inside: its
# tty, /dev/console, the window size, its controlling terminal.
. "$(dirname "$0")/lib.sh"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"

B="$TMP/b"
mkbundle "$B"
cfg "$B" '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 100}'
W=$WORKLOAD
# shargs DIR SCRIPT: the process is `sh -c SCRIPT` (jq would take a -c among --args)
shargs () { cfg "$1" '.process.args = ["/bin/busybox", "sh", "-c", $s]' --arg s "$2"; }

# run in the foreground: moat holds the pty and relays
shargs "$B" 'tty; stat -c "%F %t" /dev/console; stty size; cut -d" " -f7 /proc/self/stat; exit 5'
OUT=$(M run --bundle "$B" tt1 < /dev/null | tr -d '\r')
M run --bundle "$B" tt1b < /dev/null > /dev/null 2>&1
t_is "run with process.terminal: exit status passes" "$?" 5
t_is "the process's stdio is a pty of its own devpts" "$(sed -n 1p <<<"$OUT")" /dev/pts/0
t_is "/dev/console is that pty (char device, major 0x88 = 136)" "$(sed -n 2p <<<"$OUT")" "character special file 88"
t_is "process.consoleSize: 30 rows, 100 columns" "$(sed -n 3p <<<"$OUT")" "30 100"
t_unlike "it has a controlling terminal (tty_nr != 0)" "$(sed -n 4p <<<"$OUT")" "^0$"

if command -v script >/dev/null; then
  setargs "$B" /bin/busybox sh
  # term_session ID INPUT: an interactive run under script(1), INPUT typed
  # once the shell's prompt is there (not after a guessed delay); script's
  # status (the run's) is returned, its output is in $TMP/tout.ID.
  term_session () {
    local fifo="$TMP/tin.$1" out="$TMP/tout.$1" sp rc
    mkfifo "$fifo"
    script -qec "'$MOAT' --root '$ROOT' run --bundle '$B' $1" /dev/null < "$fifo" > "$out" 2>&1 &
    sp=$!
    exec 7>"$fifo"
    for _ in $(seq 250); do grep -q '# ' "$out" 2>/dev/null && break; sleep 0.02; done
    printf '%s\n' "$2" >&7
    exec 7>&-
    wait "$sp"; rc=$?
    return $rc
  }
  term_session tt2 'echo hi $((6*7)); exit 3'
  t_like "interactive shell under a terminal: input reaches it, output comes back" "$(tr -d '\r' < "$TMP/tout.tt2")" "^hi 42$"
  term_session tt3 'exit 3'
  t_is "and its exit status" "$?" 3
else
  ok "# SKIP no script(1)"; ok "# SKIP no script(1)"
fi

# --console-socket: the master goes to the socket's owner (a conmon stand-in)
shargs "$B" 'read x; echo "got $x on $(tty)"'
"$W" console "$TMP/con.sock" hello > "$TMP/con.out" &
CP=$!
for i in $(seq 50); do [ -S "$TMP/con.sock" ] && break; sleep 0.1; done
t_ok "create --console-socket" M create --bundle "$B" --console-socket "$TMP/con.sock" tt4
t_ok "start" M start tt4
wait "$CP"
t_like "the receiver got the pty with runc's name message" "$(cat "$TMP/con.out")" "^console-name /dev/ptmx$"
t_like "and talked to the process through it" "$(tr -d '\r' < "$TMP/con.out")" "^got hello on /dev/pts/0$"
M delete --force tt4 >/dev/null 2>&1

# bad combinations: clear errors, nothing left
setargs "$B" /bin/true
OUT=$(M create --bundle "$B" tt5 2>&1); RC=$?
t_like "process.terminal without --console-socket on create: an error" "$RC $OUT" "^1 .*process.terminal: needs --console-socket"
t_is "and no state is left" "$(ls "$ROOT" 2>/dev/null | grep -c tt5)" 0
OUT=$(M run -d --bundle "$B" tt6 2>&1)
t_like "run -d: the same" "$OUT" "needs --console-socket"
cfg "$B" '.process.terminal = false'
OUT=$(M create --bundle "$B" --console-socket "$TMP/none.sock" tt7 2>&1)
t_like "--console-socket with process.terminal false: an error" "$OUT" "process.terminal is false"
OUT=$(M create --bundle "$B" --console-socket "$TMP/nobody-listens.sock" tt8 2>&1)
t_is "no leftovers of the failed creates" "$(ls "$ROOT" 2>/dev/null | grep -c 'tt[5-8]')$(stray_procs tt5)$(cgroup_exists tt7 && echo cg)" 00

# exec -t
setargs "$B" /bin/workload sleep 60
t_ok "run -d a container without a terminal" M run -d --bundle "$B" tt9
OUT=$(M exec -t tt9 /bin/busybox sh -c 'tty; exit 4' < /dev/null | tr -d '\r')
t_is "exec -t: the process gets a pty" "$OUT" /dev/pts/0
M exec -t tt9 /bin/busybox sh -c 'exit 4' < /dev/null > /dev/null
t_is "exec -t: exit status" "$?" 4
OUT=$(M exec -t -u 1000:1000 tt9 /bin/workload fstat 0 < /dev/null | tr -d '\r')
t_like "exec -t --user 1000: the pty is uid 1000's (runc gives it to the user)" "$OUT" '^type chr mode 0[0-7]+ uid 1000 '
"$W" console "$TMP/con2.sock" again > "$TMP/con2.out" &
CP=$!
for i in $(seq 50); do [ -S "$TMP/con2.sock" ] && break; sleep 0.1; done
t_ok "exec -t -d --console-socket" M exec -t -d --console-socket "$TMP/con2.sock" tt9 /bin/busybox sh -c 'read x; echo "got $x"'
wait "$CP"
t_like "the receiver talked to the exec'd process" "$(tr -d '\r' < "$TMP/con2.out")" "^got again$"
t_like "exec -t -d without a console socket: an error" "$(M exec -t -d tt9 /bin/true 2>&1)" "needs --console-socket"
M delete --force tt9 >/dev/null 2>&1

# A /dev/console planted as a symlink in a rootfs whose /dev is not a tmpfs
# of moat's: refused, and the host file it points at is untouched.
B2="$TMP/b2"
mkbundle "$B2" /bin/true
cfg "$B2" '.process.terminal = true | .mounts |= map(select(.destination != "/dev"))'
mkdir -p "$B2/rootfs/dev/pts"
echo host-data > "$TMP/host-target"
ln -s "$TMP/host-target" "$B2/rootfs/dev/console"
MOUNTS=$(mount_count)
OUT=$(M run --bundle "$B2" tt10 2>&1 < /dev/null); RC=$?
t_like "a symlinked /dev/console is refused" "$RC $OUT" "^1 .*/dev/console in the container"
t_is "the host file is unchanged" "$(cat "$TMP/host-target")" host-data
t_is "and no mount was added on the host" "$(mount_count)" "$MOUNTS"
t_done
