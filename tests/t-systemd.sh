#!/bin/bash
# The systemd lane: the systemd cgroup driver under a real systemd. This
# host runs no systemd (and is hybrid), so tests/v2lane/run --systemd boots
# Debian's kernel with cgroup_no_v1=all and the host's own userland with
# /lib/systemd/systemd as PID 1 (D-Bus from its socket unit), and runs the
# inner scripts there with MOAT_GLOBAL_OPTS=--systemd-cgroup (tests/lib.sh
# makes every moat call of a test carry it): the driver's own checks
# (t-systemd-cgroup.sh: the scope, its properties, slice syntax, clean-up),
# podman and containerd with their systemd drivers (t-systemd-engines.sh)
# and the cgroup and lifecycle suites. One TAP line per inner script, as
# tests/t-v2lane.sh (which this runs) does; skipped where qemu, the kernel
# or systemd is missing, or moat-sd was not built (no libsystemd-dev).
# Environment: SYSTEMD_LANE_TESTS (inner scripts), and t-v2lane.sh's.
HERE=$(cd "$(dirname "$0")" && pwd)
: "${BUILDDIR:=$(cd "$HERE/.." && pwd)}"
: "${MOAT:=$BUILDDIR/moat}"
if [ ! -x "$(dirname "$MOAT")/moat-sd" ] && [ -z "${MOAT_SD:-}" ]; then
  echo "1..0 # SKIP systemd lane: moat-sd was not built (configure found no libsystemd-dev)"
  exit 0
fi
export V2LANE_SYSTEMD=1 V2LANE_MOAT_OPTS=--systemd-cgroup
# Four scripts, two at a time, under emulation: ~300 s on a quiet host,
# near 600 s on a busy one (the engines start podman and containerd).
export V2LANE_TIMEOUT=${V2LANE_TIMEOUT:-900}
export V2LANE_TESTS=${SYSTEMD_LANE_TESTS:-"t-systemd-cgroup.sh t-systemd-engines.sh t-cgroup.sh t-lifecycle.sh"}
exec bash "$HERE/t-v2lane.sh"
