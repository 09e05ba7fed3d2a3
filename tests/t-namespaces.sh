#!/bin/bash
# Linux namespaces, seen from inside the container: new ones when listed,
# the host's when not, joined ones by path; uts names, user-namespace id
# mappings, time-namespace offsets and cgroup-namespace roots.
. "$(dirname "$0")/lib.sh"

host_ns () { stat -L -c %i "/proc/self/ns/$1"; }
# ns_of OUTPUT NAME: the inode `workload ns` printed for NAME.
ns_of () { printf '%s\n' "$1" | awk -v n="$2" '$1 == n {print $2}'; }
# run_in B ID ARGS...: run the workload in bundle B, print its stdout.
run_in () {
  local b=$1 id=$2; shift 2
  setargs "$b" /bin/workload "$@"
  local rc=0
  M run --bundle "$b" "$id" 2>"$TMP/run.err" || rc=$?
  [ $rc = 0 ] || diag "moat run $id ($*) exited $rc:" "$(cat "$TMP/run.err")" >&2
  return $rc
}
cfg_ns () { jq -c '[.linux.namespaces[].type]' "$1/config.json"; }

B="$TMP/b"
mkbundle "$B"
t_is "spec's namespaces" "$(cfg_ns "$B")" '["pid","network","ipc","uts","mount","cgroup"]'

# --- the default set: every listed namespace is new ---------------------------
OUT=$(run_in "$B" ns-default ns)
t_like "workload ns runs" "$OUT" '^mnt [0-9]+$'
for n in pid net ipc uts mnt cgroup; do
  t_unlike "default: $n namespace is new" "$(ns_of "$OUT" $n)" "^($(host_ns $n))?\$"
done
t_is "default: user namespace is the host's (not listed)" "$(ns_of "$OUT" user)" "$(host_ns user)"
[ -e /proc/self/ns/time ] &&
  t_is "default: time namespace is the host's (not listed)" "$(ns_of "$OUT" time)" "$(host_ns time)"
t_is "default: pid_for_children follows pid" "$(ns_of "$OUT" pid_for_children)" "$(ns_of "$OUT" pid)"
t_is "new pid namespace: the workload is pid 1" "$(run_in "$B" ns-pid1 pid | head -n 1)" "pid 1"

# --- each one left out: the host's ---------------------------------------------
for pair in pid:pid network:net ipc:ipc uts:uts cgroup:cgroup; do
  type=${pair%%:*} n=${pair#*:}
  Bx="$TMP/b-$type"
  mkbundle "$Bx"
  cfg "$Bx" '.linux.namespaces |= map(select(.type != $t)) | del(.hostname)' --arg t "$type"
  OUT=$(run_in "$Bx" "ns-no-$type" ns)
  t_is "without $type in linux.namespaces: $n namespace is the host's" "$(ns_of "$OUT" $n)" "$(host_ns $n)"
  t_unlike "without $type: mnt is still new" "$(ns_of "$OUT" mnt)" "^($(host_ns mnt))?\$"
done
t_unlike "without a pid namespace the workload is not pid 1" \
  "$(run_in "$TMP/b-pid" ns-nopid1 pid | head -n 1)" '^pid 1$'

# No mount namespace: the caller's (a missing type is inherited, as runc and
# crun run it), the root a chroot; moat makes no mount there, so what needs
# one is refused by name.
Bm="$TMP/b-nomount"
mkbundle "$Bm" /bin/workload wait-file /mnt/marker 10
mkdir -p "$Bm/rootfs/mnt"
cfg "$Bm" '.linux.namespaces |= map(select(.type != "mount"))'
M create --bundle "$Bm" ns-nomount >"$TMP/nomount.out" 2>&1
t_unlike "without a mount namespace, with mounts: create fails" "$?" '^0$'
t_like "... naming the mounts and why" "$(cat "$TMP/nomount.out")" "mounts: needs a mount namespace"
t_is "... no state dir" "$(ls "$ROOT" 2>/dev/null)" ""
t_fails "... no cgroup" cgroup_exists ns-nomount
cfg "$Bm" '.mounts = [] | del(.linux.maskedPaths) | del(.linux.readonlyPaths) | .root.readonly = false'
MOUNTS=$(mount_count)
M run -d --bundle "$Bm" ns-nomount2 >"$TMP/nomount2.out" 2>&1
t_is "without a mount namespace nor mounts: it runs" "$?" 0
# A mount the host makes under the rootfs after the start reaches the
# workload only if it shares the host's mount namespace.
mount -t tmpfs moat-t-nomount "$Bm/rootfs/mnt" && touch "$Bm/rootfs/mnt/marker"
wait_status ns-nomount2 stopped 150
t_is "it lives in the caller's mount namespace: it sees a mount the host made after its start" \
  "$(cat "$TMP/nomount2.out")" "found /mnt/marker"
umount "$Bm/rootfs/mnt"
t_is "and moat left no mount on the host" "$(mount_count)" "$MOUNTS"
M delete --force ns-nomount2 >/dev/null 2>&1

# A new network namespace has its loopback up (runc and crun do that).
t_is "a new network namespace: lo is up (flags IFF_UP|IFF_LOOPBACK)" \
  "$(run_in "$B" ns-lo cat /sys/class/net/lo/flags)" 0x9

# --- uts: hostname and domainname --------------------------------------------------
HOST_HN=$(hostname)
Bu="$TMP/b-uts"
mkbundle "$Bu"
cfg "$Bu" '.hostname = "ns-box" | .domainname = "ns.example"'
OUT=$(run_in "$Bu" ns-uts hostname)
t_like "hostname from config" "$OUT" '^hostname ns-box$'
t_like "domainname from config" "$OUT" '^domainname ns\.example$'
t_is "the host's hostname is untouched" "$(hostname)" "$HOST_HN"
cfg "$Bu" 'del(.hostname) | del(.domainname)'
t_like "no hostname in config: the new uts namespace keeps the host's name" \
  "$(run_in "$Bu" ns-uts2 hostname)" "^hostname $HOST_HN\$"
# kernel.hostname as a sysctl: refused, it belongs to the hostname field
# (runc's rule); kernel.domainname has no field of its own and is allowed.
cfg "$Bu" '.linux.sysctl = {"kernel.hostname": "via-sysctl"}'
t_like "linux.sysctl kernel.hostname: refused, naming the field it conflicts with" \
  "$(M run --bundle "$Bu" ns-sysctl-hn 2>&1)" 'kernel.hostname`? is not allowed: it conflicts with the OCI `hostname` field'
cfg "$Bu" '.linux.sysctl = {"kernel.domainname": "via.sysctl"}'
t_like "linux.sysctl kernel.domainname, with a uts namespace: set" \
  "$(run_in "$Bu" ns-sysctl-dn hostname)" '^domainname via\.sysctl$'
cfg "$Bu" 'del(.linux.sysctl)'
# A hostname without a uts namespace of its own would rename the host.
cfg "$Bu" '.hostname = "ns-clobber" | .linux.namespaces |= map(select(.type != "uts"))'
t_fails "hostname without a uts namespace: create fails" M create --bundle "$Bu" ns-uts3
t_is "hostname without a uts namespace: the host's hostname is untouched" "$(hostname)" "$HOST_HN"
[ "$(hostname)" = "$HOST_HN" ] || hostname "$HOST_HN"
t_is "hostname without a uts namespace: no state dir" "$(ls "$ROOT" 2>/dev/null)" ""

# --- user namespace ----------------------------------------------------------------
Bus="$TMP/b-user"
mkbundle "$Bus"
cfg "$Bus" '.linux.namespaces += [{type: "user"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
chown -R 100000:100000 "$Bus/rootfs"
OUT=$(run_in "$Bus" ns-user ns)
t_unlike "user namespace: new" "$(ns_of "$OUT" user)" "^($(host_ns user))?\$"
t_like "user namespace: uid 0 inside" "$(run_in "$Bus" ns-user-ids ids)" '^uid=0 euid=0 suid=0 gid=0 egid=0 sgid=0$'
t_is "user namespace: uid_map" \
  "$(run_in "$Bus" ns-user-uidmap cat /proc/self/uid_map | awk '{$1 = $1; print}')" "0 100000 65536"
t_is "user namespace: gid_map" \
  "$(run_in "$Bus" ns-user-gidmap cat /proc/self/gid_map | awk '{$1 = $1; print}')" "0 100000 65536"
# uid and gid mappings that differ: each map is written from its own list
# (the same ranges for both would pass with either list)
cfg "$Bus" '.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 1000}, {containerID: 1000, hostID: 300000, size: 1000}]'
t_is "user namespace: a gid_map of its own, not the uid mappings" \
  "$(run_in "$Bus" ns-user-gidmap2 cat /proc/self/gid_map | awk '{$1 = $1; print}' | tr '\n' ';')" "0 100000 1000;1000 300000 1000;"
t_is "user namespace: and the uid_map its own" \
  "$(run_in "$Bus" ns-user-uidmap2 cat /proc/self/uid_map | awk '{$1 = $1; print}' | tr '\n' ';')" "0 100000 65536;"
cfg "$Bus" '.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
t_like "user namespace: rootfs owned by the mapped root looks root-owned inside" \
  "$(run_in "$Bus" ns-user-stat stat /bin/workload)" 'uid 0 gid 0$'
# mknod is denied in a user namespace: the default devices are the host's nodes.
t_like "user namespace: /dev/null is the null device" \
  "$(run_in "$Bus" ns-user-null stat /dev/null)" '^type chr .*rdev 1:3$'
t_like "user namespace: /dev/zero is the zero device" \
  "$(run_in "$Bus" ns-user-zero stat /dev/zero)" '^type chr .*rdev 1:5$'
run_in "$Bus" ns-user-wnull write /dev/null discard >/dev/null
t_is "user namespace: /dev/null is writable" "$?" 0
t_like "user namespace: the bound /dev/null is nosuid" \
  "$(run_in "$Bus" ns-user-mi mounts | awk '$5 == "/dev/null" {print $6}')" '(^|,)nosuid(,|$)'
t_like "user namespace: and noexec" "$(run_in "$Bus" ns-user-mi2 mounts | awk '$5 == "/dev/null" {print $6}')" '(^|,)noexec(,|$)'
# A device the host has under another name (mknod is not allowed in a user
# namespace): the host's node is bound, found in its /dev.
cfg "$Bus" '.linux.devices = [{path: "/dev/moat-null", type: "c", major: 1, minor: 3}]'
t_like "user namespace: linux.devices /dev/moat-null (1:3, no such path on the host) is the host's null device" \
  "$(run_in "$Bus" ns-user-dev stat /dev/moat-null)" '^type chr .*rdev 1:3$'
cfg "$Bus" 'del(.linux.devices)'
# A bind source under a directory only the host's root may enter: create
# opens it, the init (nobody on the host) mounts it.
mkdir -p "$TMP/priv/data"
chmod 700 "$TMP/priv"
echo secret-ok > "$TMP/priv/data/f"
cfg "$Bus" '.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind", "ro"]}]' --arg s "$TMP/priv/data"
t_is "user namespace: a bind source under a 0700 root-owned directory is mounted" \
  "$(run_in "$Bus" ns-user-bind cat /data/f)" secret-ok
cfg "$Bus" '.mounts |= map(select(.destination != "/data"))'
# From the host, the container runs as the mapped ids.
setargs "$Bus" /bin/workload sleep 30
M create --bundle "$Bus" --pid-file "$TMP/upid" ns-user-host >/dev/null 2>&1
M start ns-user-host >/dev/null 2>&1
UPID=$(cat "$TMP/upid" 2>/dev/null || echo 0)
t_like "user namespace: seen from the host, the workload runs as uid 100000" \
  "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/"$UPID"/status 2>&1)" '^100000 100000 100000 100000$'
t_like "user namespace: seen from the host, gid 100000" \
  "$(awk '/^Gid:/ {print $2, $3, $4, $5}' /proc/"$UPID"/status 2>&1)" '^100000 100000 100000 100000$'
M delete --force ns-user-host >/dev/null 2>&1

# --- time namespace --------------------------------------------------------------------
if [ -e /proc/self/ns/time ]; then
  Bt="$TMP/b-time"
  mkbundle "$Bt"
  cfg "$Bt" '.linux.namespaces += [{type: "time"}]
    | .linux.timeOffsets = {boottime: {secs: 864000, nanosecs: 0}}'
  OUT=$(run_in "$Bt" ns-time ns)
  t_unlike "time namespace: new" "$(ns_of "$OUT" time)" "^($(host_ns time))?\$"
  HOST_UP=$(cut -d' ' -f1 /proc/uptime)
  IN_UP=$(run_in "$Bt" ns-time-up cat /proc/uptime | cut -d' ' -f1)
  t_is "time namespace: boottime offset of 10 days shows in /proc/uptime (host $HOST_UP, inside $IN_UP)" \
    "$(awk -v h="$HOST_UP" -v c="${IN_UP:-0}" 'BEGIN {d = c - h; print (d >= 864000 && d < 864000 + 30) ? "yes" : "no"}')" yes
  cfg "$Bt" '.linux.namespaces |= map(select(.type != "time"))'
  t_fails "timeOffsets without a time namespace: create fails" M create --bundle "$Bt" ns-time-bad
  t_is "timeOffsets without a time namespace: no state dir" "$(ls "$ROOT" 2>/dev/null)" ""
else
  ok "# SKIP no time namespaces on this kernel"
fi

# --- joining namespaces by path ----------------------------------------------------------
BA="$TMP/b-a"
mkbundle "$BA" /bin/workload sleep 30
cfg "$BA" '.hostname = "ns-a"'
M create --bundle "$BA" --pid-file "$TMP/apid" ns-a >/dev/null 2>&1
M start ns-a >/dev/null 2>&1
APID=$(cat "$TMP/apid" 2>/dev/null || echo 0)
t_is "container A runs" "$(M state ns-a 2>/dev/null | jq -r .status)" running
a_ns () { stat -L -c %i "/proc/$APID/ns/$1" 2>/dev/null; }

BB="$TMP/b-b"
mkbundle "$BB"
cfg "$BB" 'del(.hostname) | .linux.namespaces |= map(
    if .type == "network" or .type == "ipc" or .type == "uts"
    then .path = "/proc/" + $p + "/ns/" + (if .type == "network" then "net" else .type end)
    else . end)' --arg p "$APID"
OUT=$(run_in "$BB" ns-b ns)
t_is "joined by path: B's net namespace is A's" "$(ns_of "$OUT" net)" "$(a_ns net)"
t_is "joined by path: B's ipc namespace is A's" "$(ns_of "$OUT" ipc)" "$(a_ns ipc)"
t_is "joined by path: B's uts namespace is A's" "$(ns_of "$OUT" uts)" "$(a_ns uts)"
t_unlike "joined by path: A's namespaces are not the host's" "$(a_ns net)" "^($(host_ns net))?\$"
t_unlike "joined by path: B's pid namespace is still its own" "$(ns_of "$OUT" pid)" "^($(a_ns pid)|$(host_ns pid))?\$"
t_is "joined uts by path: B sees A's hostname" "$(run_in "$BB" ns-b-hn hostname | head -n 1)" "hostname ns-a"

BP="$TMP/b-p"
mkbundle "$BP"
cfg "$BP" '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/" + $p + "/ns/pid" else . end)' --arg p "$APID"
OUT=$(run_in "$BP" ns-p ns)
t_is "pid namespace by path: B sees A's pid namespace" "$(ns_of "$OUT" pid)" "$(a_ns pid)"
t_unlike "pid namespace by path: B is not pid 1 there (A's workload is)" \
  "$(run_in "$BP" ns-p1 pid | head -n 1)" '^pid 1$'
t_is "A still runs after B came and went" "$(M state ns-a 2>/dev/null | jq -r .status)" running

# A path that is not a namespace is refused up front.
cfg "$BP" '.linux.namespaces |= map(if .type == "pid" then .path = $f else . end)' --arg f "$BP/config.json"
t_fails "namespace path that is not a namespace file: create fails" M create --bundle "$BP" ns-badpath
cfg "$BP" '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/self/ns/net" else . end)'
t_fails "namespace path of the wrong type: create fails" M create --bundle "$BP" ns-badtype
t_is "bad namespace paths: no state left but A" "$(ls "$ROOT" 2>/dev/null)" "ns-a"
t_fails "bad namespace paths: no cgroup left" cgroup_exists ns-badtype
M delete --force ns-a >/dev/null 2>&1

# --- cgroup namespace: the container's cgroups are its roots ----------------------------
OUT=$(run_in "$B" ns-cg cat /proc/self/cgroup)
t_like "cgroup namespace: /proc/self/cgroup lists cgroups" "$OUT" '^[0-9]+:'
t_is "cgroup namespace: every line shows / as the root" \
  "$(printf '%s\n' "$OUT" | grep -v '^$' | grep -vc ':/$')" 0
OUT=$(run_in "$TMP/b-cgroup" ns-nocg cat /proc/self/cgroup)
t_like "without a cgroup namespace: the real paths show" "$OUT" "/moat/ns-nocg\$"

t_is "nothing left behind" "$(ls "$ROOT" 2>/dev/null)" ""
t_is "no stray processes" "$(stray_procs 2>/dev/null)" 0

t_done
