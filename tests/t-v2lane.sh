#!/bin/bash
# The pure cgroup v2 lane. This host is hybrid and must not be changed, so
# tests/v2lane/run boots Debian's kernel with cgroup_no_v1=all under qemu
# and runs, once, against this same build: a check that the guest really
# is pure v2, `moat features`' view of it, and the inner test scripts of
# V2LANE_TESTS. Each inner script becomes one TAP line here, its failing
# lines diagnostics. Skipped (1..0) where qemu or the kernel is missing.
# Environment: V2LANE_TESTS (inner scripts, names in tests/), V2LANE_JOBS
# (how many run at once in the guest, default 2), V2LANE_SYSTEMD and
# V2LANE_MOAT_OPTS (tests/t-systemd.sh: systemd as the guest's PID 1, global
# options for every moat call there), V2LANE_LAST (the cache's directory
# for the inner scripts' output, default last), V2LANE_TIMEOUT (hard limit
# for the VM, default 900 s) and the rest of tests/v2lane/run's. The inner
# scripts' full output is kept in $V2LANE_CACHE/last/ after each run.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
: "${TESTDIR:=$HERE}"
LANE=$HERE/v2lane/run

# The inner scripts: the cgroup wall's own, the lifecycle, the syscall
# wall (the guest's 6.1 kernel leaves a RECV blocked when the last filtered
# task is gone, where 6.6+ ends it: the supervisor must handle both), and
# exec with its attacks (its helper is born in the container's cgroup,
# which only pure v2 makes the real one, and must hold no fd of it), and
# the flags with a v2 form (exec --cgroup SUB, update's io.weight, no rt).
# (AppArmor and CRIU boot a guest of their own: t-kernel-lane.sh.)
if [ -z "${V2LANE_TESTS:-}" ]; then
  if [ -f "$TESTDIR/t-cgroup.sh" ]; then
    V2LANE_TESTS="t-cgroup.sh t-lifecycle.sh t-seccomp.sh t-exec.sh t-security.sh t-flags.sh"
  else
    V2LANE_TESTS="t-lifecycle.sh t-rootfs.sh"
  fi
fi

# The sanitizer lane of tests/run-suite.sh skips it: one boot per suite run.
[ "${MOAT_SKIP_V2LANE:-}" = 1 ] && skip_all "v2 lane: run by the other lane of this suite"
why=$("$LANE" --check 2>&1 >/dev/null)
case $? in
  0) ;;
  77) skip_all "v2 lane: ${why#SKIP: }" ;;
  *) not_ok "the v2 lane's kernel and initramfs can be prepared"; diag "$why"; t_done ;;
esac

MOAT=$(realpath "$MOAT"); WORKLOAD=$(realpath "$WORKLOAD"); BUILDDIR=$(realpath "$BUILDDIR")
TESTDIR=$(realpath "$TESTDIR")
LIMIT=${V2LANE_TIMEOUT:-900}   # ~230 s on a quiet host, near 500 s on a busy one
# tests/t-systemd.sh runs this with systemd as the guest's PID 1.
LANE_ARGS=(); LABEL="pure v2"; LAST=${V2LANE_LAST:-last}
if [ -n "${V2LANE_SYSTEMD:-}" ]; then LANE_ARGS=(--systemd); LABEL="systemd (pure v2)"; LAST=last-systemd; fi
RES=$TMP/results
mkdir -p "$RES"
cmd=$(printf '%q ' env MOAT="$MOAT" WORKLOAD="$WORKLOAD" BUSYBOX="$BUSYBOX" TESTDIR="$TESTDIR" \
  BUILDDIR="$BUILDDIR" V2_RESULTS="$RES" V2_TESTS="$V2LANE_TESTS" V2_BUDGET=$((LIMIT - 30)) \
  V2_JOBS="${V2LANE_JOBS:-2}" MOAT_GLOBAL_OPTS="${V2LANE_MOAT_OPTS:-}" \
  bash "$HERE/v2lane/guest-tests.sh")

t0=$(date +%s)
# Shared read-write at their paths (a tree under /tmp is not seen otherwise):
# the build, the whole source tree (tests read policies/ and examples/ too),
# the results, wherever moat and the workload are.
V2LANE_TIMEOUT=$LIMIT V2LANE_SHARE="$BUILDDIR:$(dirname "$TESTDIR"):$TMP:$(dirname "$MOAT"):$(dirname "$WORKLOAD")" \
  "$LANE" "${LANE_ARGS[@]}" "$cmd" > "$TMP/vm.out" 2>&1
vmrc=$?
secs=$(( $(date +%s) - t0 ))
CACHE=${V2LANE_CACHE:-/tmp/moat-v2lane-$(id -u)}
rm -rf "${CACHE:?}/$LAST" && cp -r "$RES" "$CACHE/$LAST" && cp "$TMP/vm.out" "$CACHE/$LAST/" 2>/dev/null

fact () { sed -n "s/^$1=//p" "$RES/facts" 2>/dev/null; }
case "$(fact cpu)" in *TCG*) accel=tcg ;; "") accel="?" ;; *) accel=kvm ;; esac

if [ -f "$RES/facts" ] && [ "$vmrc" = 0 ]; then
  ok "the VM booted Debian's kernel $(fact kernel) ($accel) and ran the lane in ${secs} s"
else
  not_ok "the VM booted Debian's kernel and ran the lane (status $vmrc after ${secs} s; 124: the ${LIMIT} s limit)"
  diag "$(tail -n 30 "$TMP/vm.out")"
fi
[ -n "${V2LANE_SYSTEMD:-}" ] && t_is "guest: systemd is PID 1 and moat's driver can work" "$(fact systemd)" "systemd true"
t_is "guest: /sys/fs/cgroup is cgroup2fs" "$(fact fstype)" cgroup2fs
t_like "guest: booted with cgroup_no_v1=all" "$(fact cmdline)" "(^| )cgroup_no_v1=all( |$)"
t_is "guest: no cgroup v1 hierarchy mounted, and none can be" \
  "mounted=$(fact v1_mounted) mountable=$(fact v1_mountable)" "mounted=0 mountable=no"
t_is "moat features: org.moat.cgroup.layout is v2" "$(fact layout)" v2
[ -f "$RES/facts" ] && diag "guest controllers: $(fact controllers); tests' cgroup: $(fact my_cgroup)"

timing=
for t in $V2LANE_TESTS; do
  tap=$RES/$t.tap
  rc=$(cat "$RES/$t.rc" 2>/dev/null)
  s=$(cat "$RES/$t.secs" 2>/dev/null)
  timing="$timing $t ${s:-?} s,"
  if [ -z "$rc" ]; then
    not_ok "$t under $LABEL: did not finish (the VM ended first)"
    [ -s "$tap" ] && diag "last output:" "$(tail -n 10 "$tap")"
    continue
  fi
  if grep -Eq '^1\.\.0( |$)' "$tap"; then
    ok "$t under $LABEL # SKIP $(sed -n 's/^1\.\.0 *# *\(SKIP\)\{0,1\} *//p' "$tap" | head -n 1)"
    continue
  fi
  pass=$(grep -c '^ok ' "$tap")
  fail=$(grep -c '^not ok ' "$tap")
  plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$tap" | head -n 1)
  d="$t under $LABEL: $pass passed, $fail failed (${s:-?} s)"
  if [ "$rc" = 0 ] && [ "$fail" = 0 ] && [ -n "$plan" ] && [ "$plan" = $((pass + fail)) ]; then
    ok "$d"
  else
    not_ok "$d"
    [ "$rc" = 0 ] || diag "$t exited with status $rc$([ "$rc" = 124 ] && echo ' (out of time)')"
    [ -n "$plan" ] && [ "$plan" = $((pass + fail)) ] || diag "plan: ${plan:-none}, results seen: $((pass + fail))"
    # each failing line and the diagnostics that follow it
    fl=$(awk '/^not ok /{p=1; n=0; print; next} p && /^#/ && n < 8 {sub(/^# ?/, "    "); print; n++; next} {p=0}' "$tap")
    [ -n "$fl" ] && diag "$fl"
    [ "$fail" = 0 ] && diag "last output:" "$(tail -n 10 "$tap")"
  fi
done
diag "${LABEL} lane: ${secs} s from VM start to power-off (accel $accel, limit ${LIMIT} s, ${V2LANE_JOBS:-2} at once);${timing%,}" \
  "full output: $CACHE/$LAST/"
t_done
