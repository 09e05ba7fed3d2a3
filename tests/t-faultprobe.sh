#!/bin/bash
# The lossless fault source: --fault-detail bpf (and a policy's
# audit.faultDetail) load moat's BPF probe on the signal_generate
# tracepoint. Every fault the kernel raises in the container comes with its
# address, trap, error code and registers: no rate limit (500 crashes, 500
# details), handled faults too, SIGBUS too (the kernel log has neither).
. "$(dirname "$0")/lib.sh"

[ "$("$MOAT" features | jq -r '.annotations["org.moat.fault-detail"]')" = "kmsg,bpf" ] \
  || skip_all "moat was built without the BPF probe (apt-get install libbpf-dev clang, then configure)"
[ -r /sys/kernel/btf/vmlinux ] || skip_all "the kernel has no BTF (/sys/kernel/btf/vmlinux): the probe cannot load"

B="$TMP/b"
AUD="$TMP/audit"
mkbundle "$B"
cfg "$B" 'del(.linux.resources) | .root.readonly = false'
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" --fault-detail bpf "$@"; }
rec () { nohdr "$AUD/$1.jsonl" | jq -c "$2"; }
field () { nohdr "$AUD/$1.jsonl" | jq -r "$2"; }

# The probe loads (or says why not, in a notice record): skip if it cannot.
setargs "$B" /bin/workload segv
A run --bundle "$B" fp-probe >/dev/null 2>&1
WHY=$(jq -r 'select(.kind == "notice") | .what' "$AUD/fp-probe.jsonl" 2>/dev/null)
[ -z "$WHY" ] || skip_all "the probe did not load here: $WHY"

# Each boundary, with the details the kernel log would give when it is not
# rate-limited, and the si_code it never gives. No spacing out needed.
probe_case () {   # probe_case SUB EXIT SIGNAL WALL WORDS ERROR CODE
  local sub=$1 code=$2 sig=$3 wall=$4 words=$5 err=$6 si=$7
  setargs "$B" /bin/workload "$sub"
  A run --bundle "$B" "fp-$sub" >/dev/null 2>&1
  t_is "$sub: the workload died with $sig" "$?" "$code"
  t_is "$sub: one record, from the probe" "$(field "fp-$sub" '[.kind, .signal, .detail] | join(" ")')" "signal $sig bpf"
  t_is "$sub: the wall" "$(field "fp-$sub" .wall)" "$wall"
  t_is "$sub: the fault in words" "$(field "fp-$sub" .fault)" "$words"
  t_is "$sub: the error code" "$(field "fp-$sub" .error)" "$err"
  t_is "$sub: the si_code" "$(field "fp-$sub" .code)" "$si"
  t_like "$sub: the instruction pointer" "$(rec "fp-$sub" .ip)" '"0x[0-9a-f]+"'
  t_is "$sub: who (pid 1, its comm)" "$(field "fp-$sub" '"\(.nspid) \(.comm)"')" "1 workload"
}
probe_case segv 139 SIGSEGV mmu "user-mode read of a not-present page" 4 SEGV_MAPERR
probe_case segv-write 139 SIGSEGV mmu "user-mode write to a not-present page" 6 SEGV_MAPERR
probe_case wrro 139 SIGSEGV mmu "user-mode write to a present, read-only page" 7 SEGV_ACCERR
probe_case exec-nx 139 SIGSEGV mmu "user-mode instruction fetch from a present, non-executable page" 21 SEGV_ACCERR
probe_case hlt 139 SIGSEGV cpu "general protection fault" 0 SI_KERNEL
probe_case ud2 132 SIGILL cpu "invalid opcode" 0 ILL_ILLOPN
probe_case divzero 136 SIGFPE cpu "divide error" 0 FPE_INTDIV
probe_case sigbus 135 SIGBUS mmu "user-mode read of a not-present page" 4 BUS_ADRERR
t_is "segv: the address is NULL" "$(field fp-segv .addr)" 0x0
t_is "exec-nx: the address is where it jumped (= ip)" "$(field fp-exec-nx .addr)" "$(field fp-exec-nx .ip)"
t_like "sigbus: the address is in the mapping" "$(field fp-sigbus .addr)" '^0x[0-9a-f]{8,}$'

# The kernel log has no line for a SIGBUS: without the probe, no detail.
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$B" fp-sigbus-kmsg >/dev/null 2>&1
t_like "sigbus without the probe: no detail" "$(field fp-sigbus-kmsg .detail)" "^not available"

# A burst far past the kernel log's rate limit: every death has its detail.
setargs "$B" /bin/workload fork-crash 500
t_is "500 children die by SIGSEGV" "$(A run --bundle "$B" fp-burst)" "fork-crash 500 signaled=500"
t_is "500 records" "$(nohdr "$AUD/fp-burst.jsonl" | wc -l)" 500
t_is "every one with the probe's detail" "$(jq -r 'select(.detail == "bpf" and .addr == "0x0" and .error == 4) | .pid' "$AUD/fp-burst.jsonl" | sort -u | wc -l)" 500

# Faults a process handles and survives (as a JVM does): each one recorded.
setargs "$B" /bin/workload segv-handled 300
t_is "300 faults recovered by a handler" "$(A run --bundle "$B" fp-handled)" "segv-handled 300 caught=300"
t_is "300 fault records, the process survived each" "$(jq -r 'select(.kind == "fault" and .survived and .code == "SEGV_MAPERR") | .detail' "$AUD/fp-handled.jsonl" | grep -cx bpf)" 300

# Only the container's faults: one on the host at the same time is not in it.
setargs "$B" /bin/workload sleep 2
A run -d --bundle "$B" fp-quiet >/dev/null 2>&1
bash -c '"$1" segv; true' _ "$WORKLOAD" >/dev/null 2>&1
# (the container outlives the host's fault: checked once it has stopped)
wait_status fp-quiet stopped 100
t_is "a host process's fault is not the container's" "$(nohdr "$AUD/fp-quiet.jsonl" | wc -l)" 0
M delete --force fp-quiet >/dev/null 2>&1

# A policy asks for it; bad values are refused, naming the file.
setargs "$B" /bin/workload sigbus
printf '{"audit":{"faultDetail":"bpf"}}\n' > "$TMP/probe.json"
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run --policy "$TMP/probe.json" --bundle "$B" fp-policy >/dev/null 2>&1
t_is "audit.faultDetail bpf in a policy" "$(field fp-policy '.code + " " + .detail')" "BUS_ADRERR bpf"
printf '{"audit":{"faultDetail":"ebpf"}}\n' > "$TMP/bad.json"
t_like "audit.faultDetail: an unknown source is refused" "$(M run --policy "$TMP/bad.json" --bundle "$B" fp-bad 2>&1)" "bad.json.*audit.faultDetail.*kmsg.*bpf"
t_like "--fault-detail: an unknown source is refused" "$("$MOAT" --fault-detail dwarf list 2>&1)" "fault-detail must be kmsg or bpf"
t_fails "and nothing is left of the refused run" M state fp-bad

# --audit-kernel: the syscalls the kernel itself refused, at the wall that
# most likely stopped them (no seccomp filter here: the kernel decides)
mkdir -p "$B/rootfs/mnt"
printf '%s\n' '#!/bin/sh' \
  '/bin/workload syscall mount s:none s:/mnt s:tmpfs 0' \
  '/bin/workload syscall mkdir s:/newdir 0755' \
  '/bin/workload syscall sethostname s:x 1' \
  '/bin/workload syscall getpid' > "$B/rootfs/bin/refuse.sh"
chmod 755 "$B/rootfs/bin/refuse.sh"
cfg "$B" '.root.readonly = true'
setargs "$B" /bin/sh /bin/refuse.sh
OUT=$("$MOAT" --root "$ROOT" --audit-dir "$AUD" --audit-kernel run --bundle "$B" fp-kern 2>&1)
t_like "the calls fail as the kernel says" "$(echo $OUT)" "mount = -1 EPERM mkdir = -1 EROFS sethostname = -1 EPERM"
t_is "mount: refused, a missing capability" "$(jq -r 'select(.syscall == "mount") | [.kind, .wall, .errno, .capability, .args.target] | join(" ")' "$AUD/fp-kern.jsonl")" \
  "refused capabilities EPERM CAP_SYS_ADMIN /mnt"
t_is "mkdir: refused by the read-only root, the path read at the call" "$(jq -r 'select(.syscall == "mkdir") | [.wall, .errno, .args.pathname] | join(" ")' "$AUD/fp-kern.jsonl")" \
  "mount EROFS /newdir"
t_is "sethostname: CAP_SYS_ADMIN" "$(jq -r 'select(.syscall == "sethostname") | .capability' "$AUD/fp-kern.jsonl")" CAP_SYS_ADMIN
t_is "the capability was read from the process: not held" "$(jq -r 'select(.syscall == "mount") | .held' "$AUD/fp-kern.jsonl")" false
t_is "mkdir: the container's setting behind it" "$(jq -r 'select(.syscall == "mkdir") | .setting' "$AUD/fp-kern.jsonl")" root.readonly
t_is "nothing else (getpid succeeded)" "$(nohdr "$AUD/fp-kern.jsonl" | wc -l)" 3
t_like "moat audit shows the call and why" "$("$MOAT" --audit-dir "$AUD" audit fp-kern)" 'capabilities +mount\("none", "/mnt".*EPERM: the process lacks CAP_SYS_ADMIN'
t_like "explain: the wall and the change" "$("$MOAT" --audit-dir "$AUD" explain fp-kern)" "to the policy.s .capabilities. \(podman/docker: --cap-add SYS_ADMIN\)"
t_like "explain: the read-only root" "$("$MOAT" --audit-dir "$AUD" explain fp-kern)" "to allow it: root.readonly false"
# refusals past the log's budget: counted per call, errno and comm (50
# processes: a storm's threads' refusals are not reported by the probe)
printf '%s\n' '#!/bin/sh' 'i=0' 'while [ $i -lt 50 ]; do /bin/workload syscall mkdir s:/newdir 0755 >/dev/null; i=$((i + 1)); done' \
  > "$B/rootfs/bin/refuse50.sh"
chmod 755 "$B/rootfs/bin/refuse50.sh"
setargs "$B" /bin/refuse50.sh
"$MOAT" --root "$ROOT" --audit-dir "$AUD" --audit-kernel --audit-rate 10 --audit-burst 10 run --bundle "$B" fp-kbud >/dev/null 2>&1
FULL=$(jq -s '[.[] | select(.kind == "refused" and .syscall == "mkdir")] | length' "$AUD/fp-kbud.jsonl")
COUNTED=$(jq -s '[.[] | select(.kind == "aggregate" and .what == "refused" and .syscall == "mkdir") | .count] | add // 0' "$AUD/fp-kbud.jsonl")
t_is "refusals past the budget: every one counted" "$((FULL + COUNTED))" 50
t_like "... most in an aggregate" "$(jq -r 'select(.kind == "aggregate") | [.wall, .errno] | join(" ")' "$AUD/fp-kbud.jsonl" | sort -u)" "^kernel EROFS$"
setargs "$B" /bin/sh /bin/refuse.sh
"$MOAT" --root "$ROOT" --audit-dir "$AUD" --fault-detail bpf run --bundle "$B" fp-kern-off >/dev/null 2>&1
t_is "without --audit-kernel: no such records" "$(nohdr "$AUD/fp-kern-off.jsonl" | wc -l)" 0
# under an audited seccomp filter, a call the filter denied is its record
# alone (its EPERM is the filter's, not the kernel's)
printf '{"name":"deny-mount","audit":{"kernel":true},"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}}\n' > "$TMP/deny-mount.json"
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run --policy "$TMP/deny-mount.json" --bundle "$B" fp-kern-sc >/dev/null 2>&1
t_is "policy audit.kernel: the filter's denial once, the kernel's refusals after it" \
  "$(nohdr "$AUD/fp-kern-sc.jsonl" | jq -r '[.wall, .kind, .syscall] | join(" ")' | sort | tr '\n' ';')" \
  "capabilities refused sethostname;mount refused mkdir;seccomp syscall mount;"
cfg "$B" '.root.readonly = false'

# explain names the container's own setting behind a refusal: a masked or
# a read-only path; a capability held, but only in a user namespace; the
# Landlock rule that covers a path
mkdir -p "$B/rootfs/secret" "$B/rootfs/data"
printf '%s\n' '#!/bin/sh' \
  '/bin/workload syscall mkdir s:/secret/x 0755' \
  '/bin/workload syscall mkdir s:/data/x 0755' > "$B/rootfs/bin/walls.sh"
chmod 755 "$B/rootfs/bin/walls.sh"
cfg "$B" '.linux.maskedPaths += ["/secret"] | .linux.readonlyPaths += ["/data"]'
setargs "$B" /bin/sh /bin/walls.sh
OUT=$("$MOAT" --root "$ROOT" --audit-dir "$AUD" --audit-kernel run --bundle "$B" fp-walls 2>&1)
t_like "both mkdirs fail with EROFS" "$(echo $OUT)" "mkdir = -1 EROFS mkdir = -1 EROFS"
t_is "in a masked directory: linux.maskedPaths named" \
  "$(jq -r 'select(.args.pathname == "/secret/x") | [.wall, .errno, .setting] | join(" ")' "$AUD/fp-walls.jsonl")" \
  "mount EROFS linux.maskedPaths: /secret"
t_is "under a read-only path: linux.readonlyPaths named" \
  "$(jq -r 'select(.args.pathname == "/data/x") | [.wall, .errno, .setting] | join(" ")' "$AUD/fp-walls.jsonl")" \
  "mount EROFS linux.readonlyPaths: /data"
EX=$("$MOAT" --audit-dir "$AUD" explain fp-walls)
t_like "explain: drop the masked path" "$EX" "drop /secret from linux.maskedPaths .*unmask=/secret"
t_like "explain: drop the read-only path" "$EX" "drop /data from linux.readonlyPaths"
cfg "$B" '.linux.maskedPaths -= ["/secret"] | .linux.readonlyPaths -= ["/data"]'

# CAP_SYS_TIME given, in a user namespace: held, and still refused (the
# clock is the host's). settimeofday(NULL, NULL) changes nothing if allowed.
cp "$B/config.json" "$TMP/config.saved"
cfg "$B" '.linux.namespaces += [{"type":"user"}]
  | .linux.uidMappings = [{"containerID":0,"hostID":0,"size":65536}]
  | .linux.gidMappings = [{"containerID":0,"hostID":0,"size":65536}]
  | .process.capabilities |= with_entries(select(.key != "ambient" and .key != "inheritable") | .value += ["CAP_SYS_TIME"])'
setargs "$B" /bin/workload syscall settimeofday 0 0
OUT=$("$MOAT" --root "$ROOT" --audit-dir "$AUD" --audit-kernel run --bundle "$B" fp-userns 2>&1)
t_like "settimeofday with CAP_SYS_TIME in a user namespace: EPERM" "$OUT" "settimeofday = -1 EPERM"
t_is "the record: held, refused at the namespace wall" \
  "$(jq -r 'select(.syscall == "settimeofday") | [.wall, .capability, .held] | join(" ")' "$AUD/fp-userns.jsonl")" \
  "namespace CAP_SYS_TIME true"
EX=$("$MOAT" --audit-dir "$AUD" explain fp-userns)
t_like "explain: the capability is held, in the container's user namespace only" "$EX" "holds CAP_SYS_TIME, but only in the container's user namespace"
t_like "explain: so no capability there can allow it" "$EX" "no capability in the container's user namespace can allow it"
cp "$TMP/config.saved" "$B/config.json"

# a Landlock rule: the policy's filesystem lets /tmp be read, not written
if "$WORKLOAD" syscall landlock_create_ruleset 0 0 1 2>/dev/null | grep -q '^landlock_create_ruleset = [0-9]'; then
  printf '{"name":"ll","noNewPrivileges":true,"filesystem":[{"path":"/","access":["read","execute"]},{"path":"/tmp","access":["read"]}]}\n' > "$TMP/ll.json"
  setargs "$B" /bin/workload syscall mkdir s:/tmp/x 0755
  OUT=$("$MOAT" --root "$ROOT" --audit-dir "$AUD" --audit-kernel run --policy "$TMP/ll.json" --bundle "$B" fp-ll 2>&1)
  t_like "Landlock: mkdir in /tmp answers EACCES" "$OUT" "mkdir = -1 EACCES"
  t_is "the record names the rule that covers the path" \
    "$(jq -r 'select(.syscall == "mkdir") | [.wall, .setting] | join(" ")' "$AUD/fp-ll.jsonl")" "permissions filesystem: /tmp (r--)"
  t_like "explain: a filesystem rule would allow it" "$("$MOAT" --audit-dir "$AUD" explain fp-ll)" "a rule in the policy's .filesystem."
else
  ok "Landlock # SKIP this kernel has no Landlock"
fi

# the probe lives in the supervisor and goes with it (and its container)
for _ in $(seq 100); do [ "$(pgrep -f -- "--root $ROOT" | wc -l)" = 0 ] && break; sleep 0.05; done
t_is "no supervisor (and so no probe) is left" "$(pgrep -f -- "--root $ROOT" | wc -l)" 0
t_done
