#!/bin/bash
# bench/sd-start.sh: the guest half of bench/run's figure 9, run by
# tests/v2lane/run --systemd in a VM whose PID 1 is systemd (pure cgroup
# v2). Start time (`run` of a container that exits at once, no seccomp) of
# moat and runc, each with its cgroupfs driver and with its systemd driver
# (a transient scope per container through D-Bus), alternating
# moat-fs moat-sd runc-fs runc-sd ... after one untimed warm-up round.
#
#   sd-start.sh MOAT WORKLOAD N
# Prints one table; the VM is emulated (TCG), so the times are slow in
# absolute terms: the ratios within the table are the figure.
set -u
export LC_ALL=C
MOAT=$1 WORKLOAD=$2 N=$3
RUNC=$(command -v runc || true)
W=$(mktemp -d /tmp/sd-start.XXXXXX)
mkdir -p "$W/rootfs/bin" "$W/rootfs/proc" "$W/rootfs/dev" "$W/rootfs/sys" "$W/res" "$W/m" "$W/r"
cp "$WORKLOAD" "$W/rootfs/bin/workload"
( cd "$W" && "$MOAT" spec ) || { echo "moat spec failed"; exit 1; }
jq --arg root "$W/rootfs" '.ociVersion = "1.0.2" | .root.path = $root | .process.args = ["/bin/workload", "exit", "0"]
  | del(.linux.seccomp)' "$W/config.json" > "$W/c" && mv "$W/c" "$W/config.json"

SEQ=0
# one RUNTIME DRIVER: one timed run; its microseconds appended to res/RUNTIME-DRIVER
one () {
  local rt=$1 drv=$2 id t0 t1 rc opts=()
  SEQ=$((SEQ + 1)); id=sd$SEQ
  [ "$drv" = sd ] && opts=(--systemd-cgroup)
  t0=$EPOCHREALTIME
  case $rt in
    moat) "$MOAT" --root "$W/m" "${opts[@]}" run --bundle "$W" "$id" </dev/null >/dev/null 2>"$W/err"; rc=$? ;;
    runc) "$RUNC" --root "$W/r" "${opts[@]}" run --bundle "$W" "$id" </dev/null >/dev/null 2>"$W/err"; rc=$? ;;
  esac
  t1=$EPOCHREALTIME
  if [ "$rc" = 0 ]; then echo $(( ${t1/./} - ${t0/./} )) >> "$W/res/$rt-$drv"
  else echo x >> "$W/res/$rt-$drv.fail"; [ -s "$W/res/$rt-$drv.err" ] || head -c 200 "$W/err" > "$W/res/$rt-$drv.err"; fi
}
RTS=(moat)
[ -n "$RUNC" ] && RTS+=(runc)
for rt in "${RTS[@]}"; do one "$rt" fs; one "$rt" sd; done
rm -f "$W/res/"*
for ((i = 0; i < N; i++)); do
  for rt in "${RTS[@]}"; do one "$rt" fs; one "$rt" sd; done
done

med () { [ -s "$W/res/$1" ] && sort -g "$W/res/$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; i = int(0.9*NR); if (i < 0.9*NR) i++; printf "%.1f %.1f %d", m/1000, a[i]/1000, NR}' || echo "- - 0"; }
echo "  guest: $(uname -r), systemd $(systemctl --version | awk 'NR==1 {print $2}'), $(nproc) vCPU (TCG), $(stat -f -c %T /sys/fs/cgroup)"
printf '  %-34s %10s %10s %4s %5s\n' "start, no seccomp (ms)" median p90 n fails
for rt in "${RTS[@]}"; do
  for drv in fs sd; do
    read -r m p n <<<"$(med "$rt-$drv")"
    f=0; [ -f "$W/res/$rt-$drv.fail" ] && f=$(wc -l < "$W/res/$rt-$drv.fail")
    printf '  %-34s %10s %10s %4s %5s\n' "$rt, $( [ $drv = fs ] && echo cgroupfs || echo 'systemd (--systemd-cgroup)')" "$m" "$p" "$n" "$f"
    [ -s "$W/res/$rt-$drv.err" ] && echo "      first failure: $(tr '\n' ' ' < "$W/res/$rt-$drv.err")"
  done
  read -r a _ <<<"$(med "$rt-fs")"; read -r b _ <<<"$(med "$rt-sd")"
  echo "  $rt: systemd/cgroupfs = $(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", b / a }')"
done
if [ -n "$RUNC" ]; then
  for drv in fs sd; do
    read -r a _ <<<"$(med "moat-$drv")"; read -r b _ <<<"$(med "runc-$drv")"
    echo "  moat/runc, $( [ $drv = fs ] && echo cgroupfs || echo systemd) = $(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a / b }')"
  done
else
  echo "  (runc is not installed: moat alone)"
fi
for id in $(ls "$W/m" 2>/dev/null); do "$MOAT" --root "$W/m" delete --force "$id" >/dev/null 2>&1; done
for id in $(ls "$W/r" 2>/dev/null); do "$RUNC" --root "$W/r" delete --force "$id" >/dev/null 2>&1; done
rm -rf "$W"
