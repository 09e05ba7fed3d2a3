#!/bin/bash
# valgrind's memcheck on the moat commands it can follow: those that read
# what users and engines hand moat without entering a container (spec,
# features, state, list, audit and its readers, explain, policy generate
# and diff of what needs no compiled filter), and the life of a container
# after its creation: start, ps, pause, resume, update, events --stats,
# kill --all, delete and delete --force. Creation itself cannot run under
# Debian 12's valgrind (3.19): it follows moat's re-execution from the
# sealed memfd (by its /proc path), but has no openat2 (syscall 437), which
# moat needs for every path inside the rootfs; so create runs natively here
# and the ASan+UBSan lane covers it. pidfd_open (434) is missing too: kill
# of the init alone cannot run either. A memcheck error or a definite leak
# fails the case.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || skip_all "valgrind is not installed (apt-get install valgrind)"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"
# memcheck checks the heap through the dynamic loader: where moat is static,
# the build's shared-library twin of it (tests/moat-shared) runs under it
VGMOAT=${MOAT_SHARED:-$MOAT}
# an ASan binary cannot run under valgrind: that lane has its own checker
if [ "${MOAT_SKIP_VALGRIND:-}" = 1 ] || grep -q __asan_init "$VGMOAT" 2>/dev/null; then
  skip_all "valgrind: run by the other lane (this moat is built with AddressSanitizer)"
fi

AUD="$TMP/audit"
POL=$(cd "$(dirname "$0")/../policies" && pwd)
VG () { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
          --log-file="$TMP/vg.%p" "$VGMOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
# vg_ok DESC CMD...: memcheck clean (exit status not 99) and the command succeeded
vg_ok () {
  local d=$1; shift
  rm -f "$TMP"/vg.*
  VG "$@" >"$TMP/out" 2>&1
  local rc=$?
  if [ "$rc" = 0 ]; then ok "$d"; else not_ok "$d"; diag "exit $rc: $*" "$(cat "$TMP"/vg.* 2>/dev/null | head -30)" "$(head -5 "$TMP/out")"; fi
}
# vg_fails DESC CMD...: a refused input, still memcheck clean
vg_fails () {
  local d=$1; shift
  rm -f "$TMP"/vg.*
  VG "$@" >"$TMP/out" 2>&1
  local rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 99 ]; then ok "$d"; else not_ok "$d"; diag "exit $rc: $*" "$(cat "$TMP"/vg.* 2>/dev/null | head -30)"; fi
}

B="$TMP/b"
mkdir -p "$B"
vg_ok "spec" spec --bundle "$B"
rm -f "$B/config.json"
vg_ok "spec --rootless" spec --rootless --bundle "$B"
vg_ok "features" features

# a real container (run natively) for state, list, audit and explain
mkbundle "$TMP/c" /bin/workload sleep 30
cfg "$TMP/c" 'del(.linux.resources)'
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run -d --policy "$POL/default.json" --bundle "$TMP/c" vg1 >/dev/null 2>&1 \
  || "$MOAT" --root "$ROOT" --audit-dir "$AUD" run -d --bundle "$TMP/c" vg1 >/dev/null 2>&1
vg_ok "state" state vg1
vg_ok "list" list
vg_ok "list --format json" list --format json
M delete --force vg1 >/dev/null 2>&1

# the rest of a container's life, on one created natively
"$MOAT" --root "$ROOT" --audit-dir "$AUD" create --bundle "$TMP/c" vgl >/dev/null 2>&1
vg_ok "start" start vgl
t_is "which started it" "$(M state vgl | jq -r .status)" running
vg_ok "ps" ps vgl
vg_ok "pause" pause vgl
t_is "which froze it" "$(M state vgl | jq -r .status)" paused
vg_ok "resume" resume vgl
vg_ok "update --pids-limit" update --pids-limit 50 vgl
vg_ok "events --stats" events --stats vgl
vg_ok "kill --all" kill --all vgl KILL
wait_status vgl stopped
vg_ok "delete" delete vgl
t_fails "which removed it" M state vgl
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run -d --bundle "$TMP/c" vgf >/dev/null 2>&1
vg_ok "delete --force of a running container" delete --force vgf
t_is "which left no process behind" "$(stray_procs vgf)" 0

# an audit log with every kind of record
printf '%s\n' '#!/bin/sh' '/bin/workload syscall reboot 0' '/bin/workload syscall mount s:none s:/tmp s:tmpfs 0' \
  '/bin/workload segv' > "$TMP/c/rootfs/bin/trip"
chmod 755 "$TMP/c/rootfs/bin/trip"
setargs "$TMP/c" /bin/sh /bin/trip
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run --policy "$POL/default.json" --bundle "$TMP/c" vg2 >/dev/null 2>&1
vg_ok "audit" audit vg2
t_like "which read the records (a denied reboot, a fault)" "$(tr '\n' ' ' < "$TMP/out")" "reboot.*SIGSEGV"
vg_ok "audit --json" audit --json vg2
vg_ok "audit --summary" audit --summary vg2
vg_ok "explain" explain vg2
vg_ok "policy generate --from-audit" policy generate --from-audit vg2 --base "$POL/strict.json" -o "$TMP/gen.json"
printf '{"time":"x","wall":1,"kind":["a"],"pid":1e308,"args":{"a":[[[[]]]]}}\n{bad\n' > "$AUD/vg3.jsonl"
# (the record it can read is shown, the line it cannot is counted: exit 1)
vg_fails "audit of a log with malformed records" audit vg3
t_like "... the readable record shown, the other counted" "$(cat "$TMP/out")" "1 line could not be read \(the first: line 2\)"
vg_fails "state of an unknown container" state nosuch
printf '{"name": "x", "seccomp": {"defaultAction": [1, 2' > "$TMP/bad.json"
vg_fails "a malformed policy file" policy show "$TMP/bad.json"
t_done
