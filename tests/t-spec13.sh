#!/bin/bash
# runtime-spec 1.3 fields: each applied (checked from inside the container)
# or refused with an error naming it, never dropped in silence: mount
# extensions (recursive options, idmapped mounts, tmpcopyup),
# linux.memoryPolicy, process.execCPUAffinity, linux.netDevices,
# linux.intelRdt, and what `moat features` says of them.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
mkbundle "$B"
run_in () { M run --bundle "$B" "s13-$RANDOM"; }
MOUNTED=()
cleanup_mounts () { local m; for m in "${MOUNTED[@]}"; do umount -l "$m" 2>/dev/null; done; }
trap 'cleanup_mounts; cleanup' EXIT

# ---- recursive mount options (mount_setattr AT_RECURSIVE) -----------------
mkdir -p "$TMP/rsrc/sub"
mount -t tmpfs -o size=1m tmpfs "$TMP/rsrc/sub" && MOUNTED+=("$TMP/rsrc/sub")
cfg "$B" '.mounts += [{"destination":"/data","type":"bind","source":$d,"options":["rbind","ro"]}]' --arg d "$TMP/rsrc"
setargs "$B" /bin/workload writable /data/sub
t_like "rbind,ro: the submount stays writable (ro is the top mount only)" "$(run_in 2>&1)" "^writable$"
cfg "$B" '(.mounts[] | select(.destination == "/data") | .options) = ["rbind","rro"]'
t_like "rbind,rro: the submount is read-only too" "$(run_in 2>&1)" "readonly: Read-only file system"
setargs "$B" /bin/workload writable /data
t_like "rbind,rro: and the top mount" "$(run_in 2>&1)" "readonly: Read-only file system"
cfg "$B" '(.mounts[] | select(.destination == "/data") | .options) = ["rbind","rnosuid","rnodev","rnoexec","rnoatime"]'
setargs "$B" /bin/workload mounts
t_like "rnosuid,rnodev,rnoexec,rnoatime reach the submount" "$(run_in 2>&1)" " /data/sub rw,nosuid,nodev,noexec,noatime "
cfg "$B" 'del(.mounts[] | select(.destination == "/data"))'

# ---- idmapped mounts --------------------------------------------------------
mkdir -p "$TMP/idsrc"
echo owned > "$TMP/idsrc/file"
chown 0:0 "$TMP/idsrc/file"
cfg "$B" '.mounts += [{"destination":"/idm","type":"bind","source":$d,"options":["bind","idmap"],
  "uidMappings":[{"containerID":0,"hostID":1234,"size":1}],"gidMappings":[{"containerID":0,"hostID":4321,"size":1}]}]' --arg d "$TMP/idsrc"
setargs "$B" /bin/workload stat /idm/file
t_like "idmap: a file owned by 0:0 is seen through the mapping (1234:4321)" "$(run_in 2>&1)" "^type file mode 0644 uid 1234 gid 4321$"
setargs "$B" /bin/workload cat /idm/file
t_is "idmap: and its contents are there" "$(run_in 2>&1)" owned
t_is "idmap: the host's file keeps its owner" "$(stat -c %u:%g "$TMP/idsrc/file")" 0:0
cfg "$B" '(.mounts[] | select(.destination == "/idm")) |= (del(.uidMappings) | del(.gidMappings))'
t_like "idmap without mappings and without a user namespace: an error naming the mount" "$(run_in 2>&1)" \
  "config.json: mounts\[[0-9]+\]: idmap without uidMappings/gidMappings needs a user namespace"
cfg "$B" '(.mounts[] | select(.destination == "/idm")) |= (.uidMappings = [{"containerID":0,"hostID":1,"size":1}])'
t_like "uidMappings without gidMappings: an error" "$(run_in 2>&1)" "mounts\[[0-9]+\]: uidMappings and gidMappings go together"
cfg "$B" 'del(.mounts[] | select(.destination == "/idm"))'

# ---- tmpcopyup ---------------------------------------------------------------
mkdir -p "$B/rootfs/etc/sub"
echo below > "$B/rootfs/etc/sub/f"
cfg "$B" '.mounts += [{"destination":"/etc","type":"tmpfs","source":"tmpfs","options":["tmpcopyup","size=1m"]}]'
setargs "$B" /bin/workload cat /etc/passwd /etc/sub/f
t_is "tmpcopyup: the tmpfs holds what its mount point held" "$(run_in 2>&1)" "root:x:0:0:root:/:/bin/sh
below"
setargs "$B" /bin/workload write /etc/sub/f changed
t_ok "tmpcopyup: writable (a tmpfs) on a read-only root" run_in
t_is "and the rootfs below is untouched" "$(cat "$B/rootfs/etc/sub/f")" below
cfg "$B" '(.mounts[] | select(.destination == "/etc")) |= (.type = "bind" | .source = "/tmp" | .options = ["bind","tmpcopyup"])'
t_like "tmpcopyup on a bind mount: an error naming it" "$(run_in 2>&1)" "mounts\[[0-9]+\]: tmpcopyup: only for a tmpfs mount"
cfg "$B" 'del(.mounts[] | select(.destination == "/etc"))'

# ---- linux.memoryPolicy (set_mempolicy before the workload's execve) -------
NODES=$(cat /sys/devices/system/node/online 2>/dev/null || echo 0)
N0=${NODES%%[-,]*}
setargs "$B" /bin/workload mempolicy
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": $n}' --arg n "$N0"
t_is "memoryPolicy MPOL_BIND: the workload's policy is bind to node $N0" "$(run_in 2>&1)" "mempolicy 2 flags 0x0 nodes $N0"
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_PREFERRED", "nodes": $n, "flags": ["MPOL_F_STATIC_NODES"]}' --arg n "$N0"
t_is "memoryPolicy flags: MPOL_F_STATIC_NODES is kept" "$(run_in 2>&1)" "mempolicy 1 flags 0x8000 nodes $N0"
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_LOCAL"}'
t_is "memoryPolicy MPOL_LOCAL (no nodes)" "$(run_in 2>&1)" "mempolicy 4 flags 0x0 nodes -"
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_SOMETIMES"}'
t_like "an unknown mode: an error naming it" "$(run_in 2>&1)" 'config.json: linux.memoryPolicy.mode: unknown mode `MPOL_SOMETIMES`'
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_LOUD"]}'
t_like "an unknown flag: an error naming it" "$(run_in 2>&1)" 'linux.memoryPolicy.flags: unknown flag `MPOL_F_LOUD`'
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0-"}'
t_like "a bad node list: an error naming it" "$(run_in 2>&1)" 'linux.memoryPolicy.nodes: `0-` is not a node list'
cfg "$B" '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "1000"}'
t_like "a node the host lacks: the kernel's refusal, naming the field" "$(run_in 2>&1)" "linux.memoryPolicy: set_mempolicy \\(mode MPOL_BIND, nodes .1000.\\).*Invalid argument"
cfg "$B" 'del(.linux.memoryPolicy)'

# ---- process.execCPUAffinity (moat exec; runtime-spec: not the init) -------
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
  LAST=$((NCPU - 1))
  setargs "$B" /bin/workload sleep 30
  M run -d --bundle "$B" s13-aff
  printf '{"args":["/bin/workload","cat","/proc/self/status"],"cwd":"/","env":["PATH=/bin"],"execCPUAffinity":{"final":"%s"}}' "$LAST" > "$TMP/proc-final.json"
  t_is "execCPUAffinity.final: the exec'd process runs on CPU $LAST only" \
    "$(M exec --process "$TMP/proc-final.json" s13-aff 2>&1 | awk '/^Cpus_allowed_list:/ {print $2}')" "$LAST"
  printf '{"args":["/bin/workload","cat","/proc/self/status"],"cwd":"/","env":["PATH=/bin"],"execCPUAffinity":{"initial":"0"}}' > "$TMP/proc-initial.json"
  t_is "execCPUAffinity.initial alone: back to every CPU once in the cgroup" \
    "$(M exec --process "$TMP/proc-initial.json" s13-aff 2>&1 | awk '/^Cpus_allowed_list:/ {print $2}')" "$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)"
  printf '{"args":["/bin/workload","pid"],"cwd":"/","execCPUAffinity":{"final":"1-0"}}' > "$TMP/proc-bad.json"
  t_like "a bad CPU list: an error naming it" "$(M exec --process "$TMP/proc-bad.json" s13-aff 2>&1)" \
    'process.execCPUAffinity.final: `1-0` is not a CPU list'
  printf '{"args":["/bin/workload","pid"],"cwd":"/","execCPUAffinity":{"final":"1000"}}' > "$TMP/proc-off.json"
  t_like "a CPU the host lacks: sched_setaffinity's refusal, naming the field" "$(M exec --process "$TMP/proc-off.json" s13-aff 2>&1)" \
    'process.execCPUAffinity.final: sched_setaffinity `1000`'
  M delete --force s13-aff
  setargs "$B" /bin/workload pid
else
  ok "execCPUAffinity # SKIP one CPU"
fi

# ---- linux.netDevices ------------------------------------------------------
# A veth pair made for the test (Debian's kernel here has veth built in; the
# dummy driver may be a module): one end moved in and renamed, the other
# left on the host. It is gone with the container's namespace.
V=mt$$; VP=mp$$
if ip link add "$V" type veth peer name "$VP" 2>/dev/null; then
  cfg "$B" '.linux.netDevices = {($v): {"name": "eth9"}}' --arg v "$V"
  setargs "$B" /bin/workload ls /sys/class/net
  t_like "netDevices: the host's $V is the container's eth9" "$(run_in 2>&1 | tr '\n' ' ')" "(^| )eth9 "
  t_fails "and it left the host's namespace" ip link show "$V"
  t_fails "the namespace gone, the veth pair is gone (its host end too)" ip link show "$VP"
  ip link del "$VP" 2>/dev/null
  cfg "$B" '.linux.netDevices = {"nosuchif0": {}}'
  t_like "a device the host lacks: an error naming it" "$(run_in 2>&1)" "linux.netDevices.nosuchif0: no such network interface on the host"
  cfg "$B" '.linux.netDevices = {"lo": {"name": "a/b"}}'
  t_like "a bad name: an error naming it" "$(run_in 2>&1)" 'linux.netDevices.lo.name: `a/b` is not an interface name'
  cfg "$B" '.linux.netDevices = {"lo": {}} | .linux.namespaces |= map(select(.type != "network"))'
  t_like "without a network namespace of its own: refused" "$(run_in 2>&1)" "linux.netDevices: needs a network namespace"
  t_ok "and the host's lo is still the host's" ip link show lo
  cfg "$B" 'del(.linux.netDevices) | .linux.namespaces += [{"type": "network"}]'
  setargs "$B" /bin/workload pid
else
  ok "netDevices # SKIP cannot make a veth pair here"
fi

# ---- linux.intelRdt ----------------------------------------------------------
cfg "$B" '.linux.intelRdt = {"closID": "guaranteed_group", "schemata": "L3:0=7f0"}'
if grep -qw resctrl /proc/self/mountinfo; then
  t_like "intelRdt: refused, with why (moat does not drive resctrl)" "$(run_in 2>&1)" "linux.intelRdt: moat does not apply Intel RDT"
else
  t_like "intelRdt without resctrl mounted: refused, as the spec asks" "$(run_in 2>&1)" \
    "config.json: linux.intelRdt: no resctrl file system is mounted on this host"
fi
cfg "$B" '.linux.intelRdt = {"closID": 7}'
t_like "intelRdt.closID of the wrong type: an error naming it" "$(run_in 2>&1)" "linux.intelRdt.closID"
cfg "$B" 'del(.linux.intelRdt)'

# ---- moat features ---------------------------------------------------------
F=$(M features)
t_is "features: ociVersionMax is 1.3.0" "$(jq -r .ociVersionMax <<<"$F")" 1.3.0
t_is "features: the mount extensions are listed" \
  "$(jq -r '[.mountOptions[] | select(. == "rro" or . == "rnosymfollow" or . == "idmap" or . == "ridmap" or . == "tmpcopyup")] | join(" ")' <<<"$F")" \
  "idmap ridmap rnosymfollow rro tmpcopyup"
t_is "features: linux.mountExtensions.idmap, netDevices, cgroup.rdma enabled" \
  "$(jq -c '[.linux.mountExtensions.idmap.enabled, .linux.netDevices.enabled, .linux.cgroup.rdma]' <<<"$F")" "[true,true,true]"
t_is "features: memoryPolicy's modes and flags" \
  "$(jq -c '[(.linux.memoryPolicy.modes | length), (.linux.memoryPolicy.flags | length)]' <<<"$F")" "[7,3]"
t_is "features: intelRdt is not enabled (refused, not applied)" "$(jq -c .linux.intelRdt.enabled <<<"$F")" false
t_is "features: potentiallyUnsafeConfigAnnotations" "$(jq -c .potentiallyUnsafeConfigAnnotations <<<"$F")" '["org.moat.audit."]'
# every mount option features lists is one config.json may use
OPTS=$(jq -c '[.mountOptions[] | select(. != "idmap" and . != "ridmap" and . != "tmpcopyup" and . != "bind" and . != "rbind" and . != "remount")]' <<<"$F")
cfg "$B" '.mounts += [{"destination":"/opts","type":"tmpfs","source":"tmpfs","options":$o}]' --argjson o "$OPTS"
setargs "$B" /bin/workload exit 0
OUT=$(run_in 2>&1); RC=$?
t_unlike "a tmpfs with every listed flag option: no option is passed on as file system data" "$OUT" "mount .tmpfs. .*Invalid argument"
cfg "$B" 'del(.mounts[] | select(.destination == "/opts"))'

t_done
