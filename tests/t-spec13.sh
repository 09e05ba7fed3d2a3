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

t_done
