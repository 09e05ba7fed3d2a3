#!/bin/bash
# The kernel-features lane: what needs a kernel this host is not. Debian's
# 6.1 kernel, booted under qemu by tests/t-v2lane.sh (which this runs),
# has AppArmor as its default LSM and a vdso Debian 12's criu can read
# (on this host's 6.18 `criu check` fails), and the guest's root is this
# host's, so apparmor_parser and criu come from packages installed here:
#   t-lsm.sh   AppArmor profiles applied, their refusals recorded
#   t-criu.sh  checkpoint/restore, beside runc, and through podman
# A guest of its own rather than more scripts in the v2 lane's list: that
# lane is near its time limit already. One boot, both scripts at once:
# about 55 s + 100 s of script under TCG on a quiet host. Skipped where
# qemu or the kernel is missing, as t-v2lane.sh is.
HERE=$(cd "$(dirname "$0")" && pwd)
export V2LANE_TESTS=${KERNEL_LANE_TESTS:-"t-criu.sh t-lsm.sh"} V2LANE_LAST=last-kernel V2LANE_JOBS=2
export V2LANE_TIMEOUT=${V2LANE_TIMEOUT:-600}
exec bash "$HERE/t-v2lane.sh"
