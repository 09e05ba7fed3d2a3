#!/bin/bash
# Rootless: moat run by a user who is not root (uid 4242 here, through
# setpriv: no account is created), with `moat spec --rootless`'s user
# namespace mapping that uid to root inside. State goes under
# $XDG_RUNTIME_DIR, audit logs under $XDG_STATE_HOME; without a delegated
# cgroup the container runs without one and says so on stderr and in its
# log. The syscall wall and its audit work as for root.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip_all "setpriv is not installed (util-linux)"

U=4242
# Everything the user touches is theirs or world-readable: the binaries
# are copied out of a build tree that may sit under /root.
RL="$TMP/rl"
mkdir -p "$RL/bin" "$RL/xdg" "$RL/state" "$RL/home" "$RL/b/rootfs/bin" "$RL/b/rootfs/tmp"
cp "$MOAT" "$RL/bin/moat"
cp "$WORKLOAD" "$RL/b/rootfs/bin/workload"
cp "$(dirname "$0")/../policies/default.json" "$RL/default.json"
chown -R "$U:$U" "$RL"
chmod 700 "$RL/xdg"
# as the user, with a clean environment of their own
AS () { setpriv --reuid="$U" --regid="$U" --clear-groups --inh-caps=-all \
          env -i PATH=/usr/bin:/bin HOME="$RL/home" XDG_RUNTIME_DIR="$RL/xdg" XDG_STATE_HOME="$RL/state" "$@"; }
UM () { AS "$RL/bin/moat" "$@"; }

t_ok "moat spec --rootless, as the user" AS sh -c "cd '$RL/b' && '$RL/bin/moat' spec --rootless"
t_is "its config maps the user's uid to root" "$(jq -c '.linux.uidMappings[0]' "$RL/b/config.json")" '{"containerID":0,"hostID":4242,"size":1}'
jq '.process.args = ["/bin/workload", "ids"] | .process.terminal = false' "$RL/b/config.json" > "$RL/b/c" && mv "$RL/b/c" "$RL/b/config.json"
chown "$U:$U" "$RL/b/config.json"

OUT=$(UM run --bundle "$RL/b" rl1 2>"$TMP/rl1.err")
t_is "run as the user: the workload ran" "$?" 0
t_like "it is root inside its user namespace" "$OUT" "^uid=0 euid=0"
t_like "no cgroup, and stderr says so" "$(cat "$TMP/rl1.err")" "rootless: no cgroup .*Permission denied"
t_is "the audit log says so too (under XDG_STATE_HOME)" "$(jq -r 'select(.kind == "notice") | .what' "$RL/state/moat/audit/rl1.jsonl" | cut -c1-19)" "rootless: no cgroup"
t_is "no cgroup was made" "$(ls -d /sys/fs/cgroup/moat/rl1 /sys/fs/cgroup/*/moat/rl1 2>/dev/null | wc -l)" 0

# seen from the host: the process runs as the user
jq '.process.args = ["/bin/workload", "sleep", "30"]' "$RL/b/config.json" > "$RL/b/c" && mv "$RL/b/c" "$RL/b/config.json"
chown "$U:$U" "$RL/b/config.json"
UM run -d --bundle "$RL/b" rl2 2>/dev/null
t_is "run -d: state under XDG_RUNTIME_DIR" "$(UM state rl2 | jq -r .status)" running
PID=$(UM state rl2 | jq -r .pid)
t_is "seen from the host, the workload is the user's uid" "$(stat -c %u "/proc/$PID")" "$U"
t_like "moat list, as the user" "$(UM list)" "rl2 +[0-9]+ +running"
t_like "root's moat does not see it (another state root)" "$(M list -q)" "^$"
t_ok "delete --force, as the user" UM delete --force rl2
t_fails "nothing left of it" UM state rl2

# the syscall wall, audited, without root
jq '.process.args = ["/bin/workload", "syscall", "reboot", "0"] | del(.linux.resources)' "$RL/b/config.json" > "$RL/b/c" && mv "$RL/b/c" "$RL/b/config.json"
chown "$U:$U" "$RL/b/config.json"
t_is "under policies/default.json a denied call fails" "$(UM run --policy "$RL/default.json" --bundle "$RL/b" rl3 2>/dev/null)" "reboot = -1 EPERM"
t_is "and is a record in the user's audit log" "$(jq -r 'select(.kind == "syscall") | [.wall, .syscall, .errno] | join(" ")' "$RL/state/moat/audit/rl3.jsonl")" "seccomp reboot EPERM"
live_procs () { ps -o stat= -u "$U" 2>/dev/null | grep -vc '^Z'; }   # zombies are init's to reap
for _ in $(seq 20); do [ "$(live_procs)" = 0 ] && break; sleep 0.1; done
t_is "no supervisor or container process of the user is left" "$(live_procs)" 0
t_done
