#!/bin/bash
# Rootless: moat run by a user who is not root (uid 4242 here, through
# setpriv: no account is created), with `moat spec --rootless`'s user
# namespace mapping that uid to root inside. State goes under
# $XDG_RUNTIME_DIR, audit logs under $XDG_STATE_HOME; without a delegated
# cgroup the container runs without one and says so on stderr and in its
# log. The syscall wall and its audit work as for root.
# Then subordinate ranges: with a line for the user in /etc/subuid and
# /etc/subgid (added here, removed at exit), `moat spec --rootless` maps
# 65536 more ids and moat maps them through newuidmap/newgidmap.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip_all "setpriv is not installed (util-linux)"

U=4242
# Everything the user touches is theirs or world-readable: the binaries
# are copied out of a build tree that may sit under /root.
RL="$TMP/rl"
mkdir -p "$RL/bin" "$RL/xdg" "$RL/state" "$RL/home" "$RL/b/rootfs/bin" "$RL/b/rootfs/tmp"
cp "$MOAT" "$RL/bin/moat"
cp "$WORKLOAD" "$RL/b/rootfs/bin/workload"
cp "$(dirname "$0")/../policies/default.json" "$RL/default.json"
chown -R "$U:$U" "$RL"
chmod 700 "$RL/xdg"
# as the user, with a clean environment of their own
AS () { setpriv --reuid="$U" --regid="$U" --clear-groups --inh-caps=-all \
          env -i PATH=/usr/bin:/bin HOME="$RL/home" XDG_RUNTIME_DIR="$RL/xdg" XDG_STATE_HOME="$RL/state" "$@"; }
UM () { AS "$RL/bin/moat" "$@"; }

t_ok "moat spec --rootless, as the user" AS sh -c "cd '$RL/b' && '$RL/bin/moat' spec --rootless"
t_is "its config maps the user's uid to root" "$(jq -c '.linux.uidMappings[0]' "$RL/b/config.json")" '{"containerID":0,"hostID":4242,"size":1}'
jq '.process.args = ["/bin/workload", "ids"] | .process.terminal = false' "$RL/b/config.json" > "$RL/b/c" && mv "$RL/b/c" "$RL/b/config.json"
chown "$U:$U" "$RL/b/config.json"

OUT=$(UM run --bundle "$RL/b" rl1 2>"$TMP/rl1.err")
t_is "run as the user: the workload ran" "$?" 0
t_like "it is root inside its user namespace" "$OUT" "^uid=0 euid=0"
t_like "no cgroup, and stderr says so" "$(cat "$TMP/rl1.err")" "rootless: no cgroup .*Permission denied"
# The notice meant, whatever else the log holds: where the kernel refuses a
# user the proc connector (netlink bind to CN_IDX_PROC: EPERM without
# CAP_NET_ADMIN on kernels whose connector lacks NL_CFG_F_NONROOT_RECV, as
# this suite's VM, 6.18) the supervisor also notes "fault-signal auditing is
# off: subscribe to the proc connector". Not kernel.dmesg_restrict: a
# /dev/kmsg the user may not open costs only the records' detail, silently.
NOTICES=$(jq -r 'select(.kind == "notice") | .what' "$RL/state/moat/audit/rl1.jsonl")
t_like "the audit log says so too (under XDG_STATE_HOME)" "$NOTICES" "^rootless: no cgroup"
t_is "... once" "$(grep -c '^rootless: no cgroup' <<<"$NOTICES")" 1
diag "notices: $NOTICES"
t_is "no cgroup was made" "$(ls -d /sys/fs/cgroup/moat/rl1 /sys/fs/cgroup/*/moat/rl1 2>/dev/null | wc -l)" 0
# runc's --rootless false: the cgroup the kernel refuses is an error, for
# a user too (auto, the default, is true for them), and nothing is left.
OUT=$(UM --rootless false run --bundle "$RL/b" rl-strict 2>&1); RC=$?
t_like "--rootless false, as the user: the refused cgroup is an error" "$RC $(tr '\n' ' ' <<<"$OUT")" "^1 .*Permission denied"
t_fails "... no state left" UM state rl-strict
t_is "... no cgroup left" "$(ls -d /sys/fs/cgroup/moat/rl-strict /sys/fs/cgroup/*/moat/rl-strict 2>/dev/null | wc -l)" 0

# seen from the host: the process runs as the user
jq '.process.args = ["/bin/workload", "sleep", "30"]' "$RL/b/config.json" > "$RL/b/c" && mv "$RL/b/c" "$RL/b/config.json"
chown "$U:$U" "$RL/b/config.json"
UM run -d --bundle "$RL/b" rl2 2>/dev/null
t_is "run -d: state under XDG_RUNTIME_DIR" "$(UM state rl2 | jq -r .status)" running
PID=$(UM state rl2 | jq -r .pid)
t_is "seen from the host, the workload is the user's uid" "$(stat -c %u "/proc/$PID")" "$U"
t_like "moat list, as the user" "$(UM list)" "rl2 +[0-9]+ +running"
t_like "root's moat does not see it (another state root)" "$(M list -q)" "^$"
t_ok "delete --force, as the user" UM delete --force rl2
t_fails "nothing left of it" UM state rl2

# the syscall wall, audited, without root
jq '.process.args = ["/bin/workload", "syscall", "reboot", "0"] | del(.linux.resources)' "$RL/b/config.json" > "$RL/b/c" && mv "$RL/b/c" "$RL/b/config.json"
chown "$U:$U" "$RL/b/config.json"
t_is "under policies/default.json a denied call fails" "$(UM run --policy "$RL/default.json" --bundle "$RL/b" rl3 2>/dev/null)" "reboot = -1 EPERM"
t_is "and is a record in the user's audit log" "$(jq -r 'select(.kind == "syscall") | [.wall, .syscall, .errno] | join(" ")' "$RL/state/moat/audit/rl3.jsonl")" "seccomp reboot EPERM"
live_procs () { ps -o stat= -u "$U" 2>/dev/null | grep -vc '^Z'; }   # zombies are init's to reap
for _ in $(seq 20); do [ "$(live_procs)" = 0 ] && break; sleep 0.1; done
t_is "no supervisor or container process of the user is left" "$(live_procs)" 0
# --- subordinate ranges, through newuidmap and newgidmap ----------------
SUB_START=200000 SUB_SIZE=65536
SUBLINE="$U:$SUB_START:$SUB_SIZE"
SUB_ADDED=""
# Only the line this test added goes, by rewriting the file in place (its
# owner, mode and other lines stay as they are).
restore_subids () {
  local f
  for f in $SUB_ADDED; do
    grep -vxF -- "$SUBLINE" "$f" > "$f.moat-test.$$" || true
    cat "$f.moat-test.$$" > "$f" && rm -f "$f.moat-test.$$"
  done
  SUB_ADDED=""
}
trap 'restore_subids; cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ASB "SRC:DST ..." CMD...: as AS, with each SRC bound over DST first in a
# private mount namespace (the host's files stay as they are).
ASB () {
  local binds=$1; shift
  unshare -m sh -c 'for b in $1; do mount --bind "${b%%:*}" "${b#*:}" || exit 1; done; shift; exec "$@"' \
    sh "$binds" setpriv --reuid="$U" --regid="$U" --clear-groups --inh-caps=-all \
    env -i PATH=/usr/bin:/bin HOME="$RL/home" XDG_RUNTIME_DIR="$RL/xdg" XDG_STATE_HOME="$RL/state" "$@"
}
# newuidmap refuses a user it cannot name: without an account for $U, the
# user's commands see one in a bound copy of /etc/passwd.
PW_BIND=""
if ! getent passwd "$U" >/dev/null; then
  { cat /etc/passwd; echo "moat-rl:x:$U:$U:moat test user:/nonexistent:/usr/sbin/nologin"; } > "$RL/passwd"
  chmod 644 "$RL/passwd"
  PW_BIND="$RL/passwd:/etc/passwd"
fi
UMN () { ASB "$PW_BIND" "$RL/bin/moat" "$@"; }

subid_reason=""
# (where the user's PATH and moat look; `command -v` would also name a
# file that is not executable)
helper_there () { local d; for d in /usr/bin /bin; do [ -f "$d/$1" ] && [ -x "$d/$1" ] && return 0; done; return 1; }
for h in newuidmap newgidmap; do
  helper_there "$h" || subid_reason="$h is not installed (apt-get install uidmap)"
done
command -v unshare >/dev/null || subid_reason="unshare is not installed (util-linux)"
for f in /etc/subuid /etc/subgid; do
  [ ! -s "$f" ] || [ -z "$(tail -c1 "$f")" ] || subid_reason="$f does not end in a newline: not editing it"
done

subid_cases () {
  local f
  for f in /etc/subuid /etc/subgid; do
    grep -qxF -- "$SUBLINE" "$f" 2>/dev/null && continue   # there already: not ours to remove
    [ -e "$f" ] || { : > "$f" && chmod 644 "$f"; }
    SUB_ADDED="$SUB_ADDED $f"
    echo "$SUBLINE" >> "$f"
  done
  local B="$RL/sb"
  mkdir -p "$B/rootfs/bin" "$B/rootfs/tmp" "$B/rootfs/data" "$RL/data"
  cp "$WORKLOAD" "$B/rootfs/bin/workload"
  chmod 1777 "$RL/data"
  chown -R "$U:$U" "$B"
  t_ok "moat spec --rootless, as the user with a subordinate range" AS sh -c "cd '$B' && '$RL/bin/moat' spec --rootless"
  local want="[{\"containerID\":0,\"hostID\":$U,\"size\":1},{\"containerID\":1,\"hostID\":$SUB_START,\"size\":$SUB_SIZE}]"
  t_is "its uidMappings: the user as root, then the range from 1 (as podman)" "$(jq -c .linux.uidMappings "$B/config.json")" "$want"
  t_is "its gidMappings likewise" "$(jq -c .linux.gidMappings "$B/config.json")" "$want"
  t_is "devpts keeps gid=5 (tty is mapped)" "$(jq -r '.mounts[] | select(.destination == "/dev/pts") | .options | index("gid=5") != null' "$B/config.json")" true
  cbs () { cfg "$B" "$@" && chown "$U:$U" "$B/config.json"; }
  cbs '.process.terminal = false | .mounts += [{"destination": "/data", "type": "bind", "source": $d, "options": ["rbind", "rw"]}]' --arg d "$RL/data"
  cp "$B/config.json" "$RL/sb.json"

  cbs '.process.args = ["/bin/workload", "cat", "/proc/self/uid_map", "/proc/self/gid_map", "/proc/self/setgroups"]'
  local out
  out=$(UMN run --bundle "$B" sub1 2>/dev/null)
  t_is "run with the range: the workload ran" "$?" 0
  out=$(printf '%s\n' "$out" | tr -s ' ' | sed 's/^ //')
  t_is "/proc/self/uid_map and gid_map show both ranges; setgroups stays allowed" "$out" \
    "$(printf '0 %s 1\n1 %s %s\n0 %s 1\n1 %s %s\nallow' "$U" "$SUB_START" "$SUB_SIZE" "$U" "$SUB_START" "$SUB_SIZE")"

  cp "$RL/sb.json" "$B/config.json"
  cbs '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 2000]} | .process.args = ["/bin/workload", "ids"]'
  out=$(UMN run --bundle "$B" sub2 2>/dev/null)
  t_like "process.user 1000:1000 inside" "$out" "^uid=1000 euid=1000 suid=1000 gid=1000 egid=1000 sgid=1000"
  t_like "additionalGids set with setgroups (newgidmap left it allowed)" "$out" "^groups=5,2000$"

  cp "$RL/sb.json" "$B/config.json"
  cbs '.process.user = {"uid": 1000, "gid": 1000} | .process.args = ["/bin/workload", "write", "/data/by-1000", "hi"]'
  t_ok "uid 1000 writes a file on a bound host directory" UMN run --bundle "$B" sub3
  t_is "from the host the file is owned by $SUB_START + 999" "$(stat -c %u:%g "$RL/data/by-1000" 2>&1)" "$((SUB_START + 999)):$((SUB_START + 999))"

  # exec into it: the new process is in the same mapped namespace
  cp "$RL/sb.json" "$B/config.json"
  cbs '.process.args = ["/bin/workload", "sleep", "30"]'
  UMN run -d --bundle "$B" sub4 2>"$TMP/sub4.err" || diag "run -d: $(cat "$TMP/sub4.err")"
  t_like "moat exec -u 1000:1000 in it, as the user" "$(UMN exec -u 1000:1000 sub4 /bin/workload ids 2>&1)" "^uid=1000 euid=1000"
  local pid
  pid=$(UM state sub4 | jq -r .pid)
  t_is "seen from the host, its init is the user's uid" "$(stat -c %u "/proc/$pid" 2>&1)" "$U"
  t_ok "delete --force" UM delete --force sub4

  # the name form of /etc/subuid, as useradd writes it
  local name
  name=$(ASB "$PW_BIND" sh -c 'id -un' 2>/dev/null)
  printf '%s:300000:1000\n' "$name" > "$RL/subuid.name"
  printf '%s:400000:2000\n' "$name" > "$RL/subgid.name"
  chmod 644 "$RL"/sub?id.name
  out=$(ASB "$PW_BIND $RL/subuid.name:/etc/subuid $RL/subgid.name:/etc/subgid" \
    sh -c "cd '$RL/home' && '$RL/bin/moat' spec --rootless && jq -c '[.linux.uidMappings[1], .linux.gidMappings[1]]' config.json" 2>&1)
  t_is "spec --rootless finds the user's range by name ($name) too" "$out" \
    '[{"containerID":1,"hostID":300000,"size":1000},{"containerID":1,"hostID":400000,"size":2000}]'
  rm -f "$RL/home/config.json"

  # Refused mappings: the helper's own words, and nothing left behind.
  local bad
  for bad in "uid newuidmap .linux.uidMappings[1].hostID" "gid newgidmap .linux.gidMappings[1].hostID"; do
    set -- $bad
    cp "$RL/sb.json" "$B/config.json"
    cbs "$3 = 300000 | .process.args = [\"/bin/workload\", \"sleep\", \"30\"]"
    out=$(UMN run --bundle "$B" bad-$1 2>&1)
    t_is "a $1 range outside the user's: run fails" "$?" 1
    t_like "the error names $2, its exit status, its stderr and the mapping" "$out" \
      "^moat: linux.$1Mappings: 0 $U 1, 1 300000 $SUB_SIZE: /usr/bin/$2 failed with exit status 1: $2: $1 range .*not allowed"
    t_is "no state directory is left" "$(ls -A "$RL/xdg/moat" 2>/dev/null | grep -c "^bad-$1\$")" 0
    t_fails "moat state does not know it" UM state bad-$1
    cp "$RL/sb.json" "$B/config.json"
    cbs "$3 = 300000 | .process.args = [\"/bin/workload\", \"sleep\", \"30\"]"
    t_fails "create fails likewise" UMN create --bundle "$B" bad-c$1
    t_is "and leaves no state directory" "$(ls -A "$RL/xdg/moat" 2>/dev/null | grep -c "^bad-c$1\$")" 0
  done
  for _ in $(seq 20); do [ "$(live_procs)" = 0 ] && break; sleep 0.1; done
  t_is "no process of the user is left" "$(live_procs)" 0

  # without the helper (hidden in a private mount namespace): refused
  # before anything is made
  cp "$RL/sb.json" "$B/config.json"
  cbs '.process.args = ["/bin/workload", "ids"]'
  out=$(ASB "$PW_BIND /dev/null:/usr/bin/newuidmap" "$RL/bin/moat" run --bundle "$B" nohelper 2>&1)
  t_is "no newuidmap: run fails" "$?" 1
  t_like "saying the mapping needs newuidmap (package uidmap)" "$out" \
    "linux.uidMappings: 0 $U 1, 1 $SUB_START $SUB_SIZE \\(more than your own uid\\) needs newuidmap \\(package uidmap\\), not found"
  t_is "and leaves no state directory" "$(ls -A "$RL/xdg/moat" 2>/dev/null | grep -c "^nohelper\$")" 0

  restore_subids
  t_is "/etc/subuid and /etc/subgid no longer have the test's line" \
    "$(cat /etc/subuid /etc/subgid 2>/dev/null | grep -cxF -- "$SUBLINE")" 0
}

if [ -n "$subid_reason" ]; then
  ok "subordinate ranges # SKIP $subid_reason"
else
  subid_cases
fi
t_done
