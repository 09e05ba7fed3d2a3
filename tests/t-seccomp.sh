#!/bin/bash
# The syscall wall: linux.seccomp compiled and loaded before execve, every
# non-allowed call recorded by the supervisor and then answered as the rule
# says. Each case is checked inside the container and in the audit log.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
AUD="$TMP/audit"
mkbundle "$B"
cfg "$B" 'del(.linux.resources)'
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
# seccomp FILTER-JSON: set linux.seccomp
seccomp () { cfg "$B" ".linux.seccomp = $1"; }
run_in () { A run --bundle "$B" "$1"; }
log () { nohdr "$AUD/$1.jsonl"; }

# errno with errnoRet, and what the record says
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}'
setargs "$B" /bin/workload syscall mkdir s:/tmp/denied 0755
t_is "errno action: the caller gets errnoRet" "$(run_in sc-errno)" "mkdir = -1 EACCES"
R=$(log sc-errno)
t_is "one record" "$(printf '%s\n' "$R" | wc -l)" 1
t_is "record: wall and kind" "$(jq -r '.wall + " " + .kind' <<<"$R")" "seccomp syscall"
t_is "record: syscall and decoded path" "$(jq -r '.syscall + " " + .args.pathname + " " + .args.mode' <<<"$R")" "mkdir /tmp/denied 0755"
t_is "record: outcome and rule" "$(jq -r '.action + " " + .errno + " " + .rule' <<<"$R")" "errno EACCES syscalls[0]"
t_is "record: the container's view of the pid" "$(jq -r .nspid <<<"$R")" 1
t_is "record: comm" "$(jq -r .comm <<<"$R")" workload
t_like "record: host pid and time" "$(jq -r '"\(.pid) \(.time)"' <<<"$R")" "^[0-9]+ 20[0-9-]+T[0-9:.]+Z$"
t_like "moat audit shows it as a table" "$(A audit sc-errno)" 'mkdir\("/tmp/denied", 0755\) +EACCES'

# the filter is really installed in the workload
setargs "$B" /bin/workload status
t_like "Seccomp: 2 (filter mode) inside" "$(run_in sc-status)" "Seccomp:[[:space:]]+2"
# ... also with auditing off (the kernel alone enforces, no listener): then
# the filter is loaded before the privileges go when noNewPrivileges is
# false (it needs CAP_SYS_ADMIN), after them when true. A container once ran
# with Seccomp: 0 in the first case and no test saw it.
printf '{"audit":{"syscalls":false},"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}}\n' > "$TMP/noaudit.json"
printf '#!/bin/sh\n/bin/workload status\n/bin/workload syscall getppid\n' > "$B/rootfs/bin/noaudit.sh"
chmod 755 "$B/rootfs/bin/noaudit.sh"
setargs "$B" /bin/sh /bin/noaudit.sh
for nnp in false true; do
  cfg "$B" ".process.noNewPrivileges = $nnp"
  OUT=$(A run --policy "$TMP/noaudit.json" --bundle "$B" "sc-noaudit-$nnp" 2>&1)
  t_like "audit off, noNewPrivileges $nnp: the filter is on (Seccomp: 2)" "$OUT" "Seccomp:[[:space:]]+2"
  t_like "audit off, noNewPrivileges $nnp: a denied call is denied" "$OUT" "getppid = -1 EPERM"
  t_like "audit off, noNewPrivileges $nnp: NoNewPrivs as asked" "$OUT" "NoNewPrivs:[[:space:]]+$([ $nnp = true ] && echo 1 || echo 0)"
done
cfg "$B" '.process.noNewPrivileges = true'

# default action errno with an allowlist: the default's errno, rule "default"
seccomp '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{"names":["execve","brk","arch_prctl","set_tid_address","set_robust_list","rseq","prlimit64","mprotect","mmap","munmap","readlink","getrandom","write","exit_group","exit","uname","newfstatat","fstat","read","close","rt_sigaction","rt_sigprocmask","sigaltstack","futex","getpid"],"action":"SCMP_ACT_ALLOW"}]}'
setargs "$B" /bin/workload syscall getppid
t_is "default errno for a call outside the allowlist" "$(run_in sc-default)" "getppid = -1 EPERM"
t_is "recorded against the default rule" "$(log sc-default | jq -r 'select(.syscall=="getppid") | .rule')" default
setargs "$B" /bin/workload syscall getpid
t_like "an allowed call runs" "$(run_in sc-allowed)" "^getpid = [0-9]+$"
t_is "and leaves no record" "$(log sc-allowed | jq -r 'select(.syscall=="getpid")' | wc -l)" 0

# kill_process, kill_thread: SIGSYS outside a pid namespace, SIGKILL for pid 1
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
setargs "$B" /bin/workload syscall getppid
cfg "$B" '.linux.namespaces |= map(select(.type != "pid"))'
run_in sc-kill >/dev/null 2>&1
t_is "kill_process: the process dies by SIGSYS (128+31)" "$?" 159
t_is "record: kill_process with SIGSYS" "$(log sc-kill | jq -r 'select(.kind=="syscall") | .action + " " + .signal')" "kill_process SIGSYS"
t_is "and the death by SIGSYS is recorded too" "$(log sc-kill | jq -r 'select(.kind=="signal") | .wall + " " + .signal')" "seccomp SIGSYS"
cfg "$B" '.linux.namespaces += [{"type":"pid"}]'
run_in sc-kill1 >/dev/null 2>&1
t_is "kill_process of pid 1 of a pid namespace: SIGKILL (137)" "$?" 137
t_is "record says SIGKILL" "$(log sc-kill1 | jq -r 'select(.kind=="syscall") | .signal')" SIGKILL
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_KILL_THREAD"}]}'
cfg "$B" '.linux.namespaces |= map(select(.type != "pid"))'
run_in sc-killt >/dev/null 2>&1
t_is "kill_thread: dies by SIGSYS" "$?" 159
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_TRAP"}]}'
run_in sc-trap >/dev/null 2>&1
t_is "trap without a handler: dies by SIGSYS" "$?" 159
t_is "record: trap" "$(log sc-trap | jq -r 'select(.kind=="syscall") | .action')" trap
cfg "$B" '.linux.namespaces += [{"type":"pid"}]'

# a kill from a thread other than the first of pid 1 still kills (pid 1
# ignores an outside SIGSYS it has no handler for: SIGKILL it is)
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
setargs "$B" /bin/workload storm 2 1 getppid
timeout 20 "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$B" sc-killmt >/dev/null 2>&1
t_is "kill_process from a second thread of pid 1: the process dies" "$?" 137
t_is "and the record says SIGKILL" "$(log sc-killmt | jq -r 'select(.kind=="syscall") | .signal' | sort -u)" SIGKILL

# a rule's errnoRet defaults to EPERM, whatever defaultErrnoRet says
seccomp '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"},{"names":["execve","brk","arch_prctl","set_tid_address","set_robust_list","rseq","prlimit64","mprotect","mmap","munmap","readlink","getrandom","write","exit_group","exit","uname","newfstatat","fstat","read","close","rt_sigaction","rt_sigprocmask","sigaltstack","futex"],"action":"SCMP_ACT_ALLOW"}]}'
setargs "$B" /bin/workload syscall getppid
t_is "errnoRet defaults to EPERM" "$(run_in sc-eperm)" "getppid = -1 EPERM"

# log: allowed, recorded
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_LOG"}]}'
setargs "$B" /bin/workload syscall getppid
t_is "log: the call succeeds (ppid 0 for pid 1)" "$(run_in sc-log)" "getppid = 0"
t_is "log: and is recorded" "$(log sc-log | jq -r '.syscall + " " + .action')" "getppid log"

# trace with no tracer: ENOSYS, as the kernel answers
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_TRACE"}]}'
t_is "trace without a tracer: ENOSYS" "$(run_in sc-trace)" "getppid = -1 ENOSYS"

# argument filters: socket(AF_UNIX) only
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_NE"}]}]}'
setargs "$B" /bin/workload syscall socket AF_UNIX SOCK_STREAM 0
t_like "arg filter: socket(AF_UNIX) allowed" "$(run_in sc-unix)" "^socket = [0-9]+$"
setargs "$B" /bin/workload syscall socket AF_INET SOCK_STREAM 0
t_is "arg filter: socket(AF_INET) denied" "$(run_in sc-inet)" "socket = -1 EPERM"
t_is "record decodes the family and type" "$(log sc-inet | jq -r '.args.domain + " " + .args.type')" "AF_INET SOCK_STREAM"
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":255,"valueTwo":8,"op":"SCMP_CMP_MASKED_EQ"}]}]}'
setargs "$B" /bin/workload syscall personality 0x0008
t_is "MASKED_EQ matches" "$(run_in sc-masked)" "personality = -1 EPERM"
setargs "$B" /bin/workload syscall personality 0xffffffff
t_like "MASKED_EQ does not match" "$(run_in sc-masked2)" "^personality = [0-9]+$"

# Docker profile syntax: name, includes/excludes by capability
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
  {"name":"getppid","action":"SCMP_ACT_ERRNO","errnoRet":1,"includes":{"caps":["CAP_SYS_ADMIN"]}},
  {"names":["getuid"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"excludes":{"caps":["CAP_SYS_ADMIN"]}}]}'
setargs "$B" /bin/workload syscall getppid
t_is "includes.caps: a rule for CAP_SYS_ADMIN holders does not apply" "$(run_in sc-inc)" "getppid = 0"
setargs "$B" /bin/workload syscall getuid
t_is "excludes.caps: a rule excluded for CAP_SYS_ADMIN holders applies" "$(run_in sc-exc)" "getuid = -1 EPERM"

# names unknown to this libseccomp are skipped, not fatal (as runc)
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_call","getppid"],"action":"SCMP_ACT_ERRNO"}]}'
setargs "$B" /bin/workload syscall getppid
t_is "an unknown name is skipped, the rest applies" "$(run_in sc-unknown)" "getppid = -1 EPERM"

# no_new_privs off and a non-root user: the filter still loads (before the drop)
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}'
cfg "$B" '.process.noNewPrivileges = false | .process.user = {"uid":1000,"gid":1000}'
t_is "filter without no_new_privs for uid 1000" "$(run_in sc-nonnp)" "getppid = -1 EPERM"
setargs "$B" /bin/workload status
t_like "and no_new_privs stays off" "$(run_in sc-nonnp2)" "NoNewPrivs:[[:space:]]+0"
cfg "$B" '.process.noNewPrivileges = true | .process.user = {"uid":0,"gid":0}'

# a storm: 8 threads x 10,000 denied calls -> exactly 80,000 records (in
# full: no budget, see t-auditlog for the one past it)
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}'
setargs "$B" /bin/workload storm 8 10000 getppid
OUT=$(A --audit-rate 0 --audit-max-size 0 run --bundle "$B" sc-storm)
t_like "every call in the storm was denied" "$OUT" "storm getppid ok=0 EPERM=80000"
t_is "exactly 80,000 records: none lost" "$(log sc-storm | wc -l)" 80000
t_is "10,000 from each of 8 threads" "$(log sc-storm | jq -r .tid | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')" "10000 "
t_is "8 threads" "$(log sc-storm | jq -r .tid | sort -u | wc -l)" 8
t_is "records are in time order per thread" \
  "$(log sc-storm | jq -r '"\(.tid) \(.time)"' | awk '{ if ($1 in last && $2 < last[$1]) bad++; last[$1]=$2 } END {print bad+0}')" 0

# where the supervisor answers from, on a v1 cpu hierarchy: a lone calling
# thread's calls from the container's cpu cgroup (a wake-up within one group
# is cheaper), several threads' from the supervisor's own; either way the
# supervisor is not one of the container's processes
if [ -d /sys/fs/cgroup/cpu ] && [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  # ID: how many of the supervisor's threads are in the container's cpu cgroup
  sup_in_cpu () {
    local sup cg t n=0
    sup=$(jq -r .supervisorPid "$ROOT/$1/state.json")
    cg=$(jq -r .cgroupPath "$ROOT/$1/state.json")
    for t in $(cat "/sys/fs/cgroup/cpu$cg/tasks"); do [ -d "/proc/$sup/task/$t" ] && n=$((n + 1)); done
    echo "$n"
  }
  for n in 1 8; do
    setargs "$B" /bin/workload storm $n 1000000 getppid
    A create --bundle "$B" sc-cpu$n >/dev/null 2>&1
    SUP=$(jq -r .supervisorPid "$ROOT/sc-cpu$n/state.json")
    A start sc-cpu$n
    sleep 0.5
    # every thread that answers calls (one per CPU, 4 at most): their work
    # is the container's, its cpu limits count it
    want=$(( $(nproc) < 4 ? $(nproc) : 4 ))
    t_is "$n calling thread(s): the supervisor's answering threads are in the container's cpu cgroup ($want)" "$(sup_in_cpu sc-cpu$n)" "$want"
    t_unlike "$n calling thread(s): moat ps does not list the supervisor" "$(A ps sc-cpu$n | awk '{print $2}')" "^$SUP\$"
    t_ok "$n calling thread(s): delete --force in the middle of the storm" A delete --force sc-cpu$n
    t_fails "$n calling thread(s): the container's cgroup is gone" cgroup_exists sc-cpu$n
  done
else
  ok "the supervisor's cpu cgroup # SKIP no v1 cpu hierarchy"
fi

# the supervisor dies: denied calls fail (closed), the workload is not hung
# (the workload waits for the test to say the supervisor is gone, bounded)
rm -f "$B/rootfs/sup-gone"
printf '#!/bin/sh\ni=0\nwhile [ ! -e /sup-gone ] && [ $i -lt 400 ]; do /bin/busybox sleep 0.05; i=$((i + 1)); done\n/bin/workload syscall getppid\n/bin/workload syscall getpid\n' > "$B/rootfs/bin/closed.sh"
chmod 755 "$B/rootfs/bin/closed.sh"
setargs "$B" /bin/sh /bin/closed.sh
A create --bundle "$B" sc-closed > "$TMP/closed.out" 2>&1
SUP=$(jq -r .supervisorPid "$ROOT/sc-closed/state.json")
t_like "the container has a supervisor" "$SUP" "^[1-9][0-9]*$"
PP=$(awk '/^PPid/ {print $2}' /proc/"$(jq -r .pid "$ROOT/sc-closed/state.json")"/status)
t_like "which is not the init's parent (PPid $PP)" "$([ -n "$PP" ] && [ "$PP" != "$SUP" ] && echo other)" "^other$"
A start sc-closed
kill -9 "$SUP"
for _ in $(seq 100); do pid_running "$SUP" || break; sleep 0.05; done
touch "$B/rootfs/sup-gone"
t_ok "the workload ends on its own" wait_status sc-closed stopped 50
t_like "a filtered call fails closed with ENOSYS" "$(cat "$TMP/closed.out")" "getppid = -1 ENOSYS"
t_like "an allowed call still works" "$(cat "$TMP/closed.out")" "getpid = [0-9]+"
A delete sc-closed

# the supervisor is killed in the middle of a storm: the records it took
# down (in its spool) and had not written yet reach the log at delete, each
# call exactly once. The calls carry their index (arg0), one thread: the
# calls denied before the kill are 0..K-1, and the one the supervisor may
# have taken down without answering (it died first) is K.
setargs "$B" /bin/workload storm 1 300000 getppid seq
A --audit-rate 0 --audit-max-size 0 create --bundle "$B" sc-spool > "$TMP/spool.out" 2>&1
SUP=$(jq -r .supervisorPid "$ROOT/sc-spool/state.json")
A start sc-spool
# some calls denied and taken down first (bounded)
for _ in $(seq 200); do grep -q '"kind":"syscall"' "$AUD/sc-spool.jsonl" 2>/dev/null && break; sleep 0.02; done
kill -9 "$SUP"
# (watched by its pid: a `moat state` would find the supervisor gone under
# a running container, and write the spool and a notice itself)
INIT=$(jq -r .pid "$ROOT/sc-spool/state.json")
for _ in $(seq 100); do pid_running "$INIT" || break; sleep 0.1; done
t_fails "the storm ends on its own" pid_running "$INIT"
t_ok "the dead supervisor's spool is left beside the log" test -f "$AUD/sc-spool.spool"
K=$(sed -n 's/.* EPERM=\([0-9]*\).*/\1/p' "$TMP/spool.out")
t_like "some calls were denied before the kill, the rest failed closed" "$(cat "$TMP/spool.out")" "EPERM=[1-9][0-9]* ENOSYS=[1-9]"
A --debug delete sc-spool > "$TMP/spool.del" 2>&1
diag "delete: $(grep -o '[0-9]* records its supervisor left' "$TMP/spool.del" || echo 'nothing left in the spool')"
t_fails "delete empties the spool and removes it" test -e "$AUD/sc-spool.spool"
jq -r 'select(.kind == "syscall") | .args.arg0' "$AUD/sc-spool.jsonl" | sort > "$TMP/spool.got"
N=$(wc -l < "$TMP/spool.got")
t_like "a record for each denied call, and at most the one in flight ($K denied)" "$N" "^($K|$((K + 1)))\$"
seq 0 $((N - 1)) | awk '{ printf "0x%x\n", $1 }' | sort > "$TMP/spool.want"
t_ok "each call once: the records are calls 0..N-1, no gap, no repeat" cmp -s "$TMP/spool.got" "$TMP/spool.want"

# no room for the spool (an audit directory on a full file system): the
# container still starts, and its supervisor writes each record as it comes
FULL="$TMP/fullaud"
mkdir -p "$FULL"
if mount -t tmpfs -o size=64k,mode=700 moat-test-full "$FULL"; then
  # one page left: room for a record, not for a spool (a spool on pages it
  # could not get was a supervisor killed by SIGBUS)
  dd if=/dev/zero of="$FULL/filler" bs=1k count=60 2>/dev/null
  setargs "$B" /bin/workload syscall getppid
  t_is "a full audit directory: the container runs, the call denied" \
    "$("$MOAT" --root "$ROOT" --audit-dir "$FULL" run --bundle "$B" sc-full 2>&1)" "getppid = -1 EPERM"
  t_is "its record is in the log all the same" "$(nohdr "$FULL/sc-full.jsonl" | jq -r .syscall 2>&1)" getppid
  t_fails "and no spool was made" test -e "$FULL/sc-full.spool"
  umount "$FULL"
else
  ok "a full audit directory # SKIP cannot mount a tmpfs here"
fi

# the supervisor leaves with the container
setargs "$B" /bin/workload sleep 30
A create --bundle "$B" sc-life >/dev/null
SUP=$(jq -r .supervisorPid "$ROOT/sc-life/state.json")
A delete --force sc-life
for _ in $(seq 100); do pid_running "$SUP" || break; sleep 0.02; done
t_fails "the supervisor exits when the container is deleted" pid_running "$SUP"

# the log outlives delete; a new container of the same id rotates it
t_ok "the audit log is still there after delete" test -s "$AUD/sc-errno.jsonl"
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}'
setargs "$B" /bin/workload syscall mkdir s:/tmp/again 0755
run_in sc-errno >/dev/null
t_ok "the earlier log is kept as .1" test -s "$AUD/sc-errno.jsonl.1"
t_is "the new log has the new run only" "$(nohdr "$AUD/sc-errno.jsonl" | jq -r .args.pathname)" /tmp/again

# moat audit: filters and summary
t_is "audit --json --syscall" "$(A audit --json --syscall socket sc-inet | jq -r .syscall)" socket
t_like "audit --summary counts per syscall" "$(A audit --summary sc-storm)" "80000 +seccomp +getppid +EPERM"
t_fails "audit of an id with no log fails" A audit sc-nolog
t_like "with a clear message" "$(A audit sc-nolog 2>&1)" "no audit log for container"

# an external agent (listenerPath) gets the listener, with the container
# process state, and answers the SCMP_ACT_NOTIFY calls
AGENT="$TMP/agent.sock"
# The agent answers once and exits; one that does not must not hold the test
# until guard.sh's limit: 20 s, then it is ended and the test says so.
wait_agent () {
  local i
  for i in $(seq 200); do kill -0 "$AGPID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$AGPID" 2>/dev/null; then
    kill -9 "$AGPID"; not_ok "the agent ended within 20 s"; diag "$(cat "$TMP"/agent*.out)"
  fi
  wait "$AGPID" 2>/dev/null
}
"$WORKLOAD" agent "$AGENT" 113 1 > "$TMP/agent.out" 2>&1 &
AGPID=$!
for i in $(seq 50); do [ -S "$AGENT" ] && break; sleep 0.05; done
seccomp "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$AGENT\",\"listenerMetadata\":\"meta-1\",\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"},{\"names\":[\"getuid\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"
setargs "$B" /bin/workload syscall getppid
t_is "listenerPath: the agent answers the notified call" "$(timeout 20 "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$B" sc-agent)" "getppid = -1 EHOSTUNREACH"
wait_agent
STATE=$(sed -n 's/^agent-state //p' "$TMP/agent.out")
t_is "the agent got the container process state: fds and metadata" "$(jq -r '(.fds|join(",")) + " " + .metadata' <<<"$STATE")" "seccompFd meta-1"
t_is "with the container's state" "$(jq -r '.state.id + " " + (.state.pid == .pid | tostring)' <<<"$STATE")" "sc-agent true"
t_like "the audit log says who holds the listener" "$(log sc-agent | jq -r 'select(.kind=="notice") | .what')" "belongs to the external agent"
"$WORKLOAD" agent "$AGENT" 113 0 > "$TMP/agent2.out" 2>&1 &
AGPID=$!
for i in $(seq 50); do [ -S "$AGENT" ] && grep -q ready "$TMP/agent2.out" && break; sleep 0.05; done
setargs "$B" /bin/workload syscall getuid
t_is "the other rules are still enforced (by the kernel)" "$(timeout 20 "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$B" sc-agent2 2>&1 | tail -n 1)" "getuid = -1 EPERM"
wait_agent
rm -f "$AGENT"
setargs "$B" /bin/workload syscall getppid
OUT=$(timeout 20 "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$B" sc-noagent 2>&1); RC=$?
t_is "no agent listening: the start fails" "$RC" 1
t_like "naming the listenerPath" "$OUT" "listenerPath .*agent.sock.*connect"
t_fails "and nothing is left" test -e "$ROOT/sc-noagent"

# One verdict in every ABI. The supervisor decides again what each call it
# is handed gets; it must answer as the kernel's filter would, for x32
# calls (the kernel reports them with x86_64's arch and the 0x40000000 bit)
# and i386 ones (int $0x80, here from a 64-bit process whose registers'
# high words are set: the kernel runs the call on the low words), and
# record each under its own ABI's name.
seccomp '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[{"names":["mkdir","mkdirat","unshare"],"action":"SCMP_ACT_ERRNO"},{"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":97,"args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"}]}]}'
cat > "$B/rootfs/bin/abi.sh" <<'EOF'
#!/bin/sh
/bin/workload syscall-nr 0x40000053 s:/tmp/x32dir 0755
/bin/workload syscall mkdir s:/tmp/after 0755
/bin/workload syscall32 39 s:/tmp/i386dir 0755
/bin/workload syscall32 359 0x100000028 1 0
/bin/workload exists /tmp/after && echo CREATED /tmp/after
/bin/workload exists /tmp/i386dir && echo CREATED /tmp/i386dir
exit 0
EOF
chmod 755 "$B/rootfs/bin/abi.sh"
setargs "$B" /bin/abi.sh
OUT=$(run_in sc-abi)
t_like "x32 mkdir is refused" "$OUT" "^0x40000053 = -1 EPERM$"
t_like "... and the native mkdir after it still is (not answered from the x32 call's slot)" "$OUT" "^mkdir = -1 EPERM$"
t_like "i386 mkdir is refused" "$OUT" "^39 = -1 EPERM$"
t_like "i386 socket(AF_VSOCK) with the high word set is refused as the filter says" "$OUT" "^359 = -1 EAFNOSUPPORT$"
t_unlike "nothing was created" "$OUT" "CREATED"
R=$(log sc-abi)
t_is "records: each call under its own ABI and name" \
  "$(jq -r 'select(.kind=="syscall") | "\(.arch) \(.syscall) \(.nr) \(.action) \(.rule)"' <<<"$R")" \
  "x32 mkdir 1073741907 errno syscalls[0]
x86_64 mkdir 83 errno syscalls[0]
x86 mkdir 39 errno syscalls[0]
x86 socket 359 errno syscalls[1]"
t_is "the i386 records show what the kernel used: the path and AF_VSOCK" \
  "$(jq -r 'select(.arch=="x86") | .args.pathname // .args.domain' <<<"$R" | tr '\n' ' ')" "/tmp/i386dir AF_VSOCK "

# Under policies/default.json: an x32 call does not blind the log to the
# native calls of the same number.
POLDIR="$(cd "$(dirname "$0")/../policies" && pwd)"
cfg "$B" 'del(.linux.seccomp)'
cat > "$B/rootfs/bin/abi.sh" <<'EOF'
#!/bin/sh
/bin/workload syscall-nr 0x40000110 0x20000
/bin/workload syscall unshare 0x20000
exit 0
EOF
OUT=$(A run --policy "$POLDIR/default.json" --bundle "$B" sc-abi2)
t_like "default.json: native unshare refused after an x32 one" "$OUT" "^unshare = -1 EPERM$"
t_is "default.json: both recorded by name, each under its ABI" \
  "$(log sc-abi2 | jq -r 'select(.kind=="syscall" and (.syscall=="unshare" or .nr==1073742096)) | "\(.arch) \(.syscall)"')" \
  "x32 unshare
x86_64 unshare"

# bad seccomp input: one clear line with the JSON path, nothing left behind
bad () {   # bad DESC FILTER PATTERN
  seccomp "$2"
  OUT=$(A create --bundle "$B" sc-bad 2>&1); RC=$?
  t_is "$1: exit 1" "$RC" 1
  t_like "$1: error" "$OUT" "$3"
  t_fails "$1: no state left" test -e "$ROOT/sc-bad"
  t_fails "$1: no cgroup left" cgroup_exists sc-bad
}
bad "unknown action" '{"defaultAction":"SCMP_ACT_FROB"}' 'linux.seccomp.defaultAction: unknown action `SCMP_ACT_FROB`'
bad "missing defaultAction" '{"syscalls":[]}' "linux.seccomp.defaultAction: required field missing"
bad "bad operator" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_XX"}]}]}' 'syscalls\[0\].args\[0\].op: unknown operator'
bad "arg index out of range" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}' 'args\[0\].index: must be 0 to 5'
bad "names of the wrong type" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":"read","action":"SCMP_ACT_ERRNO"}]}' 'syscalls\[0\].names: expected array of strings'
bad "unknown architecture" '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_Z80"]}' 'architectures\[0\]: unknown architecture'
bad "notify without a listener" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]}' "needs a listenerPath"
t_done
