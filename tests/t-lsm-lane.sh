#!/bin/bash
# The LSM lane: tests/t-lsm.sh where AppArmor is enabled. This host has no
# AppArmor (nor SELinux); Debian's kernel, booted under qemu by
# tests/t-v2lane.sh (which this runs), has AppArmor as its default LSM, and
# the guest's root is this host's, so apparmor_parser (the apparmor package)
# loads the test's profile there. A guest of its own rather than one more
# script in the v2 lane's list: that lane is near its time limit already.
# One boot, about 55 s under TCG (about 40 s of it the script). Skipped
# where qemu or the kernel is missing, as t-v2lane.sh is.
HERE=$(cd "$(dirname "$0")" && pwd)
export V2LANE_TESTS=t-lsm.sh V2LANE_LAST=last-lsm V2LANE_TIMEOUT=${V2LANE_TIMEOUT:-300}
exec bash "$HERE/t-v2lane.sh"
