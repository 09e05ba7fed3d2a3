#!/bin/bash
# containerd (through its runc shim, the path Kubernetes takes) drives moat,
# offline: a containerd of this test's own (config, root, state and socket
# in temp dirs, CRI off), an OCI image archive built here and imported with
# `ctr images import`, and `ctr run --runc-binary` naming moat.
. "$(dirname "$0")/lib.sh"
command -v containerd >/dev/null || skip_all "containerd is not installed (apt-get install containerd)"
command -v ctr >/dev/null || skip_all "ctr is not installed (apt-get install containerd)"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"

CRUN_DIR=$(mktemp -d /run/moat-t-containerd.XXXXXX)
AUD="$TMP/audit"
mkdir -p "$AUD" "$TMP/ct"
cat > "$TMP/ct/moat" <<EOF
#!/bin/sh
exec "$MOAT" --audit-dir "$AUD" "\$@"
EOF
chmod 755 "$TMP/ct/moat"
cat > "$TMP/ct/config.toml" <<EOF
version = 2
root = "$TMP/ct/root"
state = "$CRUN_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CRUN_DIR/containerd.sock"
[ttrpc]
  address = "$CRUN_DIR/containerd.sock.ttrpc"
[debug]
  address = "$CRUN_DIR/debug.sock"
EOF
containerd --config "$TMP/ct/config.toml" > "$TMP/ct/containerd.log" 2>&1 &
CTD=$!
C () { timeout -k 10 120 ctr --address "$CRUN_DIR/containerd.sock" "$@"; }
DEFAULT_BEFORE=$(ls -d /sys/fs/cgroup/default /sys/fs/cgroup/*/default 2>/dev/null)
ctd_cleanup () {
  local id
  for id in $(C task ls -q 2>/dev/null); do C task kill -s 9 "$id" >/dev/null 2>&1; done
  sleep 0.2
  for id in $(C task ls -q 2>/dev/null); do C task delete -f "$id" >/dev/null 2>&1; done
  for id in $(C container ls -q 2>/dev/null); do C container delete "$id" >/dev/null 2>&1; done
  kill "$CTD" 2>/dev/null; wait "$CTD" 2>/dev/null
  # snapshots that stayed mounted, deepest first; only our own dirs
  grep -oE " ($TMP|$CRUN_DIR)/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$CRUN_DIR"
  # ctr's containers live in cgroups under /default (its namespace): moat
  # removes each container's; the parent goes too if this test made it.
  if [ -z "$DEFAULT_BEFORE" ]; then
    local d
    for d in /sys/fs/cgroup/default /sys/fs/cgroup/*/default; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  cleanup
}
trap ctd_cleanup EXIT
for i in $(seq 100); do [ -S "$CRUN_DIR/containerd.sock" ] && break; sleep 0.1; done
[ -S "$CRUN_DIR/containerd.sock" ] || { echo "1..0 # SKIP containerd did not start: $(tail -3 "$TMP/ct/containerd.log")"; exit 0; }

# An OCI image archive: one uncompressed layer (busybox, the workload), a
# config, a manifest, an index naming it.
R="$TMP/img"
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/proc" "$R/sys" "$R/dev"
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh cat echo grep id sleep tty; do ln -sf busybox "$R/bin/$a"; done
cp "$WORKLOAD" "$R/bin/workload"
tar -C "$R" -cf "$TMP/layer.tar" .
O="$TMP/oci"; mkdir -p "$O/blobs/sha256"
blob () { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$O/blobs/sha256/$d"; echo "$d $(stat -c %s "$O/blobs/sha256/$d")"; }
read -r L LS <<<"$(blob "$TMP/layer.tar")"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$L" > "$TMP/cfg.json"
read -r CF CS <<<"$(blob "$TMP/cfg.json")"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$CF" "$CS" "$L" "$LS" > "$TMP/man.json"
read -r MF MS <<<"$(blob "$TMP/man.json")"
IMG=docker.io/library/moat-test:latest
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$MF" "$MS" "$IMG" > "$O/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$O/oci-layout"
tar -C "$O" -cf "$TMP/image.tar" oci-layout index.json blobs
t_ok "ctr images import an OCI archive built here" C images import "$TMP/image.tar"

RUN=(C run --runc-binary "$TMP/ct/moat" --runc-root "$CRUN_DIR/runc")
t_is "run --rm: output" "$("${RUN[@]}" --rm "$IMG" ct1 echo hello-from-moat 2>&1)" hello-from-moat
"${RUN[@]}" --rm "$IMG" ct2 sh -c 'exit 6' >/dev/null 2>&1
t_is "run --rm: exit code" "$?" 6
if command -v script >/dev/null; then
  OUT=$(script -qec "timeout --foreground -k 10 120 ctr --address $CRUN_DIR/containerd.sock run --runc-binary $TMP/ct/moat --runc-root $CRUN_DIR/runc --rm -t $IMG ct3 tty" /dev/null < /dev/null | tr -d '\r\0')
  t_like "run -t: a pty" "$OUT" "/dev/pts/[0-9]+"
else
  ok "# SKIP no script(1)"
fi

t_ok "run -d" "${RUN[@]}" -d "$IMG" ct4 sleep 300
t_is "task exec: output" "$(C task exec --exec-id e1 ct4 sh -c 'echo exec-ok' 2>&1)" exec-ok
t_is "task exec joins the pid namespace" "$(C task exec --exec-id e2 ct4 cat /proc/1/comm 2>&1)" sleep
if command -v script >/dev/null; then
  OUT=$(script -qec "timeout --foreground -k 10 120 ctr --address $CRUN_DIR/containerd.sock task exec -t --exec-id e3 ct4 tty" /dev/null < /dev/null | tr -d '\r\0')
  t_like "task exec -t: a pty" "$OUT" "/dev/pts/[0-9]+"
else
  ok "# SKIP no script(1)"
fi
t_like "task ps (runc's ps --format json)" "$(C task ps ct4 2>&1)" "^[0-9]+ "
t_ok "task pause" C task pause ct4
t_like "paused" "$(C task ls 2>&1 | grep ct4)" PAUSED
t_ok "task resume" C task resume ct4
t_like "running" "$(C task ls 2>&1 | grep ct4)" RUNNING
t_ok "task kill -s 9" C task kill -s 9 ct4
for i in $(seq 50); do C task ls 2>/dev/null | grep -q "ct4.*STOPPED" && break; sleep 0.1; done
t_like "stopped" "$(C task ls 2>&1 | grep ct4)" STOPPED
t_ok "task delete" C task delete ct4
t_ok "container delete" C container delete ct4

t_is "--seccomp: the default profile is on" "$("${RUN[@]}" --rm --seccomp "$IMG" ct5 grep ^Seccomp: /proc/self/status 2>&1 | tr -s '\t' ' ')" "Seccomp: 2"
"${RUN[@]}" --rm --memory-limit 67108864 "$IMG" ct6 workload hog 200 >/dev/null 2>&1
t_is "--memory-limit 64 MiB: a 200 MiB hog is OOM-killed (137)" "$?" 137
REC=$(jq -c 'select(.wall=="cgroup" and .kind=="oom")' "$AUD/ct6.jsonl" 2>/dev/null | head -1)
t_like "moat's audit log has the OOM kill at the cgroup wall" "$(jq -r .limit <<<"$REC")" "=67108864$"
t_is "no task is left" "$(C task ls -q 2>/dev/null | wc -l)" 0
t_done
