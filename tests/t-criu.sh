#!/bin/bash
# Checkpoint and restore with CRIU (moat checkpoint / moat restore), with
# runc beside moat on the same cases. A counting loop is checkpointed and
# restored and must keep its count; the audit must survive: a container
# whose denials the supervisor records (a seccomp listener, which CRIU
# cannot restore) is refused at checkpoint, saying why; one whose filter
# the kernel enforces alone is restored with a new supervisor that goes on
# writing the same log (a fault after restore is recorded there).
# Runs in the qemu lane (tests/t-kernel-lane.sh boots it, with t-lsm.sh):
# Debian 12's criu fails on newer kernels ('Failed to fill self vdso
# symtable'), and the test skips there with criu's reason.
. "$(dirname "$0")/lib.sh"

command -v criu >/dev/null || skip_all "criu not installed (apt-get install criu)"
why=$(criu check 2>&1)
[ $? = 0 ] || skip_all "criu check fails on this kernel: $(printf '%s\n' "$why" | grep -m1 -i error | sed 's/^.*): //')"

AUD=$TMP/audit
A () { M --audit-dir "$AUD" "$@"; }
RUNC=$(command -v runc)
R () { "$RUNC" --root "$TMP/runc" "$@"; }

# A bundle whose process counts: each step appends to /tmp/seq (so a
# restart from 1 shows), tries a mkdir the filter denies, and crashes a
# child once /tmp/crash appears.
counter () {
  local b=$1
  mkbundle "$b" /bin/sh /count.sh
  cat > "$b/rootfs/count.sh" <<'EOF'
exec </dev/null >/dev/null 2>&1
i=0
while true; do
  i=$((i + 1)); echo $i >> /tmp/seq; echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count
  mkdir /made$i
  if [ -e /tmp/crash ]; then rm /tmp/crash; /bin/workload segv; fi
  sleep 0.1
done
EOF
  cfg "$b" 'del(.linux.resources) | .process.terminal = false | .root.readonly = false
    | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
}
count () { cat "$1/rootfs/tmp/count" 2>/dev/null || echo 0; }
# wait_count BUNDLE N: until the loop has counted past N (bounded: 60 s).
wait_count () {
  local i
  for i in $(seq 600); do [ "$(count "$1")" -gt "$2" ] && return 0; sleep 0.1; done
  return 1
}
# seq_ok BUNDLE: every line of /tmp/seq is its own line number (no restart).
seq_ok () { awk 'NR != $1 { bad = 1 } END { exit bad }' "$1/rootfs/tmp/seq"; }
gone () { ! pid_running "$1"; }
wait_gone () { local i; for i in $(seq 100); do gone "$1" && return 0; sleep 0.1; done; return 1; }
made_dirs () { ls "$1/rootfs" | grep -c '^made' ; }

# ---- the audit across a checkpoint: a listener is refused ----------------
B0=$TMP/b0
counter "$B0"
A run -d --bundle "$B0" cr-aud </dev/null >/dev/null 2>&1
wait_count "$B0" 2
out=$(A checkpoint --image-path "$TMP/img-aud" cr-aud 2>&1); rc=$?
t_is "audited container: checkpoint exits 1" "$rc" 1
t_like "... saying why (CRIU cannot restore the listener: denials would go unrecorded)" "$out" \
  "cannot checkpoint: moat's audit of its syscalls needs the seccomp listener.*CRIU cannot restore a listener"
t_is "... and it is still running" "$(M state cr-aud | jq -r .status)" running
c=$(count "$B0")
t_ok "... and still counting" wait_count "$B0" "$c"
t_like "... its denials still recorded" "$(jq -r 'select(.wall == "seccomp") | .syscall' "$AUD/cr-aud.jsonl" | sort -u)" mkdir
M delete -f cr-aud >/dev/null 2>&1

# ---- moat: a kernel-enforced filter is checkpointed and restored ---------
B=$TMP/b
counter "$B"
printf '{"audit":{"syscalls":false},"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}}\n' > "$TMP/kernel.json"
A run -d --policy "$TMP/kernel.json" --bundle "$B" cr1 </dev/null >/dev/null 2>&1
wait_count "$B" 2
pid0=$(M state cr1 | jq -r .pid)
t_ok "moat checkpoint --leave-running" A checkpoint --leave-running --image-path "$TMP/img-lr" cr1
t_is "... leaves it running" "$(M state cr1 | jq -r .status)" running
t_ok "... and writes CRIU's images" test -s "$TMP/img-lr/inventory.img"
t_ok "moat checkpoint" A checkpoint --image-path "$TMP/img1" cr1
t_ok "... ends the container's processes" wait_gone "$pid0"
t_fails "... and the container (state gone, as runc)" M state cr1
t_ok "... and its cgroup" bash -c "! [ -d /sys/fs/cgroup/moat/cr1 ] && ! [ -d /sys/fs/cgroup/memory/moat/cr1 ]"
c=$(count "$B")
t_ok "moat restore --detach --pid-file" A restore --detach --pid-file "$TMP/cr1.pid" --image-path "$TMP/img1" --bundle "$B" cr1
t_is "... the container is running" "$(M state cr1 2>"$TMP/state.err" | jq -r .status)" running
t_is "... and its supervisor listening (no warning from state)" "$(cat "$TMP/state.err")" ""
pid=$(M state cr1 | jq -r .pid)
t_is "... --pid-file has the restored init's pid" "$(cat "$TMP/cr1.pid" 2>/dev/null)" "$pid"
t_ok "... it counts on" wait_count "$B" "$c"
t_ok "... from where it was (no restart: /tmp/seq is 1..N without a gap)" seq_ok "$B"
t_like "... in its cgroup" "$(cat "/proc/$pid/cgroup" 2>/dev/null)" "/moat/cr1$"
t_like "... with its seccomp filter (restored by CRIU)" "$(grep Seccomp: "/proc/$pid/status")" "Seccomp:[[:space:]]+2"
t_is "... which still denies mkdir" "$(made_dirs "$B")" 0
t_like "the audit log goes on: a notice says it was restored" \
  "$(jq -r 'select(.kind == "notice") | .what' "$AUD/cr1.jsonl")" "restored from the checkpoint at"
touch "$B/rootfs/tmp/crash"
for i in $(seq 300); do grep -q SIGSEGV "$AUD/cr1.jsonl" 2>/dev/null && break; sleep 0.1; done
t_like "... and a fault after restore is recorded by the new supervisor" \
  "$(jq -r 'select(.kind == "signal") | .signal + " " + .comm' "$AUD/cr1.jsonl")" "SIGSEGV workload"
t_fails "restore of an id that exists is refused" A restore -d --image-path "$TMP/img1" --bundle "$B" cr1
t_ok "delete" M delete -f cr1
t_ok "... leaves no process, cgroup or state" bash -c "! [ -d /sys/fs/cgroup/moat/cr1 ] && ! [ -e '$ROOT/cr1' ]"
t_ok "... the restored init is gone" wait_gone "$pid"

# ---- runc on the same bundle ---------------------------------------------
if [ -z "$RUNC" ]; then
  ok "# SKIP runc not installed"
else
  BR=$TMP/br
  counter "$BR"
  R run -d --bundle "$BR" rr1 </dev/null >/dev/null 2>&1
  wait_count "$BR" 2
  t_ok "runc checkpoint --leave-running (same bundle)" R checkpoint --leave-running --image-path "$TMP/rimg-lr" rr1
  t_ok "runc checkpoint" R checkpoint --image-path "$TMP/rimg1" rr1
  c=$(count "$BR")
  t_ok "runc restore --detach --pid-file" R restore --detach --pid-file "$TMP/rr1.pid" --image-path "$TMP/rimg1" --bundle "$BR" rr1
  t_ok "... runc's counts on" wait_count "$BR" "$c"
  t_ok "... from where it was" seq_ok "$BR"
  R delete -f rr1 >/dev/null 2>&1
fi

# ---- each flag beside runc: the same outcome -----------------------------
# flags RT ID BUNDLE: the cases, as "name=status" words
flags () {
  local rt=$1 id=$2 b=$3 c out
  local X; if [ "$rt" = moat ]; then X="A"; else X="R"; fi
  counter "$b"
  if [ "$rt" = moat ]; then A run -d --policy "$TMP/kernel.json" --bundle "$b" "$id" </dev/null >/dev/null 2>&1
  else R run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1; fi
  wait_count "$b" 2
  $X checkpoint --pre-dump --image-path "$TMP/$rt-pre" "$id" >/dev/null 2>&1; out="pre-dump=$?"
  $X state "$id" 2>/dev/null | grep -q '"running"'; out="$out running-after-pre-dump=$?"
  $X checkpoint --leave-running --parent-path ../$rt-pre --image-path "$TMP/$rt-full" "$id" >/dev/null 2>&1
  out="$out parent-path=$?"
  $X checkpoint --leave-running --tcp-established --ext-unix-sk --file-locks --shell-job --manage-cgroups-mode soft \
    --work-path "$TMP/$rt-work" --image-path "$TMP/$rt-flags" "$id" >/dev/null 2>&1
  out="$out flags=$?"
  [ -s "$TMP/$rt-work/dump.log" ]; out="$out work-path-log=$?"
  $X checkpoint --manage-cgroups-mode bogus --image-path "$TMP/$rt-bogus" "$id" >/dev/null 2>&1
  out="$out bogus-mode=$([ $? = 0 ] && echo 0 || echo fails)"
  $X checkpoint --leave-running --empty-ns network --image-path "$TMP/$rt-empty" "$id" >/dev/null 2>&1
  out="$out empty-ns=$?"
  $X checkpoint --image-path "$TMP/$rt-last" "$id" >/dev/null 2>&1; out="$out checkpoint=$?"
  $X checkpoint --image-path "$TMP/$rt-stopped" "$id" >/dev/null 2>&1
  out="$out gone=$([ $? = 0 ] && echo 0 || echo fails)"
  # attached restore: its status is the container's (137 after SIGKILL)
  c=$(count "$b")
  $X restore --image-path "$TMP/$rt-last" --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
  local bg=$!
  wait_count "$b" "$c"; out="$out attached-counts=$?"
  $X kill "$id" 9 >/dev/null 2>&1
  wait "$bg"; out="$out attached-status=$?"
  $X delete -f "$id" >/dev/null 2>&1
  echo "$out"
}
mo=$(flags moat cr-f "$TMP/bf")
t_is "moat: flags" "$mo" "pre-dump=0 running-after-pre-dump=0 parent-path=0 flags=0 work-path-log=0 bogus-mode=fails empty-ns=0 checkpoint=0 gone=fails attached-counts=0 attached-status=137"
if [ -n "$RUNC" ]; then
  t_is "runc: the same flags, the same outcome" "$(flags runc rr-f "$TMP/bfr")" "$mo"
fi

# ---- podman container checkpoint/restore --runtime moat -------------------
# Set up as tests/t-podman.sh does: its own config files, cgroupfs, vfs
# storage, an image imported from a rootfs built here, no network.
PRUN=
podman_cleanup () {
  if [ -n "$PRUN" ]; then
    P rm -a -f >/dev/null 2>&1
    P rmi -a -f >/dev/null 2>&1
    chmod -R u+w "$TMP/pm/graph" 2>/dev/null
    rm -rf "$PRUN"
  fi
  cleanup
}
trap podman_cleanup EXIT
P () { timeout -k 10 120 podman --runtime moat "$@"; }
podman_part () {
  local PM=$TMP/pm PI=$TMP/pimg id out rc i c c2 a
  PRUN=$(mktemp -d /run/moat-t-criu.XXXXXX) || return 1
  mkdir -p "$PM" "$PI/bin" "$PI/etc" "$PI/tmp" "$PI/proc" "$PI/sys" "$PI/dev"
  printf '#!/bin/sh\nexec %q --root %q --audit-dir %q "$@"\n' "$MOAT" "$ROOT" "$AUD" > "$PM/moat"
  chmod 755 "$PM/moat"
  local nofile; nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 20000 ] && nofile=20000
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s"]\nnetns = "none"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s/events.log"\ntmp_dir = "%s/tmp"\nruntime_supports_json = ["moat"]\n[engine.runtimes]\nmoat = ["%s/moat"]\n' \
    "$nofile" "$nofile" "$PM" "$PRUN" "$PM" > "$PM/containers.conf"
  printf '[storage]\ndriver = "vfs"\nrunroot = "%s/run"\ngraphroot = "%s/graph"\n' "$PRUN" "$PM" > "$PM/storage.conf"
  echo 'unqualified-search-registries = []' > "$PM/registries.conf"
  export CONTAINERS_CONF=$PM/containers.conf CONTAINERS_STORAGE_CONF=$PM/storage.conf
  export CONTAINERS_REGISTRIES_CONF=$PM/registries.conf
  cp "$BUSYBOX" "$PI/bin/busybox"
  for a in sh cat awk; do ln -sf busybox "$PI/bin/$a"; done
  cp "$WORKLOAD" "$PI/bin/workload"
  cp "$B/rootfs/count.sh" "$PI/count.sh"
  tar -C "$PI" -cf "$TMP/pimg.tar" .
  t_ok "podman import" P import "$TMP/pimg.tar" localhost/criu-test:latest
  # podman's default profile denies calls, which moat audits: refused
  id=$(P run -d --network none localhost/criu-test:latest /bin/sh /count.sh 2>/dev/null)
  out=$(P container checkpoint "$id" 2>&1); rc=$?
  t_is "podman container checkpoint of an audited moat container fails" "$rc" 125
  t_like "... with moat's reason" "$out" "CRIU cannot restore a listener"
  t_is "... and it runs on" "$(P inspect -f '{{.State.Status}}' "$id" 2>&1)" running
  P rm -f "$id" >/dev/null 2>&1
  # no filter (seccomp=unconfined): checkpointed and restored
  id=$(P run -d --network none --security-opt seccomp=unconfined localhost/criu-test:latest /bin/sh /count.sh 2>/dev/null)
  c=0
  for i in $(seq 300); do c=$(P exec "$id" cat /tmp/count 2>/dev/null); [ "${c:-0}" -gt 2 ] && break; sleep 0.1; done
  t_ok "podman container checkpoint (moat)" P container checkpoint "$id"
  t_is "... it is exited" "$(P inspect -f '{{.State.Status}}' "$id" 2>&1)" exited
  t_ok "podman container restore (moat)" P container restore "$id"
  t_is "... it is running" "$(P inspect -f '{{.State.Status}}' "$id" 2>&1)" running
  c2=0
  for i in $(seq 300); do c2=$(P exec "$id" cat /tmp/count 2>/dev/null); [ "${c2:-0}" -gt "${c:-0}" ] && break; sleep 0.1; done
  t_ok "... it counts on" test "${c2:-0}" -gt "${c:-0}"
  t_ok "... from where it was" P exec "$id" awk 'NR != $1 { bad = 1 } END { exit bad }' /tmp/seq
  t_ok "podman stop and rm of the restored container" P rm -f -t 2 "$id"
  t_is "... moat has nothing left" "$(M list -q 2>&1)" ""
}
if ! command -v podman >/dev/null || ! command -v conmon >/dev/null; then
  ok "# SKIP podman/conmon not installed"
else
  podman_part
fi
t_done
