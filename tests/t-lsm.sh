#!/bin/bash
# The LSM wall: process.apparmorProfile, process.selinuxLabel,
# linux.mountLabel and exec's --apparmor / --process-label / --process.
# Where a module is not enabled the container is refused, as runc 1.1.5
# refuses it (runc runs beside moat on the same bundle when it is there).
# Where AppArmor is enabled (the qemu lane: Debian's 6.1 kernel), a profile
# loaded here that denies a path is in force inside the container and in an
# exec'd process, the call gets EACCES, and the audit log has a record
# naming AppArmor, which `moat explain` explains.
. "$(dirname "$0")/lib.sh"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"
AUD="$TMP/audit"
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
RUNC=${RUNC:-/usr/sbin/runc}
[ -x "$RUNC" ] || RUNC=
R () { "$RUNC" --root "$TMP/runc" "$@"; }
runc_cleanup () {
  local id
  [ -n "$RUNC" ] || return 0
  for id in $(R list -q 2>/dev/null); do R delete --force "$id" >/dev/null 2>&1; done
}
PROFILE=
unload () { [ -n "$PROFILE" ] && apparmor_parser -R "$TMP/profile" >/dev/null 2>&1; PROFILE=; }
trap 'runc_cleanup; unload; cleanup' EXIT

B="$TMP/b"
mkbundle "$B"
mkdir -p "$B/rootfs/data"
echo secret > "$B/rootfs/data/secret"
echo spaced > "$B/rootfs/data/a b"
cfg "$B" '.root.readonly = false | .process.terminal = false'
cp "$B/config.json" "$TMP/plain.json"
sh_args () { cfg "$B" '.process.args = ["/bin/busybox", "sh", "-c", $s]' --arg s "$1"; }
features=$(M features)
t_is "features: AppArmor and SELinux support is compiled in (runtime-spec: not the host's)" \
  "$(printf '%s' "$features" | jq -c '[.linux.apparmor.enabled, .linux.selinux.enabled]')" "[true,true]"

# ---- a module that is not enabled: refused, never dropped ---------------------
# refuse_case NAME JQ WANT-REGEX: moat refuses the config, leaving nothing,
# and runc (when here) refuses it too.
refuse_case () {
  local name=$1 filter=$2 want=$3 out rc
  cfg "$B" "$filter"
  out=$(M run --bundle "$B" "lsm-$name" 2>&1); rc=$?
  t_like "$name: refused where the module is not enabled (status $rc)" "$rc $out" "^1 .*$want"
  t_is "$name: nothing left behind" "$(ls "$ROOT" 2>/dev/null | wc -l) $(cgroup_exists "lsm-$name" && echo cg)" "0 "
  if [ -n "$RUNC" ]; then
    out=$(R run --bundle "$B" "runc-$name" 2>&1); rc=$?
    t_is "$name: runc refuses it too" "$rc" 1
    R delete --force "runc-$name" >/dev/null 2>&1
  fi
  cp "$TMP/plain.json" "$B/config.json"
}
# What the host has, seen from here (not from moat, whose view is tested).
AA_ON=$([ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && echo true || echo false)
SE_ON=$([ "$(stat -f -c %T /sys/fs/selinux 2>/dev/null)" = selinux ] && echo true || echo false)
t_is "features: the host's AppArmor and SELinux, as /sys/module and /sys/fs/selinux say" \
  "$(printf '%s' "$features" | jq -r '.annotations | "\(.["org.moat.apparmor.enabled"]) \(.["org.moat.selinux.enabled"])"')" \
  "$AA_ON $SE_ON"
setargs "$B" /bin/busybox true
cp "$B/config.json" "$TMP/plain.json"
if [ "$SE_ON" = false ]; then
  refuse_case selinuxLabel '.process.selinuxLabel = "system_u:system_r:container_t:s0"' \
    "process.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported"
  refuse_case mountLabel '.linux.mountLabel = "system_u:object_r:container_file_t:s0"' \
    "linux.mountLabel: SELinux is disabled or not supported"
else
  ok "# SKIP SELinux is enabled here: its refusal is not what to test"
fi
if [ "$AA_ON" = false ]; then
  refuse_case apparmorProfile '.process.apparmorProfile = "moat-test"' \
    "process.apparmorProfile .moat-test.: AppArmor is not enabled on this host"
fi

# exec: the same refusal, with runc's status for an exec that never ran (255)
setargs "$B" /bin/workload sleep 60
cp "$B/config.json" "$TMP/plain.json"
t_ok "run -d a container to exec into" A run -d --bundle "$B" lsm-x
exec_refused () {   # DESC WANT-REGEX EXEC-ARGS... (then lsm-x and a command unless --process)
  local d=$1 want=$2 out rc; shift 2
  case " $* " in *" --process "*) set -- "$@" lsm-x ;; *) set -- "$@" lsm-x /bin/busybox true ;; esac
  out=$(A exec "$@" 2>&1); rc=$?
  t_like "exec $d: refused, status 255" "$rc $out" "^255 .*$want"
}
printf '{"args":["/bin/busybox","true"],"cwd":"/","apparmorProfile":"moat-test"}' > "$TMP/p-aa.json"
printf '{"args":["/bin/busybox","true"],"cwd":"/","selinuxLabel":"system_u:system_r:container_t:s0"}' > "$TMP/p-se.json"
if [ "$AA_ON" = false ]; then
  exec_refused "--apparmor" "--apparmor .moat-test.: AppArmor is not enabled" --apparmor moat-test
  exec_refused "--process with apparmorProfile" "process.apparmorProfile .moat-test.: AppArmor is not enabled" \
    --process "$TMP/p-aa.json"
fi
if [ "$SE_ON" = false ]; then
  exec_refused "--process-label" "--process-label: selinux label is specified" \
    --process-label system_u:system_r:container_t:s0
  exec_refused "--process with selinuxLabel" "process.selinuxLabel: selinux label is specified" --process "$TMP/p-se.json"
fi
if [ -n "$RUNC" ] && [ "$AA_ON" = false ]; then
  R run -d --bundle "$B" runc-x >/dev/null 2>&1 </dev/null
  R exec --apparmor moat-test runc-x /bin/busybox true >/dev/null 2>&1
  t_is "runc: exec --apparmor is refused with 255 as well" "$?" 255
  R exec --process-label system_u:system_r:container_t:s0 runc-x /bin/busybox true >/dev/null 2>&1
  t_is "runc: exec --process-label is refused with 255 as well" "$?" 255
  R delete --force runc-x >/dev/null 2>&1
fi
t_is "exec without a label still works" "$(A exec lsm-x /bin/busybox echo fine 2>&1)" fine
A delete --force lsm-x >/dev/null 2>&1

# ---- AppArmor enabled: the profile is in force ---------------------------------
if [ "$AA_ON" != true ]; then
  ok "# SKIP AppArmor is not enabled on this kernel (tests/t-kernel-lane.sh runs this part in the qemu lane)"
  t_is "nothing left behind" "$(ls "$ROOT" 2>/dev/null | wc -l) $(mount_count) $(stray_procs)" "0 0 0"
  t_done
fi
command -v apparmor_parser >/dev/null || { not_ok "apparmor_parser is installed (apt-get install apparmor)"; t_done; }
PROFILE=moat-lsm-$$
# Everything but /data, whose denials are audited ("audit deny": a plain
# deny rule is silent). attach_disconnected: the container's paths are
# outside the host's root once it has pivoted.
cat > "$TMP/profile" <<EOF
profile $PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  audit deny /data/** rw,
}
EOF
t_ok "apparmor_parser loads the test profile" apparmor_parser -r -W "$TMP/profile"
cp "$TMP/plain.json" "$B/config.json"
cfg "$B" '.process.apparmorProfile = $p' --arg p "$PROFILE"
sh_args 'cat /proc/self/attr/current; cat /data/secret 2>&1; /bin/workload syscall open s:/data/secret 0'
out=$(A run --bundle "$B" lsm-run 2>&1)
t_like "run: /proc/self/attr/current shows the profile" "$out" "^$PROFILE \(enforce\)"
t_like "run: the denied path answers Permission denied" "$out" "/data/secret'?: Permission denied"
t_like "run: EACCES at the syscall" "$out" "open = -1 EACCES"
if [ -n "$RUNC" ]; then
  rout=$(R run --bundle "$B" runc-run 2>&1)
  t_is "runc on the same bundle: the same outcome" "$rout" "$out"
  R delete --force runc-run >/dev/null 2>&1
fi
cfg "$B" '.process.apparmorProfile = "moat-no-such-profile"'
t_like "run: a profile that is not loaded is an error naming it" "$(A run --bundle "$B" lsm-none 2>&1)" \
  "apparmorProfile .moat-no-such-profile.*no profile of that name is loaded"
A delete --force lsm-none >/dev/null 2>&1

# The audit record: the kernel's own line, attributed to the container.
cfg "$B" '.process.apparmorProfile = $p' --arg p "$PROFILE"
sh_args 'cat /data/secret; cat "/data/a b"; exec /bin/workload sleep 60'
t_ok "run -d under the profile" A run -d --bundle "$B" lsm-aud
recs () { jq -c 'select(.wall == "apparmor")' "$AUD/lsm-aud.jsonl" 2>/dev/null; }
for _ in $(seq 100); do [ "$(recs | wc -l)" -ge 2 ] && break; sleep 0.1; done
rec=$(recs | jq -c 'select(.name == "/data/secret")' | head -n 1)
t_is "audit: a record names the AppArmor wall, the profile, the path and the mask" \
  "$(printf '%s' "$rec" | jq -c '[.kind, .errno, .operation, .profile, .name, .denied, .source]')" \
  "[\"refused\",\"EACCES\",\"open\",\"$PROFILE\",\"/data/secret\",\"r\",\"kmsg\"]"
# (busybox's sh may run cat as a fork of itself: comm "sh")
t_like "audit: with the container's pid and comm for it" "$(printf '%s' "$rec" | jq -c '[.pid > 0, .nspid, .comm]')" \
  '^\[true,[0-9]+,"(cat|sh)"\]$'
t_is "audit: a name the kernel wrote in hex (it holds a space) is decoded" \
  "$(recs | jq -r 'select(.name == "/data/a b") | .name' | head -n 1)" "/data/a b"
t_like "moat audit shows it at the apparmor wall" "$(A audit lsm-aud 2>&1)" "(cat|sh) +apparmor +open /data/secret \(r\) +EACCES"
diag "record: $rec"
t_like "moat explain says AppArmor refused it and how to allow it" "$(A explain lsm-aud 2>&1)" \
  "AppArmor refused it .*profile .$PROFILE. denies r on /data/secret"

# exec: --apparmor confines the exec'd process only
cp "$TMP/plain.json" "$B/config.json"
t_ok "run -d without a profile" A run -d --bundle "$B" lsm-ex
t_is "exec: without --apparmor, unconfined" "$(A exec lsm-ex /bin/busybox cat /proc/self/attr/current 2>&1)" unconfined
t_is "exec --apparmor: the exec'd process runs under the profile" \
  "$(A exec --apparmor "$PROFILE" lsm-ex /bin/busybox cat /proc/self/attr/current 2>&1)" "$PROFILE (enforce)"
t_like "exec --apparmor: the denied path gets EACCES" \
  "$(A exec --apparmor "$PROFILE" lsm-ex /bin/workload syscall open s:/data/secret 0 2>&1)" "open = -1 EACCES"
printf '{"args":["/bin/busybox","cat","/proc/self/attr/current"],"cwd":"/","apparmorProfile":"%s"}' "$PROFILE" > "$TMP/p.json"
t_is "exec --process with apparmorProfile: the same" "$(A exec --process "$TMP/p.json" lsm-ex 2>&1)" "$PROFILE (enforce)"
t_is "exec: the container's own process is still unconfined" \
  "$(A exec lsm-ex /bin/busybox cat /data/secret 2>&1)" secret
if [ -n "$RUNC" ]; then
  setargs "$B" /bin/workload sleep 60
  R run -d --bundle "$B" runc-ex >/dev/null 2>&1 </dev/null
  t_is "runc exec --apparmor: the same profile in force" \
    "$(R exec --apparmor "$PROFILE" runc-ex /bin/busybox cat /proc/self/attr/current 2>&1)" "$PROFILE (enforce)"
  R delete --force runc-ex >/dev/null 2>&1
fi
out=$(A exec --apparmor moat-no-such-profile lsm-ex /bin/busybox true 2>&1); rc=$?
t_like "exec --apparmor with a profile that is not loaded: refused, 255" "$rc $out" \
  "^255 .*no profile of that name is loaded"
for id in lsm-aud lsm-ex lsm-run; do A delete --force "$id" >/dev/null 2>&1; done
unload
t_is "nothing left behind" "$(ls "$ROOT" 2>/dev/null | wc -l) $(mount_count) $(stray_procs)" "0 0 0"
t_done
