#!/bin/bash
# The systemd cgroup driver (--systemd-cgroup), seen from systemd's side:
# the scope unit, its properties, slice syntax, annotations, the clean-up.
# Runs where the driver can work (moat-sd built, systemd the init, pure
# cgroup v2): the systemd lane (tests/t-systemd.sh) boots such a guest.
# Elsewhere it checks only that the driver refuses with one clear line.
. "$(dirname "$0")/lib.sh"

F=$("$MOAT" features)
S () { "$MOAT" --root "$ROOT" --systemd-cgroup "$@"; }
B=$TMP/b
mkbundle "$B" /bin/workload sleep 30
unit_prop () { systemctl show -p "$2" --value "$1" 2>&1; }
leftovers () {   # units and cgroups of this test still there
  { systemctl list-units --all --no-legend --plain 'moat-sd-*' 'pfx-*' 2>/dev/null | awk '{print $1}'
    ls -d /sys/fs/cgroup/system.slice/moat-sd-* /sys/fs/cgroup/machine.slice/machine-moat.slice/pfx-* 2>/dev/null
    ls "$ROOT" 2>/dev/null; } | tr '\n' ' '
}

if [ "$(printf '%s' "$F" | jq -r .linux.cgroup.systemd)" != true ]; then
  OUT=$(S create --bundle "$B" sd-no 2>&1); RC=$?
  t_like "without systemd (or moat-sd): one line saying what it needs" "$RC $OUT" \
    "^1 moat: --systemd-cgroup: (needs moat-sd .* and a running systemd|needs the unified cgroup hierarchy)"
  t_is "... and nothing is left" "$(ls "$ROOT" 2>/dev/null)" ""
  diag "the driver itself runs in the systemd lane (tests/t-systemd.sh); here: moat-sd" \
    "$(printf '%s' "$F" | jq -r '.annotations["org.moat.systemd.helper"]'), systemd running" \
    "$(printf '%s' "$F" | jq -r '.annotations["org.moat.systemd.running"]')"
  t_done
fi

SYSTEMD_CG=1   # (lib.sh's cgrel, stray_procs: the scopes' cgroups)
t_like "features: systemd true, moat-sd found, systemd running" \
  "$(printf '%s' "$F" | jq -r '[.linux.cgroup.systemd, .annotations["org.moat.systemd.helper"], .annotations["org.moat.systemd.running"]] | join(" ")')" \
  "^true /.*moat-sd true$"

# A created container: its init sits in the scope systemd made, with the
# limits as unit properties and in the cgroup's own files.
cfg "$B" '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 20},
  "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}
  | .annotations["org.systemd.property.TimeoutStopSec"] = "uint64 7"
  | .annotations["org.systemd.property.CollectMode"] = "'"'"'inactive-or-failed'"'"'"'
t_ok "create --systemd-cgroup" S create --bundle "$B" --pid-file "$TMP/pid1" sd-1
PID=$(cat "$TMP/pid1" 2>/dev/null)
t_is "the init is in its scope before start" "$(sed -n 's/^0:://p' /proc/"$PID"/cgroup 2>&1)" /system.slice/moat-sd-1.scope
t_is "state.json names the unit (delete can find it after a crash)" "$(jq -r .systemdUnit "$ROOT/sd-1/state.json")" moat-sd-1.scope
U=moat-sd-1.scope
t_is "systemd: the scope is active" "$(unit_prop $U ActiveState)" active
t_is "systemd: Slice" "$(unit_prop $U Slice)" system.slice
t_is "systemd: Delegate" "$(unit_prop $U Delegate)" yes
t_is "systemd: Description" "$(unit_prop $U Description)" "moat container sd-1"
t_is "systemd: MemoryMax" "$(unit_prop $U MemoryMax)" 67108864
t_is "systemd: TasksMax" "$(unit_prop $U TasksMax)" 20
t_is "systemd: CPUWeight (shares 512 on moat's v2 curve)" "$(unit_prop $U CPUWeight)" 59
t_is "systemd: CPUQuotaPerSecUSec" "$(unit_prop $U CPUQuotaPerSecUSec)" 500ms
t_is "systemd: CPUQuotaPeriodUSec" "$(unit_prop $U CPUQuotaPeriodUSec)" 100ms
t_is "systemd: AllowedCPUs" "$(unit_prop $U AllowedCPUs)" 0
t_is "annotation org.systemd.property.TimeoutStopSec=uint64 7 (seconds, as runc)" "$(unit_prop $U TimeoutStopUSec)" 7s
t_is "annotation org.systemd.property.CollectMode='inactive-or-failed'" "$(unit_prop $U CollectMode)" inactive-or-failed
CG=/sys/fs/cgroup/system.slice/moat-sd-1.scope
t_is "the scope's memory.max" "$(cat $CG/memory.max)" 67108864
t_is "the scope's cpu.max (the exact quota)" "$(cat $CG/cpu.max)" "50000 100000"
t_is "the scope's pids.max" "$(cat $CG/pids.max)" 20
t_like "systemd-cgls shows the init in the scope" "$(systemd-cgls --no-pager -u $U 2>&1)" "$PID "
t_ok "start" S start sd-1
t_is "ps lists the container's process" "$(S ps --format json sd-1 | jq -c .)" "[$PID]"
t_ok "update --memory 96m" S update --memory 96m sd-1
t_is "update: systemd's MemoryMax follows" "$(unit_prop $U MemoryMax)" 100663296
t_is "update: and the scope's memory.max" "$(cat $CG/memory.max)" 100663296
t_ok "delete --force" S delete --force sd-1
t_is "delete: the unit is gone" "$(unit_prop $U LoadState)" not-found
t_fails "delete: the scope's cgroup is gone" test -d $CG

# slice syntax: a nested slice, a prefix and a name of its own
cfg "$B" 'del(.annotations) | del(.linux.resources) | .linux.cgroupsPath = "machine-moat.slice:pfx:box"'
t_ok "run -d with cgroupsPath machine-moat.slice:pfx:box" S run -d --bundle "$B" --pid-file "$TMP/pid2" sd-2
t_is "the init is in /machine.slice/machine-moat.slice/pfx-box.scope" \
  "$(sed -n 's/^0:://p' /proc/"$(cat "$TMP/pid2")"/cgroup 2>&1)" /machine.slice/machine-moat.slice/pfx-box.scope
t_is "systemd: its Slice" "$(unit_prop pfx-box.scope Slice)" machine-moat.slice
t_ok "delete --force" S delete --force sd-2
t_is "the unit is gone" "$(unit_prop pfx-box.scope LoadState)" not-found

# bad slice syntax and unsupported annotations: one line naming the field,
# nothing made (no state, no unit, no cgroup)
for p in "nocolons" "a:b" "system.slice:p:n:x" "x.notslice:p:n" "a--b.slice:p:n" "system.slice:p:" "system.slice:p:sub.slice" "system.slice:p:n+1"; do
  cfg "$B" '.linux.cgroupsPath = $p' --arg p "$p"
  OUT=$(S create --bundle "$B" sd-bad 2>&1); RC=$?
  t_like "cgroupsPath \`$p\`: refused, naming linux.cgroupsPath" "$RC $(printf '%s' "$OUT" | wc -l) $OUT" "^1 0 moat: linux.cgroupsPath: "
done
cfg "$B" 'del(.linux.cgroupsPath) | .annotations["org.systemd.property.Environment"] = "[\"A=1\"]"'
OUT=$(S create --bundle "$B" sd-bad 2>&1); RC=$?
t_like "an array annotation: refused, naming it" "$RC $OUT" "^1 moat: annotations.org.systemd.property.Environment: .* is not supported"
cfg "$B" 'del(.annotations)'
OUT=$(MOAT_SD=/nonexistent S create --bundle "$B" sd-bad 2>&1); RC=$?
t_like "no moat-sd: one line saying what it needs" "$RC $OUT" "^1 moat: --systemd-cgroup: needs moat-sd"
# D-Bus down: the system bus unreachable, moat-sd talks to systemd on its
# private socket (as systemctl does); with that gone too, one line and
# nothing made. (The socket is hidden in a mount namespace of the call's own.)
setargs "$B" /bin/workload echo through-private
t_is "system bus unreachable: systemd is reached on /run/systemd/private" \
  "$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent S run --bundle "$B" sd-nobus 2>&1)" through-private
OUT=$(unshare -m --propagation private sh -c 'mount --bind /dev/null /run/systemd/private && exec "$@"' sh \
  env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "$MOAT" --root "$ROOT" --systemd-cgroup create --bundle "$B" sd-nobus 2>&1); RC=$?
t_like "no D-Bus and no private socket: one line saying so" "$RC $(printf '%s' "$OUT" | wc -l) $OUT" \
  "^1 0 moat: --systemd-cgroup: .*cannot reach systemd over D-Bus \(system bus: .*; /run/systemd/private: Connection refused\)"
t_is "nothing is left by the refused creates" "$(leftovers)" ""

# the cgroup wall under systemd: an OOM kill recorded from the scope's
# memory.events; the failed scope is forgotten by delete, the name reusable
AUD=$TMP/audit
cfg "$B" '.linux.resources = {"memory": {"limit": 33554432, "swap": 33554432}} | .process.args = ["/bin/workload", "hog", "64"]'
S --audit-dir "$AUD" run --bundle "$B" sd-oom >/dev/null 2>&1
t_like "a hog is OOM-killed in its scope; audit records it" "$("$MOAT" --audit-dir "$AUD" audit --json sd-oom | jq -r 'select(.kind == "oom") | .kind' | head -n 1)" "^oom$"
t_is "... exactly one record of it" "$("$MOAT" --audit-dir "$AUD" audit --json sd-oom | jq -r 'select(.kind == "oom") | .kind' | wc -l)" 1
# The race systemd runs with the supervisor: it prunes the scope's cgroup
# the moment the last process is gone, maybe before memory.events is read.
# Made certain here: the supervisor is held (SIGSTOP) while the hog dies
# and systemd lets the scope go; the kill is still recorded, counted from
# the kernel log's OOM line for the container's process.
cfg "$B" '.linux.resources = {"memory": {"limit": 33554432, "swap": 33554432}}
  | .process.args = ["/bin/workload", "after", "/go-oom", "60", "hog", "64"]'
rm -f "$B/rootfs/go-oom"
t_ok "run -d: a hog held back" S --audit-dir "$AUD" run -d --bundle "$B" sd-race
SUP=$(jq -r .supervisorPid "$ROOT/sd-race/state.json" 2>/dev/null)
t_like "its supervisor runs" "$SUP $(pid_running "$SUP" && echo running)" "^[0-9]+ running$"
kill -STOP "$SUP"
touch "$B/rootfs/go-oom"
for i in $(seq 300); do [ -d /sys/fs/cgroup/system.slice/moat-sd-race.scope ] || break; sleep 0.1; done
t_fails "systemd pruned the scope's cgroup while the supervisor was held" test -d /sys/fs/cgroup/system.slice/moat-sd-race.scope
kill -CONT "$SUP"
for i in $(seq 300); do pid_running "$SUP" || break; sleep 0.1; done
t_fails "the supervisor ends" pid_running "$SUP"
RACE=$("$MOAT" --audit-dir "$AUD" audit --json sd-race 2>&1)
t_is "the OOM kill is recorded once, its victim named, counted from the kernel log" \
  "$(printf '%s\n' "$RACE" | jq -r 'select(.kind == "oom") | [.limit, .signal, .comm, (.pid > 1), .source] | join(" ")')" \
  "memory.max=33554432 SIGKILL workload true kmsg: the cgroup was removed before its memory.events was read"
[ "$T_FAIL" = 0 ] || diag "the log: $RACE" "kmsg: $(dmesg 2>&1 | grep -i 'killed process' | tail -n 3)"
t_ok "delete" S delete --force sd-race
S delete --force sd-oom
t_is "after delete the OOM-killed scope is gone (reset-failed)" "$(unit_prop moat-sd-oom.scope LoadState)" not-found
cfg "$B" 'del(.linux.resources) | .process.args = ["/bin/workload", "echo", "again"]'
t_is "and its name can be used again" "$(S run --bundle "$B" sd-oom 2>&1)" again
# A container that ended by itself: once systemd has let go of its scope,
# delete asks nothing of systemd (no moat-sd started, no bus connection)
setargs "$B" /bin/workload exit 0
t_ok "run -d of a container that exits at once" S run -d --bundle "$B" sd-gone
for i in $(seq 200); do [ "$(unit_prop moat-sd-gone.scope LoadState)" = not-found ] && break; sleep 0.05; done
t_is "systemd unloads the emptied scope by itself" "$(unit_prop moat-sd-gone.scope LoadState)" not-found
t_ok "delete then needs no moat-sd (MOAT_SD names none)" env MOAT_SD=/nonexistent "$MOAT" --root "$ROOT" --systemd-cgroup delete sd-gone
t_is "and the container is gone" "$(ls "$ROOT" | grep -c sd-gone)" 0

# moat killed mid-create (in a createRuntime hook, the scope already made):
# delete --force stops the unit if it is still there; nothing is left
cfg "$B" '.process.args = ["/bin/workload", "sleep", "30"] | .hooks = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "5"]}]}'
S create --bundle "$B" sd-kill >/dev/null 2>&1 &
CPID=$!
for i in $(seq 100); do [ "$(unit_prop moat-sd-kill.scope ActiveState)" = active ] && break; sleep 0.05; done
kill -9 $CPID; wait $CPID 2>/dev/null
# (The init dies with its create, PDEATHSIG, and systemd ends the emptied
# scope at a moment of its own: whether it is still there is not the test.)
diag "after the kill the scope is $(unit_prop moat-sd-kill.scope ActiveState)"
t_ok "delete --force after the killed create" S delete --force sd-kill
t_is "the unit is gone" "$(unit_prop moat-sd-kill.scope LoadState)" not-found
sleep 0.2
t_is "and nothing of the test is left" "$(leftovers)" ""
t_is "and no process of it remains" "$(stray_procs sd-kill)" 0
t_done
