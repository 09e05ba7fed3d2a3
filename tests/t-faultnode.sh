#!/bin/bash
# The node's one proc-connector socket (src/fault-node.c): every supervisor
# on the host shares one subscription instead of holding its own, so the
# kernel hands each process event of the host to one socket, not to one per
# container. Checked by its effects: which sockets the supervisors hold, a
# fault still recorded after the socket's first holder is gone, a killed
# member forgotten, a full ring owned up to, and the fallback to a socket of
# its own when the node cannot be joined.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root"
node_kernel || skip_all "the node's socket needs Linux 6.4+ (a socket filter that asks for the task's cgroup)"
B="$TMP/b"
AUD="$TMP/audit"
mkbundle "$B"
cfg "$B" 'del(.linux.resources)'
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
sup () { jq -r .supervisorPid "$ROOT/$1/state.json"; }
# deaths LOG: SIGSEGV deaths the log counts (a record each, or an aggregate's count)
deaths () { jq -s '[.[] | select(.signal == "SIGABRT") | if .kind == "aggregate" then .count elif .kind == "signal" then 1 else 0 end] | add // 0' "$1"; }
# lost LOG: the deaths the log counts in its lost records
lost () { jq -s '[.[] | select(.kind == "lost") | .lost] | add // 0' "$1"; }
# watch_storm SUP: up to 60 s for the supervisor's end; "yes" if it was
# seen on the node's socket meanwhile, else "no"
watch_storm () {
  local moved=no _
  for _ in $(seq 1200); do [ -d "/proc/$1" ] || break; handed_over "$1" && moved=yes; sleep 0.05; done
  echo "$moved"
}
wait_rec () {   # wait_rec LOG JQ-FILTER: up to 10 s for a record
  for _ in $(seq 200); do [ -n "$(jq -c "$2" "$1" 2>/dev/null)" ] && return 0; sleep 0.05; done
  return 1
}

# 1. Two containers: one connector socket between their supervisors.
setargs "$B" /bin/workload sleep 600
t_ok "run -d a first container" A run -d --bundle "$B" nd-a
rm -f "$B/rootfs/go"
setargs "$B" /bin/workload after /go 60 segv
t_ok "run -d a second (its init faults when told)" A run -d --bundle "$B" nd-b
SA=$(sup nd-a); SB=$(sup nd-b)
t_ok "the first supervisor moves to the node's socket" wait_node_settled "$SA"
t_ok "the second too" wait_node_settled "$SB"
CA=$(cn_socks "$SA"); CB=$(cn_socks "$SB")
t_is "the first supervisor holds one connector socket" "$(printf '%s\n' "$CA" | grep -c .)" 1
t_is "the second holds one too: the same socket" "$CB" "$CA"
t_ok "each is a member: its file in $NODE" test -s "$NODE/$SA" -a -s "$NODE/$SB"

# 2. The socket outlives whoever made it: the first container goes, the
# second's fault is still recorded through it.
t_ok "delete the first container" A delete --force nd-a
for _ in $(seq 100); do [ -d "/proc/$SA" ] || break; sleep 0.05; done
t_ok "its supervisor is gone" test ! -d "/proc/$SA"
t_ok "its member file went with it (a tombstone for the next to clear)" test ! -e "$NODE/$SA"
t_is "the second still holds the same socket" "$(cn_socks "$SB")" "$CA"
touch "$B/rootfs/go"
wait_status nd-b stopped 100
t_ok "the second's init's death is recorded" wait_rec "$AUD/nd-b.jsonl" 'select(.kind == "signal" and .signal == "SIGSEGV" and .nspid == 1)'
A delete --force nd-b >/dev/null 2>&1

# 3. A member killed without leaving is forgotten by the next to join.
setargs "$B" /bin/workload sleep 600
A run -d --bundle "$B" nd-c >/dev/null 2>&1
SC=$(sup nd-c)
t_ok "the third supervisor is a member" wait_node_settled "$SC"
kill -KILL "$SC"
for _ in $(seq 100); do [ -d "/proc/$SC" ] || break; sleep 0.05; done
t_ok "a fourth container starts" A run -d --bundle "$B" nd-d
SD=$(sup nd-d)
t_ok "the fourth moves to the node's socket" wait_node_settled "$SD"
# (the registration's thread clears the gone members, after its own entry)
for _ in $(seq 100); do [ -e "$NODE/$SC" ] || break; sleep 0.05; done
t_ok "the killed member's file is gone" test ! -e "$NODE/$SC"
t_is "no tombstone left but the ones of members gone since" "$(ls -A "$NODE" | grep -c '^~')" 0
A delete --force nd-c >/dev/null 2>&1
A delete --force nd-d >/dev/null 2>&1

# 4. A full ring is owned up to. The supervisor is stopped while 3,000
# children fork and die (6,000 events for a ring of ~1,365): the filter
# counts what it could not hand over, and how many of those were deaths by
# a fault signal; the log says so, and every death is counted, a record
# each or in the lost count. (By abort(): the kernel logs no line for it,
# so the storm leaves the kernel log's rate limit to the tests after.)
rm -f "$B/rootfs/go"
setargs "$B" /bin/workload after /go 60 fork-crash 3000 abort
t_ok "run -d a container that forks 3,000 crashing children when told" A run -d --bundle "$B" nd-full
SF=$(sup nd-full); IF=$(A state nd-full | jq -r .pid)
t_ok "its supervisor moves to the node's socket" wait_node_settled "$SF"
kill -STOP "$SF"
touch "$B/rootfs/go"
for _ in $(seq 600); do pid_running "$IF" || break; sleep 0.1; done
t_ok "the children ran and the init ended, the supervisor stopped all along" test "$(awk '{print $3}' "/proc/$SF/stat")" = T
kill -CONT "$SF"
wait_status nd-full stopped 100
t_ok "a lost record for the node's ring, with the count of events" \
  wait_rec "$AUD/nd-full.jsonl" 'select(.kind == "lost" and (.what | test("node.s ring")) and .events > 0)'
D=$(deaths "$AUD/nd-full.jsonl")
L=$(lost "$AUD/nd-full.jsonl")
diag "$D deaths recorded, $L counted lost, $(jq -s '[.[] | select(.kind == "lost") | .events // 0] | add' "$AUD/nd-full.jsonl") events dropped"
t_ok "deaths recorded: some" test "$D" -ge 1
t_is "every death counted: a record each, or in a lost record's count (the filter counts them)" "$((D + L))" 3000
A delete --force nd-full >/dev/null 2>&1

# 5. Storms and the move. A container that storms from its start keeps
# its own socket (it moves once quiet for 100 ms): 20,000 deaths, each
# once. One that storms just as it registers (its member file is written
# a grace period before the entry is in effect) has its events come both
# ways for a while, then on the ring alone: each death once, a record or a
# count, none twice.
setargs "$B" /bin/workload crash-storm 20000 abort
A run -d --bundle "$B" nd-storm >/dev/null 2>&1
SX=$(sup nd-storm)
MOVED=$(watch_storm "$SX")
t_ok "the storm's supervisor ended" test ! -d "/proc/$SX"
D=$(deaths "$AUD/nd-storm.jsonl")
L=$(lost "$AUD/nd-storm.jsonl")
diag "$D deaths recorded, $L counted lost"
t_is "a storm from the start: each death once, a record or a count" "$((D + L))" 20000
t_is "... on its own socket all along (never quiet)" "$MOVED" no
A delete --force nd-storm >/dev/null 2>&1

rm -f "$B/rootfs/go"
setargs "$B" /bin/workload after /go 60 crash-storm 20000 abort
A run -d --bundle "$B" nd-across >/dev/null 2>&1
SX=$(sup nd-across)
for _ in $(seq 200); do [ -e "$NODE/$SX" ] && break; sleep 0.01; done
touch "$B/rootfs/go"
t_ok "registering when the storm began" test -e "$NODE/$SX"
MOVED=$(watch_storm "$SX")
t_ok "that storm's supervisor ended" test ! -d "/proc/$SX"
D=$(deaths "$AUD/nd-across.jsonl")
L=$(lost "$AUD/nd-across.jsonl")
diag "$D deaths recorded, $L counted lost; seen on the node's socket during the storm: $MOVED"
t_is "a storm across the move: each death once, a record or a count" "$((D + L))" 20000
A delete --force nd-across >/dev/null 2>&1

# 6. The node cannot be joined (its directory read-only, in a mount
# namespace of the container's own): the supervisor keeps a socket of its
# own, not the node's, and still records.
setargs "$B" /bin/workload sleep 600
A run -d --bundle "$B" nd-e >/dev/null 2>&1
SE=$(sup nd-e)
wait_node_settled "$SE"
rm -f "$B/rootfs/go"
setargs "$B" /bin/workload after /go 60 segv
t_ok "run -d with the node's directory unusable" unshare -m --propagation private sh -c \
  'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"' "$NODE" \
  "$MOAT" --root "$ROOT" --audit-dir "$AUD" run -d --bundle "$B" nd-own
SO=$(sup nd-own)
# (it would move 100 ms after its start: looked at for 0.5 s)
for _ in $(seq 10); do handed_over "$SO" && break; sleep 0.05; done
t_ok "it is no member" test ! -e "$NODE/$SO"
CO=$(cn_socks "$SO")
t_is "it holds one connector socket" "$(printf '%s\n' "$CO" | grep -c .)" 1
t_ok "not the node's" test "$CO" != "$(cn_socks "$SE")"
touch "$B/rootfs/go"
wait_status nd-own stopped 100
t_ok "its init's death is recorded" wait_rec "$AUD/nd-own.jsonl" 'select(.kind == "signal" and .signal == "SIGSEGV")'
A delete --force nd-own >/dev/null 2>&1
A delete --force nd-e >/dev/null 2>&1
t_done
