# tests/engines.sh: what the engine tests (t-podman, t-containerd,
# t-systemd-engines) build alike, sourced after lib.sh: an image rootfs of
# busybox and the workload, podman's own config files, and an OCI image
# archive for containerd. No registry is reachable here: images are made.

# image_rootfs DIR APPLET...: busybox (with APPLET links), the workload at
# /bin/workload, a root passwd and group.
image_rootfs () {
  local r=$1 a; shift
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev"
  cp "$BUSYBOX" "$r/bin/busybox"
  for a in "$@"; do ln -sf busybox "$r/bin/$a"; done
  cp "$WORKLOAD" "$r/bin/workload"
  echo "root:x:0:0:root:/:/bin/sh" > "$r/etc/passwd"
  echo "root:x:0:" > "$r/etc/group"
}

# podman_env DIR RUNTIME CGROUP_MANAGER PRUN: podman pointed at config files
# of DIR (exported CONTAINERS_CONF...), RUNTIME (a wrapper of moat) as its
# OCI runtime "moat", vfs storage under DIR, its run dirs under PRUN (a
# tmpfs: podman tells a reboot by it), no network.
podman_env () {
  local d=$1 rt=$2 mgr=$3 prun=$4 nofile
  # Lowering limits is always allowed; root here cannot raise them (no
  # CAP_SYS_RESOURCE), and podman's defaults ask for more than the host has.
  nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 20000 ] && nofile=20000
  cat > "$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
netns = "none"
[engine]
runtime = "moat"
cgroup_manager = "$mgr"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$prun/tmp"
runtime_supports_json = ["moat"]
runtime_supports_nocgroups = ["moat"]
[engine.runtimes]
moat = ["$rt"]
EOF
  cat > "$d/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$prun/run"
graphroot = "$d/graph"
EOF
  echo 'unqualified-search-registries = []' > "$d/registries.conf"
  export CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf
  export CONTAINERS_REGISTRIES_CONF=$d/registries.conf
}

# oci_archive OUT.tar ROOTFS IMG PAUSE: an OCI image archive of one
# uncompressed layer (ROOTFS) and two images on it (IMG, whose command is
# sh; PAUSE, the pods' sandbox, whose entrypoint sleeps), each a config
# and a manifest, an index naming both.
oci_archive () {
  local out=$1 rootfs=$2 img=$3 pause=$4 o l ls m1 m2
  o=$(mktemp -d "$TMP/oci.XXXXXX"); mkdir -p "$o/blobs/sha256"
  _blob () { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$o/blobs/sha256/$d"; echo "$d $(stat -c %s "$o/blobs/sha256/$d")"; }
  _image () {   # CONFIG-JSON REF: a config and a manifest; prints the index entry
    local cf cs mf ms
    printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$1" "$l" > "$o/cfg.json"
    read -r cf cs <<<"$(_blob "$o/cfg.json")"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cf" "$cs" "$l" "$ls" > "$o/man.json"
    read -r mf ms <<<"$(_blob "$o/man.json")"
    printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}' "$mf" "$ms" "$2"
  }
  tar -C "$rootfs" -cf "$o/layer.tar" .
  read -r l ls <<<"$(_blob "$o/layer.tar")"
  m1=$(_image '{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]}' "$img")
  m2=$(_image '{"Env":["PATH=/bin"],"Entrypoint":["/bin/sleep","999999"]}' "$pause")
  printf '{"schemaVersion":2,"manifests":[%s,%s]}' "$m1" "$m2" > "$o/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$o/oci-layout"
  tar -C "$o" -cf "$out" oci-layout index.json blobs
  rm -rf "$o"
}

# containerd_conf OUT ROOT RUNDIR RUNTIME RT_ROOT SYSTEMD PAUSE [CRI-KEYS [CNI-KEYS [TABLES]]]:
# a config.toml for a containerd of the test's own: ROOT its root, RUNDIR
# its state and sockets, its CRI plugin with RUNTIME (a wrapper of moat,
# --root RT_ROOT) as the default handler "moat" of the runc shim,
# SystemdCgroup = SYSTEMD (true|false), PAUSE the sandbox image; CRI-KEYS
# more keys of the CRI table, CNI-KEYS its cni table's, TABLES more tables.
containerd_conf () {
  cat > "$1" <<EOF
version = 2
root = "$2"
state = "$3/state"
[grpc]
  address = "$3/containerd.sock"
[ttrpc]
  address = "$3/containerd.sock.ttrpc"
${10:-}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$7"
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
${8:-}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "moat"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.moat]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.moat.options]
        BinaryName = "$4"
        Root = "$5"
        SystemdCgroup = $6
  [plugins."io.containerd.grpc.v1.cri".cni]
${9:-}
EOF
}
