#!/bin/bash
# The engines with the systemd cgroup driver, as production hosts run them:
# podman with cgroup_manager = "systemd" (it passes --systemd-cgroup and a
# cgroupsPath machine.slice:libpod:ID), containerd's runc shim with
# SystemdCgroup = true, from ctr and from the CRI plugin with a pod slice
# as kubelet's systemd driver gives (cgroupsPath POD.slice:cri-containerd:ID).
# Each is checked from systemd's side (the scope unit, its slice and
# limits), from the host's /proc and from inside the container, and for
# what is left after it. Runs in the systemd lane (tests/t-systemd.sh);
# elsewhere it skips, saying why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines.sh"
: "${TESTDIR:=$(cd "$(dirname "$0")" && pwd)}"
[ "$("$MOAT_BIN" features | jq -r .linux.cgroup.systemd)" = true ] \
  || skip_all "the systemd driver cannot work here (needs systemd as init, cgroup v2 and moat-sd): tests/t-systemd.sh runs this in a systemd guest"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"
unit_prop () { systemctl show -p "$2" --value "$1" 2>&1; }
procs_cg () { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>&1; }
poll () { local n=$1 i; shift; for i in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; "$@"; }
AUD=$TMP/audit
mkdir -p "$AUD"
# The runtime the engines call: moat itself (no global option added: the
# engine must pass --systemd-cgroup on its own), each call's arguments kept.
mkwrapper () {   # PATH [GLOBAL-OPTS]
  printf '#!/bin/sh\necho "$*" >> %q\nexec %q %s --audit-dir %q "$@"\n' "$1.args" "$MOAT_BIN" "${2:-}" "$AUD" > "$1"
  chmod 755 "$1"
}
image_rootfs "$TMP/img" sh cat echo grep id sleep
R=""   # what the clean-up removes, added as they are made

# ---- podman, cgroup_manager = "systemd" ------------------------------------
podman_part () {
  command -v podman >/dev/null && command -v conmon >/dev/null \
    || { ok "# SKIP podman or conmon is not installed (apt-get install podman conmon)"; return; }
  PRUN=$(mktemp -d /run/moat-t-sd-podman.XXXXXX)
  mkdir -p "$TMP/pm"
  mkwrapper "$TMP/pm/moat" "--root $ROOT"
  podman_env "$TMP/pm" "$TMP/pm/moat" systemd "$PRUN"
  P () { timeout -k 10 180 podman "$@"; }
  tar -C "$TMP/img" -cf "$TMP/img.tar" .
  t_ok "podman import" P import "$TMP/img.tar" localhost/moat-test:latest
  local IMG=localhost/moat-test:latest
  t_is "podman run --rm: the output" "$(P run --rm --network none "$IMG" echo hello-systemd 2>&1)" hello-systemd
  t_like "podman called moat with --systemd-cgroup" "$(grep -m1 ' create ' "$TMP/pm/moat.args")" "--systemd-cgroup"

  t_ok "podman run -d --memory 64m --pids-limit 20" P run -d --name web --network none --memory 64m --pids-limit 20 "$IMG" sleep 300
  local cid pid u
  cid=$(P inspect -f '{{.Id}}' web 2>/dev/null); pid=$(P inspect -f '{{.State.Pid}}' web 2>/dev/null)
  u=libpod-$cid.scope
  t_is "the container's init is in its scope machine.slice/libpod-ID.scope" "$(procs_cg "$pid")" "/machine.slice/$u"
  t_is "systemd: the scope is active, in machine.slice, delegated" \
    "$(unit_prop "$u" ActiveState) $(unit_prop "$u" Slice) $(unit_prop "$u" Delegate)" "active machine.slice yes"
  t_is "systemd: MemoryMax and TasksMax of the scope" "$(unit_prop "$u" MemoryMax) $(unit_prop "$u" TasksMax)" "67108864 20"
  t_like "systemd-cgls shows the init in the unit" "$(systemd-cgls --no-pager -u "$u" 2>&1)" "[^0-9]$pid "
  t_is "inside: its cgroup namespace is rooted at the scope" "$(P exec web cat /proc/self/cgroup 2>&1)" "0::/"
  t_is "inside: memory.max and pids.max of its cgroup" "$(P exec web cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>&1 | tr '\n' ' ')" "67108864 20 "
  t_is "exec: the exit code" "$(P exec web sh -c 'exit 4' >/dev/null 2>&1; echo $?)" 4
  t_ok "pause" P pause web
  t_is "the scope's cgroup is frozen" "$(cat "/sys/fs/cgroup/machine.slice/$u/cgroup.freeze" 2>&1)" 1
  t_ok "unpause" P unpause web
  t_ok "stop" P stop -t 1 web
  t_ok "rm" P rm web
  t_is "after rm the unit is gone" "$(unit_prop "$u" LoadState)" not-found

  P run --rm --network none --memory 64m "$IMG" workload hog 200 >/dev/null 2>&1
  t_is "--memory 64m: a 200 MiB hog is OOM-killed (137)" "$?" 137
  t_like "--pids-limit 10: a fork loop stops at the limit" \
    "$(P run --rm --network none --pids-limit 10 "$IMG" workload children 30 2>&1)" "fork.*(EAGAIN|Resource temporarily unavailable)"
  cid=$(P run -d --name sc --network none --memory 48m "$IMG" workload hog 200 2>/dev/null)
  P wait sc >/dev/null 2>&1
  t_like "moat's audit log of a podman container has the OOM kill at the cgroup wall" \
    "$(jq -r 'select(.wall == "cgroup" and .kind == "oom") | .limit' "$AUD/$cid.jsonl" 2>&1 | head -n 1)" "=50331648$"
  P rm sc >/dev/null 2>&1
  t_is "no libpod scope is left" "$(systemctl list-units --all --no-legend --plain 'libpod-*' 2>/dev/null)" ""
  P rmi -a -f >/dev/null 2>&1
  chmod -R u+w "$TMP/pm/graph" 2>/dev/null
}

# ---- containerd's runc shim, SystemdCgroup = true ----------------------------
CRUN_DIR=
ctd_part () {
  command -v containerd >/dev/null && command -v ctr >/dev/null \
    || { ok "# SKIP containerd is not installed (apt-get install containerd)"; return; }
  local PY= p
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import grpc, grpc_tools.protoc, google.protobuf' 2>/dev/null; then PY=$(command -v "$p"); break; fi
  done
  CRUN_DIR=$(mktemp -d /run/moat-t-sd-ctd.XXXXXX)
  mkdir -p "$TMP/ct" "$TMP/cri/logs" "$TMP/cni"
  mkwrapper "$TMP/ct/moat"
  local IMG=docker.io/library/moat-test:latest PAUSE=docker.io/library/moat-pause:latest
  RT_ROOT=$CRUN_DIR/moat-cri
  # (the pod shares the node's network: no CNI needed for the cgroup's sake)
  containerd_conf "$TMP/ct/config.toml" "$TMP/ct/root" "$CRUN_DIR" "$TMP/ct/moat" "$RT_ROOT" true "$PAUSE" "" \
    "    conf_dir = \"$TMP/cni\""
  containerd --config "$TMP/ct/config.toml" > "$TMP/ct/containerd.log" 2>&1 &
  CTD=$!
  C () { timeout -k 10 180 ctr --address "$CRUN_DIR/containerd.sock" "$@"; }
  poll 300 test -S "$CRUN_DIR/containerd.sock"
  if [ ! -S "$CRUN_DIR/containerd.sock" ]; then not_ok "containerd started"; diag "$(tail -n 5 "$TMP/ct/containerd.log")"; return; fi
  oci_archive "$TMP/image.tar" "$TMP/img" "$IMG" "$PAUSE"
  t_ok "ctr images import" C images import "$TMP/image.tar"

  # ctr, as containerd's own tools drive it: --runc-systemd-cgroup wants a
  # slice:prefix:name cgroup
  local RUN=(C run --runc-binary "$TMP/ct/moat" --runc-root "$CRUN_DIR/runc" --runc-systemd-cgroup)
  t_ok "ctr run -d --runc-systemd-cgroup --cgroup system.slice:moatctr:c1 --memory-limit 64 MiB" \
    "${RUN[@]}" -d --cgroup system.slice:moatctr:c1 --memory-limit 67108864 "$IMG" c1 sleep 300
  local pid u=moatctr-c1.scope
  pid=$(C task ls 2>/dev/null | awk '$1 == "c1" {print $2}')
  t_like "the shim called moat with --systemd-cgroup" "$(grep -m1 ' create ' "$TMP/ct/moat.args")" "--systemd-cgroup"
  t_is "the task's process is in system.slice/moatctr-c1.scope" "$(procs_cg "$pid")" "/system.slice/$u"
  t_is "systemd: active, MemoryMax" "$(unit_prop $u ActiveState) $(unit_prop $u MemoryMax)" "active 67108864"
  # (ctr's spec mounts no cgroup filesystem: the exec'd process's cgroup is
  # what it can see)
  t_is "task exec: the process joins the scope" "$(C task exec --exec-id e1 c1 cat /proc/self/cgroup 2>&1)" "0::/system.slice/$u"
  t_ok "task kill -s 9" C task kill -s 9 c1
  poll 100 eval 'C task ls 2>/dev/null | grep -q "^c1 .*STOPPED"'
  t_ok "task delete" C task delete c1
  t_ok "container delete" C container delete c1
  t_is "the unit is gone" "$(unit_prop $u LoadState)" not-found
  "${RUN[@]}" --rm --cgroup system.slice:moatctr:c2 --memory-limit 67108864 "$IMG" c2 workload hog 200 >/dev/null 2>&1
  t_is "a 200 MiB hog in a 64 MiB scope: OOM-killed (137)" "$?" 137

  # CRI, kubelet's systemd driver: the pod's cgroup parent is a slice
  if [ -z "$PY" ]; then ok "# SKIP CRI: needs python3 with grpc (apt-get install python3-grpcio python3-grpc-tools)"; return; fi
  local G=$TMP/cri-gen POD c
  mkdir -p "$G"
  CRI () { timeout -k 5 120 "$PY" "$TESTDIR/cri/cri.py" --sock "$CRUN_DIR/containerd.sock" --gen "$G" "$@"; }
  t_ok "the CRI client compiles" "$PY" -m grpc_tools.protoc -I "$TESTDIR/cri" --python_out="$G" --grpc_python_out="$G" "$TESTDIR/cri/api.proto"
  t_ok "ctr -n k8s.io images import" C -n k8s.io images import "$TMP/image.tar"
  cat > "$TMP/cri/pod.json" <<EOF
{"metadata": {"name": "sd-pod", "uid": "uid-sd-pod", "namespace": "moat-test", "attempt": 0},
 "log_directory": "$TMP/cri/logs",
 "linux": {"cgroup_parent": "/moatcri.slice/moatcri-pod1.slice",
           "security_context": {"namespace_options": {"network": "NODE", "pid": "CONTAINER", "ipc": "POD"}}}}
EOF
  cat > "$TMP/cri/app.json" <<EOF
{"metadata": {"name": "app", "attempt": 0}, "image": {"image": "$IMG"},
 "command": ["/bin/sleep", "300"], "log_path": "app.log",
 "linux": {"resources": {"memory_limit_in_bytes": 67108864, "cpu_quota": 50000, "cpu_period": 100000},
           "security_context": {"namespace_options": {"network": "NODE", "pid": "CONTAINER", "ipc": "POD"}}}}
EOF
  POD=$(CRI runp "$TMP/cri/pod.json" 2>"$TMP/err" | tail -n 1)
  if ! [[ $POD =~ ^[0-9a-f]{64}$ ]]; then not_ok "RunPodSandbox in moatcri-pod1.slice"; diag "$(cat "$TMP/err")" "$(grep level=error "$TMP/ct/containerd.log" | tail -n 3)"; return; fi
  ok "RunPodSandbox in moatcri-pod1.slice"
  local spid; spid=$("$MOAT_BIN" --root "$RT_ROOT/k8s.io" state "$POD" 2>/dev/null | jq -r .pid)
  t_is "the sandbox is in moatcri.slice/moatcri-pod1.slice/cri-containerd-ID.scope" \
    "$(procs_cg "$spid")" "/moatcri.slice/moatcri-pod1.slice/cri-containerd-$POD.scope"
  c=$(CRI create "$POD" "$TMP/cri/app.json" "$TMP/cri/pod.json" 2>"$TMP/err" | tail -n 1)
  t_ok "CreateContainer, StartContainer" CRI start "$c"
  u=cri-containerd-$c.scope
  t_is "systemd: the container's scope, its slice, MemoryMax, CPUQuotaPerSecUSec" \
    "$(unit_prop "$u" ActiveState) $(unit_prop "$u" Slice) $(unit_prop "$u" MemoryMax) $(unit_prop "$u" CPUQuotaPerSecUSec)" \
    "active moatcri-pod1.slice 67108864 500ms"
  t_is "ExecSync: inside, cpu.max and memory.max" "$(CRI exec-sync "$c" cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max 2>&1 | tr '\n' ' ')" "50000 100000 67108864 "
  t_ok "StopContainer" CRI --deadline 60 stop --timeout 2 "$c"
  t_ok "RemoveContainer" CRI --deadline 60 rm "$c"
  t_ok "StopPodSandbox" CRI --deadline 60 stopp "$POD"
  t_ok "RemovePodSandbox" CRI --deadline 60 rmp "$POD"
  t_is "no cri-containerd scope is left" "$(systemctl list-units --all --no-legend --plain 'cri-containerd-*' 2>/dev/null)" ""
  t_is "moat's state under the shim's --root is empty" "$(ls -A "$RT_ROOT/k8s.io" 2>/dev/null)" ""
}

sd_cleanup () {
  if command -v podman >/dev/null && [ -n "${PRUN:-}" ]; then
    timeout 60 podman rm -a -f >/dev/null 2>&1; timeout 60 podman rmi -a -f >/dev/null 2>&1
    chmod -R u+w "$TMP/pm/graph" 2>/dev/null; rm -rf "$PRUN"
  fi
  if [ -n "$CRUN_DIR" ]; then
    local id
    for id in $(ls "${RT_ROOT:-/nonexistent}/k8s.io" "$CRUN_DIR/runc/default" 2>/dev/null); do
      "$MOAT_BIN" --root "$RT_ROOT/k8s.io" delete --force "$id" >/dev/null 2>&1
      "$MOAT_BIN" --root "$CRUN_DIR/runc/default" delete --force "$id" >/dev/null 2>&1
    done
    kill "$CTD" 2>/dev/null; wait "$CTD" 2>/dev/null
    grep -oE " ($TMP|$CRUN_DIR)/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$CRUN_DIR"
  fi
  # the slices this test's pod made (systemd keeps a slice until stopped)
  systemctl stop moatcri.slice >/dev/null 2>&1
  cleanup
}
trap sd_cleanup EXIT

# SD_ENGINES: which parts (default both)
case " ${SD_ENGINES:-podman containerd} " in *" podman "*) podman_part ;; esac
case " ${SD_ENGINES:-podman containerd} " in *" containerd "*) ctd_part ;; esac
t_done
