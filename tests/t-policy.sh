#!/bin/bash
# Policy files: the shipped policies, --policy on run/create, what the
# container ends up with (from inside), and `moat policy check/show/bpf`.
. "$(dirname "$0")/lib.sh"

POL="$(cd "$(dirname "$0")/../policies" && pwd)"
B="$TMP/b"
AUD="$TMP/audit"
mkbundle "$B"
cfg "$B" 'del(.linux.resources) | del(.linux.seccomp)'
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }

for p in default strict audit-all; do
  t_like "policy check policies/$p.json" "$("$MOAT" policy check "$POL/$p.json")" "ok: policy \`$p\`"
  t_ok "policy check --strict policies/$p.json (every name known here)" "$MOAT" policy check --strict "$POL/$p.json"
done
t_like "policy show lists rules for people" "$("$MOAT" policy show "$POL/strict.json")" "^execve +SCMP_ACT_ALLOW"
t_like "policy bpf prints libseccomp's PFC" "$("$MOAT" policy bpf "$POL/strict.json")" "filter for arch x86_64"
t_like "policy bpf --raw prints instructions" "$("$MOAT" policy bpf --raw "$POL/strict.json" | head -n 1)" "^0000: code=0x"

# strict: no capabilities, no_new_privs, a filter; denials recorded under its name
setargs "$B" /bin/workload caps
t_like "strict: no capabilities at all" "$(A run --policy "$POL/strict.json" --bundle "$B" pol-1)" "CapEff:[[:space:]]+0000000000000000"
setargs "$B" /bin/workload status
ST=$(A run --policy "$POL/strict.json" --bundle "$B" pol-2)
t_like "strict: NoNewPrivs 1" "$ST" "NoNewPrivs:[[:space:]]+1"
t_like "strict: Seccomp 2" "$ST" "Seccomp:[[:space:]]+2"
setargs "$B" /bin/workload syscall socket AF_UNIX SOCK_STREAM 0
t_is "strict: a socket is denied" "$(A run --policy "$POL/strict.json" --bundle "$B" pol-3)" "socket = -1 EPERM"
t_is "strict: the record names the policy" "$(nohdr "$AUD/pol-3.jsonl" | jq -r '.policy + " " + .rule')" "strict default"
t_ok "the policy in force was kept with the state" true
setargs "$B" /bin/workload sleep 30
A create --policy "$POL/strict.json" --bundle "$B" pol-4
t_is "state dir holds policy.json" "$(jq -r .name "$ROOT/pol-4/policy.json")" strict
A delete pol-4

# default: the usual container allowlist
setargs "$B" /bin/workload syscall socket AF_INET SOCK_STREAM 0
t_like "default: sockets work" "$(A run --policy "$POL/default.json" --bundle "$B" pol-5)" "^socket = [0-9]+$"
setargs "$B" /bin/workload syscall unshare CLONE_NEWNS
t_is "default: unshare is denied" "$(A run --policy "$POL/default.json" --bundle "$B" pol-6)" "unshare = -1 EPERM"
t_is "default: and recorded with its flags" "$(nohdr "$AUD/pol-6.jsonl" | jq -r '.syscall + " " + .args.flags')" "unshare CLONE_NEWNS"
setargs "$B" /bin/workload syscall clone3
t_is "default: clone3 gets ENOSYS so libc falls back to clone" "$(A run --policy "$POL/default.json" --bundle "$B" pol-7)" "clone3 = -1 ENOSYS"

# audit-all: nothing is denied by seccomp, but what default would deny is logged
setargs "$B" /bin/workload syscall unshare CLONE_NEWNS
OUT=$(A run --policy "$POL/audit-all.json" --bundle "$B" pol-8)
t_is "audit-all: the call reaches the kernel (EPERM from the missing capability)" "$OUT" "unshare = -1 EPERM"
t_is "audit-all: recorded as log" "$(nohdr "$AUD/pol-8.jsonl" | jq -r '.syscall + " " + .action')" "unshare log"
setargs "$B" /bin/workload syscall getpid
A run --policy "$POL/audit-all.json" --bundle "$B" pol-9 >/dev/null
t_is "audit-all: calls default allows are not logged" "$(cat "$AUD/pol-9.jsonl" 2>/dev/null | grep -c getpid)" 0

# the compiled filter is cached by content: cold, warm, and a bad cache entry
CR="$TMP/cacheroot"   # a state root of its own: a cold cache
AC () { "$MOAT" --root "$CR" --audit-dir "$AUD" "$@"; }
setargs "$B" /bin/workload syscall getpid
t_like "first start compiles the filter" "$(AC --debug run --policy "$POL/default.json" --bundle "$B" pol-c1 2>&1)" "BPF instructions \(compiled\)"
t_like "the next start loads it from the cache" "$(AC --debug run --policy "$POL/default.json" --bundle "$B" pol-c2 2>&1)" "BPF instructions \(cached\)"
for f in "$CR"/.seccomp-cache/*.bpf; do printf 'garbage' > "$f"; done
OUT=$(AC --debug run --policy "$POL/default.json" --bundle "$B" pol-c3 2>&1)
t_like "a damaged cache entry is ignored and rebuilt" "$OUT" "BPF instructions \(compiled\)"
t_like "and the container still runs" "$OUT" "getpid = [0-9]+"
setargs "$B" /bin/workload syscall unshare CLONE_NEWNS
t_is "the rebuilt cached filter still denies" "$(AC run --policy "$POL/default.json" --bundle "$B" pol-c4)" "unshare = -1 EPERM"
# two per policy: the filter the kernel runs (audited) and the one whose
# answers the supervisor enforces
t_is "different policies get different cache entries" "$(AC run --policy "$POL/strict.json" --bundle "$B" pol-c5 >/dev/null; ls "$CR"/.seccomp-cache/*.bpf | wc -l)" 4

# a bare Docker-style profile is a policy too
cat > "$TMP/docker.json" <<'JSON'
{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]}],
 "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"comment":"test"}]}
JSON
setargs "$B" /bin/workload syscall getppid
t_is "a bare Docker profile works as --policy" "$(A run --policy "$TMP/docker.json" --bundle "$B" pol-10)" "getppid = -1 EPERM"
# Go's encoder writes a rule without arguments or conditions as null (the
# profile podman ships does): accepted as absent, as runc and crun do
cat > "$TMP/gonull.json" <<'JSON'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1,
 "args":null,"comment":"","includes":null,"excludes":{}}]}
JSON
t_like "a profile with \"args\": null is accepted" "$(A policy check "$TMP/gonull.json" 2>&1)" "ok: policy"
t_is "... and enforced" "$(A run --policy "$TMP/gonull.json" --bundle "$B" pol-10n)" "getppid = -1 EPERM"
# what a rule cannot do on an ABI it covers is said, not left silent
t_like "policy check says socket's family test does not reach i386's socketcall" \
  "$(A policy check "$POL/default.json" 2>&1)" "syscalls\[[0-9]+\] \(socket\): on x86, i386's socketcall\(2\) carries"
cat > "$TMP/docker-arch.json" <<'JSON'
{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
 {"names":["getppid"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64","x32"]}},
 {"names":["getpid"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm64"]}}]}
JSON
t_like "Docker's arch names (amd64) in includes select rules" "$("$MOAT" policy show "$TMP/docker-arch.json")" "getppid +SCMP_ACT_ALLOW"
t_unlike "and a rule for another arch (arm64) is left out" "$("$MOAT" policy show "$TMP/docker-arch.json")" "getpid +SCMP_ACT_ALLOW"

# audit off: the kernel enforces alone, nothing recorded, no supervisor
jq '.audit = {"syscalls": false}' "$POL/strict.json" > "$TMP/quiet.json"
setargs "$B" /bin/workload syscall socket AF_UNIX SOCK_STREAM 0
t_is "audit off: still denied" "$(A run --policy "$TMP/quiet.json" --bundle "$B" pol-11)" "socket = -1 EPERM"
t_fails "audit off: no record" test -s "$AUD/pol-11.jsonl"

# bad policies: one clear line naming the file and the problem; nothing left
badpol () {   # badpol DESC JSON PATTERN
  printf '%s\n' "$2" > "$TMP/bad.json"
  OUT=$("$MOAT" policy check "$TMP/bad.json" 2>&1); RC=$?
  t_is "policy check: $1: exit 1" "$RC" 1
  t_like "policy check: $1" "$OUT" "$3"
  OUT=$(A create --policy "$TMP/bad.json" --bundle "$B" pol-bad 2>&1); RC=$?
  t_is "create --policy: $1: exit 1" "$RC" 1
  t_fails "create --policy: $1: nothing left" test -e "$ROOT/pol-bad"
}
badpol "malformed JSON" '{"name": }' "bad.json: malformed JSON"
badpol "unknown field" '{"name":"x","capabilites":[]}' "bad.json: capabilites: unknown policy field"
badpol "wrong type" '{"noNewPrivileges":"yes"}' "bad.json: noNewPrivileges: expected boolean"
badpol "unknown namespace" '{"namespaces":["pid","bogus"]}' 'namespaces\[1\]: unknown namespace type `bogus`'
badpol "unknown action" '{"seccomp":{"defaultAction":"SCMP_ACT_NOPE"}}' 'seccomp.defaultAction: unknown action'
printf '%s\n' '{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdri"],"action":"SCMP_ACT_ERRNO"}]}}' > "$TMP/typo.json"
t_ok "an unknown syscall name passes a plain check" "$MOAT" policy check "$TMP/typo.json"
t_fails "and fails --strict" "$MOAT" policy check --strict "$TMP/typo.json"
t_like "naming the closest known name" "$("$MOAT" policy check --strict "$TMP/typo.json" 2>&1)" 'names\[0\]: unknown syscall `mkdri` \(closest known: `mkdir`\)'
jq '.strict = true' "$TMP/typo.json" > "$TMP/typo-strict.json"
t_like "a policy saying \"strict\" refuses unknown names at create" "$(A create --policy "$TMP/typo-strict.json" --bundle "$B" pol-strict 2>&1)" 'unknown syscall `mkdri`'
t_fails "and leaves nothing" test -e "$ROOT/pol-strict"
printf '{"capabilities":["CAP_FOO"]}\n' > "$TMP/cap.json"
t_like "an unknown capability in a policy is named" "$(A create --policy "$TMP/cap.json" --bundle "$B" pol-cap 2>&1)" "unknown capability \`CAP_FOO\`"
t_fails "and nothing is left" test -e "$ROOT/pol-cap"
# One name 10,000 times in a rule's names (and one rule 2,000 times): the
# repeats are one rule, so checking, compiling and running under it take no
# longer than under the policy without them (the timeouts are hang guards).
jq '.seccomp.syscalls += [{names: [range(10000) | "getpid"], action: "SCMP_ACT_ALLOW"}]
    + [range(2000) | {names: ["getppid"], action: "SCMP_ACT_ALLOW"}]' "$POL/default.json" > "$TMP/rep.json"
REP=$(timeout -k 2 20 "$MOAT" policy check "$TMP/rep.json")
t_like "policy check of 10,000 repeats: ok" "$REP" "ok: policy"
t_is "the repeats are one rule each: as many rules as the policy without them" \
  "$(printf '%s\n' "$REP" | grep -o '[0-9]* seccomp rules')" "$("$MOAT" policy check "$POL/default.json" | grep -o '[0-9]* seccomp rules')"
t_is "and the same filter" "$("$MOAT" policy bpf --raw "$TMP/rep.json" | md5sum)" "$("$MOAT" policy bpf --raw "$POL/default.json" | md5sum)"
setargs "$B" /bin/workload pid
t_ok "run under it (a trivial workload)" timeout -k 2 20 "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --policy "$TMP/rep.json" --bundle "$B" pol-rep
t_done
