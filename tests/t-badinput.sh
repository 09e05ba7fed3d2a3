#!/bin/bash
# Bad input of every kind: missing or broken bundles, wrong types in
# config.json, bad ids, unknown containers, impossible executables, unknown
# names, failing hooks. Each must fail with exit status 1 and one clear
# "moat: " line on stderr that names the file, JSON path or id and the
# problem -- and leave nothing behind: no state directory, no cgroup, no
# mount, no process.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"                       # a good bundle, the template for bad ones
mkbundle "$B" /bin/workload sleep 30
printf 'not a program\n' > "$B/rootfs/bin/noexec"
chmod 644 "$B/rootfs/bin/noexec"
# No section moat only warns about (linux.resources): stderr holds the error alone.
cfg "$B" 'del(.linux.resources)'

# badb NAME JQ-FILTER [jq args...]: a bundle $TMP/NAME whose config.json is
# the good one edited by JQ-FILTER, sharing the good bundle's rootfs.
badb () {
  local d="$TMP/$1" filter=$2; shift 2
  mkdir -p "$d"
  ln -sfn "$B/rootfs" "$d/rootfs"
  jq "$filter" "$B/config.json" "$@" > "$d/config.json"
}

# Host-side snapshot for "nothing left behind".
our_cgroups () { ls -d /sys/fs/cgroup/*/moat/bad-* /sys/fs/cgroup/moat/bad-* 2>/dev/null | sort; }
state_ls () { ls -A "$ROOT" 2>/dev/null; }

# bad DESC ID REGEX CMD...: CMD (a moat command line) fails with exit status
# 1, prints nothing on stdout and exactly one line on stderr, "moat: ..."
# matching REGEX (grep -E; check further key words with bad_more), and
# leaves nothing: no $ROOT/ID, no cgroup ID, no stray process, the same
# state root listing, cgroups and mount count as before.
# ID "-" means the id is no valid name: only the global checks are made.
LAST_ERR=""
bad () {
  local d=$1 id=$2 re=$3; shift 3
  local mounts_before state_before cg_before rc
  mounts_before=$(mount_count)
  state_before=$(state_ls)
  cg_before=$(our_cgroups)
  "$@" > "$TMP/.bout" 2> "$TMP/.berr"
  rc=$?
  LAST_ERR=$(cat "$TMP/.berr")
  t_is "$d: exit status 1" "$rc" 1
  t_is "$d: nothing on stdout" "$(cat "$TMP/.bout")" ""
  t_is "$d: one line on stderr" "$(wc -l < "$TMP/.berr")" 1
  t_like "$d: stderr starts with moat:" "$LAST_ERR" '^moat: '
  t_like "$d: message" "$LAST_ERR" "$re"
  if [ "$id" != - ]; then
    t_is "$d: no state dir" "$([ -e "$ROOT/$id" ] && echo present || echo absent)" absent
    t_is "$d: no cgroup" "$(cgroup_exists "$id" && echo present || echo absent)" absent
    no_strays "$d: no stray processes" "$id"
  else
    no_strays "$d: no stray processes"
  fi
  t_is "$d: state root unchanged" "$(state_ls)" "$state_before"
  t_is "$d: no new cgroup" "$(our_cgroups)" "$cg_before"
  t_is "$d: mount count unchanged" "$(mount_count)" "$mounts_before"
}
# live_strays [ID] [-v]: stray_procs from lib.sh, minus zombies (a killed
# init reparented to the host's pid 1 may wait there to be reaped; it is
# dead). With -v, one diagnostic line per process.
live_strays () {
  local p st n=0
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    { tr '\0' ' ' < "$p/cmdline" | grep -q -- "$TMP" \
        || { [ -n "${1:-}" ] && grep -q -- "/moat/$1\$" "$p/cgroup"; }; } 2>/dev/null || continue
    st=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f1)
    case $st in ''|Z|X) continue ;; esac
    n=$((n + 1))
    [ "${2:-}" = -v ] && diag "stray ${p#/proc/}: $(cut -d' ' -f2-4 "$p/stat" 2>/dev/null) $(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)"
  done
  [ "${2:-}" = -v ] || echo $n
}
# no_strays DESC [ID]: no live stray process, with details when there are.
no_strays () {
  local n; n=$(live_strays "${2:-}")
  t_is "$1" "$n" 0
  [ "$n" = 0 ] || live_strays "${2:-}" -v
}
# bad_more DESC REGEX: a further key word in the last bad's message.
bad_more () { t_like "$1" "$LAST_ERR" "$2"; }

# --- unknown containers, before any state root exists --------------------
for cmd in start kill delete state; do
  bad "$cmd of an unknown id (no state root yet)" bad-ghost "container \`bad-ghost\` does not exist" \
    M "$cmd" bad-ghost
done

# --- the bundle ------------------------------------------------------------
bad "create: missing bundle dir" bad-1 "bundle" M create --bundle "$TMP/nonexistent" bad-1
bad_more "missing bundle: names the dir" "$TMP/nonexistent"
bad_more "missing bundle: says why" "No such file or directory"
bad "run: missing bundle dir" bad-1r "$TMP/nonexistent" M run --bundle "$TMP/nonexistent" bad-1r

mkdir -p "$TMP/noconfig/rootfs"
bad "create: bundle without config.json" bad-2 "$TMP/noconfig/config.json" M create --bundle "$TMP/noconfig" bad-2
bad_more "no config.json: says why" "No such file or directory"

mkdir -p "$TMP/malformed"
ln -sfn "$B/rootfs" "$TMP/malformed/rootfs"
printf '{\n  "ociVersion": "1.2.0",\n  "root": {"path": "rootfs",}\n}\n' > "$TMP/malformed/config.json"
bad "create: malformed JSON" bad-3 "$TMP/malformed/config.json" M create --bundle "$TMP/malformed" bad-3
bad_more "malformed JSON: says it is malformed" "malformed JSON|parse error"
bad_more "malformed JSON: says where (line 3)" "line 3"
bad_more "malformed JSON: says where (column)" "column [0-9]+"
bad "run: malformed JSON" bad-3r "line 3.*column [0-9]+" M run --bundle "$TMP/malformed" bad-3r

printf '{"ociVersion": "1.2.0", "root": {"path": "rootfs"}, "process": {"args": ["/bin/workload"' > "$TMP/malformed/config.json"
bad "create: truncated JSON" bad-3t "$TMP/malformed/config.json: .*(malformed|premature|EOF)" \
  M create --bundle "$TMP/malformed" bad-3t
bad_more "truncated JSON: says where" "line 1.*column [0-9]+"

# --- wrong types, with the JSON path ---------------------------------------
badb args-string '.process.args = "/bin/workload pid"'
bad "create: process.args a string" bad-4 "config.json: process\.args: .*(array|expected)" \
  M create --bundle "$TMP/args-string" bad-4

badb uid-string '.process.user.uid = "0"'
bad "create: process.user.uid a string" bad-5 "config.json: process\.user\.uid: .*(integer|number|expected)" \
  M create --bundle "$TMP/uid-string" bad-5

badb ro-string '.root.readonly = "yes"'
bad "create: root.readonly a string" bad-6 "config.json: root\.readonly: .*(bool|expected)" \
  M create --bundle "$TMP/ro-string" bad-6
bad "run: root.readonly a string" bad-6r "root\.readonly: .*bool" M run --bundle "$TMP/ro-string" bad-6r

badb mounts-object '.mounts = {"destination": "/x"}'
bad "create: mounts not an array" bad-7 "config.json: mounts: .*(array|expected)" \
  M create --bundle "$TMP/mounts-object" bad-7

# --- missing or bad values ---------------------------------------------------
badb no-root-path 'del(.root.path)'
bad "create: missing root.path" bad-8 "config.json: root\.path: .*(missing|required)" \
  M create --bundle "$TMP/no-root-path" bad-8

badb no-rootfs '.root.path = "no-such-rootfs"'
bad "create: rootfs dir missing" bad-9 "root\.path.*no-such-rootfs" M create --bundle "$TMP/no-rootfs" bad-9
bad_more "rootfs missing: says why" "No such file or directory"
bad "run: rootfs dir missing" bad-9r "no-such-rootfs.*No such file" M run --bundle "$TMP/no-rootfs" bad-9r

badb args-empty '.process.args = []'
bad "create: process.args empty" bad-10 "config.json: process\.args: .*empty" \
  M create --bundle "$TMP/args-empty" bad-10

badb ns-unknown '.linux.namespaces += [{type: "bogus"}]'
bad "create: unknown namespace type" bad-11 "linux\.namespaces\[[0-9]+\]\.type: .*unknown namespace type.*bogus" \
  M create --bundle "$TMP/ns-unknown" bad-11

badb map-size0 '.linux.namespaces += [{type: "user"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 0, size: 0}]
  | .linux.gidMappings = [{containerID: 0, hostID: 0, size: 1}]'
bad "create: uid mapping of size 0" bad-12 "linux\.uidMappings\[0\]\.size: .*size" \
  M create --bundle "$TMP/map-size0" bad-12
bad_more "size-0 mapping: says it is invalid" "invalid|must not be 0|zero"

badb map-nouserns '.linux.uidMappings = [{containerID: 0, hostID: 0, size: 1}]'
bad "create: uid mapping without a user namespace" bad-13 "linux\.uidMappings: .*user namespace" \
  M create --bundle "$TMP/map-nouserns" bad-13

badb mount-relative '.mounts += [{destination: "relative/dir", type: "tmpfs", source: "tmpfs"}]'
bad "create: relative mount destination" bad-14 "mounts\[[0-9]+\]\.destination: .*absolute" \
  M create --bundle "$TMP/mount-relative" bad-14

badb cap-unknown '.process.capabilities.bounding += ["CAP_FOO"]'
bad "create: unknown capability" bad-15 "process\.capabilities\.bounding\[[0-9]+\].*CAP_FOO" \
  M create --bundle "$TMP/cap-unknown" bad-15
bad_more "unknown capability: says unknown" "unknown capability"

badb rlimit-unknown '.process.rlimits += [{type: "RLIMIT_FOO", soft: 1, hard: 1}]'
bad "create: unknown rlimit" bad-16 "process\.rlimits\[[0-9]+\]\.type: .*RLIMIT_FOO" \
  M create --bundle "$TMP/rlimit-unknown" bad-16
bad_more "unknown rlimit: says unknown" "unknown rlimit"

# --- the executable ------------------------------------------------------------
badb exe-missing '.process.args = ["/bin/nope"]'
bad "create: executable missing from the rootfs" bad-17 "/bin/nope" M create --bundle "$TMP/exe-missing" bad-17
bad_more "missing executable: says why" "No such file|not found"
bad "run: executable missing from the rootfs" bad-17r "/bin/nope.*(No such file|not found)" \
  M run --bundle "$TMP/exe-missing" bad-17r

badb exe-path-missing '.process.args = ["nope-nowhere"]'
bad "create: executable not found on PATH" bad-17p "nope-nowhere.*not found" \
  M create --bundle "$TMP/exe-path-missing" bad-17p

badb exe-noexec '.process.args = ["/bin/noexec"]'
bad "create: executable is not executable" bad-18 "/bin/noexec" M create --bundle "$TMP/exe-noexec" bad-18
bad_more "non-executable: says why" "Permission denied|not executable"

badb exe-dir '.process.args = ["/bin"]'
bad "create: executable is a directory" bad-18d "\`/bin\`.*(Permission denied|not executable|directory)" \
  M create --bundle "$TMP/exe-dir" bad-18d

# --- a failing creation hook: the init, the cgroup and the state exist by then
HOOK="$TMP/fail-hook.sh"
printf '#!/bin/sh\nexit 1\n' > "$HOOK"
chmod 755 "$HOOK"
badb hook-fail '.hooks.createRuntime = [{path: $h, args: ["fail-hook"]}]' --arg h "$HOOK"
bad "create: createRuntime hook exits 1" bad-19 "createRuntime.*fail-hook\.sh.*exit status 1" \
  M create --bundle "$TMP/hook-fail" bad-19
bad "run: createRuntime hook exits 1" bad-19r "createRuntime.*exit status 1" \
  M run --bundle "$TMP/hook-fail" bad-19r

# --- bad ids ---------------------------------------------------------------------
bad "create: id with a slash" - "id.*bad-x/y" M create --bundle "$B" bad-x/y
t_is "id with a slash: nothing under \$ROOT/bad-x" "$([ -e "$ROOT/bad-x" ] && echo present || echo absent)" absent
bad "create: id .." - "id \`\.\.\`" M create --bundle "$B" ..
bad "create: id ." - "id \`\.\`" M create --bundle "$B" .
bad "create: empty id" - "id.*empty" M create --bundle "$B" ""
LONG="bad-$(printf 'x%.0s' $(seq 1996))"
bad "create: 2000-character id" "$LONG" "id.*(long|1024)" M create --bundle "$B" "$LONG"
bad "run: id with a slash" - "id.*bad-x/y" M run --bundle "$B" bad-x/y
bad "run: id .." - "id \`\.\.\`" M run --bundle "$B" ..
for cmd in start kill delete state; do
  bad "$cmd: id .." - "id \`\.\.\`" M "$cmd" ..
  bad "$cmd: id with a slash" - "id.*bad-x/y" M "$cmd" bad-x/y
done

# --- unknown containers, with a state root ----------------------------------------
t_ok "a good create still works (makes the state root)" M create --bundle "$B" bad-good
t_ok "delete the good one" M delete --force bad-good
t_ok "the state root exists now" test -d "$ROOT"
for cmd in start kill delete state; do
  bad "$cmd of an unknown id" bad-ghost "container \`bad-ghost\` does not exist" M "$cmd" bad-ghost
done

# --- duplicate id: the first container is untouched --------------------------------
t_ok "create bad-dup" M create --bundle "$B" --pid-file "$TMP/dup.pid" bad-dup
DUP_PID=$(cat "$TMP/dup.pid" 2>/dev/null || echo none)
DUP_STATE=$(M state bad-dup | jq -c '{status, pid, bundle, created}')
MOUNTS=$(mount_count)
badb other-bundle '.process.args = ["/bin/workload", "pid"]'
M create --bundle "$TMP/other-bundle" bad-dup > "$TMP/.bout" 2> "$TMP/.berr"
t_is "second create of bad-dup: exit status 1" "$?" 1
t_is "second create: one line on stderr" "$(wc -l < "$TMP/.berr")" 1
t_like "second create: says already exists" "$(cat "$TMP/.berr")" "^moat: .*bad-dup.*already exists"
sleep 0.2
t_is "first bad-dup: state untouched" "$(M state bad-dup | jq -c '{status, pid, bundle, created}')" "$DUP_STATE"
t_is "first bad-dup: still created" "$(M state bad-dup | jq -r .status)" created
t_ok "first bad-dup: init still alive" pid_running "$DUP_PID"
t_ok "first bad-dup: cgroup still there" cgroup_exists bad-dup
t_is "first bad-dup: init still in its cgroup" "$(grep -c '/moat/bad-dup$' "/proc/$DUP_PID/cgroup" 2>/dev/null | awk '{print ($1 > 0)}')" 1
t_is "duplicate create: mount count unchanged" "$(mount_count)" "$MOUNTS"
t_is "duplicate create: saved bundle is still the first one" "$(M state bad-dup | jq -r .bundle)" "$B"

t_ok "delete --force bad-dup" M delete --force bad-dup
t_is "bad-dup: no state dir" "$([ -e "$ROOT/bad-dup" ] && echo present || echo absent)" absent
t_fails "bad-dup: no cgroup" cgroup_exists bad-dup
no_strays "bad-dup: no stray processes" bad-dup

# --- wrong-state commands on a live container ------------------------------------
t_ok "create bad-live" M create --bundle "$B" --pid-file "$TMP/live.pid" bad-live
LIVE_PID=$(cat "$TMP/live.pid" 2>/dev/null || echo none)
t_ok "start bad-live" M start bad-live
t_ok "bad-live is running" wait_status bad-live running

M start bad-live > "$TMP/.bout" 2> "$TMP/.berr"
t_is "start of a running container: exit status 1" "$?" 1
t_is "start of a running container: one line on stderr" "$(wc -l < "$TMP/.berr")" 1
t_like "start of a running container: names id and its status" "$(cat "$TMP/.berr")" "^moat: .*bad-live.*running"
t_is "refused start: still running" "$(M state bad-live | jq -r .status)" running

M delete bad-live > "$TMP/.bout" 2> "$TMP/.berr"
t_is "delete of a running container without --force: exit status 1" "$?" 1
t_is "refused delete: one line on stderr" "$(wc -l < "$TMP/.berr")" 1
t_like "refused delete: says it is running" "$(cat "$TMP/.berr")" "^moat: .*bad-live.*running"
t_is "refused delete: still running" "$(M state bad-live | jq -r .status)" running
t_ok "refused delete: init still alive" pid_running "$LIVE_PID"
t_ok "refused delete: cgroup still there" cgroup_exists bad-live
t_ok "refused delete: state dir still there" test -d "$ROOT/bad-live"

M kill bad-live SIGNOPE > "$TMP/.bout" 2> "$TMP/.berr"
t_is "kill with an unknown signal name: exit status 1" "$?" 1
t_like "kill with an unknown signal name: names the signal" "$(head -n 1 "$TMP/.berr")" "^moat: .*SIGNOPE"
M kill bad-live 999 > "$TMP/.bout" 2> "$TMP/.berr"
t_is "kill with an out-of-range signal number: exit status 1" "$?" 1
M kill bad-live RTMIN+99 > "$TMP/.bout" 2> "$TMP/.berr"
t_is "kill with an out-of-range RTMIN+N: exit status 1" "$?" 1
t_is "unknown signals: still running" "$(M state bad-live | jq -r .status)" running
t_ok "unknown signals: init still alive" pid_running "$LIVE_PID"

t_ok "delete --force bad-live" M delete --force bad-live
t_is "bad-live: no state dir" "$([ -e "$ROOT/bad-live" ] && echo present || echo absent)" absent
t_fails "bad-live: no cgroup" cgroup_exists bad-live
no_strays "bad-live: no stray processes" bad-live

# --- --log FILE --log-format json on a failing create ---------------------------------
LOGF="$TMP/moat.log"
mkdir -p "$TMP/malformed-log"
printf '{\n  "ociVersion": "1.2.0",\n  "root": {"path": "rootfs",}\n}\n' > "$TMP/malformed-log/config.json"
rm -f "$LOGF"
bad "create with --log json (malformed config)" bad-21 "line 3.*column" \
  "$MOAT" --root "$ROOT" --log "$LOGF" --log-format json create --bundle "$TMP/malformed-log" bad-21
t_is "log file: one line" "$(wc -l < "$LOGF" 2>/dev/null)" 1
t_ok "log file: the line is valid JSON" jq -e . "$LOGF"
t_is "log file: level is error" "$(jq -r .level "$LOGF" 2>/dev/null)" error
t_like "log file: msg names the file and place" "$(jq -r .msg "$LOGF" 2>/dev/null)" "malformed-log/config.json.*line 3.*column"
t_is "log file: msg is the stderr message" "moat: $(jq -r .msg "$LOGF" 2>/dev/null)" "$LAST_ERR"
t_like "log file: time is an RFC 3339 timestamp" "$(jq -r .time "$LOGF" 2>/dev/null)" \
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'
t_is "log file: exactly the keys level, msg, time" "$(jq -c 'keys' "$LOGF" 2>/dev/null)" '["level","msg","time"]'

# a second failure appends a second line
bad "create with --log json (unknown id start)" bad-ghost "does not exist" \
  "$MOAT" --root "$ROOT" --log "$LOGF" --log-format json start bad-ghost
t_is "log file: two lines after a second failure" "$(wc -l < "$LOGF")" 2
t_is "log file: every line valid JSON with level error" "$(jq -s -c '[.[].level]' "$LOGF" 2>/dev/null)" '["error","error"]'

# --- hostile input ---------------------------------------------------------------
# timeout -k: a moat that blocks (and ignores SIGTERM) must not hang the test.
TO="timeout -k 2 10"
MR () { $TO "$MOAT" --root "$ROOT" "$@"; }
# ctl_free DESC: the last stderr holds no control byte besides its one final
# newline (no ESC, BEL or CR reached the terminal, no line was forged).
ctl_free () {
  t_is "$1: no control byte on stderr" "$(LC_ALL=C tr -d '\n' < "$TMP/.berr" | LC_ALL=C grep -c '[[:cntrl:]]')" 0
}

# Anything but a regular file is refused at once, naming the file: a FIFO
# used to block create/run for ever (SIGTERM ignored).
mkfifo "$TMP/a.fifo"
mkdir -p "$TMP/fifo" "$TMP/fifolink" "$TMP/devnull" "$TMP/cfgdir/config.json" "$TMP/cfglink"
ln -sfn "$B/rootfs" "$TMP/fifo/rootfs"
mkfifo "$TMP/fifo/config.json"
bad "create: config.json is a FIFO" bad-fifo "$TMP/fifo/config.json.*not a regular file but a FIFO" \
  MR create --bundle "$TMP/fifo" bad-fifo
bad "run: config.json is a FIFO" bad-fifor "fifo/config.json.*not a regular file but a FIFO" \
  MR run --bundle "$TMP/fifo" bad-fifor
ln -sfn "$B/rootfs" "$TMP/fifolink/rootfs"
ln -sfn "$TMP/a.fifo" "$TMP/fifolink/config.json"
bad "create: config.json a symlink to a FIFO" bad-fifol "fifolink/config.json.*not a regular file but a FIFO" \
  MR create --bundle "$TMP/fifolink" bad-fifol
ln -sfn /dev/null "$TMP/devnull/config.json"
bad "create: config.json a symlink to /dev/null" bad-devnull "devnull/config.json.*not a regular file but a character device" \
  MR create --bundle "$TMP/devnull" bad-devnull
bad "create: config.json a directory" bad-cfgdir "cfgdir/config.json.*not a regular file but a directory" \
  MR create --bundle "$TMP/cfgdir" bad-cfgdir
ln -sfn "$B/rootfs" "$TMP/cfglink/rootfs"
ln -sfn "$B/config.json" "$TMP/cfglink/config.json"
t_ok "create: config.json a symlink to a regular file is fine (as runc)" M create --bundle "$TMP/cfglink" bad-cfglink
t_ok "delete it" M delete --force bad-cfglink
bad "create --policy FIFO" bad-pfifo "policy: .*a\.fifo.*not a regular file but a FIFO" \
  MR create --policy "$TMP/a.fifo" --bundle "$B" bad-pfifo
bad "policy check FIFO" - "a\.fifo.*not a regular file but a FIFO" $TO "$MOAT" policy check "$TMP/a.fifo"
HAUD="$TMP/haud"
mkdir -p "$HAUD"
mkfifo "$HAUD/bad-afifo.jsonl"
bad "audit: the log is a FIFO" bad-afifo "bad-afifo.*not a regular file but a FIFO" \
  MR --audit-dir "$HAUD" audit bad-afifo
bad "explain: the log is a FIFO" bad-afifo "bad-afifo\.jsonl.*not a regular file but a FIFO" \
  MR --audit-dir "$HAUD" explain bad-afifo

# A parse error names the file and the place, never what the file holds:
# config.json may be a symlink to anything (/etc/shadow).
printf 'root:$6$MOATSECRET$hash:19000:0:99999:7:::\n' > "$TMP/shadow"
printf '{"ociVersion": MOATSECRET2}\n' > "$TMP/shadow2"
mkdir -p "$TMP/secret" "$TMP/secret2"
ln -sfn "$B/rootfs" "$TMP/secret/rootfs"
ln -sfn "$B/rootfs" "$TMP/secret2/rootfs"
ln -sfn "$TMP/shadow" "$TMP/secret/config.json"
ln -sfn "$TMP/shadow2" "$TMP/secret2/config.json"
for fmt in text json; do
  for s in secret secret2; do
    rm -f "$TMP/secret.log"
    bad "create: config.json -> a secret ($s, --log-format $fmt)" bad-$s \
      "$TMP/$s/config.json: malformed JSON: .* line 1, column [0-9]+" \
      "$MOAT" --root "$ROOT" --log "$TMP/secret.log" --log-format $fmt create --bundle "$TMP/$s" bad-$s
    t_unlike "$s ($fmt): stderr does not quote the file" "$LAST_ERR" "MOATSECRET|hash|19000"
    t_unlike "$s ($fmt): the log does not quote it" "$(cat "$TMP/secret.log")" "MOATSECRET|hash|19000"
    t_like "$s ($fmt): the log names the file and the place" "$(cat "$TMP/secret.log")" "$s/config.json: malformed JSON: .*line 1, column [0-9]+"
  done
done
bad "run: config.json -> a secret" bad-secretr "secret/config.json: .*line 1, column" M run --bundle "$TMP/secret" bad-secretr
t_unlike "run: no secret" "$LAST_ERR" "MOATSECRET"
bad "policy check: a secret file" - "shadow: malformed JSON: .*line 1, column" "$MOAT" policy check "$TMP/shadow"
t_unlike "policy check: no secret" "$LAST_ERR" "MOATSECRET"
bad "create --policy: a secret file" bad-psecret "shadow2: malformed JSON: .*line 1, column" M create --policy "$TMP/shadow2" --bundle "$B" bad-psecret
t_unlike "create --policy: no secret" "$LAST_ERR" "MOATSECRET"

# Control bytes in what a message quotes are escaped (\x1b), and the
# message stays one line: ids, capability names, signal names.
ESCID=$'bad-a\x1b]0;pwn\x07'
NLID=$'bad-a\nmoat: a forged line\r'
for cmd in state start kill delete; do
  bad "$cmd: an id with ESC and BEL" - 'invalid container id `bad-a\\x1b\]0;pwn\\x07`' M "$cmd" "$ESCID"
  ctl_free "$cmd: an id with ESC and BEL"
  bad "$cmd: an id with a newline" - 'invalid container id `bad-a\\x0amoat: a forged line\\x0d`' M "$cmd" "$NLID"
  ctl_free "$cmd: an id with a newline"
done
bad "create: an id with ESC and BEL" - 'invalid container id `bad-a\\x1b' M create --bundle "$B" "$ESCID"
ctl_free "create: an id with ESC and BEL"
bad "create: an id with a newline" - 'invalid container id `bad-a\\x0a' M create --bundle "$B" "$NLID"
ctl_free "create: an id with a newline"
bad "run: an id with ESC" - 'invalid container id `bad-a\\x1b' M run --bundle "$B" "$ESCID"
ctl_free "run: an id with ESC"
rm -f "$TMP/esc.log"
bad "create: an id with ESC, --log text" - 'invalid container id' "$MOAT" --root "$ROOT" --log "$TMP/esc.log" create --bundle "$B" "$ESCID"
t_is "--log text: one line, no control byte" "$(wc -l < "$TMP/esc.log") $(LC_ALL=C tr -d '\n' < "$TMP/esc.log" | LC_ALL=C grep -c '[[:cntrl:]]')" "1 0"

badb cap-esc '.process.capabilities.bounding += ["CAP_\u001b[2J\nFAKE"]'
bad "create: a capability name with ESC and a newline" bad-capesc \
  'process\.capabilities\.bounding\[[0-9]+\]: unknown capability `CAP_\\x1b\[2J\\x0aFAKE`' \
  M create --bundle "$TMP/cap-esc" bad-capesc
ctl_free "capability name with ESC"
jq -n '{capabilities: ["CAP_\u001b[2J"]}' > "$TMP/cap-esc-policy.json"
bad "create --policy: a capability name with ESC" bad-pcapesc 'unknown capability `CAP_\\x1b\[2J`' \
  M create --policy "$TMP/cap-esc-policy.json" --bundle "$B" bad-pcapesc
ctl_free "policy capability name with ESC"

# exec, kill, update on a live container (whose processes are no strays):
# bad's message checks only.
# (exec that fails before its process runs exits 255, as runc's: WANT_RC)
bad_live () {
  local d=$1 re=$2 rc want=${WANT_RC:-1}; shift 2
  "$@" > "$TMP/.bout" 2> "$TMP/.berr"
  rc=$?
  LAST_ERR=$(cat "$TMP/.berr")
  t_is "$d: exit status $want" "$rc" "$want"
  t_is "$d: nothing on stdout" "$(cat "$TMP/.bout")" ""
  t_is "$d: one line on stderr" "$(wc -l < "$TMP/.berr")" 1
  t_like "$d: message" "$LAST_ERR" "^moat: .*$re"
}
t_ok "create bad-host" M create --bundle "$B" bad-host
t_ok "start bad-host" M start bad-host
t_ok "bad-host is running" wait_status bad-host running
bad_live "exec --cap with ESC" '--cap `CAP_\\x1b\[2J`: unknown capability' \
  M exec --cap $'CAP_\x1b[2J' bad-host /bin/workload pid
ctl_free "exec --cap with ESC"
WANT_RC=255 bad_live "exec --process FIFO" "a\.fifo.*not a regular file but a FIFO" \
  MR exec --process "$TMP/a.fifo" bad-host
WANT_RC=255 bad_live "exec --process: a secret file" "shadow: malformed JSON" M exec --process "$TMP/shadow" bad-host
t_unlike "exec --process: no secret" "$LAST_ERR" "MOATSECRET"
bad_live "update -r FIFO" "a\.fifo.*not a regular file but a FIFO" MR update -r "$TMP/a.fifo" bad-host
bad_live "kill with a signal name with ESC" 'unknown signal `SIG\\x1b\[2J`' M kill bad-host $'SIG\x1b[2J'
ctl_free "kill: signal name with ESC"
t_is "bad-host still running" "$(M state bad-host | jq -r .status)" running
t_ok "delete --force bad-host" M delete --force bad-host

# Audit readers take ids as every command does: nothing outside the audit
# directory (or the state root) is read.
AUDX="$TMP/audx"
mkdir -p "$AUDX/sub"
: > "$TMP/outside.jsonl"
: > "$AUDX/sub/x.jsonl"
BASEPOL="$(cd "$(dirname "$0")/../policies" && pwd)/default.json"
for id in ../outside "$TMP/outside" sub/x ../../etc/passwd; do
  bad "explain $id" - "invalid container id" "$MOAT" --root "$ROOT" --audit-dir "$AUDX" explain "$id"
  bad "audit $id" - "invalid container id" "$MOAT" --root "$ROOT" --audit-dir "$AUDX" audit "$id"
  bad "policy generate --from-audit $id" - "invalid container id" \
    "$MOAT" --root "$ROOT" --audit-dir "$AUDX" policy generate --from-audit "$id" --base "$BASEPOL" -o "$TMP/gen.json"
  bad "policy generate --from-audit $id (no --base)" - "invalid container id" \
    "$MOAT" --root "$ROOT" --audit-dir "$AUDX" policy generate --from-audit "$id"
done
t_fails "no policy was generated" test -e "$TMP/gen.json"

t_is "at the end: no containers listed" "$(M list -q)" ""
t_is "at the end: no cgroups of this test" "$(our_cgroups)" ""
t_done
