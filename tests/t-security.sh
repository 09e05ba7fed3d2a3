#!/bin/bash
# Hardening of the core: the host's moat binary is out of the container's
# reach (CVE-2019-5736 class), masking cannot be redirected through a
# planted /dev/null (CVE-2025-31133 class), the state is private.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
mkbundle "$B" /bin/workload sleep 30
SUM_BEFORE=$(sha256sum < "$MOAT")

# A created container's init runs moat's code: from a sealed memfd copy.
M create --bundle "$B" --pid-file "$TMP/pid" sec-1
PID=$(cat "$TMP/pid")
t_like "the init runs from a memfd, not the host binary" "$(readlink /proc/$PID/exe)" "^/memfd:moat"
t_fails "its /proc/PID/exe cannot be opened for writing" sh -c "exec 3>>/proc/$PID/exe"
t_like "(busy while it runs, and sealed read-only)" "$(sh -c "exec 3>>/proc/$PID/exe" 2>&1)" "Text file busy|Operation not permitted"
t_like "the state directory is private to root" "$(stat -c %a "$ROOT/sec-1")" "^7[01]{2}$"
t_is "exec.sock is 0600" "$(stat -c %a "$ROOT/sec-1/exec.sock")" 600
M delete sec-1

# A workload that is a script for /proc/self/exe runs the sealed copy.
printf '#!/proc/self/exe\n' > "$B/rootfs/bin/evil"
chmod 755 "$B/rootfs/bin/evil"
setargs "$B" /bin/evil
M run --bundle "$B" sec-2 >/dev/null 2>&1
t_is "the host binary is unchanged after a #!/proc/self/exe workload" "$(sha256sum < "$MOAT")" "$SUM_BEFORE"

# Masking uses the host's /dev/null, never the image's.
cfg "$B" 'del(.mounts[] | select(.destination == "/dev"))'
mkdir -p "$B/rootfs/dev"
ln -sf /proc/sys/kernel/core_pattern "$B/rootfs/dev/null"
CORE=$(cat /proc/sys/kernel/core_pattern)
cfg "$B" '.linux.maskedPaths = ["/etc/passwd"]'
setargs "$B" /bin/workload cat /etc/passwd
t_is "a masked file still reads empty with a planted /dev/null" "$(M run --bundle "$B" sec-3 | wc -c)" 0
t_is "the host's core_pattern is untouched" "$(cat /proc/sys/kernel/core_pattern)" "$CORE"
setargs "$B" /bin/workload stat /dev/null
t_is "the planted /dev/null was replaced by the real device" "$(M run --bundle "$B" sec-4)" \
  "type chr mode 0666 uid 0 gid 0 rdev 1:3"

t_is "no container left" "$(M list -q)" ""
t_done
