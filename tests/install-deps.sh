#!/bin/sh
# Install what moat needs to build and test on Debian (12+), as root.
set -e
export DEBIAN_FRONTEND=noninteractive
# optional WHAT-WILL-SKIP: after an optional install failed. On a developer's
# machine the tests that need it skip; in CI (MOAT_CI_EXPECT_ALL=1, set by
# tests/run-suite.sh) every test is expected to run, so it is an error.
optional () {
  if [ "${MOAT_CI_EXPECT_ALL:-}" = 1 ]; then
    echo "install-deps: $1 (an error in CI: MOAT_CI_EXPECT_ALL=1)" >&2
    exit 1
  fi
  echo "install-deps: $1" >&2
}
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  gcc make libc6-dev autoconf automake libtool pkg-config \
  libseccomp-dev libcap-dev libyajl-dev \
  busybox-static jq groff-base man-db procps libcap2-bin >/dev/null
# The audit record's schema check (tests/t-schema.sh, and the check of each
# test's audit logs at its cleanup, tests/lib.sh): Debian's jsonschema.
apt-get install -y -qq --no-install-recommends python3-jsonschema >/dev/null 2>&1 \
  || optional "python3-jsonschema not installed: tests/t-schema.sh will skip, and no test's audit log is checked"
# libsystemd-dev: moat-sd, the systemd cgroup driver's helper (without it
# moat builds without the driver, and tests/t-systemd.sh skips); systemd and
# dbus: what the systemd lane's guest boots (the host's own userland, with
# /lib/systemd/systemd as PID 1; nothing here runs them on the host).
apt-get install -y -qq --no-install-recommends libsystemd-dev systemd dbus >/dev/null 2>&1 \
  || optional "libsystemd-dev/systemd/dbus not installed: no moat-sd or no systemd lane, tests/t-systemd.sh will skip"
# newuidmap/newgidmap: rootless with subordinate ranges (tests/t-rootless.sh).
apt-get install -y -qq --no-install-recommends uidmap >/dev/null
# python3 (3.9+: socket.recv_fds, signal.pidfd_send_signal): the receiver of
# --pidfd-socket's pidfd in tests/t-flags.sh.
apt-get install -y -qq --no-install-recommends python3 >/dev/null 2>&1 \
  || optional "python3 not installed: tests/t-flags.sh's --pidfd-socket cases will skip"
# The pure cgroup v2 lane (tests/t-v2lane.sh): Debian's kernel booted under
# qemu with cgroup_no_v1=all. Without these the lane skips, saying why.
apt-get install -y -qq --no-install-recommends \
  qemu-system-x86 linux-image-amd64 cpio kmod xz-utils >/dev/null 2>&1 \
  || optional "qemu-system-x86/linux-image-amd64 not installed: tests/t-v2lane.sh will skip"
# apparmor_parser for tests/t-lsm.sh's AppArmor part, which runs in the qemu
# lane (Debian's kernel there has AppArmor enabled; this package starts
# nothing on a host without systemd or AppArmor).
apt-get install -y -qq --no-install-recommends apparmor >/dev/null 2>&1 \
  || optional "apparmor not installed: tests/t-lsm.sh's AppArmor part fails in the qemu lane"
# criu: moat checkpoint/restore (tests/t-criu.sh, run in the qemu lane;
# Debian 12's criu 3.17 fails on kernels past 6.1, where the test skips).
apt-get install -y -qq --no-install-recommends criu iproute2 >/dev/null 2>&1 \
  || optional "criu not installed: tests/t-criu.sh will skip"
# The engines that drive moat (tests/t-podman.sh, tests/t-containerd.sh), and
# script(1) for the terminal tests. Without them those tests skip, saying why.
apt-get install -y -qq --no-install-recommends \
  podman conmon catatonit containerd bsdutils >/dev/null 2>&1 \
  || optional "podman/conmon/containerd not installed: the engine tests will skip"
# tests/t-containerd.sh's CRI part: the gRPC client (Debian's python3 with
# grpc and grpc_tools' protoc, tests/cri/cri.py) and the pod network's CNI
# plugins (bridge, host-local, portmap, loopback in /usr/lib/cni).
apt-get install -y -qq --no-install-recommends \
  python3-grpcio python3-grpc-tools containernetworking-plugins iproute2 >/dev/null 2>&1 \
  || optional "python3-grpcio/python3-grpc-tools/containernetworking-plugins not installed: tests/t-containerd.sh will skip"
# valgrind's memcheck for tests/t-valgrind.sh (skips without it).
apt-get install -y -qq --no-install-recommends valgrind >/dev/null 2>&1 \
  || optional "valgrind not installed: tests/t-valgrind.sh will skip"
# libFuzzer for tests/t-fuzz.sh (clang's runtime has it); clang and libbpf
# for the BPF fault probe (--fault-detail bpf, tests/t-faultprobe.sh).
apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev libbpf-dev >/dev/null 2>&1 \
  || apt-get install -y -qq --no-install-recommends clang libbpf-dev >/dev/null 2>&1 \
  || optional "clang/libbpf-dev not installed: tests/t-fuzz.sh and t-faultprobe.sh will skip"
# libaudit-dev (libaudit.a, libcap-ng.a): --audit-forward kernel, linked in
# (without it moat builds without it and says so). prometheus (promtool and
# the server), curl and python3 for tests/t-metrics.sh and t-hostaudit.sh
# (the kernel audit reader); without them those tests skip.
apt-get install -y -qq --no-install-recommends libaudit-dev libcap-ng-dev >/dev/null 2>&1 \
  || optional "libaudit-dev not installed: moat builds without --audit-forward kernel, tests/t-hostaudit.sh skips that part"
apt-get install -y -qq --no-install-recommends prometheus curl python3 >/dev/null 2>&1 \
  || optional "prometheus/curl/python3 not installed: tests/t-metrics.sh (and t-hostaudit.sh's kernel part) will skip"
