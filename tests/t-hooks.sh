#!/bin/bash
# OCI hooks: all six stages run, in order, where the runtime-spec says, with
# the state on stdin, their own args and env; timeouts and failures of the
# creation-time hooks abort the create and leave nothing behind; poststart
# and poststop failures only warn.
. "$(dirname "$0")/lib.sh"

JQ=$(command -v jq)
HL="$TMP/hooklog"          # bind-mounted into the container at /hooklog
LOG="$HL/log"
mkdir -p "$HL"
chmod 777 "$HL"

host_ns () { stat -L -c %i "/proc/self/ns/$1"; }
HOST_NET=$(host_ns net)

# The host-side hook: one line per call, the state it got saved verbatim.
# $1 is the stage (from the hook's args), $2 an optional exit status.
HOOK="$TMP/hook.sh"
cat > "$HOOK" <<EOF
#!/bin/bash
stage=\$1
in=\$(cat)
printf '%s' "\$in" > "$HL/\$stage.json"
f () { printf '%s' "\$in" | $JQ -r "\$1" 2>/dev/null; }
echo "\$stage status=\$(f .status) id=\$(f .id) pid=\$(f .pid) env=\${HOOKVAR-unset} leak=\${HOOKS_LEAK-unset} net=\$(stat -L -c %i /proc/self/ns/net)" >> "$LOG"
exit \${2:-0}
EOF
chmod 755 "$HOOK"

# A hook that outlives any sane timeout; its command line names $TMP, so a
# hook left running shows up in stray_procs.
SLOW="$TMP/slow.sh"
printf '#!/bin/bash\nexec -a "%s/slow-hook" sleep 10\n' "$TMP" > "$SLOW"
chmod 755 "$SLOW"

# hookdef STAGE [EXIT]: a hook entry for the host-side hook.
hookdef () {
  jq -n --arg p "$HOOK" --arg s "$1" --arg x "${2:-0}" \
    '{path: $p, args: ["hook", $s, $x], env: ["HOOKVAR=v-" + $s, "PATH=/usr/bin:/bin"]}'
}

# The startContainer hook runs after pivot_root: it lives in the rootfs and
# is run by the rootfs's busybox. It writes to the same log through /hooklog.
mkbundle_hooks () {
  local b=$1; shift
  mkbundle "$b" "$@"
  mkdir -p "$b/rootfs/hooklog" "$b/rootfs/hooks"
  cat > "$b/rootfs/hooks/start.sh" <<'EOF'
#!/bin/sh
BB=/bin/busybox
in=$($BB cat)
printf '%s' "$in" > /hooklog/startContainer.json
g () { printf '%s' "$in" | $BB sed -n "s/.*\"$1\" *: *\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
echo "startContainer status=$(g status) id=$(g id) pid=$(g pid) env=${HOOKVAR-unset} leak=${HOOKS_LEAK-unset} net=$($BB stat -L -c %i /proc/self/ns/net)" >> /hooklog/log
EOF
  chmod 755 "$b/rootfs/hooks/start.sh"
  cfg "$b" '.mounts += [{destination: "/hooklog", type: "bind", source: $hl, options: ["rbind", "rw"]}]' --arg hl "$HL"
  cfg "$b" '.hooks = {
      prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
      startContainer: [{path: "/hooks/start.sh", args: ["start.sh"], env: ["HOOKVAR=v-startContainer"]}],
      poststart: [$ps], poststop: [$pst]}' \
    --argjson pre "$(hookdef prestart)" --argjson cr "$(hookdef createRuntime)" \
    --argjson cc "$(hookdef createContainer)" --argjson ps "$(hookdef poststart)" \
    --argjson pst "$(hookdef poststop)"
}

stages () { [ -f "$LOG" ] && awk '{print $1}' "$LOG" | paste -sd' ' -; }
line () { grep "^$1 " "$LOG"; }
field () { line "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# An exported variable of the caller: a hook with an env of its own must not see it.
export HOOKS_LEAK=leaked

# --- create / start / delete: every stage, in order ------------------------
B="$TMP/b"
mkbundle_hooks "$B" /bin/workload pid
: > "$LOG"
t_ok "create with all six hook stages" M create --bundle "$B" --pid-file "$TMP/pid" hooks-1
PID=$(cat "$TMP/pid" 2>/dev/null || echo none)
t_is "after create: prestart, createRuntime, createContainer ran, in order" \
  "$(stages)" "prestart createRuntime createContainer"
t_ok "start" M start hooks-1
t_is "after start: startContainer, then poststart" \
  "$(stages)" "prestart createRuntime createContainer startContainer poststart"
wait_status hooks-1 stopped
t_ok "delete" M delete hooks-1
t_is "after delete: poststop last; each stage exactly once" \
  "$(stages)" "prestart createRuntime createContainer startContainer poststart poststop"

for s in prestart createRuntime createContainer startContainer poststart poststop; do
  t_ok "$s: stdin is the state JSON (ociVersion, id, bundle)" \
    jq -e --arg b "$B" '.ociVersion != null and .id == "hooks-1" and .bundle == $b' "$HL/$s.json"
  t_is "$s: state id" "$(field "$s" id)" hooks-1
  t_is "$s: env from the hook's env" "$(field "$s" env)" "v-$s"
  t_is "$s: the caller's environment is not inherited" "$(field "$s" leak)" unset
done
for s in prestart createRuntime createContainer startContainer poststart; do
  t_is "$s: state pid is the container's pid" "$(field "$s" pid)" "$PID"
done
# After step 2 of the lifecycle (the runtime environment exists): prestart
# and createRuntime see "created" (runtime-spec's state; crun's value, runc
# says "creating"); createContainer, run by the init itself, "creating".
for s in prestart createRuntime; do
  t_is "$s: status created" "$(field "$s" status)" created
done
t_is "createContainer: status creating" "$(field createContainer status)" creating
t_like "startContainer: status created or running" "$(field startContainer status)" '^(created|running)$'
t_is "poststart: status running" "$(field poststart status)" running
t_is "poststop: status stopped" "$(field poststop status)" stopped

# Where they run: the runtime's namespaces, or the container's.
t_is "prestart runs in the runtime's network namespace" "$(field prestart net)" "$HOST_NET"
t_is "createRuntime runs in the runtime's network namespace" "$(field createRuntime net)" "$HOST_NET"
t_unlike "createContainer runs in the container's network namespace" "$(field createContainer net)" "^$HOST_NET\$"
t_is "startContainer runs in the same namespace as createContainer" \
  "$(field startContainer net)" "$(field createContainer net)"
t_is "poststart runs in the runtime's network namespace" "$(field poststart net)" "$HOST_NET"
t_is "poststop runs in the runtime's network namespace" "$(field poststop net)" "$HOST_NET"

# --- args: args[0] is argv0, the rest follow ------------------------------
# The workload prints its argv, so it shows exactly what the hook was given.
# (Into a file: the created init keeps create's stdout open, so $(...) would
# wait for it.)
B2="$TMP/b2"
mkbundle "$B2" /bin/workload pid
cfg "$B2" '.hooks.prestart = [{path: $w, args: ["hook-argv0", "args", "one", "two words"]}]' --arg w "$WORKLOAD"
M create --bundle "$B2" hooks-args >"$TMP/args.out" 2>&1
OUT=$(cat "$TMP/args.out")
t_like "hook args: argv[0] is args[0], not the path" "$OUT" '^argv\[0\]=hook-argv0$'
t_like "hook args: argv[1]" "$OUT" '^argv\[1\]=args$'
t_like "hook args: argv[2]" "$OUT" '^argv\[2\]=one$'
t_like "hook args: argv[3] keeps its space" "$OUT" '^argv\[3\]=two words$'
t_unlike "hook args: nothing beyond args" "$OUT" '^argv\[4\]='
M delete --force hooks-args >/dev/null 2>&1

# --- a hook that times out ---------------------------------------------------
B3="$TMP/b3"
mkbundle "$B3" /bin/workload sleep 30
cfg "$B3" '.hooks.prestart = [{path: $s, timeout: 1}]' --arg s "$SLOW"
T0=$(date +%s%N)
M create --bundle "$B3" hooks-timeout >"$TMP/to.out" 2>&1
RC=$?
T1=$(date +%s%N)
t_unlike "timed-out prestart hook: create fails" "$RC" '^0$'
t_like "timed-out prestart hook: error says timed out" "$(cat "$TMP/to.out")" "timed out"
t_like "timed-out prestart hook: create gives up within a few seconds ($(( (T1 - T0) / 1000000 )) ms)" \
  "$(( (T1 - T0) / 1000000 ))" '^([0-9]{1,3}|[1-3][0-9]{3})$'
t_fails "timed-out prestart hook: no state" M state hooks-timeout
t_is "timed-out prestart hook: no state dir" "$(ls "$ROOT" 2>/dev/null)" ""
t_fails "timed-out prestart hook: no cgroup" cgroup_exists hooks-timeout
t_is "timed-out prestart hook: no stray process (hook or init)" "$(stray_procs hooks-timeout 2>/dev/null)" 0

# The same in the container's namespaces: a createContainer hook that times out.
cfg "$B3" 'del(.hooks.prestart) | .hooks.createContainer = [{path: $s, timeout: 1}]' --arg s "$SLOW"
T0=$(date +%s%N)
M create --bundle "$B3" hooks-timeout2 >"$TMP/to2.out" 2>&1
RC=$?
T1=$(date +%s%N)
t_unlike "timed-out createContainer hook: create fails" "$RC" '^0$'
t_like "timed-out createContainer hook: error says timed out" "$(cat "$TMP/to2.out")" "timed out"
t_like "timed-out createContainer hook: within a few seconds ($(( (T1 - T0) / 1000000 )) ms)" \
  "$(( (T1 - T0) / 1000000 ))" '^([0-9]{1,3}|[1-3][0-9]{3})$'
t_is "timed-out createContainer hook: no state dir" "$(ls "$ROOT" 2>/dev/null)" ""
t_fails "timed-out createContainer hook: no cgroup" cgroup_exists hooks-timeout2
t_is "timed-out createContainer hook: no stray process" "$(stray_procs hooks-timeout2 2>/dev/null)" 0

# --- a failing createContainer hook -----------------------------------------
B4="$TMP/b4"
mkbundle_hooks "$B4" /bin/workload sleep 30
cfg "$B4" '.hooks.createContainer = [$cc]' --argjson cc "$(hookdef createContainer 3)"
: > "$LOG"
M create --bundle "$B4" hooks-ccfail >"$TMP/cc.out" 2>&1
RC=$?
t_unlike "failing createContainer hook: create fails" "$RC" '^0$'
t_like "failing createContainer hook: the error names the stage" "$(cat "$TMP/cc.out")" "createContainer"
t_like "failing createContainer hook: the error gives the exit status" "$(cat "$TMP/cc.out")" "exit status 3([^0-9]|$)"
t_is "failing createContainer hook: later stages did not run" \
  "$(stages)" "prestart createRuntime createContainer"
t_fails "failing createContainer hook: no state" M state hooks-ccfail
t_is "failing createContainer hook: no state dir" "$(ls "$ROOT" 2>/dev/null)" ""
t_fails "failing createContainer hook: no cgroup" cgroup_exists hooks-ccfail
t_is "failing createContainer hook: no stray process" "$(stray_procs hooks-ccfail 2>/dev/null)" 0

# A failing prestart hook stops create before createRuntime.
cfg "$B4" '.hooks.createContainer = [$cc] | .hooks.prestart = [$pre]' \
  --argjson cc "$(hookdef createContainer)" --argjson pre "$(hookdef prestart 1)"
: > "$LOG"
t_fails "failing prestart hook: create fails" M create --bundle "$B4" hooks-prefail
t_is "failing prestart hook: nothing after it ran" "$(stages)" "prestart"
t_is "failing prestart hook: no state dir" "$(ls "$ROOT" 2>/dev/null)" ""
t_fails "failing prestart hook: no cgroup" cgroup_exists hooks-prefail
t_is "failing prestart hook: no stray process" "$(stray_procs hooks-prefail 2>/dev/null)" 0

# --- a failing poststart hook stops the container (runtime-spec 1.3) -----------
# Lifecycle step 9: "If any poststart hook fails, the runtime MUST generate
# an error, stop the container, and continue the lifecycle at step 12" (its
# destruction). (1.2 and before: a warning; moat used to only warn.)
B5="$TMP/b5"
mkbundle_hooks "$B5" /bin/workload sleep 30
cfg "$B5" '.hooks.poststart = [$ps, $ps2]' --argjson ps "$(hookdef poststart 1)" --argjson ps2 "$(hookdef poststart-2)"
: > "$LOG"
t_ok "failing poststart hook: create" M create --bundle "$B5" hooks-psfail
M start hooks-psfail >"$TMP/ps.out" 2>"$TMP/ps.err"
t_is "failing poststart hook: start exits 1" "$?" 1
t_like "failing poststart hook: the error names the stage and says the container stopped" "$(cat "$TMP/ps.err")" \
  "stopped.*poststart hook \[0\]"
t_is "failing poststart hook: the container is stopped (its workload killed)" "$(M state hooks-psfail | jq -r .status)" stopped
t_ok "failing poststart hook: delete" M delete hooks-psfail
t_is "failing poststart hook: the poststart hooks after it did not run; poststop did" \
  "$(stages)" "prestart createRuntime createContainer startContainer poststart poststop"
cfg "$B5" '.hooks.poststart = [$ps]' --argjson ps "$(hookdef poststart)"

# A failing poststop hook only warns too: the container is still deleted.
cfg "$B5" '.hooks.poststart = [$ps] | .hooks.poststop = [$pst]' \
  --argjson ps "$(hookdef poststart)" --argjson pst "$(hookdef poststop 1)"
M create --bundle "$B5" hooks-pstfail >/dev/null 2>&1 && M start hooks-pstfail >/dev/null 2>&1
M kill hooks-pstfail KILL >/dev/null 2>&1
wait_status hooks-pstfail stopped
M delete hooks-pstfail >"$TMP/pst.out" 2>"$TMP/pst.err"
t_is "failing poststop hook: delete still exits 0" "$?" 0
t_like "failing poststop hook: a warning on stderr" "$(cat "$TMP/pst.err")" "poststop"
t_fails "failing poststop hook: the container is gone" M state hooks-pstfail
t_fails "failing poststop hook: no cgroup" cgroup_exists hooks-pstfail

# All the poststop hooks run when one of them fails (runtime-spec: "the
# remaining hooks and lifecycle continue as if the hook had succeeded").
# With run, a failing poststart hook: an error, and the container is gone.
B7="$TMP/b7"
mkbundle "$B7" /bin/workload echo ran
cfg "$B7" '.hooks = {poststart: [$ps1], poststop: [$pst1, $pst2]}' \
  --argjson ps1 "$(hookdef poststart-1)" \
  --argjson pst1 "$(hookdef poststop-1 1)" --argjson pst2 "$(hookdef poststop-2)"
: > "$LOG"
M run --bundle "$B7" hooks-rest >/dev/null 2>"$TMP/rest.err"
t_is "a failing poststop hook: run still exits 0" "$?" 0
t_is "the hooks after a failing one in the same stage still ran" \
  "$(stages)" "poststart-1 poststop-1 poststop-2"
t_like "each failure is a warning naming its hook" "$(cat "$TMP/rest.err")" "poststop hook \[0\]"
cfg "$B7" '.hooks = {poststart: [$ps1, $ps2], poststop: [$pst1]}' \
  --argjson ps1 "$(hookdef poststart-1 1)" --argjson ps2 "$(hookdef poststart-2)" --argjson pst1 "$(hookdef poststop-1)"
: > "$LOG"
M run --bundle "$B7" hooks-psrun >/dev/null 2>"$TMP/psrun.err"
t_is "run with a failing poststart hook: exits 1 (runtime-spec 1.3)" "$?" 1
t_is "... the next poststart hook does not run, the container is destroyed (poststop ran)" \
  "$(stages)" "poststart-1 poststop-1"
t_fails "... and nothing of it is left" M state hooks-psrun

# A hook without env gets moat's environment (runc and crun do the same).
cfg "$B7" '.hooks = {prestart: [{path: $p, args: ["hook", "noenv"]}]}' --arg p "$HOOK"
: > "$LOG"
HOOKVAR=from-moat M run --bundle "$B7" hooks-noenv >/dev/null 2>&1
t_is "a hook without env inherits moat's environment" "$(field noenv leak)" leaked
t_is "... all of it" "$(field noenv env)" from-moat

# --- moat run runs them too ----------------------------------------------------
B6="$TMP/b6"
mkbundle_hooks "$B6" /bin/workload echo hello-from-run
: > "$LOG"
OUT=$(M run --bundle "$B6" hooks-run 2>"$TMP/run.err")
t_is "run: exit status 0" "$?" 0
t_like "run: the workload ran" "$OUT" '^hello-from-run$'
t_is "run: all six stages, in order" \
  "$(stages)" "prestart createRuntime createContainer startContainer poststart poststop"
t_is "run: hooks got the id" "$(awk '{print $3}' "$LOG" | sort -u)" "id=hooks-run"
t_is "run: no state left" "$(ls "$ROOT" 2>/dev/null)" ""
t_is "run: no stray process" "$(stray_procs hooks-run 2>/dev/null)" 0

t_done
