#!/bin/bash
# --audit-forward: each record also reaches the host's syslog (/dev/log) and
# the kernel's audit (a user message), one key=value line per record, rate
# limited with a folded line that keeps the count; off by default.
#
# syslog: the test's own syslogd (busybox) on /dev/log in a private mount
# namespace (an overlay over /dev, so the host's /dev is untouched).
# kernel: the test reads the kernel's audit through the read-only
# multicast group (AUDIT_NLGRP_READLOG), which changes nothing: no auditd is
# started, no rule or audit setting is touched. AUDIT_USER_AVC messages are
# taken by the kernel even while audit is disabled.
. "$(dirname "$0")/lib.sh"

[ -n "$BUSYBOX" ] || skip_all "needs busybox (its syslogd)"
"$BUSYBOX" --list | grep -qx syslogd || skip_all "this busybox has no syslogd"
command -v unshare >/dev/null || skip_all "needs unshare (util-linux)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip_all "needs overlayfs (the private /dev/log)"

AUD="$TMP/audit"
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
B="$TMP/b"
deny_bundle "$B"
cat > "$B/rootfs/bin/deny.sh" <<'EOF'
#!/bin/sh
/bin/workload named s:mk syscall mkdir s:/tmp/a 0755
/bin/workload named s:mk syscall mkdir s:/tmp/b 0755
/bin/workload named s:mk syscall mkdir s:/tmp/c 0755
/bin/workload named x:7268206d6d syscall rmdir s:/tmp
/bin/workload named x:7268206d6d syscall rmdir s:/tmp
exit 0
EOF
chmod 755 "$B/rootfs/bin/deny.sh"
setargs "$B" /bin/deny.sh

# --- bad values: an error naming where, nothing left behind ----------------
OUT=$(A --audit-forward sylog run --bundle "$B" ha-bad 2>&1); RC=$?
t_is "--audit-forward sylog: refused" "$RC" 1
t_like "... naming the flag and the value" "$OUT" "--audit-forward: .sylog. is not syslog, kernel"
t_is "... and nothing left behind" "$(ls "$ROOT" 2>/dev/null)" ""
cfg "$B" '.annotations["org.moat.audit.forward"] = "kernel,\u001b[2J"'
OUT=$(A run --bundle "$B" ha-bad 2>&1); RC=$?
t_is "a bad annotation: refused" "$RC" 1
t_like "... naming the annotation, the control character shown escaped" "$OUT" \
  'annotations\.org\.moat\.audit\.forward: .kernel,\\x1b\[2J. is not'
cfg "$B" 'del(.annotations)'

# --- syslog --------------------------------------------------------------
mkdir -p "$TMP/ov/u" "$TMP/ov/w"
cp "$BUSYBOX" "$TMP/busybox"
cat > "$TMP/in-ns.sh" <<'EOF'
# Runs in a private mount namespace: /dev is an overlay whose upper layer
# is the test's, so the syslogd's /dev/log exists here only.
set -u
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=/dev,upperdir=$TMP/ov/u,workdir=$TMP/ov/w" /dev || exit 3
"$TMP/busybox" syslogd -n -S -O "$TMP/syslog.out" &
SL=$!
for _ in $(seq 1 100); do [ -S /dev/log ] && break; sleep 0.05; done
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
A run --bundle "$B" ha-off >/dev/null 2>&1
A --audit-forward syslog run --bundle "$B" ha-sys >/dev/null 2>&1
# the annotation alone, and a storm past the rate
cp "$B/config.json" "$TMP/config.keep"
jq '.annotations["org.moat.audit.forward"] = "syslog" | .process.args = ["/bin/workload","storm","1","500","mkdir","s:/tmp/x","0755"]' \
  "$TMP/config.keep" > "$B/config.json"
A --audit-rate 0 run --bundle "$B" ha-storm >/dev/null 2>&1
cp "$TMP/config.keep" "$B/config.json"
# the syslogd has read all that was sent before it is stopped: a marker
# line sent last comes out last
"$TMP/busybox" logger -t marker end-of-test
for _ in $(seq 1 200); do grep -q end-of-test "$TMP/syslog.out" 2>/dev/null && break; sleep 0.05; done
kill "$SL"
wait "$SL" 2>/dev/null
exit 0
EOF
TMP=$TMP MOAT=$MOAT ROOT=$ROOT AUD=$AUD B=$B unshare -m bash "$TMP/in-ns.sh"
t_is "the private namespace's syslogd ran" "$?" 0
t_is "the host's /dev has no /dev/log of the test's" "$(ls -l /dev/log 2>/dev/null | grep -c "$TMP")" 0
SYS=$(cat "$TMP/syslog.out" 2>/dev/null)
diag "$(grep -m 3 moat "$TMP/syslog.out")"
t_is "off by default: nothing of ha-off in syslog" "$(grep -c 'container=ha-off' <<<"$SYS")" 0
t_is "--audit-forward syslog: one line per denial" "$(grep -c 'moat\[[0-9]*\]: container=ha-sys wall=seccomp kind=syscall' <<<"$SYS")" 5
t_like "a line in the stable key=value form" "$SYS" \
  'moat\[[0-9]+\]: container=ha-sys wall=seccomp kind=syscall syscall=mkdir action=errno errno=EPERM rule=[^ ]+ comm="mk" pid=[0-9]+ nspid=[0-9]+$'
t_like "the errno of the rule" "$SYS" 'container=ha-sys .*syscall=rmdir action=errno errno=EACCES'
t_like "a comm with a space is in hex, as auditd writes it" "$SYS" 'syscall=rmdir .* comm=7268206D6D '
# The storm: the lines sent, plus what the folded lines say they stand
# for, are every call.
SENT=$(grep -c 'container=ha-storm wall=seccomp kind=syscall' <<<"$SYS")
FOLD=$(grep 'container=ha-storm wall=moat kind=folded' <<<"$SYS" | sed 's/.* count=\([0-9]*\).*/\1/' | awk '{s += $1} END {print s + 0}')
t_like "past the rate, records are folded" "$FOLD" '^[1-9]'
t_is "the lines sent and the folded counts: all 500 calls" "$((SENT + FOLD))" 500
t_is "the log has all 500 in full" "$(A audit --json ha-storm | jq -s '[.[] | select(.kind == "syscall")] | length')" 500

# --- the kernel's audit -------------------------------------------------------
PY=
for p in /usr/bin/python3 python3; do command -v "$p" >/dev/null && PY=$p && break; done
if [ -z "$PY" ]; then
  ok "# SKIP kernel: needs python3 (the test's reader of the audit multicast group)"
elif [ "$(A features | jq -r '.annotations["org.moat.audit.forward"]')" != syslog,kernel ]; then
  ok "# SKIP kernel: this moat was built without libaudit"
else
  cat > "$TMP/readlog.py" <<'EOF'
import socket, struct, sys, signal
# NETLINK_AUDIT (9), group AUDIT_NLGRP_READLOG (1): a copy of each record.
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
s.bind((0, 1))
out = open(sys.argv[1], "a")
open(sys.argv[2], "w").close()   # ready
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    d = s.recv(65536)
    ln, ty = struct.unpack("=IH", d[:6])
    text = d[16:ln].decode("utf-8", "replace")
    if "container=" in text:
        out.write("type=%d %s\n" % (ty, text)); out.flush()
EOF
  "$PY" "$TMP/readlog.py" "$TMP/kaudit.out" "$TMP/kaudit.ready" 2>"$TMP/readlog.err" &
  RL=$!
  for _ in $(seq 1 100); do [ -e "$TMP/kaudit.ready" ] && break; kill -0 "$RL" 2>/dev/null || break; sleep 0.05; done
  if [ ! -e "$TMP/kaudit.ready" ]; then
    ok "# SKIP kernel: the audit multicast group cannot be read here: $(tail -n 1 "$TMP/readlog.err")"
  else
    A --audit-forward kernel run --bundle "$B" ha-k >/dev/null 2>&1
    for _ in $(seq 1 100); do
      [ "$(grep -c 'container=ha-k ' "$TMP/kaudit.out" 2>/dev/null)" -ge 5 ] && break
      sleep 0.05
    done
    K=$(cat "$TMP/kaudit.out")
    diag "$(grep -m 1 'container=ha-k ' <<<"$K")"
    t_is "--audit-forward kernel: one AUDIT_USER_AVC per denial" \
      "$(grep -c "^type=1107 .*msg='container=ha-k wall=seccomp kind=syscall" <<<"$K")" 5
    t_like "in the form auditd's users know: exe, res=failed" "$K" \
      "container=ha-k .*syscall=mkdir action=errno errno=EPERM .* exe=[^ ]+ hostname=\? addr=\? terminal=.* res=failed'"
  fi
  kill "$RL" 2>/dev/null
  wait "$RL" 2>/dev/null
fi
t_done
