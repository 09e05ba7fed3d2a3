#!/bin/bash
# A test for the tests: t-badinput and t-parallel check that a container
# leaves no mount behind (lib.sh's mount_count). That count must not see
# mounts other work makes on the host meanwhile: both run here while a loop
# mounts and unmounts a tmpfs of this test's own, and must pass.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

NOISE="$TMP/noise"
mkdir -p "$NOISE"
( trap 'exit 0' TERM
  while :; do mount -t tmpfs moat-noise "$NOISE" 2>/dev/null; umount "$NOISE" 2>/dev/null; done ) &
NOISER=$!
stop_noise () {
  kill "$NOISER" 2>/dev/null; wait "$NOISER" 2>/dev/null
  while mountpoint -q "$NOISE" 2>/dev/null; do umount "$NOISE" 2>/dev/null || break; done
}
trap 'stop_noise; cleanup' EXIT

seen=0
for _ in $(seq 200); do grep -q " $NOISE " /proc/self/mountinfo && { seen=1; break; }; done
t_is "the noise is visible on the host (a host-wide count would move)" "$seen" 1

for t in t-badinput.sh t-parallel.sh; do
  bash "$HERE/$t" >"$TMP/$t.tap" 2>&1
  RC=$?
  if [ "$RC" = 0 ]; then
    ok "$t passes while the host mounts and unmounts ($(grep -c '^ok' "$TMP/$t.tap") cases)"
  else
    not_ok "$t passes while the host mounts and unmounts (exit $RC)"
    diag "$(grep -E -A3 '^not ok|^Bail' "$TMP/$t.tap" | head -n 30)"
  fi
done
stop_noise
t_done
