#!/bin/bash
# moat's demo: one container, the walls it is built from, each checked from
# inside by the test workload, then the runc-style lifecycle around it.
set -eu
: "${MOAT:=$(pwd)/moat}"
: "${WORKLOAD:=$(pwd)/tests/workload/workload}"
: "${BUSYBOX:=$(command -v busybox || true)}"
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/moat-demo.XXXXXX)
ROOT="$DIR/state"
trap '"$MOAT" --root "$ROOT" delete --force demo >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
M () { "$MOAT" --root "$ROOT" "$@"; }
say () { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A bundle: the static workload (and busybox's sh) in an otherwise empty rootfs.
mkdir -p "$DIR/bundle/rootfs/bin"
cp "$WORKLOAD" "$DIR/bundle/rootfs/bin/workload"
[ -z "$BUSYBOX" ] || { cp "$BUSYBOX" "$DIR/bundle/rootfs/bin/busybox"; ln -s busybox "$DIR/bundle/rootfs/bin/sh"; }
M spec --bundle "$DIR/bundle"
cat > "$DIR/bundle/rootfs/bin/tour" <<'TOUR'
#!/bin/sh
w=/bin/workload
echo "-- who am I:";                  $w pid; $w hostname; $w ids
echo "-- my capabilities (runc's default set: audit_write, kill, net_bind_service):"; $w caps
echo "-- privileges and filters:";    $w status
echo "-- the root filesystem is read-only:"; $w writable /bin || true
echo "-- /proc/sys is read-only:";    $w writable /proc/sys/kernel/hostname || true
echo "-- mounting needs CAP_SYS_ADMIN, which is gone:"; $w mount-proc /proc 2>&1 || true
echo "-- only fds 0, 1, 2 came in:";  $w fds
TOUR
chmod 755 "$DIR/bundle/rootfs/bin/tour"
jq '.process.args = ["/bin/sh", "/bin/tour"]' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"

say "moat run: a container tours its own walls"
M run --bundle "$DIR/bundle" demo

say "the syscall wall: the same container under policies/default.json tries what containers may not"
POLICY="$(cd "$(dirname "$0")/.." && pwd)/policies/default.json"
cat > "$DIR/bundle/rootfs/bin/trip" <<'TRIP'
#!/bin/sh
w=/bin/workload
$w syscall mkdir s:/tmp/allowed 0755      # allowed by the policy (the read-only root says no)
$w syscall unshare 'CLONE_NEWNS|CLONE_NEWNET'  # new namespaces: denied
$w syscall mount s:none s:/mnt s:tmpfs 0  # mount: denied
$w syscall socket 40 SOCK_STREAM 0        # AF_VSOCK: denied by an argument rule
$w syscall reboot 0                       # reboot: denied
$w syscall kexec_load 0 0 0 0             # kexec: denied
TRIP
chmod 755 "$DIR/bundle/rootfs/bin/trip"
jq '.process.args = ["/bin/sh", "/bin/trip"] | del(.linux.resources)' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
AUD="$DIR/audit"
"$MOAT" --root "$ROOT" --audit-dir "$AUD" run --policy "$POLICY" --bundle "$DIR/bundle" demo || true

say "moat audit demo: every denied call, decoded, with the rule that denied it"
"$MOAT" --audit-dir "$AUD" audit demo
say "moat audit --summary demo"
"$MOAT" --audit-dir "$AUD" audit --summary demo

say "the MMU wall: a null pointer, a write to read-only memory, a privileged instruction"
for w in segv wrro hlt; do
  jq --arg w "$w" '.process.args = ["/bin/workload", $w]' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
  "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$DIR/bundle" "fault-$w" || echo "(exit status $?: killed by the CPU or the MMU)"
  "$MOAT" --audit-dir "$AUD" audit "fault-$w" | tail -n +2
  sleep 0.6   # the kernel's log is rate-limited host-wide
done

if [ "$(M features | jq -r '.annotations["org.moat.fault-detail"]')" = kmsg,bpf ]; then
  say "lossless fault details: 200 crashing processes, the kernel log against moat's BPF probe"
  jq '.process.args = ["/bin/workload", "fork-crash", "200"]' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
  "$MOAT" --root "$ROOT" --audit-dir "$AUD" run --bundle "$DIR/bundle" burst-kmsg >/dev/null || true
  "$MOAT" --root "$ROOT" --audit-dir "$AUD" --fault-detail bpf run --bundle "$DIR/bundle" burst-bpf >/dev/null || true
  for c in burst-kmsg burst-bpf; do
    printf '%-11s %s records, %s with the fault address and error code\n' "$c:" \
      "$(grep -vc '"kind":"header"' "$AUD/$c.jsonl")" "$(jq -r 'select(.addr) | .pid' "$AUD/$c.jsonl" | wc -l)"
  done
  echo "(the kernel log is rate-limited host-wide; the probe reads each fault as the kernel raises it)"
  jq '.process.args = ["/bin/workload", "sigbus"] | .root.readonly = false' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
  "$MOAT" --root "$ROOT" --audit-dir "$AUD" --fault-detail bpf run --bundle "$DIR/bundle" fault-sigbus || echo "(exit status $?: SIGBUS, a read past the end of a mapped file)"
  "$MOAT" --audit-dir "$AUD" audit "fault-sigbus" | tail -n +2

  say "why did the kernel say no? --audit-kernel records what it refused, and explain says what to change"
  printf '%s\n' '#!/bin/sh' 'w=/bin/workload' '$w syscall mount s:none s:/mnt s:tmpfs 0' \
    '$w syscall mkdir s:/newdir 0755' '$w syscall sethostname s:demo 4' > "$DIR/bundle/rootfs/bin/refused"
  chmod 755 "$DIR/bundle/rootfs/bin/refused"
  mkdir -p "$DIR/bundle/rootfs/mnt"
  jq '.process.args = ["/bin/sh", "/bin/refused"] | .root.readonly = true' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
  "$MOAT" --root "$ROOT" --audit-dir "$AUD" --audit-kernel run --bundle "$DIR/bundle" refused || true
  "$MOAT" --audit-dir "$AUD" explain refused
fi

say "the lifecycle, runc-style: create, state, start, list, kill, delete"
jq '.process.args = ["/bin/workload", "trap", "TERM"]' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
echo "\$ moat create --bundle BUNDLE demo";  M create --bundle "$DIR/bundle" demo
echo "\$ moat state demo";                   M state demo | jq -c '{id, status, pid}'
echo "\$ moat start demo";                   M start demo
sleep 0.2
echo "\$ moat list";                         M list
echo "\$ moat kill demo TERM";               M kill demo TERM
sleep 0.2
echo "\$ moat state demo";                   M state demo | jq -c '{id, status, pid}'
echo "\$ moat delete demo";                  M delete demo
echo "\$ moat list -q";                      M list -q

say "bad input gets one clear line and leaves nothing behind"
jq '.process.args = ["/bin/nope"]' "$DIR/bundle/config.json" > "$DIR/c" && mv "$DIR/c" "$DIR/bundle/config.json"
echo "\$ moat run --bundle BUNDLE demo   # args[0] missing in the rootfs"
M run --bundle "$DIR/bundle" demo || echo "(exit status $?)"
echo "\$ moat list -q"; M list -q
echo
echo "The raw records: moat audit --json demo (JSON lines, one per denied call)."
