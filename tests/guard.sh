#!/bin/bash
# The LOG_COMPILER of `make check`: runs one test with stdin from /dev/null,
# in a process group of its own, under a time limit. A test that outlives it
# is a failure, not a hang: what was still running (process tree, the
# kernel's wait channel and stack of each of its processes) goes to the
# test's log, the test's process group is ended (TERM, then KILL) and the
# TAP stream gets a "Bail out!".
#
# Why: the suite once hung on a CI machine until CI cut it at 90 minutes,
# with nothing in its output to say where. Now it cannot take longer than
# its budget, and CI's own output names each test as it ends
# (MOAT_PROGRESS_FD, opened by tests/run-suite.sh).
#
#   MOAT_TEST_TIMEOUT   seconds per test (default 600; 1200 for the fuzz and
#                       qemu lanes)
#   MOAT_DEADLINE       epoch seconds the whole suite must end by: a test
#                       gets at most what is left of it
#   MOAT_PROGRESS_FD    a descriptor for one line per test as it ends
set -u
test=$1
name=${test##*/}
case $name in
  t-fuzz.sh|t-v2lane.sh) limit=${MOAT_TEST_TIMEOUT:-1200} ;;
  *) limit=${MOAT_TEST_TIMEOUT:-600} ;;
esac
now=$(date +%s)
if [ -n "${MOAT_DEADLINE:-}" ]; then
  left=$((MOAT_DEADLINE - now))
  if [ "$left" -le 0 ]; then
    echo "Bail out! the suite's time budget (MOAT_DEADLINE) was spent before $name began"
    exit 99
  fi
  [ "$left" -lt "$limit" ] && limit=$left
fi

progress () {
  [ -n "${MOAT_PROGRESS_FD:-}" ] || return 0
  printf '%s\n' "$@" >&"$MOAT_PROGRESS_FD" 2>/dev/null || true
}

# Every process of the test's group (and whatever moved to sessions of its
# own, as container inits do: found as descendants), as a tree with wait
# channels, and the kernel stack of each.
descendants () {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do descendants "$c"; done
}
report_stuck () {
  echo "# --- still running after ${limit}s:"
  ps -eo pid,ppid,pgid,stat,etimes,wchan:28,args --forest 2>/dev/null | sed 's/^/# /' | head -n 150
  local p
  for p in $(descendants "$1"); do
    [ -r /proc/"$p"/stack ] || continue
    echo "# --- pid $p: $(tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null | cut -c1-160)"
    for t in /proc/"$p"/task/*; do
      echo "#   task ${t##*/} wchan=$(cat "$t"/wchan 2>/dev/null) state=$(awk '/^State:/{print $2}' "$t"/status 2>/dev/null)"
      sed 's/^/#     /' "$t"/stack 2>/dev/null | head -n 12
    done
  done
}

# job control gives the test a process group of its own, so the timeout
# can end every process it started (not the harness around it)
flag=$(mktemp /tmp/moat-guard.XXXXXX)
set -m
"$@" </dev/null &
pid=$!
set +m
(
  # the sleep must not hold the TAP driver's pipe open once we are done
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$limit" </dev/null >/dev/null 2>&1 &
  sp=$!
  wait "$sp" || exit 0
  kill -0 "$pid" 2>/dev/null || exit 0
  echo fired > "$flag"
  out=$(report_stuck "$pid")
  printf '%s\n' "$out"
  progress "  $name: TIMED OUT after ${limit}s" "$out"
  kill -TERM -- -"$pid" 2>/dev/null
  for _ in $(seq 15); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 1; done
  kill -KILL -- -"$pid" 2>/dev/null
) &
watch=$!
wait "$pid"
rc=$?
if [ -s "$flag" ]; then
  wait "$watch"
  echo "Bail out! $name timed out after ${limit}s (tests/guard.sh)"
  rc=124
else
  kill "$watch" 2>/dev/null
  wait "$watch" 2>/dev/null
fi
rm -f "$flag"
# A process the test left in its group would hold the TAP driver's pipe
# open (make check would wait for it): name it in the log and end it.
if kill -0 -- -"$pid" 2>/dev/null; then
  echo "# guard: processes the test left behind (ended now):"
  ps -eo pgid=,pid=,stat=,etimes=,args= 2>/dev/null | awk -v g="$pid" '$1 == g { $1 = "#  "; print }'
  kill -TERM -- -"$pid" 2>/dev/null; sleep 1; kill -KILL -- -"$pid" 2>/dev/null
fi
progress "  $(date +%T) $name: exit $rc, $(( $(date +%s) - now ))s"
exit "$rc"
