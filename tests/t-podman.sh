#!/bin/bash
# podman (through conmon) drives moat as its OCI runtime, offline: an image
# imported from a rootfs built here, podman pointed at its own config files
# (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF),
# cgroupfs, vfs storage, no network. Every scenario checks what the process
# saw from inside, and the audit log moat kept of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines.sh"
command -v podman >/dev/null || skip_all "podman is not installed (apt-get install podman conmon)"
command -v conmon >/dev/null || skip_all "conmon is not installed (apt-get install conmon)"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"

# podman wants its tmp_dir on a tmpfs (it tells a reboot by it); /run is one.
PRUN=$(mktemp -d /run/moat-t-podman.XXXXXX)
AUD="$TMP/audit"
mkdir -p "$TMP/pm" "$AUD"
# The runtime podman calls: moat with this test's state and audit directories.
cat > "$TMP/pm/moat" <<EOF
#!/bin/sh
exec "$MOAT" --root "$ROOT" --audit-dir "$AUD" "\$@"
EOF
chmod 755 "$TMP/pm/moat"
podman_env "$TMP/pm" "$TMP/pm/moat" cgroupfs "$PRUN"
P () { timeout -k 10 120 podman "$@"; }

# podman's cgroupfs parent: removed at the end if this test made it.
LIBPOD_BEFORE=$(ls -d /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent 2>/dev/null)
podman_cleanup () {
  P rm -a -f >/dev/null 2>&1
  P rmi -a -f >/dev/null 2>&1
  if [ -z "$LIBPOD_BEFORE" ]; then
    local d
    for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  # vfs layers can be read-only directories: make them removable
  chmod -R u+w "$TMP/pm/graph" 2>/dev/null
  rm -rf "$PRUN"
  cleanup
}
trap podman_cleanup EXIT

# the image: busybox and the test workload
R="$TMP/img"
image_rootfs "$R" sh cat echo grep id sleep tty touch mkdir ls
tar -C "$R" -cf "$TMP/img.tar" .
t_ok "podman import a rootfs built here" P import "$TMP/img.tar" localhost/moat-test:latest
IMG=localhost/moat-test:latest
RUN=(P run --rm --network none)

# run: output, exit code, stdin, a terminal
t_is "run --rm: the output passes through" "$("${RUN[@]}" "$IMG" echo hello-from-moat 2>&1)" hello-from-moat
"${RUN[@]}" "$IMG" sh -c 'exit 7' >/dev/null 2>&1
t_is "run --rm: the exit code passes through" "$?" 7
t_is "run -i: stdin reaches the process" "$(echo piped-in | "${RUN[@]}" -i "$IMG" cat 2>&1)" piped-in
if command -v script >/dev/null; then
  OUT=$(script -qec "timeout --foreground -k 10 120 podman run --rm -t --network none $IMG sh -c 'tty; exit 3'" /dev/null < /dev/null | tr -d '\r\0')
  t_like "run -t: the process has a pty" "$OUT" "^/dev/pts/[0-9]+$"
else
  ok "# SKIP no script(1)"
fi

# detached: exec, exec -t, pause, stop, rm
t_ok "run -d" P run -d --name web --network none "$IMG" sleep 300
t_is "exec: output" "$(P exec web sh -c 'echo exec-ok' 2>&1)" exec-ok
P exec web sh -c 'exit 4' >/dev/null 2>&1
t_is "exec: exit code" "$?" 4
t_is "exec joins the container's pid namespace (pid 1 is sleep)" "$(P exec web cat /proc/1/comm 2>&1)" sleep
if command -v script >/dev/null; then
  OUT=$(script -qec "timeout --foreground -k 10 120 podman exec -t web tty" /dev/null < /dev/null | tr -d '\r\0')
  t_like "exec -t: a pty" "$OUT" "^/dev/pts/[0-9]+$"
else
  ok "# SKIP no script(1)"
fi
t_ok "pause" P pause web
t_is "podman sees it paused" "$(P inspect -f '{{.State.Status}}' web)" paused
t_ok "unpause" P unpause web
t_is "running again" "$(P inspect -f '{{.State.Status}}' web)" running
t_ok "stop (TERM, then KILL)" P stop -t 1 web
t_is "stopped" "$(P inspect -f '{{.State.Status}}' web)" exited
t_ok "rm" P rm web

# walls
t_is "--cap-drop ALL: no capability left, even bounding" \
  "$("${RUN[@]}" --cap-drop ALL "$IMG" grep -E '^Cap(Eff|Bnd)' /proc/self/status | tr -s '\t' ' ')" \
  "$(printf 'CapEff: 0000000000000000\nCapBnd: 0000000000000000')"
"${RUN[@]}" --memory 64m "$IMG" workload hog 200 >/dev/null 2>&1
t_is "--memory 64m: a 200 MiB hog is OOM-killed (137)" "$?" 137
t_is "--memory 64m: a 32 MiB one runs" "$("${RUN[@]}" --memory 64m "$IMG" workload hog 32 2>&1)" "hog 32 MiB"
t_like "--pids-limit 10: forks stop at the limit" "$("${RUN[@]}" --pids-limit 10 "$IMG" workload children 30 2>&1)" \
  "EAGAIN|Resource temporarily unavailable|fork"
t_is "--read-only --user 1000:1000: the user, and / is read-only" \
  "$("${RUN[@]}" --read-only --user 1000:1000 "$IMG" sh -c 'id -u; touch /x 2>/dev/null || echo ro' 2>&1)" \
  "$(printf '1000\nro')"
mkdir -p "$TMP/vol"; echo vol-data > "$TMP/vol/f"
t_is "-v a host directory" "$("${RUN[@]}" -v "$TMP/vol:/vol" "$IMG" cat /vol/f 2>&1)" vol-data
t_like "--tmpfs /scratch" "$("${RUN[@]}" --tmpfs /scratch "$IMG" grep ' /scratch ' /proc/mounts 2>&1)" "^tmpfs /scratch tmpfs"

# seccomp from podman, and moat's record of it
echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' > "$TMP/prof.json"
OUT=$(P run --name sc --network none --security-opt seccomp="$TMP/prof.json" "$IMG" sh -c 'mkdir /tmp/d 2>&1; grep ^Seccomp: /proc/self/status' 2>&1)
t_like "--security-opt seccomp=profile.json: mkdir is denied" "$OUT" "Operation not permitted"
t_like "and the filter is on" "$OUT" "Seccomp:.2"
CID=$(P inspect -f '{{.Id}}' sc)
P rm sc >/dev/null 2>&1
REC=$(jq -c 'select(.kind=="syscall" and (.syscall=="mkdir" or .syscall=="mkdirat"))' "$AUD/$CID.jsonl" 2>/dev/null | head -1)
t_is "moat's audit log has the denied mkdir of a podman container" "$(jq -r '.args.pathname + " " + .errno' <<<"$REC")" "/tmp/d EPERM"
t_is "its header names podman (io.container.manager) as the container's manager" \
  "$(head -n 1 "$AUD/$CID.jsonl" 2>/dev/null | jq -r '.kind + " " + .identity.manager')" "header libpod"

# logs
P run -d --name lg --network none "$IMG" sh -c 'echo line-one; echo line-two' >/dev/null
P wait lg >/dev/null 2>&1
t_is "podman logs" "$(P logs lg 2>&1)" "$(printf 'line-one\nline-two')"
P rm lg >/dev/null 2>&1

# What else podman asks of a runtime (the commands a podman user types):
# top (runtime ps), cp in and out, kill with a signal the workload handles,
# restart, wait's exit code, named volumes.
P run -d --name more --network none "$IMG" workload trap USR1 >/dev/null
for _ in $(seq 100); do [ "$(P logs more 2>/dev/null)" = ready ] && break; sleep 0.1; done
t_like "top lists the container's process" "$(P top more 2>&1)" "workload trap USR1"
echo from-host > "$TMP/hostfile"
t_ok "cp a host file in" P cp "$TMP/hostfile" more:/tmp/hostfile
t_is "... and the container reads it" "$(P exec more cat /tmp/hostfile 2>&1)" from-host
t_ok "cp a file out" P cp more:/etc/passwd "$TMP/passwd-out"
t_is "... byte for byte" "$(cat "$TMP/passwd-out")" "root:x:0:0:root:/:/bin/sh"
t_ok "kill -s USR1" P kill -s USR1 more
P wait more >/dev/null 2>&1
t_like "... reaches the workload's handler" "$(P logs more 2>&1)" "got SIGUSR1"
t_ok "restart" P restart -t 1 more
t_is "running again after restart" "$(P inspect -f '{{.State.Status}}' more)" running
P rm -f -t 0 more >/dev/null 2>&1
P run -d --name waited --network none "$IMG" sh -c 'sleep 0.3; exit 5' >/dev/null
t_is "wait: the exit code" "$(P wait waited 2>&1)" 5
P rm waited >/dev/null 2>&1
t_ok "volume create" P volume create moatvol
t_is "a named volume is written and read" "$("${RUN[@]}" -v moatvol:/data "$IMG" sh -c 'echo v1 > /data/x; cat /data/x' 2>&1)" v1
t_is "... and keeps its data for the next container" "$("${RUN[@]}" -v moatvol:/data "$IMG" cat /data/x 2>&1)" v1
P volume rm moatvol >/dev/null 2>&1
# conmon leaves SIGPIPE ignored for itself; the workload starts with every
# disposition at its default and nothing blocked (runc resets them), or
# `podman kill -s PIPE` never reaches it.
t_is "the workload starts with no signal ignored or blocked" \
  "$("${RUN[@]}" "$IMG" workload cat /proc/self/status 2>&1 | grep -E '^Sig(Ign|Blk)' | tr '\t\n' '  ')" \
  "SigBlk: 0000000000000000 SigIgn: 0000000000000000 "
# pods: an infra container (podman's catatonit pause image) and one in it
if command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ]; then
  t_ok "pod create" P pod create --name moatpod --network none
  t_ok "run a container in the pod" P run -d --pod moatpod --name inpod "$IMG" sleep 300
  t_is "the pod runs, with its infra container" "$(P pod inspect -f '{{.State}} {{.NumContainers}}' moatpod 2>&1)" "Running 2"
  t_is "the container shares the pod's ipc namespace with the infra" \
    "$(P exec inpod readlink /proc/1/ns/ipc 2>&1)" "$(P exec inpod readlink /proc/self/ns/ipc 2>&1)"
  t_ok "pod stop" P pod stop -t 1 moatpod
  t_ok "pod rm" P pod rm moatpod
else
  not_ok "pods need catatonit (apt-get install catatonit): tests/install-deps.sh installs it"
fi
# podman build: buildah's RUN goes through moat, asking for ambient
# capabilities it does not make inheritable; moat leaves them out, as runc
# does (it used to fail create with exit 1, and the build with it).
mkdir -p "$TMP/ctx"
printf 'FROM %s\nRUN workload caps > /caps.txt\nRUN echo built > /built.txt\n' "$IMG" > "$TMP/ctx/Containerfile"
P build --network none --isolation oci -t localhost/moat-built:latest "$TMP/ctx" >"$TMP/build.out" 2>&1
RC=$?
t_is "podman build with two RUN steps through moat: exit 0" "$RC" 0
[ "$RC" = 0 ] || diag "$(tail -n 4 "$TMP/build.out")"
t_is "the RUN step ran (seen from a container of the built image)" \
  "$("${RUN[@]}" --pull never localhost/moat-built:latest cat /built.txt 2>&1)" built
t_like "and the RUN step had its capabilities" "$("${RUN[@]}" --pull never localhost/moat-built:latest cat /caps.txt 2>&1)" \
  'CapEff:[[:space:]]+[0-9a-f]*[1-9a-f][0-9a-f]*$'

t_is "nothing of these containers is left in moat's state" "$(ls "$ROOT" 2>/dev/null | wc -l)" 0
t_done
