# moat integration-test library: TAP output, a private state root, bundles
# built from the static test workload, and cleanup that leaves nothing behind.
# Source it from a test script; the environment comes from `make check`
# (MOAT, WORKLOAD, BUSYBOX) or falls back to the build tree.
set -u

: "${BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${MOAT:=$BUILDDIR/moat}"
: "${WORKLOAD:=$BUILDDIR/tests/workload/workload}"
: "${BUSYBOX:=$(command -v busybox || true)}"

T_N=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)

skip_all () { echo "1..0 # SKIP $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "needs root (real namespaces, mounts and cgroups)"
command -v jq >/dev/null || skip_all "needs jq (apt-get install jq)"
[ -x "$MOAT" ] || skip_all "moat binary not built at $MOAT"
[ -x "$WORKLOAD" ] || skip_all "test workload not built at $WORKLOAD"

TMP=$(mktemp -d "/tmp/moat-$T_NAME.XXXXXX")
chmod 755 "$TMP"

# MOAT_GLOBAL_OPTS: global options every moat call of the test gets (the
# systemd lane runs the tests with --systemd-cgroup): $MOAT becomes a
# wrapper that puts them first (a test's own --cgroup-manager, later on the
# line, still wins). Under the systemd driver a container's cgroup is its
# scope's: cgrel ID says where it is.
# (MOAT_BIN stays the binary itself: for an engine that passes its own.)
SYSTEMD_CG=
MOAT_BIN=$MOAT
if [ -n "${MOAT_GLOBAL_OPTS:-}" ]; then
  printf '#!/bin/sh\nexec %q %s "$@"\n' "$MOAT" "$MOAT_GLOBAL_OPTS" > "$TMP/moat"
  chmod 755 "$TMP/moat"
  MOAT=$TMP/moat
  case " $MOAT_GLOBAL_OPTS " in
    *" --systemd-cgroup "*|*" --cgroup-manager systemd "*|*" --cgroup-manager=systemd "*) SYSTEMD_CG=1 ;;
  esac
fi
cgrel () { if [ -n "$SYSTEMD_CG" ]; then echo "/system.slice/moat-$1.scope"; else echo "/moat/$1"; fi; }
ROOT="$TMP/state"
M () { "$MOAT" --root "$ROOT" "$@"; }

# The audit record's schema and its checker (Debian's python3-jsonschema;
# SCHEMA_PY is empty without it).
T_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCHEMA="$T_SRC/docs/audit-record.schema.json"
SCHEMA_PY=
for _py in /usr/bin/python3 python3; do
  if [ -f "$SCHEMA" ] && "$_py" -c 'import jsonschema' 2>/dev/null; then SCHEMA_PY=$_py; break; fi
done
# schema_check: every audit log moat wrote under the test's $TMP against
# the schema, a sample of each shape of record (cheap whatever the log's
# size); a record the schema refuses fails the test. MOAT_SCHEMA_CHECK=0
# turns it off.
schema_check () {
  [ -n "$SCHEMA_PY" ] && [ "${MOAT_SCHEMA_CHECK:-1}" != 0 ] && [ -d "$TMP" ] || return 0
  local out
  out=$(find "$TMP" -xdev -type f -name '*.jsonl*' ! -name '*.spool' -print0 2>/dev/null \
        | xargs -0 -r "$SCHEMA_PY" "$T_SRC/tests/audit-schema.py" --moat-only --sample 20 "$SCHEMA" 2>/dev/null) && return 0
  echo "# the audit logs of this test hold records the schema ($SCHEMA) refuses:"
  printf '%s\n' "$out" | head -n 20 | sed 's/^/# /'
  return 1
}

cleanup () {
  local id
  if [ -d "$ROOT" ]; then
    for id in $(ls "$ROOT" 2>/dev/null); do
      "$MOAT" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  # (exit only on a failed check: run by the EXIT trap, the test's own
  # status stands otherwise)
  if ! schema_check; then
    rm -rf "$TMP"
    exit 1
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# --- TAP -----------------------------------------------------------------
ok () { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok () { T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $*"; }
diag () { printf '%s\n' "$@" | sed 's/^/# /'; }

# t_ok DESC CMD...: passes when CMD exits 0.
t_ok () { local d=$1; shift; if "$@" >"$TMP/.out" 2>&1; then ok "$d"; else not_ok "$d"; diag "command: $*" "$(tail -n 20 "$TMP/.out")"; fi; }
# t_fails DESC CMD...: passes when CMD exits non-zero.
t_fails () { local d=$1; shift; if "$@" >"$TMP/.out" 2>&1; then not_ok "$d"; diag "command unexpectedly succeeded: $*" "$(tail -n 20 "$TMP/.out")"; else ok "$d"; fi; }
# t_is DESC GOT WANT
t_is () { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "got:  $2" "want: $3"; fi; }
# t_like DESC GOT REGEX (grep -E)
t_like () { if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1"; diag "got:  $2" "want match: $3"; fi; }
t_unlike () { if printf '%s\n' "$2" | grep -Eq -- "$3"; then not_ok "$1"; diag "got:  $2" "must not match: $3"; else ok "$1"; fi; }
t_done () { echo "1..$T_N"; [ "$T_FAIL" = 0 ]; exit $?; }

# nohdr FILE...: the records of audit logs, less each log's header (its
# first line, the container's identity), for counts and field lists.
nohdr () { grep -hv '"kind":"header"' "$@" 2>/dev/null; }

# --- bundles -------------------------------------------------------------
# mkbundle DIR [ARGS...]: a bundle whose rootfs holds the workload at
# /bin/workload (and busybox at /bin/busybox, /bin/sh when available), with
# `moat spec`'s config running ARGS (default: workload pid).
mkbundle () {
  local dir=$1; shift
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/tmp" "$dir/rootfs/etc"
  cp "$WORKLOAD" "$dir/rootfs/bin/workload"
  if [ -n "$BUSYBOX" ]; then
    cp "$BUSYBOX" "$dir/rootfs/bin/busybox"
    ln -sf busybox "$dir/rootfs/bin/sh"
  fi
  echo "root:x:0:0:root:/:/bin/sh" > "$dir/rootfs/etc/passwd"
  echo "root:x:0:" > "$dir/rootfs/etc/group"
  rm -f "$dir/config.json"
  "$MOAT" spec --bundle "$dir" || return 1
  if [ $# -eq 0 ]; then set -- /bin/workload pid; fi
  setargs "$dir" "$@"
}

# cfg DIR JQ-FILTER [jq args...]: edit DIR/config.json in place (jq args
# such as --arg or --args come after the file).
cfg () {
  local dir=$1 filter=$2; shift 2
  jq "$filter" "$dir/config.json" "$@" > "$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# deny_bundle DIR: a bundle (no resources) whose filter denies mkdir
# (EPERM, rule syscalls[0]) and rmdir (EACCES, syscalls[1]) and allows
# the rest: records of two calls with two errnos.
deny_bundle () {
  mkbundle "$1" || return 1
  cfg "$1" 'del(.linux.resources) | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
    {"names":["rmdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}'
}

# setargs DIR ARGS...: process.args = ARGS
setargs () {
  local dir=$1; shift
  cfg "$dir" '.process.args = $ARGS.positional' --args "$@"
}

# Host-side facts, for "nothing left behind" checks.
# (Under systemd: the scope's cgroup, or its unit still loaded.)
cgroup_exists () {
  local d
  for d in /sys/fs/cgroup/*/moat/"$1" /sys/fs/cgroup/moat/"$1" "/sys/fs/cgroup$(cgrel "$1")"; do
    [ -d "$d" ] && return 0
  done
  [ -n "$SYSTEMD_CG" ] && [ "$(systemctl show -p LoadState --value "moat-$1.scope" 2>/dev/null)" = loaded ]
}
# mount_count: the host's mounts that could be this test's containers': a
# mount point or a mounted root under the test's own $TMP (its bundles and
# their rootfs, its state root). Mounts other work makes elsewhere on the
# host at the same time do not count (the host-wide count failed then).
mount_count () {
  awk -v t="$TMP" '$5 == t || index($5, t "/") == 1 || $4 == t || index($4, t "/") == 1' /proc/self/mountinfo | wc -l
}
# stray_procs [ID]: processes left from this test: a moat whose command line
# names this test's temp dir, or anything still in container ID's cgroup.
stray_procs () {
  local p n=0
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    if { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "$TMP"; then n=$((n + 1)); continue; fi
    if [ -n "${1:-}" ] && grep -q -- "$(cgrel "$1")\$" "$p/cgroup" 2>/dev/null; then n=$((n + 1)); fi
  done
  echo $n
}

# The node's shared proc-connector socket (src/fault-node.c).
NODE=/run/moat-node.1
# cn_socks PID: the inodes of the NETLINK_CONNECTOR sockets PID holds
# (/proc/net/netlink: protocol 11, the inode last).
cn_socks () {
  local inodes l
  inodes=$(awk '$2 == 11 { print $NF }' /proc/net/netlink)
  for l in /proc/"$1"/fd/*; do
    l=$(readlink "$l" 2>/dev/null) || continue
    case $l in socket:\[*\]) l=${l#socket:[}; l=${l%]} ;; *) continue ;; esac
    printf '%s\n' "$inodes" | grep -qx -- "$l" && echo "$l"
  done | sort -u
}
# handed_over PID: supervisor PID is on the node's socket: a member (its
# file in $NODE) holding one connector socket (its own is closed once the
# registration is in; a container younger than 100 ms keeps its own).
handed_over () { test -s "$NODE/$1" && [ "$(cn_socks "$1" | grep -c .)" = 1 ]; }
# node_kernel: the node's filter asks for the sending task's cgroup, which
# a socket filter may from Linux 6.4 on (before, each supervisor keeps an
# unfiltered socket of its own).
node_kernel () { local v; v=$(uname -r); v=${v%%-*}; [ "${v%%.*}" -gt 6 ] || { [ "${v%%.*}" = 6 ] && v=${v#*.} && [ "${v%%.*}" -ge 4 ]; }; }
# wait_node_settled PID: up to 10 s for that (false if it never is: no BPF,
# an older kernel, or the node cannot be joined)
wait_node_settled () { local _; node_kernel || return 1; for _ in $(seq 200); do handed_over "$1" && return 0; sleep 0.05; done; return 1; }

# cap_mask NAME...: the /proc/PID/status hex of a set of capabilities
# (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE), to compare a set with what the
# config asked for rather than with another process that could be as wrong.
cap_mask () {
  local names="CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
    NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
    SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
    AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
    PERFMON BPF CHECKPOINT_RESTORE"
  local m=0 c n i
  for c in "$@"; do
    i=0
    for n in $names; do
      [ "CAP_$n" = "$c" ] && m=$((m | (1 << i)))
      i=$((i + 1))
    done
  done
  printf '%016x\n' "$m"
}

# pid_running PID: alive and not a zombie (a killed init may wait to be reaped).
pid_running () {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_status ID STATUS [TENTHS]: poll `moat state` until STATUS.
wait_status () {
  local i
  for i in $(seq "${3:-50}"); do
    [ "$(M state "$1" 2>/dev/null | jq -r .status)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
