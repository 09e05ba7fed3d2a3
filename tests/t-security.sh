#!/bin/bash
# Hardening of the core: the host's moat binary is out of the container's
# reach (CVE-2019-5736 class), masking cannot be redirected through a
# planted /dev/null (CVE-2025-31133 class), the state is private.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
mkbundle "$B" /bin/workload sleep 30
SUM_BEFORE=$(sha256sum < "$MOAT")

# A created container's init runs moat's code: from a sealed memfd copy.
M create --bundle "$B" --pid-file "$TMP/pid" sec-1
PID=$(cat "$TMP/pid")
t_like "the init runs from a memfd, not the host binary" "$(readlink /proc/$PID/exe)" "^/memfd:moat"
t_fails "its /proc/PID/exe cannot be opened for writing" sh -c "exec 3>>/proc/$PID/exe"
t_like "(busy while it runs, and sealed read-only)" "$(sh -c "exec 3>>/proc/$PID/exe" 2>&1)" "Text file busy|Operation not permitted"
t_like "the state directory is private to root" "$(stat -c %a "$ROOT/sec-1")" "^7[01]{2}$"
t_is "exec.sock is 0600" "$(stat -c %a "$ROOT/sec-1/exec.sock")" 600
M delete sec-1

# (A workload that is a script for /proc/self/exe, CVE-2019-5736's way in,
# is attacked below: a process of the container holds the exe of what runs
# it and writes it once it is free.)

# One sealed copy serves every container: a create takes the copy a running
# supervisor runs from, but only a sealed one holding exactly this program.
setargs "$B" /bin/workload sleep 30
M run -d --bundle "$B" sec-s1 >/dev/null 2>&1
M run -d --bundle "$B" sec-s2 >/dev/null 2>&1
S1=$(jq -r .supervisorPid "$ROOT/sec-s1/state.json"); S2=$(jq -r .supervisorPid "$ROOT/sec-s2/state.json")
t_like "a supervisor runs from a sealed copy" "$(readlink /proc/$S1/exe)" "^/memfd:moat"
t_is "the second container's supervisor runs from the first one's copy" \
  "$(stat -L -c %i /proc/$S2/exe)" "$(stat -L -c %i /proc/$S1/exe)"
# A lookalike (the same bytes but one) handed out on a sup.sock is refused.
FAKE="$TMP/fakeroot"
mkdir -p "$FAKE/other"
"$WORKLOAD" serve-copy "$FAKE/other/sup.sock" /proc/$S1/exe >"$TMP/served" 2>&1 &
SERVER=$!
for _ in $(seq 300); do [ -S "$FAKE/other/sup.sock" ] && break; sleep 0.1; done   # (a busy host: up to 30 s)
"$MOAT" --root "$FAKE" --audit-dir "$TMP/fakeaudit" run -d --bundle "$B" sec-f >/dev/null 2>&1
SF=$(jq -r .supervisorPid "$FAKE/sec-f/state.json" 2>/dev/null)
FAKE_INO=$(sed -n 's/^serve-copy: inode //p' "$TMP/served")
t_is "the lookalike was offered" "$(grep -c '^serve-copy: served' "$TMP/served")" 1
t_like "... and refused: that container runs from a copy of its own" \
  "$(stat -L -c %i /proc/$SF/exe 2>&1) $(readlink /proc/$SF/exe)" "^[0-9]+ /memfd:moat"
t_fails "(not the lookalike's)" test "$(stat -L -c %i /proc/$SF/exe 2>&1)" = "$FAKE_INO"
kill "$SERVER"; wait "$SERVER" 2>/dev/null
"$MOAT" --root "$FAKE" delete --force sec-f >/dev/null 2>&1
M delete --force sec-s1 >/dev/null 2>&1
M delete --force sec-s2 >/dev/null 2>&1

# Masking uses the host's /dev/null, never the image's.
cfg "$B" 'del(.mounts[] | select(.destination == "/dev"))'
mkdir -p "$B/rootfs/dev"
ln -sf /proc/sys/kernel/core_pattern "$B/rootfs/dev/null"
CORE=$(cat /proc/sys/kernel/core_pattern)
cfg "$B" '.linux.maskedPaths = ["/etc/passwd"]'
setargs "$B" /bin/workload cat /etc/passwd
OUT=$(M run --bundle "$B" sec-3); RC=$?
t_is "a masked file still reads empty with a planted /dev/null" "$RC:$(printf %s "$OUT" | wc -c)" "0:0"
t_is "the host's core_pattern is untouched" "$(cat /proc/sys/kernel/core_pattern)" "$CORE"
setargs "$B" /bin/workload stat /dev/null
t_is "the planted /dev/null was replaced by the real device" "$(M run --bundle "$B" sec-4)" \
  "type chr mode 0666 uid 0 gid 0 rdev 1:3"

# `moat exec` attacked from inside (CVE-2019-5736 through exec; CVE-2024-21626
# class fds). A process in the container watches the newest pid of its pid
# namespace in a tight loop while moat execs into the container again and
# again: whatever moat's process shows before it becomes the workload is
# what an attacker gets. A copy of moat is attacked, not the suite's binary.
POL="$(cd "$(dirname "$0")/../policies" && pwd)"
COPY="$TMP/moat-copy"
cp "$MOAT" "$COPY"
SUM_COPY=$(sha256sum < "$COPY")
MC () { "$COPY" --root "$ROOT" --audit-dir "$TMP/audit" "$@"; }
EX="$TMP/ex"
# attack ID OUT [run options]: run the bundle's attacker as ID, exec into
# it 40 times, tell it to stop, and wait for its report in OUT.
attack () {
  local id=$1 out=$2 runner; shift 2
  rm -f "$EX/rootfs/tmp/stop"
  MC run "$@" --bundle "$EX" "$id" >"$out" 2>&1 &
  runner=$!
  wait_status "$id" running 100
  for _ in $(seq 40); do MC exec "$id" ${ATTACK_EXEC:-/bin/workload pid} >/dev/null 2>&1; done
  touch "$EX/rootfs/tmp/stop"
  wait "$runner"
  MC delete --force "$id" >/dev/null 2>&1
}
mkbundle "$EX" /bin/workload snatch-exe 60 /tmp/stop
attack sec-x1 "$TMP/snatch-exe.out" --policy "$POL/default.json"
t_like "an exec'd process's /proc/PID/exe could not be taken and rewritten" \
  "$(tail -n 1 "$TMP/snatch-exe.out")" "^held [0-9]+ wrote 0$"
t_is "... and the moat binary is unchanged" "$(sha256sum < "$COPY")" "$SUM_COPY"
diag "$(grep -v '^blocked' "$TMP/snatch-exe.out" | head -n 5)"

# The same with CAP_SYS_PTRACE (a common --cap-add): /proc/PID/fd/N and
# pidfd_getfd of every fd moat's process holds. None may be a directory of
# the host (the state root, the state dir, a cgroup).
MARK="$TMP/host-marker-$$"
touch "$MARK"
setargs "$EX" /bin/workload snatch-fds 60 /tmp/stop "$MARK"
cfg "$EX" '.process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE"])'
attack sec-x2 "$TMP/snatch-fds.out"
t_like "no host directory reached from an exec'd process's fds" "$(tail -n 1 "$TMP/snatch-fds.out")" ", no leak$"
t_unlike "(the host's files stayed out of reach)" "$(cat "$TMP/snatch-fds.out")" "^ESCAPED"
diag "$(head -n 5 "$TMP/snatch-fds.out")"

# With CAP_SYS_PTRACE, not being dumpable does not keep /proc/PID/exe
# closed: what the process runs must itself be out of reach (the sealed copy).
setargs "$EX" /bin/workload snatch-exe 60 /tmp/stop
attack sec-x3 "$TMP/snatch-exe3.out"
t_like "with CAP_SYS_PTRACE too, no exec'd process's exe could be rewritten" \
  "$(tail -n 1 "$TMP/snatch-exe3.out")" "^held [0-9]+ wrote 0$"
t_is "... and the moat binary is unchanged" "$(sha256sum < "$COPY")" "$SUM_COPY"
diag "$(sort "$TMP/snatch-exe3.out" | uniq -c | head -n 5)"

# CVE-2019-5736 itself: what `moat exec` runs is a script for
# /proc/self/exe, so moat's own program runs again in the container (and is
# dumpable there); the watcher holds its exe and writes it once it is free.
# Only the sealed copy keeps the binary on the host unchanged.
printf '#!/proc/self/exe\n' > "$EX/rootfs/bin/evil"
chmod 755 "$EX/rootfs/bin/evil"
ATTACK_EXEC=/bin/evil attack sec-x4 "$TMP/snatch-evil.out"
t_like "a #!/proc/self/exe exec: moat's exe was held in the container and could not be rewritten" \
  "$(tail -n 1 "$TMP/snatch-evil.out")" "^held [1-9][0-9]* wrote 0$"
t_is "... and the moat binary is unchanged" "$(sha256sum < "$COPY")" "$SUM_COPY"
t_is "... nor the suite's" "$(sha256sum < "$MOAT")" "$SUM_BEFORE"
diag "$(sort "$TMP/snatch-evil.out" | uniq -c | head -n 5)"

# The init in the moment between its capabilities going down to the
# container's and its execve, attacked by a process `moat exec` put into
# the created container: under a policy that allows pidfd_getfd (audit-all
# allows and logs everything), it tries every fd of pid 1 while `moat
# start` runs. Before: the seccomp listener and the sockets to the
# supervisor and to `moat start` were taken.
IN="$TMP/in"
mkbundle "$IN" /bin/workload sleep 30
MC create --policy "$POL/audit-all.json" --bundle "$IN" sec-i1
MC exec -d sec-i1 /bin/workload snatch-init 30 /tmp/stop >"$TMP/snatch-init.out" 2>&1
for _ in $(seq 100); do grep -q '^ready' "$TMP/snatch-init.out" 2>/dev/null && break; sleep 0.1; done
MC start sec-i1
touch "$IN/rootfs/tmp/stop"
for _ in $(seq 100); do grep -q '^took' "$TMP/snatch-init.out" 2>/dev/null && break; sleep 0.1; done
t_like "no fd of the init could be taken while it became the workload" "$(tail -n 1 "$TMP/snatch-init.out")" "^took 0 of"
diag "$(head -n 3 "$TMP/snatch-init.out")"
MC delete --force sec-i1 >/dev/null 2>&1

t_is "no container left" "$(M list -q)" ""
t_done
