#!/bin/bash
# Concurrency: many moat processes on one state root at once. Parallel
# create/start/delete of distinct ids all succeed; concurrent creates of one
# id have exactly one winner and leave the winner intact; parallel runs each
# report their workload's exit status; nothing is left behind.
. "$(dirname "$0")/lib.sh"

N=20
B="$TMP/b"
mkbundle "$B" /bin/workload sleep 30
cfg "$B" 'del(.linux.resources)'    # moat warns about it; these tests want quiet stderr

our_cgroups () { ls -d /sys/fs/cgroup/*/moat/par-* /sys/fs/cgroup/moat/par-* 2>/dev/null | sort; }
# Live processes (zombies are dead: only their reaping by the host's pid 1
# is pending) in any par-* cgroup, plus those whose command line names $TMP.
par_cg_pids () {
  local f p st
  for f in $(grep -ls -- '/moat/par-' /proc/[0-9]*/cgroup 2>/dev/null); do
    p=${f#/proc/}; p=${p%%/*}
    [ "$p" = "$$" ] && continue
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
    case $st in ''|Z|X) continue ;; esac
    echo "$p"
  done
}
par_procs () { echo $(( $(par_cg_pids | wc -l) + $(stray_procs 2>/dev/null) )); }
par_diag () {
  local p
  for p in $(par_cg_pids); do
    diag "in a par- cgroup: $p [$(cut -d' ' -f2-4 "/proc/$p/stat" 2>/dev/null)] $(grep -h moat "/proc/$p/cgroup" 2>/dev/null | head -n 1) $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"
  done
}
no_leftovers () {   # no_leftovers WHAT
  t_is "$1: list is empty" "$(M list -q)" ""
  t_is "$1: list --format json is []" "$(M list --format json | jq -c .)" "[]"
  t_is "$1: no state dirs" "$(ls -A "$ROOT" 2>/dev/null)" ""
  t_is "$1: no cgroups" "$(our_cgroups)" ""
  local n; n=$(par_procs)
  t_is "$1: no stray processes" "$n" 0
  [ "$n" = 0 ] || par_diag
  t_is "$1: mount count unchanged" "$(mount_count)" "$MOUNTS0"
}

# parallel NAME CMD... : run CMD with %i replaced by 1..N in the background,
# all at once; wait for each and store its exit status in $TMP/NAME.I.rc,
# its output in $TMP/NAME.I.out and .err.
parallel () {
  local name=$1; shift
  local i a pids=()
  for i in $(seq "$N"); do
    local args=()
    for a in "$@"; do args+=("${a//%i/$i}"); done
    "${args[@]}" > "$TMP/$name.$i.out" 2> "$TMP/$name.$i.err" &
    pids[i]=$!
  done
  for i in $(seq "$N"); do
    wait "${pids[i]}"
    echo $? > "$TMP/$name.$i.rc"
  done
}
# rcs NAME: the sorted, counted exit statuses, e.g. "20x0".
rcs () { cat "$TMP/$1".*.rc | sort -n | uniq -c | awk '{printf "%s%dx%s", (NR > 1 ? " " : ""), $1, $2}'; }
errs () { cat "$TMP/$1".*.err | sort | uniq -c | head -n 5; }

MOUNTS0=$(mount_count)

# --- 20 distinct ids: create, start, delete, all in parallel ------------------
parallel create M create --bundle "$B" --pid-file "$TMP/par-%i.pid" par-%i
t_is "$N parallel creates all exit 0" "$(rcs create)" "${N}x0"
[ "$(rcs create)" = "${N}x0" ] || diag "$(errs create)"
t_is "list --format json has $N entries" "$(M list --format json | jq length)" "$N"
t_is "all $N are created" "$(M list --format json | jq -r '[.[].status] | unique | join(",")')" created
t_is "list -q shows each id once" "$(M list -q | sort)" "$(seq -f 'par-%g' "$N" | sort)"
t_is "$N distinct init pids" "$(M list --format json | jq '[.[].pid] | unique | length')" "$N"
t_is "$N distinct cgroups" "$(our_cgroups | sed 's|.*/||' | sort -u | wc -l)" "$N"
ok_pidfiles=0
for i in $(seq "$N"); do
  [ "$(cat "$TMP/par-$i.pid" 2>/dev/null)" = "$(M state "par-$i" | jq -r .pid)" ] && ok_pidfiles=$((ok_pidfiles + 1))
done
t_is "every --pid-file matches its state" "$ok_pidfiles" "$N"

parallel start M start par-%i
t_is "$N parallel starts all exit 0" "$(rcs start)" "${N}x0"
[ "$(rcs start)" = "${N}x0" ] || diag "$(errs start)"
running=0
for i in $(seq "$N"); do
  wait_status "par-$i" running 30 && running=$((running + 1))
done
t_is "all $N are running" "$running" "$N"
t_is "list says all running" "$(M list --format json | jq -r '[.[].status] | unique | join(",")')" running
t_is "list --format json still has $N entries" "$(M list --format json | jq length)" "$N"
workloads=0
for pid in $(M list --format json | jq -r '.[].pid'); do
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '^/bin/workload sleep 30 $' && workloads=$((workloads + 1))
done
t_is "each init is now 'workload sleep 30'" "$workloads" "$N"

parallel delete M delete --force par-%i
t_is "$N parallel delete --force all exit 0" "$(rcs delete)" "${N}x0"
[ "$(rcs delete)" = "${N}x0" ] || diag "$(errs delete)"
no_leftovers "after parallel delete"

# --- one id, 10 concurrent creates: exactly one winner --------------------------
RACE=10
pids=()
for i in $(seq "$RACE"); do
  M create --bundle "$B" --pid-file "$TMP/race.$i.pid" par-race > "$TMP/race.$i.out" 2> "$TMP/race.$i.err" &
  pids[i]=$!
done
winners=0 losers=0 other=0 winner=
for i in $(seq "$RACE"); do
  wait "${pids[i]}"
  rc=$?
  case $rc in
    0) winners=$((winners + 1)); winner=$i ;;
    1) if grep -q "^moat: .*par-race.*already exists" "$TMP/race.$i.err" && [ "$(wc -l < "$TMP/race.$i.err")" = 1 ]
       then losers=$((losers + 1)); else other=$((other + 1)); diag "race $i: $(cat "$TMP/race.$i.err")"; fi ;;
    *) other=$((other + 1)); diag "race $i: exit $rc: $(cat "$TMP/race.$i.err")" ;;
  esac
done
t_is "same-id race: exactly one create exits 0" "$winners" 1
t_is "same-id race: $((RACE - 1)) exit 1 with one 'already exists' line" "$losers" $((RACE - 1))
t_is "same-id race: no other outcome" "$other" 0
sleep 0.2
t_is "same-id race: list -q shows the id once" "$(M list -q)" par-race
t_is "same-id race: the winner is created" "$(M state par-race | jq -r .status)" created
WPID=$(cat "$TMP/race.${winner:-0}.pid" 2>/dev/null || echo none)
t_is "same-id race: state pid is the winner's" "$(M state par-race | jq -r .pid)" "$WPID"
t_ok "same-id race: the winner's init is alive" pid_running "$WPID"
t_ok "same-id race: its cgroup exists" cgroup_exists par-race
t_is "same-id race: its init is in its cgroup" \
  "$(grep -c '/moat/par-race$' "/proc/$WPID/cgroup" 2>/dev/null | awk '{print ($1 > 0)}')" 1
t_is "same-id race: one live process in its cgroup (the winner's init)" \
  "$(par_cg_pids | while read -r p; do grep -q '/moat/par-race$' "/proc/$p/cgroup" 2>/dev/null && echo "$p"; done)" "$WPID"
t_ok "same-id race: the winner can be started" M start par-race
t_ok "same-id race: and runs" wait_status par-race running 30
t_ok "same-id race: delete it" M delete --force par-race
no_leftovers "after the same-id race"

# --- 20 parallel runs, each exits 7 -------------------------------------------------
B7="$TMP/b7"
mkbundle "$B7" /bin/workload exit 7
cfg "$B7" 'del(.linux.resources)'
parallel run M run --bundle "$B7" par-run-%i
t_is "$N parallel runs of 'workload exit 7' all exit 7" "$(rcs run)" "${N}x7"
[ "$(rcs run)" = "${N}x7" ] || diag "$(errs run)"
t_is "parallel runs: nothing on stderr" "$(cat "$TMP"/run.*.err)" ""
no_leftovers "after parallel runs"

t_done
