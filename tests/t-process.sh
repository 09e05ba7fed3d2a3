#!/bin/bash
# process: args, env, cwd, user and groups, umask, capabilities, no_new_privs,
# rlimits, oomScoreAdj, and exactly fds 0-2 (+ --preserve-fds) inside.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
mkbundle "$B"
run_in () { M run "$@" --bundle "$B" "proc-$RANDOM"; }

setargs "$B" /bin/workload args "two words" "" 'q"uote'
t_is "args arrive verbatim (argv[0] included)" "$(run_in)" \
  "$(printf 'argv[0]=/bin/workload\nargv[1]=args\nargv[2]=two words\nargv[3]=\nargv[4]=q"uote')"
setargs "$B" workload echo found-by-PATH
t_is "args[0] is looked up in the container's PATH" "$(run_in)" "found-by-PATH"

cfg "$B" '.process.env = ["PATH=/bin", "A=1", "B=two words"]'
setargs "$B" /bin/workload env
t_is "env is exactly process.env, and HOME (from /etc/passwd, root's: /) as runc adds it" "$(run_in)" \
  "$(printf 'PATH=/bin\nA=1\nB=two words\nHOME=/')"

cfg "$B" '.process.user = {"uid":1000, "gid":1001, "additionalGids":[5, 7], "umask": 63}'
setargs "$B" /bin/workload ids
t_is "uid and gid (real, effective, saved)" "$(run_in | head -n 1)" "uid=1000 euid=1000 suid=1000 gid=1001 egid=1001 sgid=1001"
t_is "additionalGids" "$(run_in | tail -n 1)" "groups=5,7"
setargs "$B" /bin/workload umask
t_is "umask" "$(run_in)" "umask 0077"
cfg "$B" '.process.user = {"uid":0, "gid":0}'

# capabilities: exactly what was asked, in every set
cfg "$B" '.process.capabilities = {"bounding":["CAP_CHOWN","CAP_KILL","CAP_NET_RAW"],
  "effective":["CAP_CHOWN","CAP_KILL"], "permitted":["CAP_CHOWN","CAP_KILL"],
  "inheritable":[], "ambient":[]}'
setargs "$B" /bin/workload caps
CAPS=$(run_in)
t_like "CapBnd = chown, kill, net_raw" "$CAPS" "CapBnd:[[:space:]]+0000000000002021"
t_like "CapEff = chown, kill" "$CAPS" "CapEff:[[:space:]]+0000000000000021"
t_like "CapPrm = chown, kill" "$CAPS" "CapPrm:[[:space:]]+0000000000000021"
t_like "CapInh is empty: never granted implicitly" "$CAPS" "CapInh:[[:space:]]+0000000000000000"
t_like "CapAmb is empty" "$CAPS" "CapAmb:[[:space:]]+0000000000000000"
# The caller's ambient set must not reach the workload either. Only visible
# when the caller has one, and the cap stays in the new permitted and
# inheritable sets (the kernel drops the others from the ambient set itself):
# moat under capsh with CAP_KILL ambient, a config with CAP_KILL inheritable.
if command -v capsh >/dev/null; then
  cfg "$B" '.process.capabilities = {"bounding":["CAP_KILL"], "effective":["CAP_KILL"], "permitted":["CAP_KILL"],
    "inheritable":["CAP_KILL"], "ambient":[]}'
  AMB () { capsh --inh=cap_kill --addamb=cap_kill -- -c '"$@"' amb "$@"; }
  t_like "(the caller has CAP_KILL ambient: the test can tell)" "$(AMB grep CapAmb /proc/self/status)" \
    "CapAmb:[[:space:]]+0000000000000020"
  CAPS=$(AMB "$MOAT" --root "$ROOT" run --bundle "$B" proc-amb)
  t_like "a caller's ambient capabilities do not reach the workload (ambient [])" "$CAPS" \
    "CapAmb:[[:space:]]+0000000000000000"
  t_like "(while the inheritable set it asked for is there)" "$CAPS" "CapInh:[[:space:]]+0000000000000020"
else
  ok "a caller's ambient capabilities # SKIP no capsh (libcap2-bin)"
fi
cfg "$B" '.process.capabilities = {"bounding":["CAP_CHOWN","CAP_KILL","CAP_NET_RAW"],
  "effective":["CAP_CHOWN","CAP_KILL"], "permitted":["CAP_CHOWN","CAP_KILL"],
  "inheritable":[], "ambient":[]}'
cfg "$B" '.process.user = {"uid":1000, "gid":1000} |
  .process.capabilities = {"bounding":["CAP_KILL"], "effective":["CAP_KILL"], "permitted":["CAP_KILL"],
  "inheritable":["CAP_KILL"], "ambient":["CAP_KILL"]}'
CAPS=$(run_in)
t_like "a non-root user keeps listed caps (effective)" "$CAPS" "CapEff:[[:space:]]+0000000000000020"
t_like "and its ambient set" "$CAPS" "CapAmb:[[:space:]]+0000000000000020"
# The effective set counts before the execve too: a uid 1000 with
# CAP_DAC_OVERRIDE effective may exec a root-only (0700) program. (After the
# execve the kernel rebuilds the effective set, so reading CapEff inside
# cannot tell whether moat set it.)
cp "$WORKLOAD" "$B/rootfs/bin/rootonly"; chown 0:0 "$B/rootfs/bin/rootonly"; chmod 0700 "$B/rootfs/bin/rootonly"
cfg "$B" '.process.capabilities = {"bounding":["CAP_DAC_OVERRIDE"], "effective":["CAP_DAC_OVERRIDE"],
  "permitted":["CAP_DAC_OVERRIDE"], "inheritable":[], "ambient":[]}'
setargs "$B" /bin/rootonly echo ran
t_is "uid 1000 with CAP_DAC_OVERRIDE effective execs a 0700 root program" "$(run_in 2>&1)" ran
cfg "$B" '.process.capabilities = {"bounding":["CAP_DAC_OVERRIDE"], "effective":[], "permitted":["CAP_DAC_OVERRIDE"]}'
t_fails "(not with it permitted only: the test can tell)" run_in
rm -f "$B/rootfs/bin/rootonly"
setargs "$B" /bin/workload write /etc/x y
cfg "$B" '.root.readonly = false | .process.capabilities = {"bounding":[], "effective":[], "permitted":[]}'
t_fails "without CAP_DAC_OVERRIDE, uid 1000 cannot write root's /etc" run_in
cfg "$B" '.root.readonly = true | .process.user = {"uid":0, "gid":0}'
cfg "$B" '.process.capabilities = {"bounding":[], "effective":[], "permitted":[]}'
setargs "$B" /bin/workload caps
t_like "an empty set drops every capability, even for root" "$(run_in)" "CapEff:[[:space:]]+0000000000000000"
cfg "$B" '.process.capabilities = {}'
CAPS=$(run_in)
t_like "capabilities {} (podman --cap-drop ALL): absent sets are empty, for root too: effective" "$CAPS" "CapEff:[[:space:]]+0000000000000000"
t_like "and bounding" "$CAPS" "CapBnd:[[:space:]]+0000000000000000"

# no_new_privs
setargs "$B" /bin/workload status
cfg "$B" '.process.noNewPrivileges = true'
t_like "noNewPrivileges true" "$(run_in)" "NoNewPrivs:[[:space:]]+1"
cfg "$B" '.process.noNewPrivileges = false'
t_like "noNewPrivileges false" "$(run_in)" "NoNewPrivs:[[:space:]]+0"

# rlimits and oomScoreAdj
cfg "$B" '.process.rlimits = [{"type":"RLIMIT_NOFILE","soft":512,"hard":1024},{"type":"RLIMIT_CORE","soft":0,"hard":0}]'
setargs "$B" /bin/workload rlimits
RL=$(run_in)
t_like "RLIMIT_NOFILE" "$RL" "RLIMIT_NOFILE 512 1024"
t_like "RLIMIT_CORE" "$RL" "RLIMIT_CORE 0 0"
cfg "$B" '.process.oomScoreAdj = 500'
setargs "$B" /bin/workload cat /proc/self/oom_score_adj
t_is "oomScoreAdj" "$(run_in)" 500

cfg "$B" 'del(.process.oomScoreAdj)'

# ioPriority, scheduler, personality: read back by the process itself
cfg "$B" '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 3}'
setargs "$B" /bin/workload syscall ioprio_get 1 0
t_is "process.ioPriority BE 3 (ioprio_get: 2<<13 | 3)" "$(run_in)" "ioprio_get = 16387"
cfg "$B" 'del(.process.ioPriority) | .process.scheduler = {"policy": "SCHED_BATCH", "nice": 5}'
setargs "$B" /bin/workload cat /proc/self/stat
ST=$(run_in)
t_is "process.scheduler SCHED_BATCH: policy 3 (stat field 41)" "$(awk '{print $41}' <<<"$ST")" 3
t_is "and nice 5 (stat field 19)" "$(awk '{print $19}' <<<"$ST")" 5
cfg "$B" 'del(.process.scheduler) | .linux.personality = {"domain": "LINUX32"}'
setargs "$B" /bin/workload cat /proc/self/personality
t_is "linux.personality LINUX32" "$(run_in)" 00000008
cfg "$B" 'del(.linux.personality)'
cfg "$B" '.process.scheduler = {"policy": "SCHED_WHATEVER"}'
t_like "an unknown scheduler policy: an error naming it" "$(run_in 2>&1)" "process.scheduler.policy: unknown policy"
cfg "$B" 'del(.process.scheduler) | .process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 9}'
t_like "an ioPriority out of range" "$(run_in 2>&1)" "process.ioPriority.priority: must be between 0 and 7"
cfg "$B" 'del(.process.ioPriority) | .linux.personality = {"domain": "OSF"}'
t_like "an unknown personality domain" "$(run_in 2>&1)" "linux.personality.domain: unknown domain"
cfg "$B" 'del(.linux.personality)'

# a setuid-root binary gains nothing under no_new_privs
cp "$WORKLOAD" "$B/rootfs/bin/suid"
chown 0:0 "$B/rootfs/bin/suid"; chmod 4755 "$B/rootfs/bin/suid"
cfg "$B" '.process.user = {"uid": 1000, "gid": 1000} | .process.noNewPrivileges = true |
  .process.capabilities = {"bounding": [], "effective": [], "permitted": []}'
setargs "$B" /bin/suid ids
t_like "setuid-root binary under no_new_privs: euid stays 1000" "$(run_in)" "^uid=1000 euid=1000 suid=1000"
cfg "$B" '.process.noNewPrivileges = false | .process.capabilities = {"bounding": ["CAP_SETUID"], "effective": [], "permitted": []}'
t_like "(without no_new_privs, with CAP_SETUID in the bounding set, it becomes root: the test can tell)" "$(run_in)" "euid=0"
cfg "$B" '.process.user = {"uid": 0, "gid": 0} | .process.noNewPrivileges = true | del(.process.capabilities)'
rm -f "$B/rootfs/bin/suid"

# fds: the container sees 0, 1, 2 and nothing of moat's
setargs "$B" /bin/workload fds
FDS=$(run_in 3</etc/hostname 4</etc/hostname)
t_is "only fds 0, 1, 2 (fds 3 and 4 of the caller do not leak)" "$(printf '%s\n' "$FDS" | awk '{print $2}' | tr '\n' ' ')" "0 1 2 "
FDS=$(run_in --preserve-fds 2 3</etc/hostname 4</etc/passwd 5</etc/hostname)
t_is "--preserve-fds 2 passes fds 3 and 4, not 5" "$(printf '%s\n' "$FDS" | awk '{print $2}' | tr '\n' ' ')" "0 1 2 3 4 "
t_like "fd 4 is the caller's file" "$FDS" "fd 4 -> /etc/passwd"
setargs "$B" /bin/workload cat /proc/self/stat
t_is "the workload leads its own session (no controlling tty of the caller's)" "$(run_in | awk '{print $1 == $6}')" 1
setargs "$B" /bin/workload openat-escape
t_like "no directory fd leaks to escape through (CVE-2024-21626 class)" "$(run_in)" "no leaked fds"

# --preserve-fds with a closed fd in the range: skipped, as runc does
setargs "$B" /bin/workload fds
FDS=$(run_in --preserve-fds 3 3</etc/hostname 4<&- 5</etc/passwd 2>&1)
t_is "--preserve-fds 3 with fd 4 closed: fds 3 and 5 pass, the closed one is skipped" \
  "$(printf '%s\n' "$FDS" | awk '/^fd/ {print $2}' | tr '\n' ' ')" "0 1 2 3 5 "

# HOME from the container's /etc/passwd when process.env has none (runc's rule)
echo "u:x:1000:1000::/home/u:/bin/sh" >> "$B/rootfs/etc/passwd"
cfg "$B" '.process.env = ["PATH=/bin"] | .process.user = {"uid": 1000, "gid": 1000} |
  .process.capabilities = {"bounding": [], "effective": [], "permitted": []}'
setargs "$B" /bin/workload env
t_is "HOME is process.user's home in the container's /etc/passwd" "$(run_in | grep ^HOME=)" "HOME=/home/u"
cfg "$B" '.process.user = {"uid": 1234, "gid": 1234}'
t_is "HOME is / for a uid the container's /etc/passwd does not know" "$(run_in | grep ^HOME=)" "HOME=/"
cfg "$B" '.process.env = ["PATH=/bin", "HOME=/mine"]'
t_is "a HOME in process.env stays, alone" "$(run_in | grep ^HOME=)" "HOME=/mine"

# stdio belongs to process.user: a non-root process can reopen its stdout
# (/proc/self/fd/1), as programs writing to /dev/stdout do (runc fixes the
# owner the same way)
cfg "$B" '.process.env = ["PATH=/bin"] | .process.user = {"uid": 1000, "gid": 1000}'
setargs "$B" /bin/workload fstat 1
t_like "the stdout pipe is uid 1000's inside" "$(run_in)" "^type fifo mode 0600 uid 1000 "
setargs "$B" /bin/workload reopen 1
t_is "uid 1000 (no capability) reopens /proc/self/fd/1" "$(run_in 2>&1)" "reopened fd 1"

# Signals: what the caller ignores or blocks is not the workload's (conmon
# leaves SIGPIPE ignored); everything is back to the defaults at execve.
cfg "$B" '.process.user = {"uid": 0, "gid": 0}'
setargs "$B" /bin/workload cat /proc/self/status
ST=$(trap '' PIPE; run_in)
t_like "SIGPIPE ignored by the caller: no signal is ignored inside" "$ST" '^SigIgn:[[:space:]]+0000000000000000$'
t_like "and none is blocked" "$ST" '^SigBlk:[[:space:]]+0000000000000000$'

# An ambient capability the process cannot raise (not inheritable, as
# buildah's RUN asks): left out with a warning, the others raised (runc's
# rule); before, create failed and `podman build` with it.
cfg "$B" '.process.user = {"uid": 1000, "gid": 1000} |
  .process.capabilities = {"bounding": ["CAP_KILL", "CAP_NET_RAW"], "effective": ["CAP_KILL", "CAP_NET_RAW"],
  "permitted": ["CAP_KILL", "CAP_NET_RAW"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_NET_RAW", "CAP_KILL"]}'
setargs "$B" /bin/workload caps
CAPS=$(run_in 2>"$TMP/amb.err")
t_like "ambient CAP_NET_RAW (not inheritable) left out, CAP_KILL raised" "$CAPS" "CapAmb:[[:space:]]+0000000000000020"
t_like "a warning names the one left out" "$(cat "$TMP/amb.err")" 'ambient\[0\]: `CAP_NET_RAW`'
t_done
