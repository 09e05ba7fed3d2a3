#!/bin/bash
# tests/v2lane/guest-tests.sh: the guest half of tests/t-v2lane.sh, run as
# root inside the pure cgroup v2 VM by tests/v2lane/run. It writes what it
# finds into V2_RESULTS (a directory shared with the host), a file at a time,
# so that whatever finished before a timeout still reaches the host:
#   facts          key=value lines about the guest's cgroups and moat's view
#   T.tap T.rc T.secs   for each inner test script T of V2_TESTS
# Environment: MOAT WORKLOAD BUSYBOX TESTDIR BUILDDIR (as `make check` sets
# them), V2_RESULTS, V2_TESTS (script names in TESTDIR), V2_BUDGET (seconds from
# now by which everything must have ended), V2_JOBS (scripts run at once, 1).
set -u
RES=$V2_RESULTS
mkdir -p "$RES"
start=$(date +%s)
deadline=$(( start + ${V2_BUDGET:-240} ))

fact () { printf '%s=%s\n' "$1" "$2" >> "$RES/facts.new"; }
: > "$RES/facts.new"
fact kernel "$(uname -r)"
fact cmdline "$(cat /proc/cmdline)"
fact cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
fact fstype "$(stat -f -c %T /sys/fs/cgroup)"
fact v1_mounted "$(awk '$3 == "cgroup"' /proc/mounts | wc -l)"
# cgroup_no_v1=all: no v1 controller can be mounted at all, not just none is.
mkdir -p /tmp/v2lane-v1try
if mount -t cgroup -o memory cgroup /tmp/v2lane-v1try 2>/dev/null; then
  fact v1_mountable yes; umount /tmp/v2lane-v1try
else
  fact v1_mountable no
fi
rmdir /tmp/v2lane-v1try
fact controllers "$(cat /sys/fs/cgroup/cgroup.controllers)"
fact my_cgroup "$(cat /proc/self/cgroup | tr '\n' ' ')"
features=$("$MOAT" features 2>&1)
fact features_rc $?
fact layout "$(printf '%s\n' "$features" | jq -r '.annotations["org.moat.cgroup.layout"] // "none"' 2>&1)"
fact annotations "$(printf '%s\n' "$features" | jq -c .annotations 2>&1)"
fact systemd "$(cat /proc/1/comm) $(printf '%s\n' "$features" | jq -r .linux.cgroup.systemd 2>&1)"
mv "$RES/facts.new" "$RES/facts"
echo "guest facts:"; sed 's/^/  /' "$RES/facts"

# The guest's loopback is down after boot; CRIU's kernel probe (a TCP
# repair socket on 127.0.0.1, tests/t-criu.sh) needs it up.
ip link set lo up 2>/dev/null
cd "$BUILDDIR" || exit 1
export MOAT WORKLOAD BUSYBOX TESTDIR BUILDDIR MOAT_GLOBAL_OPTS
one () {   # one TEST: run it, leave T.tap T.secs T.rc
  local t=$1 left s rc
  left=$(( deadline - $(date +%s) ))
  if [ "$left" -lt 10 ]; then
    echo "no time left for $t" > "$RES/$t.tap"; echo 124 > "$RES/$t.rc"; return
  fi
  s=$(date +%s)
  timeout -k 5 "$left" bash "$TESTDIR/$t" > "$RES/$t.tap" 2>&1 < /dev/null
  rc=$?
  echo $(( $(date +%s) - s )) > "$RES/$t.secs"
  echo "$rc" > "$RES/$t.rc"
  echo "$t: status $rc in $(cat "$RES/$t.secs") s"
}
# V2_JOBS scripts at a time: much of a test's time under emulation is spent
# waiting (polls, sleeps), which a second script fills.
n=0
for t in $V2_TESTS; do
  if [ "$n" -ge "${V2_JOBS:-1}" ]; then wait -n; n=$((n - 1)); fi
  one "$t" &
  n=$((n + 1))
done
wait
echo "guest: $(( $(date +%s) - start )) s in all"
