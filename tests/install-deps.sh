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
# libsystemd-dev: moat-sd, the systemd cgroup driver's helper (without it
# moat builds without the driver, and tests/t-systemd.sh skips); systemd and
# dbus: what the systemd lane's guest boots (the host's own userland, with
# /lib/systemd/systemd as PID 1; nothing here runs them on the host).
apt-get install -y -qq --no-install-recommends libsystemd-dev systemd dbus >/dev/null 2>&1 \
  || optional "libsystemd-dev/systemd/dbus not installed: no moat-sd or no systemd lane, tests/t-systemd.sh will skip"
# newuidmap/newgidmap: rootless with subordinate ranges (tests/t-rootless.sh).
apt-get install -y -qq --no-install-recommends uidmap >/dev/null
# The pure cgroup v2 lane (tests/t-v2lane.sh): Debian's kernel booted under
# qemu with cgroup_no_v1=all. Without these the lane skips, saying why.
apt-get install -y -qq --no-install-recommends \
  qemu-system-x86 linux-image-amd64 cpio kmod xz-utils >/dev/null 2>&1 \
  || optional "qemu-system-x86/linux-image-amd64 not installed: tests/t-v2lane.sh will skip"
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
