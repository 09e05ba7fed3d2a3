#!/bin/bash
# The filesystem wall: mounts and their options, read-only root, masked and
# read-only paths, devices, pivot_root and --no-pivot, sysctl, and mount
# destinations that try to leave the rootfs through symlinks.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
mkbundle "$B"
run_in () { M run --bundle "$B" "rootfs-$RANDOM" ; }

# the default mounts of `moat spec`
setargs "$B" /bin/workload mounts
MI=$(run_in)
t_like "/proc is procfs" "$MI" " /proc rw,[a-z,]* - proc proc "
t_like "/dev is a tmpfs, nosuid" "$MI" " /dev rw,nosuid[a-z,]* - tmpfs "
t_like "/dev/pts is devpts with newinstance semantics" "$MI" " /dev/pts [a-z,]* - devpts devpts .*ptmxmode=666"
t_like "/dev/shm tmpfs nosuid,nodev,noexec" "$MI" " /dev/shm rw,nosuid,nodev,noexec"
t_like "/dev/mqueue" "$MI" " /dev/mqueue [a-z,]* - mqueue "
t_like "/sys is sysfs, read-only" "$MI" " /sys ro,nosuid,nodev,noexec[a-z,]* - sysfs "
t_like "/sys/fs/cgroup is mounted read-only" "$MI" " /sys/fs/cgroup ro,"
t_like "the root is read-only (root.readonly)" "$MI" "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / ro,"
t_is "nothing of the host's tree is left after pivot_root" "$(printf '%s\n' "$MI" | awk '$5 ~ /^\/(home|work|boot|run)/' | wc -l)" 0

setargs "$B" /bin/workload writable /bin
t_like "read-only root refuses writes" "$(run_in)" "readonly: Read-only file system"
cfg "$B" '.root.readonly = false'
setargs "$B" /bin/workload write /tmp/x hello
t_ok "a writable root accepts writes" run_in
t_is "and the write lands in the rootfs" "$(cat "$B/rootfs/tmp/x")" hello
cfg "$B" '.root.readonly = true'

# extra mounts with options
mkdir -p "$TMP/hostdir"
echo host-data > "$TMP/hostdir/file"
cfg "$B" '.mounts += [
  {"destination":"/mnt/t","type":"tmpfs","source":"tmpfs","options":["nosuid","noexec","nodev","size=1m","mode=750"]},
  {"destination":"/mnt/ro","type":"bind","source":$d,"options":["rbind","ro"]},
  {"destination":"/mnt/rw","type":"none","source":$d,"options":["bind","rw"]},
  {"destination":"/mnt/file","type":"bind","source":($d + "/file"),"options":["bind","ro"]}]' --arg d "$TMP/hostdir"
setargs "$B" /bin/workload mounts
MI=$(run_in)
t_like "tmpfs with nosuid,nodev,noexec" "$MI" " /mnt/t rw,nosuid,nodev,noexec"
t_like "tmpfs size and mode reach the kernel" "$MI" " /mnt/t .* tmpfs tmpfs rw,size=1024k,mode=750"
t_like "read-only bind mount" "$MI" " /mnt/ro ro,"
setargs "$B" /bin/workload cat /mnt/ro/file
t_is "a bind mount shows the host's file" "$(run_in)" host-data
setargs "$B" /bin/workload write /mnt/ro/new x
t_fails "a read-only bind refuses writes" run_in
t_fails "and nothing reached the host" test -e "$TMP/hostdir/new"
setargs "$B" /bin/workload write /mnt/rw/new y
t_ok "a read-write bind accepts writes" run_in
t_is "which reach the host" "$(cat "$TMP/hostdir/new")" y
setargs "$B" /bin/workload cat /mnt/file
t_is "a file can be bind-mounted on a file" "$(run_in)" host-data
cfg "$B" 'del(.mounts[] | select(.destination | startswith("/mnt")))'

# masked and read-only paths
cfg "$B" '.linux.maskedPaths += ["/etc/passwd"]'
setargs "$B" /bin/workload cat /etc/passwd
OUT=$(run_in); RC=$?
t_is "a masked file reads empty (bound to /dev/null)" "$RC:$(printf %s "$OUT" | wc -c)" "0:0"
# A directory with something in it (the /proc/acpi of many machines is empty
# already: masking it or not reads the same)
mkdir -p "$B/rootfs/secret"; echo s1 > "$B/rootfs/secret/a"; echo s2 > "$B/rootfs/secret/b"
cfg "$B" '.linux.maskedPaths += ["/secret"]'
setargs "$B" /bin/workload ls /secret
OUT=$(run_in 2>&1); RC=$?
t_is "a masked directory with files in it lists empty" "$RC:$OUT" "0:"
setargs "$B" /bin/workload cat /secret/a
t_unlike "and its files cannot be read" "$(run_in 2>&1)" "s1"
setargs "$B" /bin/workload ls /proc/acpi
t_is "a masked directory is empty" "$(run_in 2>/dev/null)" ""
# A masked or read-only path that is an absolute symlink in the image is
# followed inside the rootfs (openat2 RESOLVE_IN_ROOT), never on the host:
# /masklink -> $TMP/lk/m names the rootfs' own $TMP/lk/m.
mkdir -p "$B/rootfs$TMP/lk/m" "$B/rootfs$TMP/lk/r" "$TMP/lk/m" "$TMP/lk/r"
echo inside > "$B/rootfs$TMP/lk/m/secret"
ln -sfn "$TMP/lk/m" "$B/rootfs/masklink"; ln -sfn "$TMP/lk/r" "$B/rootfs/rolink"
cfg "$B" '.root.readonly = false | .linux.maskedPaths += ["/masklink"] | .linux.readonlyPaths += ["/rolink"]'
setargs "$B" /bin/workload ls /masklink/
t_is "a masked absolute symlink masks its target in the rootfs" "$(run_in 2>&1)" ""
setargs "$B" /bin/workload write /rolink/x y
t_like "a read-only absolute symlink makes its target in the rootfs read-only" "$(run_in 2>&1)" "Read-only file system"
t_fails "(nothing was written there)" test -e "$B/rootfs$TMP/lk/r/x"
cfg "$B" '.root.readonly = true | .linux.maskedPaths -= ["/masklink", "/secret"] | .linux.readonlyPaths -= ["/rolink"]'
cfg "$B" '.linux.maskedPaths += ["/no/such/path"]'
setargs "$B" /bin/workload pid
t_ok "a masked path that does not exist is skipped" run_in
setargs "$B" /bin/workload writable /proc/sys/kernel/domainname
t_like "a read-only path refuses writes" "$(run_in)" "readonly: Read-only file system"
cfg "$B" '.linux.readonlyPaths = []'
t_like "without it the same file is writable" "$(run_in)" "^writable"
cfg "$B" '.linux.readonlyPaths = ["/proc/sys"]'

# devices
setargs "$B" /bin/workload stat /dev/null
t_is "/dev/null is the null device, 0666" "$(run_in)" "type chr mode 0666 uid 0 gid 0 rdev 1:3"
for d in zero full random urandom tty; do
  setargs "$B" /bin/workload exists /dev/$d
  t_ok "default device /dev/$d" run_in
done
cfg "$B" '.linux.devices = [{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":384,"uid":5,"gid":6}]'
setargs "$B" /bin/workload stat /dev/fuse
t_is "linux.devices: node, mode, owner" "$(run_in)" "type chr mode 0600 uid 5 gid 6 rdev 10:229"
cfg "$B" 'del(.linux.devices)'
setargs "$B" /bin/workload stat /dev/ptmx
t_like "/dev/ptmx links to pts/ptmx" "$(run_in)" "^type link"
setargs "$B" /bin/workload ls /dev/fd/
t_like "/dev/fd links to /proc/self/fd" "$(run_in)" "^0"

# the device cgroup: only the devices a container needs may be opened
cfg "$B" '.root.readonly = false | .process.capabilities |= with_entries(.value += ["CAP_MKNOD"])'
printf '#!/bin/sh\n/bin/workload syscall mknodat AT_FDCWD s:/dev/xloop "S_IFBLK|0600" 0x700\n/bin/workload syscall openat AT_FDCWD s:/dev/xloop O_RDONLY\n/bin/workload syscall openat AT_FDCWD s:/dev/null O_RDWR\n' > "$B/rootfs/bin/dev.sh"
chmod 755 "$B/rootfs/bin/dev.sh"
setargs "$B" /bin/sh /bin/dev.sh
DEV=$(run_in 2>&1)
if true; then   # v1/hybrid: the devices controller; v2: the BPF device filter
  t_like "devices cgroup: mknod of a block device is allowed (m)" "$DEV" "mknodat = 0"
  t_like "devices cgroup: opening it is not (EPERM)" "$DEV" "openat = -1 EPERM"
  t_like "devices cgroup: /dev/null opens" "$DEV" "openat = [0-9]+"
  # The same without the config's own deny-all rule (moat spec writes one;
  # a config need not): the container's device cgroup still starts from
  # nothing, not from its parent's allow-all.
  SAVED=$(jq -c '.linux.resources.devices' "$B/config.json")
  cfg "$B" 'del(.linux.resources.devices)'
  t_like "devices cgroup without a deny rule in the config: the block device still does not open" "$(run_in 2>&1)" "openat = -1 EPERM"
  cfg "$B" '.linux.resources.devices = $d' --argjson d "$SAVED"
  cfg "$B" '.linux.resources.devices += [{"allow":true,"type":"b","major":7,"minor":0,"access":"r"}]'
  t_like "an allow rule in linux.resources.devices opens it" "$(run_in 2>&1 | sed -n 2p)" "openat = [0-9]+"
  cfg "$B" '.linux.resources.devices |= map(select(.major != 7))'
  cfg "$B" '.linux.resources.devices += [{"allow":true,"type":"x"}]'
  t_like "a bad device rule fails with its JSON path" "$(run_in 2>&1)" 'linux.resources.devices\[[0-9]+\].type: must be'
  cfg "$B" '.linux.resources.devices |= map(select(.type != "x"))'
fi
cfg "$B" '.root.readonly = true | .process.capabilities |= with_entries(.value -= ["CAP_MKNOD"])'

# --no-pivot
setargs "$B" /bin/workload mounts
t_like "--no-pivot (MS_MOVE + chroot) works" "$(M run --no-pivot --bundle "$B" rootfs-np)" " / ro,"

# cwd is created when missing
setargs "$B" /bin/workload cwd
cfg "$B" '.process.cwd = "/work/here"'
t_is "process.cwd is created and entered" "$(run_in)" "cwd /work/here"
cfg "$B" '.process.cwd = "/"'

# sysctl, inside the container's own namespaces only
HOSTFWD=$(cat /proc/sys/net/ipv4/ip_forward)
NEWFWD=$((1 - HOSTFWD))
cfg "$B" '.linux.sysctl = {"net.ipv4.ip_forward": $v}' --arg v "$NEWFWD"
setargs "$B" /bin/workload sysctl net.ipv4.ip_forward
t_is "linux.sysctl is applied in the container" "$(run_in)" "net.ipv4.ip_forward $NEWFWD"
t_is "and not on the host" "$(cat /proc/sys/net/ipv4/ip_forward)" "$HOSTFWD"
cfg "$B" '.linux.sysctl = {"kernel.shmmni": "2048"}'
setargs "$B" /bin/workload sysctl kernel.shmmni
t_is "an ipc sysctl (kernel.shmmni) in the container's ipc namespace" "$(run_in)" "kernel.shmmni 2048"
CORE=$(cat /proc/sys/kernel/core_pattern)
cfg "$B" '.linux.sysctl = {"kernel.core_pattern": "|/tmp/evil"}'
t_like "a sysctl that is not namespaced is refused (it would change the host)" "$(run_in 2>&1)" \
  "linux.sysctl: \`kernel.core_pattern\` is not namespaced"
t_is "and the host's core_pattern is unchanged" "$(cat /proc/sys/kernel/core_pattern)" "$CORE"
cfg "$B" '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .linux.namespaces |= map(select(.type != "network"))'
t_like "a net.* sysctl without a network namespace is refused" "$(run_in 2>&1)" "needs a network namespace"
t_is "the host's ip_forward is unchanged" "$(cat /proc/sys/net/ipv4/ip_forward)" "$HOSTFWD"
cfg "$B" 'del(.linux.sysctl) | .linux.namespaces += [{"type": "network"}]'

# the container's cgroup, seen through the cgroup mount with a cgroup namespace
setargs "$B" /bin/workload ls /sys/fs/cgroup
t_like "the cgroup mount shows the hierarchies" "$(run_in)" "memory|unified|cgroup.procs"

# mount destinations through symlinks never leave the rootfs
mkdir -p "$TMP/victim"
ln -s "$TMP/victim" "$B/rootfs/abs"          # absolute link to a host dir
ln -s ../../../../../../.. "$B/rootfs/up"   # relative link climbing out
setargs "$B" /bin/workload pid
cfg "$B" '.mounts += [{"destination":"/abs/planted","type":"tmpfs","source":"tmpfs"}]'
t_ok "a dangling absolute symlink on the way: create works (resolved in the rootfs, as runc's securejoin)" \
  M run --bundle "$B" rootfs-abs
t_fails "an absolute symlink does not create a mount point on the host" test -e "$TMP/victim/planted"
t_ok "its target was made inside the rootfs" test -d "$B/rootfs$TMP/victim/planted"
t_ok "once the target exists inside the rootfs, the mount goes there" M run --bundle "$B" rootfs-abs2
t_ok "the mount point was made inside the rootfs" test -d "$B/rootfs$TMP/victim/planted"
t_fails "and still not on the host" test -e "$TMP/victim/planted"
cfg "$B" 'del(.mounts[] | select(.destination == "/abs/planted"))'
cfg "$B" '.mounts += [{"destination":"/up/escaped","type":"tmpfs","source":"tmpfs"}]'
t_ok "a climbing symlink is followed only up to the rootfs' root" M run --bundle "$B" rootfs-up
t_fails "so it does not reach the host's /" test -e /escaped
t_ok "and the mount point is the rootfs' /escaped" test -d "$B/rootfs/escaped"
cfg "$B" 'del(.mounts[] | select(.destination == "/up/escaped"))'
ln -s /proc/self/cwd "$B/rootfs/magic"
cfg "$B" '.root.readonly = false | .mounts += [{"destination":"/magic/x","type":"tmpfs","source":"tmpfs"}]'
t_fails "a magic /proc link on the way is refused" run_in
t_like "with an error naming the destination" "$(M run --bundle "$B" rootfs-magic 2>&1)" "/magic"
# A mount destination that is a dangling symlink to /etc/...: made at the
# target inside the rootfs, seen there from inside, nothing on the host.
ETCL="moat-t-etclink-$$"
ln -s "/etc/$ETCL" "$B/rootfs/etclink"
ln -s "../var/rel-$ETCL" "$B/rootfs/etc/rel"
cfg "$B" '.root.readonly = true | .mounts |= map(select(.destination != "/magic/x"))
  | .mounts += [{destination: "/etclink/sub", type: "tmpfs", source: "tmpfs"}, {destination: "/etc/rel", type: "tmpfs", source: "tmpfs"}]'
setargs "$B" /bin/workload mounts
MI=$(run_in)
t_like "a dangling absolute symlink to /etc/X: the mount is at /etc/X inside" "$MI" " /etc/$ETCL/sub "
t_like "a dangling relative one (/etc/rel -> ../var/rel-X): at /var/rel-X" "$MI" " /var/rel-$ETCL "
t_fails "and the host's /etc has nothing of it" test -e "/etc/$ETCL"
rm -rf "$B/rootfs/etclink" "$B/rootfs/etc/rel" "$B/rootfs/etc/$ETCL" "$B/rootfs/var/rel-$ETCL"
cfg "$B" '.mounts |= map(select(.destination != "/etclink/sub" and .destination != "/etc/rel"))'

# A tmpfs without mode= keeps the mode of the directory it covers (runc
# copies it); mode= wins; a new mount point has tmpfs' own 1777.
mkdir -p "$B/rootfs/scratch" "$B/rootfs/scratch2"
chmod 0750 "$B/rootfs/scratch" "$B/rootfs/scratch2"
cfg "$B" '.mounts += [{destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m"]},
  {destination: "/scratch2", type: "tmpfs", source: "tmpfs", options: ["mode=0711"]},
  {destination: "/scratch3", type: "tmpfs", source: "tmpfs"}]'
setargs "$B" /bin/workload stat /scratch
t_like "a tmpfs without mode= on a 0750 directory: 0750" "$(run_in)" '^type dir mode 0750 '
setargs "$B" /bin/workload stat /scratch2
t_like "with mode=0711: 0711" "$(run_in)" '^type dir mode 0711 '
setargs "$B" /bin/workload stat /scratch3
rm -rf "$B/rootfs/scratch3"   # (made, 0755, by the runs above)
t_like "on a new mount point: 01777" "$(run_in)" '^type dir mode 01777 '
cfg "$B" '.mounts |= map(select(.destination | startswith("/scratch") | not))'

# Paths are cleaned (runc does): a bind on "/dev/" is the /dev bind, so
# nothing is made in its source; a device "/dev/mynull/" is /dev/mynull.
mkdir -p "$TMP/devdir"
echo mine > "$TMP/devdir/mine"
cp -a "$B/config.json" "$TMP/config.saved"
cfg "$B" '.mounts = [.mounts[] | select(.destination != "/dev" and (.destination | startswith("/dev/") | not))]
  + [{destination: "/dev/", type: "bind", source: $d, options: ["rbind"]}]' --arg d "$TMP/devdir"
setargs "$B" /bin/workload ls /dev
t_is "a bind on /dev/ (trailing slash): the container sees the source as it is" "$(run_in)" mine
t_is "and nothing was made in the source on the host" "$(ls -A "$TMP/devdir")" mine
cp -a "$TMP/config.saved" "$B/config.json"
cfg "$B" '.linux.devices = [{path: "/dev/mynull/", type: "c", major: 1, minor: 3}, {path: "/dev//myzero", type: "c", major: 1, minor: 5}]'
setargs "$B" /bin/workload stat /dev/mynull
t_like "a device /dev/mynull/ (trailing slash) is made at /dev/mynull" "$(run_in)" '^type chr .*rdev 1:3$'
setargs "$B" /bin/workload stat /dev/myzero
t_like "a device /dev//myzero at /dev/myzero" "$(run_in)" '^type chr .*rdev 1:5$'
cfg "$B" 'del(.linux.devices)'

# Bidirectional propagation (Kubernetes' mountPropagation: Bidirectional,
# which CSI node plugins need): with rootfsPropagation rshared, a mount made
# inside an rshared bind reaches the host, as with runc; the container's own
# mounts (its rootfs, /proc, /dev) never do. Without it, nothing reaches the
# host. (Before: / was made rslave first, so nothing ever came back.)
SHR="$TMP/shared-vol"
mkdir -p "$SHR"
if mount -t tmpfs -o size=1m moat-shr "$SHR" && mount --make-shared "$SHR"; then
  trap 'umount -l "$SHR/sub" 2>/dev/null; umount -l "$SHR" 2>/dev/null; cleanup' EXIT
  PB="$TMP/prop"
  mkbundle "$PB"
  cfg "$PB" '.process.args = ["/bin/sh", "-c", "/bin/busybox mkdir -p /vol/sub && /bin/busybox mount -t tmpfs -o size=4k inside /vol/sub && echo mounted"]'
  cfg "$PB" 'del(.linux.seccomp) | .process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
  cfg "$PB" '.mounts += [{"destination":"/vol","type":"bind","source":$s,"options":["rbind","rshared"]}]' --arg s "$SHR"
  t_is "rshared bind without rootfsPropagation: the container mounts in it" "$(M run --bundle "$PB" prop-none 2>&1)" mounted
  t_fails "... and the host does not see that mount" grep -q " $SHR/sub " /proc/self/mountinfo
  cfg "$PB" '.linux.rootfsPropagation = "rshared"'
  t_is "rootfsPropagation rshared: the container mounts in the rshared bind" "$(M run --bundle "$PB" prop-shared 2>&1)" mounted
  t_like "... and the mount reaches the host (both ways)" "$(grep " $SHR/sub " /proc/self/mountinfo)" " - tmpfs inside "
  t_unlike "the container's own mounts stay in its namespace" "$(cut -d' ' -f5 /proc/self/mountinfo)" "^$PB/"
  umount "$SHR/sub" 2>/dev/null
  # and a host mount made once the container runs reaches it
  cfg "$PB" '.process.args = ["/bin/sh", "-c", "i=0; while [ $i -lt 400 ] && ! /bin/busybox grep -q \" /vol/fromhost \" /proc/self/mountinfo; do /bin/busybox sleep 0.05; i=$((i+1)); done; /bin/busybox grep -c \" /vol/fromhost \" /proc/self/mountinfo"]'
  M run --bundle "$PB" prop-in > "$TMP/prop-in.out" 2>&1 &
  RUNPID=$!
  for _ in $(seq 200); do [ "$(M state prop-in 2>/dev/null | jq -r .status)" = running ] && break; sleep 0.05; done
  mkdir -p "$SHR/fromhost" && mount -t tmpfs -o size=4k fromhost "$SHR/fromhost"
  wait "$RUNPID"
  t_is "a host mount made in the shared volume while it runs reaches the container" "$(cat "$TMP/prop-in.out")" 1
  umount "$SHR/fromhost"
  M delete --force prop-in >/dev/null 2>&1
  umount -l "$SHR" 2>/dev/null
else
  not_ok "a shared tmpfs for the propagation test"
fi

# 8,000 mounts: each one is set up (a hang guard only; how long they take
# is a benchmark's business).
BIG="$TMP/big"
mkbundle "$BIG" /bin/workload mounts
cfg "$BIG" 'del(.linux.resources) | .mounts += [range(8000) | {destination: "/tmp/m\(.)", type: "tmpfs", source: "tmpfs", options: ["size=4k"]}]'
MI=$(timeout -k 2 60 "$MOAT" --root "$ROOT" run --bundle "$BIG" rootfs-big)
t_is "8,000 tmpfs mounts: run finishes and all are there" "$(printf '%s\n' "$MI" | grep -c ' /tmp/m[0-9]* ')" 8000
t_done
