#!/bin/bash
# moat exec: a new process joins a running container's namespaces, root,
# cgroup and walls (capabilities, no_new_privs, the seccomp filter), and its
# denials and faults land in the container's audit log. Everything is read
# from inside the process (/proc/self/status, /proc/self/ns, its cgroup).
. "$(dirname "$0")/lib.sh"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"

B="$TMP/b"
AUD="$TMP/audit"
POL=$(cd "$(dirname "$0")/../policies" && pwd)
mkbundle "$B" /bin/workload sleep 60
mkdir -p "$B/rootfs/work"
echo "u:x:1000:1000::/home/u:/bin/sh" >> "$B/rootfs/etc/passwd"
MA () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
sh_in () { local id=$1; shift; MA exec "$id" /bin/busybox sh -c "$*"; }

t_ok "run -d the container" MA run -d --bundle "$B" ex1
INIT=$(M state ex1 | jq -r .pid)

# the same namespaces as the init, seen from inside
for ns in pid mnt uts ipc net cgroup; do
  t_is "exec joins the $ns namespace" "$(MA exec ex1 /bin/busybox readlink /proc/self/ns/$ns)" "$(readlink /proc/$INIT/ns/$ns)"
done
t_is "exec runs in the container's root" "$(MA exec ex1 /bin/busybox ls /work && echo ok)" ok
t_is "exec sees the container's pid 1" "$(MA exec ex1 /bin/busybox cat /proc/1/comm)" workload
MA exec -d --pid-file "$TMP/nspid" ex1 /bin/workload sleep 30
P=$(cat "$TMP/nspid"); N=$(awk '/^NSpid/ {print $NF}' /proc/"$P"/status)
t_is "exec has a pid of the container's pid namespace: it is there as itself" \
  "$(MA exec ex1 /bin/busybox cat /proc/"$N"/cmdline | tr '\0' ' ')" "/bin/workload sleep 30 "
t_fails "(and that pid is not its host pid $P)" test "$N" = "$P"
kill -9 "$P"
t_is "exec is in the container's cgroup (host view)" \
  "$(MA exec ex1 /bin/busybox sh -c 'cat /proc/self/cgroup' | grep -c ':/$')" "$(grep -c '' /proc/$INIT/cgroup)"
MA exec -d --pid-file "$TMP/pid" ex1 /bin/workload sleep 30
t_is "moat ps lists the exec'd process" "$(M ps --format json ex1 | jq length)" 2
kill -9 "$(cat "$TMP/pid")"

# exit status, stdin and stdout pass through
sh_in ex1 'exit 7'
t_is "exit status of the process" "$?" 7
# A process may make its parent, moat exec, its tracer (PTRACE_TRACEME, as
# the storm's threads do with ptrace's request 0): its threads then stay
# zombies until the tracer reaps them. exec hung there until it reaped
# every child with __WALL and let tracee stops go.
timeout -k 2 20 "$MOAT" --root "$ROOT" --audit-dir "$AUD" exec ex1 /bin/workload storm 2 20 ptrace >"$TMP/tr" 2>&1
t_is "a process that makes exec its tracer ends, and exec with it (exit 0)" "$?" 0
t_like "... after its calls ran" "$(cat "$TMP/tr")" "storm total=40"
MA exec ex1 /bin/workload segv >/dev/null 2>&1
t_is "a death by SIGSEGV: 139" "$?" 139
t_is "stdin reaches the process" "$(echo piped | MA exec ex1 /bin/busybox cat)" piped

# the process the command line describes
t_is "--env adds" "$(MA exec -e FOO=bar ex1 /bin/busybox sh -c 'echo $FOO')" bar
t_is "--env replaces" "$(MA exec --env PATH=/nowhere ex1 /bin/busybox sh -c 'echo $PATH')" /nowhere
t_like "the container's env is kept" "$(sh_in ex1 'echo $PATH')" "/bin"
t_is "--cwd" "$(MA exec --cwd /work ex1 /bin/busybox pwd)" /work
t_is "--user uid:gid" "$(MA exec -u 1000:1001 ex1 /bin/busybox sh -c 'echo $(id -u):$(id -g)')" 1000:1001
t_is "--additional-gids" "$(MA exec -u 5:5 --additional-gids 20,21 ex1 /bin/busybox grep ^Groups /proc/self/status | tr -s '\t ' ' ')" "Groups: 20 21 "
CAPS=$(MA exec ex1 /bin/busybox grep -E '^Cap(Eff|Bnd)' /proc/self/status)
t_is "the container's capabilities: effective" "$(grep CapEff <<<"$CAPS" | cut -f2)" \
  "$(grep CapEff /proc/$INIT/status | cut -f2)"
t_is "and bounding" "$(grep CapBnd <<<"$CAPS" | cut -f2)" "$(grep CapBnd /proc/$INIT/status | cut -f2)"
# ... and both what the config asks for: a wall skipped for the init and for
# exec alike passes the comparison above
t_is "exec's effective set is the config's" "$(grep CapEff <<<"$CAPS" | cut -f2)" \
  "$(cap_mask $(jq -r '.process.capabilities.effective[]' "$B/config.json"))"
t_is "exec's bounding set is the config's" "$(grep CapBnd <<<"$CAPS" | cut -f2)" \
  "$(cap_mask $(jq -r '.process.capabilities.bounding[]' "$B/config.json"))"
t_is "(the init's bounding set is the config's too)" "$(grep CapBnd /proc/$INIT/status | cut -f2)" \
  "$(cap_mask $(jq -r '.process.capabilities.bounding[]' "$B/config.json"))"
EFF=$(MA exec --cap CAP_SYS_ADMIN ex1 /bin/busybox grep CapEff /proc/self/status | cut -f2)
t_is "--cap CAP_SYS_ADMIN adds bit 21" "$(( (0x$EFF >> 21) & 1 ))" 1
t_is "--cap never adds to the inheritable set" \
  "$(MA exec --cap sys_admin ex1 /bin/busybox grep CapInh /proc/self/status | cut -f2)" 0000000000000000
t_is "no_new_privs as the container's" "$(MA exec ex1 /bin/busybox grep ^NoNewPrivs /proc/self/status | cut -f2)" 1
cat > "$TMP/proc.json" <<'EOF'
{"args":["/bin/busybox","sh","-c","echo $A $(id -u) $(pwd)"],"cwd":"/work","user":{"uid":7,"gid":7},"env":["A=fromfile"]}
EOF
t_is "--process FILE" "$(MA exec --process "$TMP/proc.json" ex1)" "fromfile 7 /work"

# what runc gives an exec'd process too
t_is "exec: HOME from the container's /etc/passwd for --user" \
  "$(MA exec -u 1000:1000 ex1 /bin/workload env | grep ^HOME=)" "HOME=/home/u"
t_is "exec: the process leads its own process group and session (runc's setsid)" \
  "$(MA exec ex1 /bin/workload cat /proc/self/stat | awk '{print ($1 == $5 && $1 == $6)}')" 1
ST=$(trap '' PIPE; MA exec ex1 /bin/workload cat /proc/self/status)
t_like "exec: a signal the caller ignores (SIGPIPE) is not ignored inside" "$ST" '^SigIgn:[[:space:]]+0000000000000000$'
t_is "exec --preserve-fds 2 with fd 3 closed: fd 4 passes, 3 is skipped" \
  "$(MA exec --preserve-fds 2 ex1 /bin/workload fds 3<&- 4</etc/passwd 2>&1 | awk '/^fd/ {print $2}' | tr '\n' ' ')" \
  "0 1 2 4 "

# detached
rm -f "$TMP/pid"
t_ok "exec -d --pid-file" MA exec -d --pid-file "$TMP/pid" ex1 /bin/workload sleep 30
P=$(cat "$TMP/pid")
t_ok "the detached process runs" pid_running "$P"
t_is "in the container's pid namespace" "$(readlink /proc/$P/ns/pid)" "$(readlink /proc/$INIT/ns/pid)"
kill -9 "$P"

# signals sent to moat exec reach the process: the workload's handler says
# so (exec dying of the SIGTERM itself would give 143 as well)
"$MOAT" --root "$ROOT" --audit-dir "$AUD" exec ex1 /bin/workload trap TERM >"$TMP/trap.out" 2>&1 &
EP=$!
for _ in $(seq 100); do grep -q '^ready' "$TMP/trap.out" && break; sleep 0.05; done
kill -TERM "$EP"
wait "$EP"
RC=$?
t_is "SIGTERM to moat exec is forwarded: the process's handler got it" "$(grep '^got' "$TMP/trap.out")" "got SIGTERM"
t_is "and exec exits with the process's status (0)" "$RC" 0
"$MOAT" --root "$ROOT" --audit-dir "$AUD" exec ex1 /bin/workload sleep 30 &
EP=$!
for _ in $(seq 100); do [ "$(M ps --format json ex1 | jq length)" -ge 2 ] && break; sleep 0.05; done
kill -TERM "$EP"
wait "$EP"
t_is "a process without a handler dies by it (143)" "$?" 143

# bad input: clear errors, no process left
OUT=$(MA exec nosuch /bin/true 2>&1); RC=$?
t_like "unknown container: an error naming it, runc's status (255) and prefix" "$RC $OUT" "^255 moat: exec failed: container \`nosuch\` does not exist"
t_like "missing executable" "$(MA exec ex1 /nonexistent 2>&1)" "/nonexistent.*No such file"
t_like "--cap with an unknown name" "$(MA exec --cap bogus ex1 /bin/true 2>&1)" "--cap \`bogus\`: unknown capability"
t_like "--user not numeric" "$(MA exec -u nobody ex1 /bin/true 2>&1)" "--user: \`nobody\` is not a numeric id"
t_like "--env without =" "$(MA exec -e FOO ex1 /bin/true 2>&1)" "--env \`FOO\`: expected KEY=VALUE"
echo '{"args":"x","cwd":"/"}' > "$TMP/bad.json"
t_like "--process with a wrong type: the file and the path" "$(MA exec --process "$TMP/bad.json" ex1 2>&1)" \
  "bad.json: process.args: expected array of strings"
# a syntax error is placed in the file itself (line 3, not in a wrapper),
# and a file that is an object followed by more members is refused
printf '{"args":["/bin/true"],\n "cwd": "/",\n bad}' > "$TMP/bad2.json"
t_like "--process with a syntax error: the file's own line and column" \
  "$(MA exec --process "$TMP/bad2.json" ex1 2>&1)" "bad2.json: malformed JSON: .* at line 3, column 2"
printf '{"args":["/bin/true"],"cwd":"/"}, "hooks": {}' > "$TMP/bad3.json"
t_like "--process with more than one object: refused" "$(MA exec --process "$TMP/bad3.json" ex1 2>&1)" \
  "bad3.json: malformed JSON"
t_like "--process and a command" "$(MA exec --process "$TMP/proc.json" ex1 /bin/true 2>&1)" "not both"
t_like "no command" "$(MA exec ex1 2>&1)" "missing command"
t_like "--console-socket without --tty" "$(MA exec --console-socket "$TMP/x.sock" ex1 /bin/true 2>&1)" "needs --tty"
t_ok "pause" M pause ex1
t_like "a paused container refuses exec" "$(MA exec ex1 /bin/true 2>&1)" "is paused.*--ignore-paused"
t_ok "resume" M resume ex1
t_is "only the init and nothing of the failed execs is left" "$(M ps --format json ex1 | jq length)" 1

# the syscall and fault walls follow the exec'd process into the audit log
t_ok "run -d under the default policy" MA run -d --bundle "$B" --policy "$POL/default.json" ex2
t_is "exec gets the container's filter (Seccomp: 2)" \
  "$(MA exec ex2 /bin/busybox grep ^Seccomp: /proc/self/status | cut -f2)" 2
t_is "a denied call in the exec'd process: EPERM" "$(MA exec ex2 /bin/workload syscall unshare CLONE_NEWNS)" \
  "unshare = -1 EPERM"
MA exec ex2 /bin/workload segv >/dev/null 2>&1
for _ in $(seq 100); do
  [ -n "$(jq -c 'select(.kind=="signal" and .signal=="SIGSEGV")' "$AUD/ex2.jsonl" 2>/dev/null)" ] && break
  sleep 0.05
done
R=$(jq -c 'select(.kind=="syscall" and .syscall=="unshare")' "$AUD/ex2.jsonl")
t_is "its denial is in the container's audit log" "$(jq -r '.args.flags + " " + .errno' <<<"$R")" "CLONE_NEWNS EPERM"
t_is "with the exec'd process's nspid (not the init's)" "$(jq -r '.nspid != 1' <<<"$R")" true
F=$(jq -c 'select(.kind=="signal" and .signal=="SIGSEGV")' "$AUD/ex2.jsonl")
# (the address comes from the kernel log, which is rate-limited host-wide:
# a record without it says so)
if [ "$(jq -r .detail <<<"$F")" = kmsg ]; then
  t_is "its fault is recorded too (the supervisor tracks exec'd processes)" "$(jq -r '.wall + " " + .addr' <<<"$F")" "mmu 0x0"
else
  t_like "its fault is recorded too (the kernel log's detail was rate-limited)" "$(jq -r '.detail' <<<"$F")" "not available"
fi
# 200 denials from an exec'd process: all recorded
MA exec ex2 /bin/workload storm 4 50 unshare >/dev/null
t_is "a storm from an exec'd process: every denial recorded" \
  "$(jq -c 'select(.kind=="syscall" and .syscall=="unshare")' "$AUD/ex2.jsonl" | wc -l)" 201

# a container whose supervisor is gone: exec under its audited filter fails closed
SUP=$(jq -r '.supervisorPid // empty' "$ROOT/ex2/state.json" 2>/dev/null)
if [ -n "$SUP" ] && [ "$SUP" != 0 ]; then
  kill -9 "$SUP"
  for _ in $(seq 100); do pid_running "$SUP" || break; sleep 0.02; done
  t_like "supervisor gone: exec refuses to run unrecorded" "$(MA exec ex2 /bin/true 2>&1)" "supervisor is not running"
else
  not_ok "the supervisor's pid is in the state"
fi

# a container with a user namespace: the process is root of that namespace only
BU="$TMP/bu"
mkbundle "$BU" /bin/workload sleep 60
cfg "$BU" '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
chown -R 100000:100000 "$BU/rootfs"
t_ok "run -d with a user namespace" MA run -d --bundle "$BU" ex3
t_is "exec joins the user namespace: its uid map" "$(MA exec ex3 /bin/busybox cat /proc/self/uid_map | tr -s ' ')" " 0 100000 65536"
t_is "and runs as the container's root, host uid 100000" \
  "$(MA exec -d --pid-file "$TMP/pid3" ex3 /bin/workload sleep 5 && stat -c %u "/proc/$(cat "$TMP/pid3")")" 100000

t_ok "delete --force the containers" sh -c "'$MOAT' --root '$ROOT' delete --force ex1 && '$MOAT' --root '$ROOT' delete --force ex2 && '$MOAT' --root '$ROOT' delete --force ex3"
t_is "no process left" "$(stray_procs ex1)$(stray_procs ex2)$(stray_procs ex3)" 000
t_done
