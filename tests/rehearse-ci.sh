#!/bin/bash
# tests/rehearse-ci.sh [DIR]: run .ci/run the way a fresh CI machine would,
# before a push: a clean clone of HEAD inside a Debian 12 tree made by
# debootstrap (in DIR, default /var/tmp/moat-ci-root; kept between runs, so
# the first run downloads), with nothing installed but what
# tests/install-deps.sh installs. The tree becomes the root (pivot_root, so
# moat's own pivot_root works) in a mount namespace of its own, and the
# suite runs with an empty environment. Not in a pid namespace: the proc
# connector reports host pids. Prints what .ci/run prints; exits with its
# status. Needs root and debootstrap (apt-get install debootstrap).
#
# Why: session 2's CI hung on a fresh machine where this machine's suite
# passed (podman stopped by SIGTTOU under script(1)); rehearsing here found
# it and three more such differences.
set -eu
R=${1:-/var/tmp/moat-ci-root}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "rehearse-ci: needs root" >&2; exit 1; }
if [ ! -x "$R/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || { echo "rehearse-ci: apt-get install debootstrap" >&2; exit 1; }
  mkdir -p "$R"
  debootstrap --variant=minbase bookworm "$R" http://deb.debian.org/debian >/dev/null
  cp /etc/resolv.conf "$R/etc/"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    rm -f "$R/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/"
  fi
fi
mkdir -p "$R/.oldroot"
rm -rf "$R/root/ci"
git clone -q "$SRC" "$R/root/ci"
exec unshare -m -f bash -c '
set -e
R=$1
mount --make-rprivate /
mount --bind "$R" "$R"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
mount -t proc proc "$R/proc"
cd "$R"
pivot_root . .oldroot
umount -l /.oldroot
exec /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 /bin/bash -c "cd /root/ci && exec bash .ci/run"
' rehearse "$R"
