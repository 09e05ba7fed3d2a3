#!/bin/bash
# containerd (through its runc shim, the path Kubernetes takes) drives moat,
# offline, from a containerd of this test's own (config, root, state and
# sockets in temp dirs), two ways:
#  - ctr: an OCI image archive built here, imported with `ctr images
#    import`, and `ctr run --runc-binary` naming moat;
#  - CRI, as a Kubernetes node would: containerd's CRI plugin with moat as
#    its default runtime handler, a pod on a CNI bridge of the test's own
#    (moatcni0, 10.88.77.0/24), driven over gRPC (runtime.v1) by
#    tests/cri/cri.py from sandbox to removal (ExecSync, and Exec streamed
#    over WebSocket as kubectl exec does), then a look for anything left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines.sh"
: "${TESTDIR:=$(cd "$(dirname "$0")" && pwd)}"
command -v containerd >/dev/null || skip_all "containerd is not installed (apt-get install containerd)"
command -v ctr >/dev/null || skip_all "ctr is not installed (apt-get install containerd)"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"
# The CRI client: Debian's grpc for Debian's python3 (a python3 of another
# build, first in PATH, does not see it).
PY=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import grpc, grpc_tools.protoc, google.protobuf' 2>/dev/null; then
    PY=$(command -v "$p"); break
  fi
done
[ -n "$PY" ] || skip_all "needs python3 with grpc and grpc_tools for the CRI client (apt-get install python3-grpcio python3-grpc-tools)"
CNI_BIN=/usr/lib/cni
for p in bridge host-local portmap loopback; do
  [ -x "$CNI_BIN/$p" ] || skip_all "needs the CNI plugins in $CNI_BIN (apt-get install containernetworking-plugins)"
done
command -v ip >/dev/null || skip_all "needs ip (apt-get install iproute2)"

CRUN_DIR=$(mktemp -d /run/moat-t-containerd.XXXXXX)
AUD="$TMP/audit"
mkdir -p "$AUD" "$TMP/ct"
cat > "$TMP/ct/moat" <<EOF
#!/bin/sh
exec "$MOAT" --audit-dir "$AUD" "\$@"
EOF
chmod 755 "$TMP/ct/moat"
IMG=docker.io/library/moat-test:latest
PAUSE=docker.io/library/moat-pause:latest    # the pods' sandbox image
# CRI: the pods' cgroup parent, the shim's moat --root (it adds the
# namespace: $RT_ROOT/k8s.io), the CNI network (bridge, subnet, IPAM store)
# and the pods' logs, all the test's own.
CG=moat-cri-${CRUN_DIR##*.}
RT_ROOT="$CRUN_DIR/moat-cri"
BR=moatcni0
NET=10.88.77
CNI="$TMP/cni"
mkdir -p "$CNI/net.d" "$CNI/ipam" "$TMP/cri/logs"
cat > "$CNI/net.d/10-moat.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "moat-cri", "plugins": [
  {"type": "bridge", "bridge": "$BR", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$NET.0/24"}]], "dataDir": "$CNI/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
# (the pod's lo is containerd's own doing: the loopback plugin from bin_dir)
# CRI gives the sandbox oomScoreAdj -998: lowering it needs CAP_SYS_RESOURCE,
# which some hosts (VM sandboxes) keep from every process, root too (runc and
# crun fail there the same way). There, as for a rootless containerd, CRI
# is told to keep to containerd's own score.
RESTRICT_OOM=false
[ $(( 0x$(awk '/^CapEff:/ {print $2}' /proc/self/status) >> 24 & 1 )) = 1 ] || RESTRICT_OOM=true
containerd_conf "$TMP/ct/config.toml" "$TMP/ct/root" "$CRUN_DIR" "$TMP/ct/moat" "$RT_ROOT" false "$PAUSE" \
  "  restrict_oom_score_adj = $RESTRICT_OOM
  netns_mounts_under_state_dir = true" \
  "    bin_dir = \"$CNI_BIN\"
    conf_dir = \"$CNI/net.d\"
    max_conf_num = 1" \
  "[debug]
  address = \"$CRUN_DIR/debug.sock\"
  level = \"debug\"
[plugins.\"io.containerd.internal.v1.opt\"]
  path = \"$TMP/ct/opt\""
# Before anything runs: what this test will make must not be there yet,
# or the cleanup would take what is not its own.
BR_BEFORE=$(ip -o link show "$BR" 2>/dev/null)
CG_BEFORE=$(ls -d /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG" 2>/dev/null)
containerd --config "$TMP/ct/config.toml" > "$TMP/ct/containerd.log" 2>&1 &
CTD=$!
C () { timeout -k 10 120 ctr --address "$CRUN_DIR/containerd.sock" "$@"; }
G="$TMP/cri-gen"
CRI () { timeout -k 5 90 "$PY" "$TESTDIR/cri/cri.py" --sock "$CRUN_DIR/containerd.sock" --gen "$G" "$@"; }
MR () { "$MOAT" --root "$RT_ROOT/k8s.io" "$@"; }
DEFAULT_BEFORE=$(ls -d /sys/fs/cgroup/default /sys/fs/cgroup/*/default 2>/dev/null)
# our_shims: pids of the shims our containerd started (their command line
# names its socket)
our_shims () {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.*-address $CRUN_DIR/containerd.sock" && echo "${p#/proc/}"
  done
}
ctd_cleanup () {
  local id d
  # CRI pods, stopped and removed as kubelet would (their containers too)
  if [ -f "$G/api_pb2.py" ]; then
    for id in $(CRI --deadline 20 pods 2>/dev/null | jq -r '.items[].id'); do
      CRI --deadline 30 stopp "$id" >/dev/null 2>&1; CRI --deadline 30 rmp "$id" >/dev/null 2>&1
    done
  fi
  for id in $(C task ls -q 2>/dev/null); do C task kill -s 9 "$id" >/dev/null 2>&1; done
  sleep 0.2
  for id in $(C task ls -q 2>/dev/null); do C task delete -f "$id" >/dev/null 2>&1; done
  for id in $(C container ls -q 2>/dev/null); do C container delete "$id" >/dev/null 2>&1; done
  kill "$CTD" 2>/dev/null; wait "$CTD" 2>/dev/null
  # what CRI could not end: moat's containers, then their shims (ours)
  for id in $(ls "$RT_ROOT/k8s.io" 2>/dev/null); do MR delete --force "$id" >/dev/null 2>&1; done
  for id in $(our_shims); do kill -9 "$id" 2>/dev/null; done
  # snapshots and netns that stayed mounted, deepest first; only our own dirs
  grep -oE " ($TMP|$CRUN_DIR)/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$CRUN_DIR"
  # ctr's containers live in cgroups under /default (its namespace): moat
  # removes each container's; the parent goes too if this test made it.
  if [ -z "$DEFAULT_BEFORE" ]; then
    for d in /sys/fs/cgroup/default /sys/fs/cgroup/*/default; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  # the pods' cgroup parent and the CNI bridge are this test's own: what
  # still runs in it (a runtime that could not kill) is ended, by pid
  if [ -z "$CG_BEFORE" ]; then
    for id in $(find /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
      kill -9 "$id" 2>/dev/null
    done
    for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
      [ -d "$d" ] || continue
      for id in $(seq 20); do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; [ -d "$d" ] || break; sleep 0.1; done
    done
  fi
  [ -z "$BR_BEFORE" ] && ip link del "$BR" 2>/dev/null
  cleanup
}
trap ctd_cleanup EXIT
for i in $(seq 100); do [ -S "$CRUN_DIR/containerd.sock" ] && break; sleep 0.1; done
[ -S "$CRUN_DIR/containerd.sock" ] || { echo "1..0 # SKIP containerd did not start: $(tail -3 "$TMP/ct/containerd.log")"; exit 0; }

# An OCI image archive built here: busybox and the workload (tests/engines.sh).
image_rootfs "$TMP/img" sh cat echo grep id sleep tty hostname ip ps
oci_archive "$TMP/image.tar" "$TMP/img" "$IMG" "$PAUSE"
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

# --- CRI: containerd's CRI plugin drives moat as kubelet would -----------
# poll TENTHS CMD...: until CMD succeeds, at most TENTHS tenths of a second
poll () { local n=$1 i; shift; for i in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; "$@"; }
# timed CMD...: run CMD (its output to $TMP/.out), set RC and SECS
timed () {
  local t0; t0=$(date +%s%N)
  "$@" > "$TMP/.out" 2>&1; RC=$?
  SECS=$(( ($(date +%s%N) - t0) / 1000000000 ))
}
# containerd's (and its shims') complaints since the last mark
mark () { LOG_MARK=$(stat -c %s "$TMP/ct/containerd.log"); }
ctd_errors () {
  tail -c +"$((LOG_MARK + 1))" "$TMP/ct/containerd.log" | grep -E 'level=(error|warning)' | grep -v 'handle backOff event' \
    | tail -n "${1:-8}" | cut -c 1-600
}
# timed_ok DESC CMD...: CMD exits 0 (DESC gets the seconds it took)
timed_ok () {
  local d=$1; shift
  mark; timed "$@"
  t_is_ "$d (${SECS}s)" "$RC" 0 || diag "$(cat "$TMP/.out")" "$(ctd_errors)"
}
# an id from CRI's reply, or nothing (with the reason as a diagnostic)
cri_id () {
  mark; timed CRI "$@"
  local id; id=$(tail -n 1 "$TMP/.out")
  if [[ $id =~ ^[0-9a-f]{64}$ ]]; then echo "$id"; else diag "CRI $1: $(cat "$TMP/.out")" "$(ctd_errors)" >&2; fi
}
# t_is_ and t_id: t_is, and t_like of a 64-hex id, with the verdict as
# their exit status (to go on or not)
t_is_ () { t_is "$@"; [ "$2" = "$3" ]; }
t_id () { t_like "$1" "$2" '^[0-9a-f]{64}$'; [[ $2 =~ ^[0-9a-f]{64}$ ]]; }
cstate () { CRI inspect "$1" 2>/dev/null | jq -r .status.state; }
is_state () { [ "$(cstate "$1")" = "$2" ]; }
exited () { CRI inspect "$1" 2>&1 | jq -r '.status | "\(.state) \(.exit_code) \(.reason)"' 2>&1; }
mstate () { MR state "$1" 2>&1 | jq -r .status 2>&1; }
SECTION_FAIL=$T_FAIL

t_is "the bridge $BR is not there before the test" "$BR_BEFORE" ""
t_is "the pods' cgroup parent /$CG is not there before the test" "$CG_BEFORE" ""
mkdir -p "$G"
t_ok "the CRI client compiles (grpc_tools.protoc, tests/cri/api.proto)" \
  "$PY" -m grpc_tools.protoc -I "$TESTDIR/cri" --python_out="$G" --grpc_python_out="$G" "$TESTDIR/cri/api.proto"
t_is "CRI Version: containerd, API v1" "$(CRI version 2>&1 | jq -r '"\(.runtime_name) \(.runtime_api_version)"' 2>&1)" "containerd v1"
cri_conditions () { CRI status 2>/dev/null | jq -r '[.status.conditions[] | "\(.type)=\(.status)"] | sort | join(" ")'; }
poll 100 eval '[ "$(cri_conditions)" = "NetworkReady=true RuntimeReady=true" ]'
t_is "CRI Status: runtime and network (CNI) ready" "$(cri_conditions)" "NetworkReady=true RuntimeReady=true"
t_ok "ctr -n k8s.io images import: the images for CRI" C -n k8s.io images import "$TMP/image.tar"
cri_images () { CRI images 2>/dev/null | jq -r '[.images[].repo_tags[]] | sort | join(" ")'; }
poll 100 eval '[ "$(cri_images)" = "$PAUSE $IMG" ]'
t_is "CRI ListImages: both images" "$(cri_images)" "$PAUSE $IMG"

# The pod: its own network namespace on the CNI bridge, its own pid
# namespace (pid CONTAINER, kubelet's default), under the cgroup /$CG.
cat > "$TMP/cri/pod.json" <<EOF
{"metadata": {"name": "moat-pod", "uid": "uid-$CG", "namespace": "moat-test", "attempt": 0},
 "hostname": "moatpod",
 "log_directory": "$TMP/cri/logs",
 "labels": {"app": "moat-test"},
 "linux": {"cgroup_parent": "/$CG",
           "security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}}}
EOF
# app: prints a line, traps TERM (prints, exits 0), waits.
cat > "$TMP/cri/app.json" <<EOF
{"metadata": {"name": "app", "attempt": 0},
 "image": {"image": "$IMG"},
 "command": ["/bin/sh", "-c", "trap 'echo got-TERM; exit 0' TERM; echo hello-from-cri; while :; do sleep 1 & wait \$!; done"],
 "envs": [{"key": "GREETING", "value": "hi-from-env"}],
 "log_path": "app.log",
 "linux": {"security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}}}
EOF
# shared: in the pod's pid namespace (pid POD: shareProcessNamespace), so
# when its init ends the shim kills what is left of it (moat kill --all).
cat > "$TMP/cri/shared.json" <<EOF
{"metadata": {"name": "shared", "attempt": 0},
 "image": {"image": "$IMG"},
 "command": ["/bin/sleep", "100000"],
 "log_path": "shared.log",
 "linux": {"security_context": {"namespace_options": {"network": "POD", "pid": "POD", "ipc": "POD"}}}}
EOF
# hog: 64 MiB limit, allocates 200 MiB: the OOM killer, which CRI reports
# as OOMKilled (the shim watches the memory cgroup moat made).
cat > "$TMP/cri/hog.json" <<EOF
{"metadata": {"name": "hog", "attempt": 0},
 "image": {"image": "$IMG"},
 "command": ["/bin/workload", "hog", "200"],
 "log_path": "hog.log",
 "linux": {"resources": {"memory_limit_in_bytes": 67108864},
           "security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}}}
EOF

cri_containers () {
  # ExecSync, logs, the other containers: all in the running app.
  C1=$(cri_id create "$POD" "$TMP/cri/app.json" "$TMP/cri/pod.json")
  t_id "CreateContainer app: a container id" "$C1" || return
  t_is "ContainerStatus app: CONTAINER_CREATED" "$(cstate "$C1")" CONTAINER_CREATED
  t_fails "moat has no container app yet (containerd creates the task at StartContainer)" MR state "$C1"
  timed_ok "StartContainer app" CRI start "$C1"
  poll 100 is_state "$C1" CONTAINER_RUNNING
  t_is_ "ContainerStatus app: CONTAINER_RUNNING" "$(cstate "$C1")" CONTAINER_RUNNING || return
  t_is "moat state app: running" "$(mstate "$C1")" running
  local log="$TMP/cri/logs/app.log" out rc
  poll 100 grep -q hello-from-cri "$log" 2>/dev/null
  t_like "the CRI log file has the line the container printed, in CRI log format" \
    "$(cat "$log" 2>&1)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) stdout F hello-from-cri$'
  t_is "ContainerStatus app: log_path is that file" "$(CRI inspect "$C1" 2>&1 | jq -r .status.log_path 2>&1)" "$log"

  mark
  out=$(CRI exec-sync "$C1" echo hi 2>"$TMP/err"); rc=$?
  t_is "ExecSync echo hi: the output" "$out" hi
  t_is_ "ExecSync echo hi: exit code 0" "$rc" 0 || diag "$(cat "$TMP/err")" "$(ctd_errors)"
  out=$(CRI exec-sync "$C1" sh -c 'echo to-stderr >&2; exit 3' 2>&1 >/dev/null); rc=$?
  t_is "ExecSync sh -c 'exit 3': exit code 3" "$rc" 3
  t_is "ExecSync: the command's stderr" "$out" to-stderr
  t_is "ExecSync: the container's env" "$(CRI exec-sync "$C1" sh -c 'echo $GREETING' 2>&1)" hi-from-env
  t_is "ExecSync: the container's own pid namespace (pid 1 is its sh)" "$(CRI exec-sync "$C1" cat /proc/1/comm 2>&1)" sh
  t_is "ExecSync: the pod's UTS namespace (hostname)" "$(CRI exec-sync "$C1" hostname 2>&1)" moatpod
  t_like "ExecSync: the pod's network namespace (eth0 has the pod's IP)" "$(CRI exec-sync "$C1" ip -4 -o addr show eth0 2>&1)" "inet $IP/24 "
  t_like "ExecSync: lo is up in the pod" "$(CRI exec-sync "$C1" ip -4 -o addr show lo 2>&1)" "inet 127\.0\.0\.1/8 "
  # Exec, kubectl exec's way: a session on containerd's streaming server
  mark
  out=$(CRI exec "$C1" sh -c 'echo out; echo err >&2; exit 4' 2>"$TMP/err"); rc=$?
  t_is "Exec (streamed over WebSocket): stdout" "$out" out
  t_is "Exec (streamed): stderr" "$(cat "$TMP/err")" err
  t_is_ "Exec (streamed): exit code 4" "$rc" 4 || diag "$(ctd_errors)"
  # (its exit code says: containerd 1.6 can lose a short tty session's
  # output, runc's as well; containerd/containerd#12364 mends it in 2.x)
  CRI exec --tty "$C1" sh -c 'case $(tty) in /dev/pts/*) exit 0;; esac; exit 9' >/dev/null 2>&1
  t_is "Exec --tty (streamed): the command's stdio is a pty" "$?" 0
  CRI exec "$C1" sh -c '[ -t 1 ] && exit 9; exit 0' >/dev/null 2>&1
  t_is "Exec without --tty: no pty" "$?" 0
  mark; timed CRI exec-sync --timeout 2 "$C1" sleep 77
  t_is "ExecSync --timeout 2 of sleep 77: an error (cri.py's 125), within 30 s (${SECS}s)" "$RC.$((SECS < 30))" 125.1
  t_like "ExecSync --timeout 2: the timeout is the reason" "$(cat "$TMP/.out")" "DEADLINE_EXCEEDED|timeout"
  no_sleep77 () { ! CRI exec-sync "$C1" ps -o args 2>/dev/null | grep -q '^sleep 77'; }
  poll 100 no_sleep77
  t_ok "ExecSync --timeout: the timed-out process is gone from the container" no_sleep77

  C2=$(cri_id create "$POD" "$TMP/cri/shared.json" "$TMP/cri/pod.json")
  if t_id "CreateContainer shared (pid POD)" "$C2"; then
    timed_ok "StartContainer shared" CRI start "$C2"
    poll 100 is_state "$C2" CONTAINER_RUNNING
    t_is "ContainerStatus shared: CONTAINER_RUNNING" "$(cstate "$C2")" CONTAINER_RUNNING
    t_is "ExecSync in shared: pid 1 is the sandbox's (the pod's pid namespace)" \
      "$(CRI exec-sync "$C2" cat /proc/1/cmdline 2>&1 | tr '\0' ' ')" "/bin/sleep 999999 "
  fi
  C3=$(cri_id create "$POD" "$TMP/cri/hog.json" "$TMP/cri/pod.json")
  if t_id "CreateContainer hog (memory limit 64 MiB)" "$C3"; then
    timed_ok "StartContainer hog" CRI start "$C3"
    poll 150 is_state "$C3" CONTAINER_EXITED
    t_is "hog: exited, 137, OOMKilled" "$(exited "$C3")" "CONTAINER_EXITED 137 OOMKilled"
    # Who it was, as the CRI plugin named it (its annotations), in the
    # log's header and so in every record moat audit --json prints.
    poll 50 grep -q '"kind":"oom"' "$AUD/$C3.jsonl"
    t_is "hog's OOM record carries its pod, namespace, container name and image" \
      "$(MR --audit-dir "$AUD" audit --json --kind oom "$C3" 2>&1 | jq -r '.identity | [.pod, .namespace, .container, .image] | join(" ")' 2>&1 | head -n 1)" \
      "moat-pod moat-test hog $IMG"
    t_is "moat audit --all finds it by pod, namespace and image" \
      "$(MR --audit-dir "$AUD" audit --all --json --pod moat-pod --namespace moat-test --image "$IMG" --kind oom 2>&1 | jq -r .container 2>&1 | sort -u)" "$C3"
  fi
  t_is "ListContainers: the pod's three, by state" \
    "$(CRI ps "$POD" 2>&1 | jq -r '[.containers[] | "\(.metadata.name)=\(.state)"] | sort | join(" ")' 2>&1)" \
    "app=CONTAINER_RUNNING hog=CONTAINER_EXITED shared=CONTAINER_RUNNING"

  # Stop: kubelet's grace period, then SIGKILL; each call must return.
  timed_ok "StopContainer app (grace 10 s) returns 0 within 30 s" CRI --deadline 30 stop --timeout 10 "$C1"
  t_is "app: exited 0 (its TERM trap ran)" "$(exited "$C1")" "CONTAINER_EXITED 0 Completed"
  t_like "app's log: the trap's line" "$(cat "$log" 2>&1)" ' stdout F got-TERM$'
  timed_ok "StopContainer app again (stopped already) returns 0 within 30 s" CRI --deadline 30 stop --timeout 2 "$C1"
  if [ -n "$C2" ]; then
    timed_ok "StopContainer shared (pid POD, no grace) returns 0 within 30 s" CRI --deadline 30 stop --timeout 0 "$C2"
    t_is "shared: exited 137 (SIGKILL)" "$(exited "$C2")" "CONTAINER_EXITED 137 Error"
  fi
  local nc n c
  for nc in "app $C1" "shared $C2" "hog $C3"; do
    read -r n c <<<"$nc"
    [ -n "$c" ] && timed_ok "RemoveContainer $n returns 0 within 30 s" CRI --deadline 30 rm "$c"
  done
  t_is "ListContainers: none left in the pod" "$(CRI ps "$POD" 2>&1 | jq -r '.containers | length' 2>&1)" 0
  t_is "moat's state: only the sandbox is left" "$(ls "$RT_ROOT/k8s.io" 2>&1)" "$POD"
  t_is "no container's rootfs left mounted" "$(grep -E "/(${C1:-x}|${C2:-x}|${C3:-x})/" /proc/self/mounts)" ""
}

POD=$(cri_id runp "$TMP/cri/pod.json")
if t_id "RunPodSandbox: a pod id" "$POD"; then
  PODST=$(CRI inspectp "$POD" 2>&1)
  t_is "PodSandboxStatus: SANDBOX_READY" "$(jq -r .status.state <<<"$PODST" 2>&1)" SANDBOX_READY
  IP=$(jq -r .status.network.ip <<<"$PODST" 2>/dev/null)
  t_like "the pod's IP is in the CNI subnet $NET.0/24" "$IP" "^$NET\.[0-9]+$"
  t_like "the pod's IP is reserved in host-local's store" "$(ls "$CNI/ipam/moat-cri" 2>&1)" "^$IP$"
  t_like "the bridge $BR is up" "$(ip -o link show "$BR" 2>&1)" "<.*UP.*>"
  t_is "the sandbox runs under moat (moat state in the shim's --root)" "$(mstate "$POD")" running
  SPID=$(MR state "$POD" 2>/dev/null | jq -r .pid)
  t_like "the sandbox's process is in the cgroup /$CG/<pod id>" \
    "$(grep -E '^[0-9]+:memory:' "/proc/$SPID/cgroup" 2>&1 || grep '^0::' "/proc/$SPID/cgroup" 2>&1)" ":/$CG/$POD$"
  t_is "the sandbox's process is the image's entrypoint" "$(tr '\0' ' ' < "/proc/$SPID/cmdline" 2>&1)" "/bin/sleep 999999 "

  cri_containers

  timed_ok "StopPodSandbox returns 0 within 30 s" CRI --deadline 30 stopp "$POD"
  t_is "PodSandboxStatus: SANDBOX_NOTREADY" "$(CRI inspectp "$POD" 2>&1 | jq -r .status.state 2>&1)" SANDBOX_NOTREADY
  t_unlike "the pod's IP is released (CNI DEL)" "$(ls "$CNI/ipam/moat-cri" 2>&1)" "^$IP$"
  t_is "no network namespace left mounted under the test's dirs" "$(grep -E "^nsfs ($TMP|$CRUN_DIR)/" /proc/self/mounts)" ""
  timed_ok "StopPodSandbox again returns 0 within 30 s" CRI --deadline 30 stopp "$POD"
  timed_ok "RemovePodSandbox returns 0 within 30 s" CRI --deadline 30 rmp "$POD"
  t_is "ListPodSandbox: none left" "$(CRI pods 2>&1 | jq -r '.items | length' 2>&1)" 0
  t_like "PodSandboxStatus of the removed pod: NotFound" "$(CRI inspectp "$POD" 2>&1)" NOT_FOUND
fi

# Nothing left behind.
t_is "moat's state under the shim's --root: empty" "$(ls -A "$RT_ROOT/k8s.io" 2>/dev/null)" ""
t_is "no cgroup left under /$CG" "$(find /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG" -mindepth 1 -type d 2>/dev/null | head -5)" ""
t_is "no process left in the pods' cgroups" "$(grep -l -- ":/$CG/" /proc/[0-9]*/cgroup 2>/dev/null | head -5)" ""
t_is "no mount left under the test's dirs" "$(grep -E " ($TMP|$CRUN_DIR)/" /proc/self/mounts)" ""
poll 100 eval '[ -z "$(our_shims)" ]'
t_is "the pod's shim has exited" "$(our_shims)" ""
[ -z "$BR_BEFORE" ] && ip link del "$BR" 2>/dev/null
t_is "the bridge $BR is gone (the test's own: removed)" "$(ip -o link show "$BR" 2>/dev/null)" ""
if [ "$T_FAIL" != "$SECTION_FAIL" ]; then
  LOG_MARK=0
  diag "containerd's errors (the last 25), in $TMP/ct/containerd.log:" "$(ctd_errors 25)"
fi
t_done
