#!/bin/bash
# Learn and explain: run --learn, policy generate --from-audit (the round
# trip: fails under strict, passes under the generated policy, while a call
# it never made stays denied), moat explain, policy test (the compiled
# filter run on a crafted call) and policy diff.
. "$(dirname "$0")/lib.sh"

POL=$(cd "$(dirname "$0")/../policies" && pwd)
AUD="$TMP/audit"
MA () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
B="$TMP/b"
mkbundle "$B" /bin/workload mkdir /tmp/newdir
cfg "$B" '.root.readonly = false'
fresh () { rm -rf "$B/rootfs/tmp/newdir"; }

# the round trip
fresh
OUT=$(MA run --bundle "$B" --policy "$POL/strict.json" lr1 2>&1); RC=$?
t_like "under strict.json the workload fails: mkdir is denied" "$RC $OUT" "^1 .*mkdir /tmp/newdir: Operation not permitted"
fresh
t_ok "under --learn (strict as the base) it runs" MA run --bundle "$B" --policy "$POL/strict.json" --learn lr2
t_is "and the directory was made" "$([ -d "$B/rootfs/tmp/newdir" ] && echo yes)" yes
R=$(jq -c 'select(.kind=="syscall")' "$AUD/lr2.jsonl")
t_is "learn records the call the base would stop, as log" "$(jq -r '.syscall + " " + .action + " " + .args.pathname' <<<"$R")" \
  "mkdir log /tmp/newdir"
t_is "naming the base and the mode" "$(jq -r .policy <<<"$R")" "strict (learn)"
GEN="$TMP/generated.json"
t_ok "policy generate --from-audit lr2 --base strict.json -o FILE" MA policy generate --from-audit lr2 --base "$POL/strict.json" -o "$GEN"
t_ok "the generated policy checks" MA policy check "$GEN"
t_is "it is named after the base" "$(jq -r .name "$GEN")" strict-learned
t_is "it adds exactly mkdir" "$(jq -c '[.seccomp.syscalls[] | select(.comment // "" | startswith("learned")) | .names[]]' "$GEN")" '["mkdir"]'
t_like "with a comment naming who needed it" "$(jq -r '.seccomp.syscalls[-1].comment' "$GEN")" "learned from container lr2: pid 1 \(workload\)"
t_is "and keeps every rule of the base" "$(( $(jq '.seccomp.syscalls | length' "$GEN") - 1 ))" "$(jq '.seccomp.syscalls | length' "$POL/strict.json")"
fresh
t_ok "under the generated policy the workload runs" MA run --bundle "$B" --policy "$GEN" lr3
t_is "and mkdir is no longer recorded as stopped" "$(jq -c 'select(.kind=="syscall")' "$AUD/lr3.jsonl" 2>/dev/null | wc -l)" 0
setargs "$B" /bin/workload syscall unshare CLONE_NEWUTS
t_is "a call the learn run never made stays denied" "$(MA run --bundle "$B" --policy "$GEN" lr4 2>&1)" "unshare = -1 EPERM"
# capabilities: --learn also loads the probe, so a call the filter lets
# through and the kernel refuses for want of a capability is recorded; the
# generated policy grants that capability, and no other
touch "$B/rootfs/tmp/owned"
setargs "$B" /bin/workload syscall chown s:/tmp/owned 1000 1000
t_like "under strict: chown is denied (by the filter)" "$(MA run --bundle "$B" --policy "$POL/strict.json" lc1 2>&1)" "chown = -1 EPERM"
MA run --bundle "$B" --policy "$POL/strict.json" --learn lc2 > "$TMP/lc2.out" 2>&1
if [ "$(jq -r 'select(.kind == "refused") | .syscall' "$AUD/lc2.jsonl")" = chown ]; then
  t_like "under --learn it reaches the kernel, which refuses it" "$(cat "$TMP/lc2.out")" "chown = -1 EPERM"
  t_is "the record: CAP_CHOWN, which the process did not hold" \
    "$(jq -r 'select(.kind == "refused") | [.wall, .capability, .held] | join(" ")' "$AUD/lc2.jsonl")" "capabilities CAP_CHOWN false"
  MA policy generate --from-audit lc2 --base "$POL/strict.json" -o "$TMP/cap.json" 2>"$TMP/cap.added"
  t_is "generate adds the call and the capability" \
    "$(jq -c '[[.seccomp.syscalls[] | select(.comment // "" | startswith("learned")) | .names[]], .capabilities]' "$TMP/cap.json")" \
    '[["chown"],["CAP_CHOWN"]]'
  t_like "and says so" "$(cat "$TMP/cap.added")" "added capability CAP_CHOWN \(pid 1, workload, for chown\)"
  t_is "under the generated policy chown works" "$(MA run --bundle "$B" --policy "$TMP/cap.json" lc3 2>&1)" "chown = 0"
  t_is "(the file is the new owner's)" "$(stat -c %u:%g "$B/rootfs/tmp/owned")" 1000:1000
  setargs "$B" /bin/workload caps
  t_like "and the process holds CAP_CHOWN alone (CapEff 0x1)" "$(MA run --bundle "$B" --policy "$TMP/cap.json" lc4 2>&1)" "CapEff:[[:space:]]*0+1$"
  setargs "$B" /bin/workload syscall sethostname s:x 1
  t_like "a capability the learn run never needed stays out" "$(MA run --bundle "$B" --policy "$TMP/cap.json" lc5 2>&1)" "sethostname = -1 EPERM"
  # a base without "capabilities" leaves config.json's in force: said, not added
  jq 'del(.capabilities)' "$POL/strict.json" > "$TMP/strict-nocaps.json"
  t_like "a base without capabilities: the capability is named, not added" \
    "$(MA policy generate --from-audit lc2 --base "$TMP/strict-nocaps.json" -o "$TMP/cap2.json" 2>&1)" \
    "not added: capability CAP_CHOWN .*add it to config.json's process.capabilities"
  t_is "and the policy has none" "$(jq -c .capabilities "$TMP/cap2.json")" null
  # a read-only path the run needed to write: dropped from the policy's list
  mkdir -p "$B/rootfs/data"
  jq '.readonlyPaths = ["/data", "/proc/sys"]' "$POL/strict.json" > "$TMP/strict-ro.json"
  setargs "$B" /bin/workload mkdir /data/x
  MA run --bundle "$B" --policy "$TMP/strict-ro.json" --learn lp1 >/dev/null 2>&1
  t_is "--learn: the write under a read-only path is a refusal naming it" \
    "$(jq -r 'select(.kind == "refused") | .setting' "$AUD/lp1.jsonl")" "linux.readonlyPaths: /data"
  MA policy generate --from-audit lp1 --base "$TMP/strict-ro.json" -o "$TMP/ro.json" 2>"$TMP/ro.added"
  t_is "generate drops exactly that path" "$(jq -c .readonlyPaths "$TMP/ro.json")" '["/proc/sys"]'
  t_like "and says so" "$(cat "$TMP/ro.added")" "dropped /data from readonlyPaths"
  t_ok "under the generated policy the write works" MA run --bundle "$B" --policy "$TMP/ro.json" lp2
  t_is "(the directory is there)" "$([ -d "$B/rootfs/data/x" ] && echo yes)" yes
else
  ok "capabilities # SKIP the fault probe did not load: $(jq -r 'select(.kind == "notice") | .what' "$AUD/lc2.jsonl" | head -1)"
fi
setargs "$B" /bin/workload mkdir /tmp/newdir

t_like "generate from a log with nothing stopped says so" "$(MA policy generate --from-audit lr3 --base "$POL/strict.json" -o "$TMP/same.json" 2>&1)" "no stopped call"
t_like "generate without --from-audit" "$(MA policy generate --base "$POL/strict.json" 2>&1)" "needs --from-audit"
t_like "generate for an unknown container" "$(MA policy generate --from-audit nosuch --base "$POL/strict.json" 2>&1)" "audit log of \`nosuch\`"

# argument filters where the record names the value: socket(AF_UNIX) only
setargs "$B" /bin/workload syscall socket 1 1 0
t_ok "--learn a socket(AF_UNIX) call under strict" MA run --bundle "$B" --policy "$POL/strict.json" --learn lr8
MA policy generate --from-audit lr8 --base "$POL/strict.json" -o "$TMP/sock.json" 2>"$TMP/sock.added"
t_like "generate says it filters the family" "$(cat "$TMP/sock.added")" "added socket with arg0 == 1"
t_is "the rule carries the argument filter" "$(jq -c '.seccomp.syscalls[-1] | [.names, .args]' "$TMP/sock.json")" \
  '[["socket"],[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]]'
t_like "under it socket(AF_UNIX) works" "$(MA run --bundle "$B" --policy "$TMP/sock.json" lr9 2>&1)" "^socket = [0-9]+$"
setargs "$B" /bin/workload syscall socket 2 1 0
t_is "and socket(AF_INET), never asked for, stays denied" "$(MA run --bundle "$B" --policy "$TMP/sock.json" lr10 2>&1)" "socket = -1 EPERM"

# the same for an ioctl request, a prctl option and clone's flags: the
# value learned is allowed, a neighbour never asked for stays denied
learn_arg () {   # learn_arg NAME RULE-ARGS-JSON ARGS... -- OTHER-ARGS...
  local name=$1 want=$2; shift 2
  local args=() other=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
  other=("$@")
  setargs "$B" /bin/workload syscall "${args[@]}"
  t_like "$name: denied under strict" "$(MA run --bundle "$B" --policy "$POL/strict.json" "la-$name-1" 2>&1)" "= -1 EPERM"
  MA run --bundle "$B" --policy "$POL/strict.json" --learn "la-$name-2" >/dev/null 2>&1
  MA policy generate --from-audit "la-$name-2" --base "$POL/strict.json" -o "$TMP/la-$name.json" 2>/dev/null
  t_is "$name: the generated rule filters the argument" "$(jq -c '.seccomp.syscalls[-1] | [.names, .args]' "$TMP/la-$name.json")" "$want"
  t_unlike "$name: allowed under the generated policy" "$(MA run --bundle "$B" --policy "$TMP/la-$name.json" "la-$name-3" 2>&1)" "EPERM"
  setargs "$B" /bin/workload syscall "${other[@]}"
  t_like "$name: another value stays denied" "$(MA run --bundle "$B" --policy "$TMP/la-$name.json" "la-$name-4" 2>&1)" "= -1 EPERM"
}
# FIONREAD (0x541B) learned; FIONBIO (0x5421) not
learn_arg ioctl '[["ioctl"],[{"index":1,"value":21531,"op":"SCMP_CMP_EQ"}]]' ioctl 0 0x541B 0 -- ioctl 0 0x5421 0
# PR_SET_NAME (15) learned; PR_GET_NAME (16) not
learn_arg prctl '[["prctl"],[{"index":0,"value":15,"op":"SCMP_CMP_EQ"}]]' prctl 15 s:learned 0 0 0 -- prctl 16 0 0 0 0
# a plain fork's clone(SIGCHLD) learned; CLONE_NEWUSER|SIGCHLD not
learn_arg clone '[["clone"],[{"index":0,"value":17,"op":"SCMP_CMP_EQ"}]]' clone 17 0 0 0 0 -- clone 0x10000011 0 0 0 0

# the same loop with a busybox shell script as the workload
if [ -n "$BUSYBOX" ]; then
  cfg "$B" '.process.args = ["/bin/busybox", "sh", "-c", "mkdir -p /tmp/sh-made && echo made > /tmp/sh-made/f && cat /tmp/sh-made/f"]'
  rm -rf "$B/rootfs/tmp/sh-made"
  OUT=$(MA run --bundle "$B" --policy "$POL/strict.json" lb1 2>&1)
  t_unlike "busybox sh under strict.json does not get through" "$OUT" "^made$"
  rm -rf "$B/rootfs/tmp/sh-made"
  t_is "under --learn it does" "$(MA run --bundle "$B" --policy "$POL/strict.json" --learn lb2 2>&1)" made
  MA policy generate --from-audit lb2 --base "$POL/strict.json" -o "$TMP/sh.json" 2>"$TMP/sh.added"
  t_like "generate lists what the shell needed" "$(cat "$TMP/sh.added")" "^moat: added [a-z0-9_]+ \(pid"
  rm -rf "$B/rootfs/tmp/sh-made"
  t_is "under the generated policy it runs" "$(MA run --bundle "$B" --policy "$TMP/sh.json" lb3 2>&1)" made
  t_is "with nothing stopped" "$(jq -c 'select(.kind=="syscall")' "$AUD/lb3.jsonl" 2>/dev/null | wc -l)" 0
else
  for i in 1 2 3 4 5; do ok "# SKIP no busybox"; done
fi

# explain
OUT=$(MA explain lr1)
t_like "explain: the wall and the rule" "$OUT" "^mkdir \(pid 1, workload\): stopped by the seccomp filter: default of policy \`strict\` answered errno EPERM"
t_like "explain: the smallest change" "$OUT" "add \{\"names\": \[\"mkdir\"\], \"action\": \"SCMP_ACT_ALLOW\"\}"
setargs "$B" /bin/workload segv
MA run --bundle "$B" lr5 >/dev/null 2>&1
OUT=$(MA explain lr5)
# (the address comes from the kernel log, which may be rate-limited: not asserted here)
t_like "explain a fault: raised by the CPU or the MMU" "$OUT" "^SIGSEGV \(pid 1, workload\): raised by the CPU or the MMU"
t_like "and no policy change allows it" "$OUT" "no policy change allows it"
t_like "explain a clean run" "$(MA explain lr3)" "nothing was stopped"

# policy test: the compiled filter on a crafted call
t_is "policy test: mkdir under strict" "$(MA policy test "$POL/strict.json" --syscall mkdir)" \
  "mkdir(0x0, 0x0, 0x0, 0x0, 0x0, 0x0) on x86_64: errno EPERM, by defaultAction of policy \`strict\`"
t_like "policy test: read under strict is allowed, by its rule" "$(MA policy test "$POL/strict.json" --syscall read)" \
  "read\(.*\) on x86_64: allow, by syscalls\[[0-9]+\] of policy \`strict\`"
t_like "policy test with an argument: socket(AF_UNIX) under default" \
  "$(MA policy test "$POL/default.json" --syscall socket --arg 0=1)" "socket\(0x1, .*\) on x86_64: allow"
t_like "policy test on x86 (32-bit)" "$(MA policy test "$POL/default.json" --syscall getpid --arch x86)" "on x86: allow"
# every ABI as the kernel reports it: x32 with x86_64's arch and the x32
# bit; i386's socket calls on their direct syscall, and socketcall(2)
t_like "policy test on x32" "$(MA policy test "$POL/default.json" --syscall mkdir --arch x32)" "^mkdir\(.*\) on x32: allow, by syscalls"
t_like "policy test on x86: socket(AF_INET) is its direct syscall" \
  "$(MA policy test "$POL/default.json" --syscall socket --arg 0=2 --arch x86)" "on x86: allow, by syscalls"
t_like "policy test on x86: socketcall(SYS_SOCKET) by socket's rule" \
  "$(MA policy test "$POL/default.json" --syscall socketcall --arg 0=1 --arch x86)" "on x86: allow, by syscalls"
for sc in mkdir unshare clone socket ptrace mount personality reboot; do
  for p in default strict audit-all; do
    MA policy test "$POL/$p.json" --syscall $sc >/dev/null 2>&1 || { not_ok "policy test $p $sc: moat's reading differs from the filter"; continue 2; }
  done
done
ok "policy test: moat's reading of the rules agrees with the compiled filter for 8 calls x 3 policies"
t_like "policy test: an unknown syscall" "$(MA policy test "$POL/default.json" --syscall bogus 2>&1)" "--syscall \`bogus\`: unknown"
t_like "policy test: a bad --arg" "$(MA policy test "$POL/default.json" --syscall read --arg 9=1 2>&1)" "--arg \`9=1\`"

# policy diff
D=$(MA policy diff "$POL/default.json" "$POL/strict.json")
t_like "policy diff: mkdir allowed by default, not by strict" "$D" "^mkdir +allow +errno EPERM$"
t_unlike "policy diff: read is the same in both" "$D" "^read "
t_like "policy diff of a policy with itself" "$(MA policy diff "$POL/strict.json" "$POL/strict.json")" "no difference"
# calls newer than the policy get ENOSYS (glibc falls back), older unnamed ones the default
NEWEST=$(MA policy show "$POL/strict.json" | sed -n 's/.*newer than the policy (from \([a-z0-9_]*\) on.*/\1/p')
t_like "policy show: strict.json has calls newer than its newest rule" "$NEWEST" "^[a-z0-9_]+$"
t_like "policy test: the newest call libseccomp knows gets ENOSYS under strict" \
  "$(MA policy test "$POL/strict.json" --syscall cachestat)" "errno ENOSYS, by newer-than-policy"
setargs "$B" /bin/workload syscall-nr 451
t_is "in a container: cachestat (451) gets ENOSYS under strict" "$(MA run --bundle "$B" --policy "$POL/strict.json" lr6 2>&1)" "451 = -1 ENOSYS"
t_is "and its record names the rule" "$(jq -r 'select(.kind=="syscall") | .errno + " " + .rule' "$AUD/lr6.jsonl")" "ENOSYS newer-than-policy"
setargs "$B" /bin/workload syscall unshare 0
t_is "an older call the policy does not name keeps the default (EPERM)" "$(MA run --bundle "$B" --policy "$POL/strict.json" lr7 2>&1)" "unshare = -1 EPERM"
t_done
