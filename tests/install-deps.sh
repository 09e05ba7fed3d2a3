#!/bin/sh
# Install what moat needs to build and test on Debian (12+), as root.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  gcc make libc6-dev autoconf automake libtool pkg-config \
  libseccomp-dev libcap-dev libyajl-dev \
  busybox-static jq groff-base man-db >/dev/null
