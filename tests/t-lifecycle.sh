#!/bin/bash
# The container lifecycle as runc users know it: spec, create, start, state,
# list, kill, delete, run; statuses at every step; exit statuses.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
mkbundle "$B" /bin/workload sleep 30

# spec
t_fails "spec refuses to overwrite config.json" "$MOAT" spec --bundle "$B"
t_like "spec error names the file" "$("$MOAT" spec --bundle "$B" 2>&1)" "config.json already exists"
mkdir -p "$TMP/specdir"
"$MOAT" spec --bundle "$TMP/specdir"
t_is "spec writes a config that parses" "$(jq -r .ociVersion "$TMP/specdir/config.json")" "1.3.0"
t_is "spec: process.args is sh" "$(jq -c .process.args "$TMP/specdir/config.json")" '["sh"]'
mkdir -p "$TMP/rl"
"$MOAT" spec --rootless --bundle "$TMP/rl"
t_is "spec --rootless adds a user namespace" \
  "$(jq -r '[.linux.namespaces[].type] | index("user") != null' "$TMP/rl/config.json")" true

# create
t_ok "create" M create --bundle "$B" --pid-file "$TMP/pid" life-1
PID=$(cat "$TMP/pid")
t_is "state: created after create" "$(M state life-1 | jq -r .status)" created
t_is "state: pid matches --pid-file" "$(M state life-1 | jq -r .pid)" "$PID"
t_is "state: bundle is absolute" "$(M state life-1 | jq -r .bundle)" "$B"
t_is "state: ociVersion" "$(M state life-1 | jq -r .ociVersion)" "1.3.0"
t_is "state: id" "$(M state life-1 | jq -r .id)" life-1
t_like "created: the init is alive and not yet the workload" "$(tr '\0' ' ' < /proc/$PID/cmdline)" "moat"
t_is "created: the init sits in the container's cgroup" \
  "$(grep -c "$(cgrel life-1)\$" /proc/$PID/cgroup | awk '{print ($1 > 0)}')" 1
t_is "list -q shows it" "$(M list -q)" life-1
t_is "list --format json" "$(M list --format json | jq -r '.[0].id + " " + .[0].status')" "life-1 created"
t_like "list table has a header and a row" "$(M list)" "^ID +PID +STATUS +BUNDLE +CREATED +OWNER"
t_like "list table row" "$(M list | tail -n 1)" "^life-1 +$PID +created +$B"
t_fails "kill of a created container with an unknown signal fails" M kill life-1 NOSUCHSIG

# start
t_ok "start" M start life-1
t_is "state: running after start" "$(M state life-1 | jq -r .status)" running
t_like "running: the init is now the workload" "$(tr '\0' ' ' < /proc/$PID/cmdline)" "^/bin/workload sleep 30"
t_fails "start twice fails" M start life-1
t_like "second start says why" "$(M start life-1 2>&1)" "running, not created"
t_fails "delete of a running container without --force fails" M delete life-1
t_is "still running after a refused delete" "$(M state life-1 | jq -r .status)" running

# kill by number; the pid-1 workload has no handler, SIGKILL always works
t_ok "kill ID 9" M kill life-1 9
t_ok "stopped is seen without a daemon" wait_status life-1 stopped
t_is "state: pid is 0 once stopped" "$(M state life-1 | jq -r .pid)" 0
t_fails "kill of a stopped container fails" M kill life-1 KILL
# containerd's shim maps runc's "container not running" to NotFound (the
# process already finished) and sends `kill --all ID 9` after every exit,
# retrying the exit until it succeeds: runc's wording and status, or
# Kubernetes cannot stop a pod.
t_like "... with runc's wording, which the shims parse" "$(M kill life-1 KILL 2>&1)" "container not running"
t_ok "kill --all of a stopped container succeeds (runc: 0)" M kill --all life-1 9
t_ok "delete a stopped container" M delete life-1
t_fails "delete of an unknown id fails" M delete life-1
t_like "... saying it does not exist" "$(M delete life-1 2>&1)" "container \`life-1\` does not exist"
t_ok "delete --force of an unknown id succeeds (runc, crun: 0)" M delete --force life-1
t_ok "... and makes nothing" test ! -e "$ROOT/life-1"
t_fails "delete --force of an id that cannot be one still fails" M delete --force ../x
t_fails "state after delete fails" M state life-1
t_is "no state dir after delete" "$(ls "$ROOT")" ""
t_fails "no cgroup after delete" cgroup_exists life-1

# kill by name: TERM reaches a workload that handles it
# (the signal goes once the handler is there: the workload says `ready`,
# and the handler's own `got SIGTERM` tells the signal reached it)
setargs "$B" /bin/workload trap TERM
wait_ready () { local i; for i in $(seq 200); do grep -q '^ready' "$1" 2>/dev/null && return 0; sleep 0.02; done; return 1; }
M create --bundle "$B" life-2 >"$TMP/out2" 2>&1
M start life-2
t_ok "the trapping workload is ready" wait_ready "$TMP/out2"
t_ok "kill ID TERM" M kill life-2 TERM
t_ok "TERM ends the trapping workload" wait_status life-2 stopped
t_is "through its handler" "$(grep '^got' "$TMP/out2")" "got SIGTERM"
M delete life-2
M create --bundle "$B" life-3 >"$TMP/out3" 2>&1
M start life-3
wait_ready "$TMP/out3"
t_ok "kill ID SIGTERM (SIG prefix)" M kill life-3 SIGTERM
t_ok "SIGTERM ends it" wait_status life-3 stopped
t_is "through its handler" "$(grep '^got' "$TMP/out3")" "got SIGTERM"
M delete life-3

# kill --all: every process of the container, not only its init
setargs "$B" /bin/workload children 3
cfg "$B" '.linux.namespaces |= map(select(.type != "pid"))'
M create --bundle "$B" --pid-file "$TMP/pid4" life-4 >"$TMP/out4" 2>&1
M start life-4
for _ in $(seq 200); do [ "$(grep -c '^child' "$TMP/out4")" -ge 3 ] && break; sleep 0.02; done
# the container's cgroup.procs: the pids hierarchy on v1/hybrid, the unified one on v2
if grep -q pids /proc/"$(cat "$TMP/pid4")"/cgroup; then
  PROCS=/sys/fs/cgroup/pids$(awk -F: '/pids/ {print $3}' /proc/"$(cat "$TMP/pid4")"/cgroup)/cgroup.procs
else
  PROCS=/sys/fs/cgroup$(awk -F: '/^0::/ {print $3}' /proc/"$(cat "$TMP/pid4")"/cgroup)/cgroup.procs
fi
t_is "the container has its init and 3 children" "$(wc -l < "$PROCS")" 4
t_ok "kill --all ID KILL" M kill --all life-4 KILL
t_ok "all of them die" wait_status life-4 stopped
for _ in $(seq 100); do [ -s "$PROCS" ] || break; sleep 0.02; done
t_is "no process left in the cgroup" "$(cat "$PROCS" | wc -l)" 0
M delete life-4

# kill --all once the init is gone: what it left in the cgroup (no pid
# namespace, so a child outlives it) still gets the signal, as with runc.
cfg "$B" '.process.args = ["/bin/sh", "-c", "/bin/busybox sleep 60 & echo $!"]'
M create --bundle "$B" life-4b
M start life-4b
t_ok "an init that leaves a child behind stops" wait_status life-4b stopped
if [ -n "$SYSTEMD_CG" ]; then P4B=/sys/fs/cgroup$(cgrel life-4b)/cgroup.procs; else P4B=${PROCS%/*/cgroup.procs}/life-4b/cgroup.procs; fi
t_is "its child is still in the cgroup" "$(wc -l < "$P4B")" 1
t_ok "kill --all of the stopped container" M kill --all life-4b KILL
# (systemd removes an emptied scope's cgroup: gone is empty too)
for _ in $(seq 100); do [ -s "$P4B" ] || break; sleep 0.05; done
t_is "signals what was left" "$(cat "$P4B" 2>/dev/null | wc -l)" 0
M delete --force life-4b

# delete --force of a running container
setargs "$B" /bin/workload sleep 30
cfg "$B" '.linux.namespaces += [{"type":"pid"}]'
M create --bundle "$B" --pid-file "$TMP/pid5" life-5
M start life-5
t_ok "delete --force of a running container" M delete --force life-5
t_fails "its init is gone" pid_running "$(cat "$TMP/pid5")"
t_fails "its cgroup is gone" cgroup_exists life-5

# delete of a created (never started) container needs no --force
M create --bundle "$B" --pid-file "$TMP/pid6" life-6
t_ok "delete of a created container" M delete life-6
t_fails "its init is gone" pid_running "$(cat "$TMP/pid6")"

# run: exit statuses
setargs "$B" /bin/workload exit 3
M run --bundle "$B" life-7
t_is "run returns the workload's exit status" "$?" 3
t_is "run deletes the container afterwards" "$(M list -q)" ""
# (pid 1 of a pid namespace ignores signals it raises itself: no pid ns here)
setargs "$B" /bin/workload kill-self SEGV
cfg "$B" '.linux.namespaces |= map(select(.type != "pid"))'
M run --bundle "$B" life-8 2>/dev/null
t_is "run of a workload killed by SIGSEGV returns 139" "$?" 139
cfg "$B" '.linux.namespaces += [{"type":"pid"}]'
setargs "$B" /bin/workload echo hello from the container
t_is "run: the workload's stdout is the caller's" "$(M run --bundle "$B" life-9)" "hello from the container"
setargs "$B" /bin/workload exit 0
t_ok "run --keep" M run --keep --bundle "$B" life-10
t_is "run --keep leaves a stopped container" "$(M state life-10 | jq -r .status)" stopped
t_ok "which delete removes" M delete life-10

# run --detach
setargs "$B" /bin/workload sleep 30
t_ok "run --detach returns at once" M run -d --bundle "$B" life-11
t_is "the detached container runs" "$(M state life-11 | jq -r .status)" running
M delete --force life-11

# run forwards signals to the workload
setargs "$B" /bin/workload trap TERM
"$MOAT" --root "$ROOT" run --bundle "$B" life-12 > "$TMP/out12" &
RUNPID=$!
# (only once the workload is ready: a slow machine may still be creating)
for i in $(seq 200); do grep -q ready "$TMP/out12" 2>/dev/null && break; sleep 0.05; done
kill -TERM $RUNPID
wait $RUNPID
t_is "SIGTERM to moat run reaches the workload, which exits 0" "$?" 0
t_like "the workload saw the signal" "$(cat "$TMP/out12")" "got SIGTERM"

# a signal that reaches moat run while the container is still being made
# waits and is forwarded; moat is not killed halfway, nothing is left behind
setargs "$B" /bin/workload sleep 1
cfg "$B" '.hooks = {"createRuntime":[{"path":"/bin/sleep","args":["sleep","1"]}]}'
"$MOAT" --root "$ROOT" run --bundle "$B" life-16 > /dev/null 2>&1 &
RUNPID=$!
for i in $(seq 100); do cgroup_exists life-16 && break; sleep 0.02; done   # moat is creating
kill -TERM $RUNPID
wait $RUNPID
RC=$?
cfg "$B" 'del(.hooks)'
t_unlike "an early SIGTERM does not kill moat run" "$RC" "^143$"
t_is "and leaves no state behind" "$(M list -q)" ""

# the init is not moat's child after create: moat create has exited
setargs "$B" /bin/workload sleep 30
M create --bundle "$B" --pid-file "$TMP/pid13" life-13
PPID13=$(awk '/^PPid/ {print $2}' /proc/"$(cat "$TMP/pid13")"/status)
t_unlike "the init's parent is not a moat process" "$(tr '\0' ' ' < /proc/$PPID13/cmdline 2>/dev/null)" "moat.*create"
M delete life-13

# moat killed by SIGKILL mid-create: delete still cleans up everything
cfg "$B" '.hooks = {"createRuntime":[{"path":"/bin/sleep","args":["sleep","3"]}]}'
"$MOAT" --root "$ROOT" create --bundle "$B" --pid-file "$TMP/pid14" life-14 &
CPID=$!
# killed while its createRuntime hook runs (the hook is create's child)
for i in $(seq 100); do ps -o comm= --ppid "$CPID" 2>/dev/null | grep -qx sleep && break; sleep 0.05; done
kill -9 $CPID; wait $CPID 2>/dev/null
if [ -n "$SYSTEMD_CG" ]; then
  # The init dies with its create (PDEATHSIG); systemd then ends the
  # emptied scope itself, at a moment of its own: left or not, the test
  # is that delete --force leaves nothing.
  ok "the killed create left its cgroup behind # SKIP systemd ends an emptied scope itself"
else
  t_ok "the killed create left its cgroup behind" cgroup_exists life-14
fi
t_ok "delete after a killed create" M delete --force life-14
t_fails "removes the cgroup" cgroup_exists life-14
t_is "and the state" "$(M list -q)" ""
for _ in $(seq 50); do [ "$(stray_procs life-14)" = 0 ] && break; sleep 0.05; done
t_is "and no process remains" "$(stray_procs life-14)" 0
cfg "$B" 'del(.hooks)'

# moat killed by SIGKILL mid-run: the container lives on, delete --force ends it all
setargs "$B" /bin/workload sleep 30
"$MOAT" --root "$ROOT" run --bundle "$B" life-15 > /dev/null 2>&1 &
RPID=$!
wait_status life-15 running 50
kill -9 $RPID; wait $RPID 2>/dev/null
t_is "after moat run is killed the container still runs" "$(M state life-15 | jq -r .status)" running
t_ok "delete --force after a killed run" M delete --force life-15
t_fails "removes its cgroup" cgroup_exists life-15
for _ in $(seq 50); do [ "$(stray_procs life-15)" = 0 ] && break; sleep 0.05; done
t_is "and no process remains" "$(stray_procs life-15)" 0

# crun's spellings that engines pass: create/run --config FILE (the bundle
# stays the base of root.path) and the global --cgroup-manager.
mkbundle "$TMP/cfgb" /bin/workload echo from-bundle-config
jq '.process.args = ["/bin/workload", "echo", "from-config-file"]' "$TMP/cfgb/config.json" > "$TMP/other.json"
t_is "run --config FILE: the config is FILE's" "$(M run --bundle "$TMP/cfgb" --config "$TMP/other.json" life-cfg)" from-config-file
t_is "the bundle's own config.json otherwise" "$(M run --bundle "$TMP/cfgb" life-cfg)" from-bundle-config
OUT=$(M create --bundle "$TMP/cfgb" --config "$TMP/nosuch.json" life-cfg2 2>&1); RC=$?
t_like "--config of a missing file: an error naming it" "$RC $OUT" "^1 .*$TMP/nosuch.json"
t_fails "... and no state is left" test -e "$ROOT/life-cfg2"
t_is "--cgroup-manager cgroupfs: the default" "$("$MOAT" --root "$ROOT" --cgroup-manager cgroupfs run --bundle "$TMP/cfgb" life-cgm)" from-bundle-config
# (Where the systemd driver can work, it does; elsewhere it says what it needs.)
if [ "$("$MOAT" features | jq -r .linux.cgroup.systemd)" = true ]; then
  t_is "--cgroup-manager systemd: as --systemd-cgroup" "$("$MOAT" --root "$ROOT" --cgroup-manager systemd run --bundle "$TMP/cfgb" life-cgm 2>&1)" from-bundle-config
else
  t_like "--cgroup-manager systemd: as --systemd-cgroup" "$("$MOAT" --root "$ROOT" --cgroup-manager systemd run --bundle "$TMP/cfgb" life-cgm 2>&1)" "--systemd-cgroup"
fi
t_like "--cgroup-manager of another kind: refused" "$("$MOAT" --cgroup-manager bogus list 2>&1)" "must be cgroupfs, systemd or disabled, not \`bogus\`"
cfg "$TMP/cfgb" 'del(.linux.resources) | .process.args = ["/bin/workload", "cat", "/proc/self/cgroup"]'
OUT=$("$MOAT" --root "$ROOT" --cgroup-manager disabled run -d --bundle "$TMP/cfgb" life-cgd 2>&1); RC=$?
t_like "--cgroup-manager disabled: created, and says what it leaves out" "$RC $OUT" "^0 .*disabled: no cgroup"
t_fails "... no cgroup is made" cgroup_exists life-cgd
M delete --force life-cgd >/dev/null 2>&1
cfg "$TMP/cfgb" '.linux.resources = {"memory": {"limit": 67108864}}'
OUT=$("$MOAT" --root "$ROOT" --cgroup-manager disabled run --bundle "$TMP/cfgb" life-cgd2 2>&1); RC=$?
t_like "--cgroup-manager disabled with a limit: refused, naming it" "$RC $OUT" "^1 .*linux.resources.memory: --cgroup-manager disabled"
t_fails "... and no state is left" test -e "$ROOT/life-cgd2"

# global flags and version
t_like "--version in runc's shape" "$("$MOAT" --version)" "^moat version [0-9]"
t_like "--help lists commands" "$("$MOAT" --help)" "create"
t_fails "unknown command" "$MOAT" frobnicate
F=$("$MOAT" features)
t_is "features: OCI features JSON" "$(jq -r '.ociVersionMax + " " + (.linux.seccomp.enabled|tostring)' <<<"$F")" "1.3.0 true"
t_is "features: every namespace type" "$(jq -r '.linux.namespaces | length' <<<"$F")" 8
t_like "features: the host CPU's user/kernel protections" "$(jq -r '.annotations["org.moat.cpu.smep"]' <<<"$F")" "^(true|false)$"
t_is "features: matches /proc/cpuinfo for smap" "$(jq -r '.annotations["org.moat.cpu.smap"]' <<<"$F")" \
  "$(grep -qw smap /proc/cpuinfo && echo true || echo false)"
t_done
