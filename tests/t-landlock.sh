#!/bin/bash
# The filesystem wall (Landlock, from a policy's "filesystem" section): the
# workload, and a process exec'd into it, touch only the listed paths with
# the listed rights; everything else answers EACCES. Checked by doing it.
. "$(dirname "$0")/lib.sh"
[ -n "$BUSYBOX" ] || skip_all "needs busybox (apt-get install busybox-static)"
ABI=$("$WORKLOAD" syscall landlock_create_ruleset 0 0 1 2>/dev/null | sed -n 's/^landlock_create_ruleset = \([0-9]*\)$/\1/p')
[ -n "$ABI" ] || skip_all "Landlock is not available on this kernel"
diag "Landlock ABI $ABI"

B="$TMP/b"
mkbundle "$B"
mkdir -p "$B/rootfs/sbin" "$B/rootfs/data"
cp "$WORKLOAD" "$B/rootfs/sbin/other"
echo secret > "$B/rootfs/data/secret"
cfg "$B" '.root.readonly = false'
sh_args () { cfg "$B" '.process.args = ["/bin/busybox", "sh", "-c", $s]' --arg s "$1"; }
P="$TMP/ll.json"
cat > "$P" <<'EOF'
{
  "name": "ll",
  "filesystem": [
    {"path": "/bin", "access": ["read", "execute"]},
    {"path": "/etc", "access": ["read"]},
    {"path": "/tmp", "access": ["read", "write"]},
    {"path": "/dev/null", "access": ["read", "write"]}
  ]
}
EOF
t_ok "policy check accepts a filesystem section" M policy check "$P"
run_ll () { M run --bundle "$B" --policy "$P" "ll-$RANDOM" 2>&1; }

sh_args 'cat /etc/passwd >/dev/null && echo ok'
t_is "read where read is granted" "$(run_ll)" ok
sh_args 'echo x > /etc/new && echo wrote || echo denied'
t_like "no write where only read is granted: EACCES" "$(run_ll)" "Permission denied"
t_is "and the file was not made" "$([ -e "$B/rootfs/etc/new" ] && echo made || echo absent)" absent
sh_args 'echo y > /tmp/t && cat /tmp/t && rm /tmp/t && echo removed'
t_is "write, read and remove where write is granted" "$(run_ll)" "$(printf 'y\nremoved')"
sh_args 'cat /data/secret'
t_like "an unlisted path cannot be read" "$(run_ll)" "Permission denied"
sh_args '/sbin/other echo ran'
t_like "an unlisted path cannot be executed" "$(run_ll)" "Permission denied"
sh_args 'ls /sbin'
t_like "nor listed" "$(run_ll)" "Permission denied"
setargs "$B" /bin/workload syscall mkdir s:/etc/d 0755
t_is "the denial is EACCES at the syscall" "$(run_ll)" "mkdir = -1 EACCES"

# a process exec'd into the container is walled in too
setargs "$B" /bin/workload sleep 60
t_ok "run -d under the policy" M run -d --bundle "$B" --policy "$P" ll-exec
t_like "exec: the exec'd process is under the same wall" \
  "$(M exec ll-exec /bin/busybox cat /data/secret 2>&1)" "Permission denied"
t_is "exec: and may read what is granted" "$(M exec ll-exec /bin/busybox cat /etc/passwd 2>&1 | head -1 | cut -d: -f1)" root
M delete --force ll-exec >/dev/null 2>&1

# without the section, nothing changes
sh_args 'cat /data/secret'
t_is "without a filesystem section the same read works" "$(M run --bundle "$B" ll-none 2>&1)" secret

# bad input: clear errors naming the file and the path, nothing left behind
bad () {  # bad DESC JSON WANT
  echo "$2" > "$TMP/bad.json"
  local out rc
  out=$(M run --bundle "$B" --policy "$TMP/bad.json" ll-bad 2>&1); rc=$?
  t_like "$1" "$rc $out" "^1 .*$3"
}
bad "unknown access" '{"filesystem":[{"path":"/bin","access":["fly"]}]}' "bad.json: filesystem\[0\]\.access\[0\]: unknown access \`fly\`"
bad "relative path" '{"filesystem":[{"path":"bin","access":["read"]}]}' "filesystem\[0\]\.path: must be an absolute path"
bad "wrong type" '{"filesystem":{"path":"/bin"}}' "filesystem"
bad "missing access" '{"filesystem":[{"path":"/bin"}]}' "filesystem\[0\]"
setargs "$B" /bin/workload exit 0
bad "a path missing in the container" '{"filesystem":[{"path":"/nowhere","access":["read"]}]}' "filesystem\[0\]: \`/nowhere\` in the container"
t_is "no state, cgroup or process left by the failed runs" "$(ls "$ROOT" | wc -l)$(stray_procs ll-bad)$(cgroup_exists ll-bad && echo cg)" 00
# with --audit-kernel, a Landlock denial is a record too (EACCES, wall
# "permissions"), where the kernel's BPF probe can be loaded
if [ "$("$MOAT" features | jq -r '.annotations["org.moat.fault-detail"]')" = kmsg,bpf ] && [ -r /sys/kernel/btf/vmlinux ]; then
  sh_args 'cat /data/secret; true'
  "$MOAT" --root "$ROOT" --audit-dir "$TMP/aud" --audit-kernel run --bundle "$B" --policy "$P" ll-kern >/dev/null 2>&1
  if jq -e 'select(.kind == "notice")' "$TMP/aud/ll-kern.jsonl" >/dev/null 2>&1; then
    ok "--audit-kernel: # SKIP the probe did not load: $(jq -r 'select(.kind == "notice") | .what' "$TMP/aud/ll-kern.jsonl")"
  else
    t_is "--audit-kernel: the Landlock denial is a record" \
      "$(jq -r 'select(.kind == "refused" and (.args.pathname // "" | endswith("/data/secret"))) | [.wall, .errno] | join(" ")' "$TMP/aud/ll-kern.jsonl" | sort -u)" \
      "permissions EACCES"
  fi
fi
t_done
