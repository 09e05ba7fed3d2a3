#!/bin/bash
# tests/fuzz/run.sh BUILDDIR SECONDS: build the libFuzzer targets with clang
# (ASan + UBSan) against moat's sources and run each for SECONDS on its seed
# corpus (tests/fuzz/corpus-*), then replay every input in tests/fuzz/crashes/
# (inputs that once crashed: regression cases). Prints one line per target:
# "fuzz NAME: ok RUNS runs" or "fuzz NAME: FAILED ..." and exits non-zero if
# any failed. New inputs go to a temp dir; the seeds are never changed.
set -u
BUILD=$1 SECONDS_EACH=${2:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
W=$(mktemp -d /tmp/moat-fuzz.XXXXXX)
trap '[ -n "${FUZZ_KEEP:-}" ] || rm -rf "$W" /tmp/moat-fuzz-audit.*' EXIT
VERSION=$(sed -n "s/^#define PACKAGE_VERSION \"\(.*\)\"$/\1/p" "$BUILD/config-host.h")
CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS+=" -DMOAT_VERSION_STRING=\"${VERSION:-fuzz}\""
INC="-I$BUILD -I$SRC/src $(pkg-config --cflags libseccomp libcap yajl)"
LIBS="$(pkg-config --libs libseccomp libcap yajl)"
# a static moat calls libbpf directly (configure.ac: LINK_LIBBPF)
grep -q '^#define LINK_LIBBPF 1' "$BUILD/config-host.h" && LIBS+=" $(pkg-config --libs libbpf)"
grep -q '^#define HAVE_LIBAUDIT 1' "$BUILD/config-host.h" && LIBS+=" -laudit -lcap-ng"   # --audit-forward kernel (hostaudit.c)
objs=()
# the BPF probe's object (a byte array the build made), when moat has one
gen=()
[ -f "$BUILD/src/fault-bpf-obj.c" ] && gen=("$BUILD/src/fault-bpf-obj.c")
for f in "$SRC"/src/*.c "${gen[@]}"; do
  case $(basename "$f") in main.c|cmd_*.c|*.bpf.c|moat-sd.c) continue ;; esac   # moat-sd: a program of its own
  o="$W/$(basename "$f" .c).o"
  clang $CFLAGS -fsanitize=fuzzer-no-link $INC -c "$f" -o "$o" 2>"$W/build.log" \
    || { echo "fuzz: cannot build $(basename "$f"):"; head -20 "$W/build.log"; exit 1; }
  objs+=("$o")
done
status=0
for t in config policy audit; do
  clang $CFLAGS -fsanitize=fuzzer $INC "$HERE/fuzz-$t.c" "${objs[@]}" $LIBS -o "$W/fuzz-$t" 2>"$W/link.log" \
    || { echo "fuzz $t: FAILED to build"; head -20 "$W/link.log"; status=1; continue; }
  mkdir -p "$W/corpus-$t"
  # regression inputs first: each must run clean
  if ls "$HERE"/crashes/"$t"-* >/dev/null 2>&1; then
    if ! (cd "$W" && ./fuzz-"$t" "$HERE"/crashes/"$t"-* >"$W/$t-replay.log" 2>&1); then
      echo "fuzz $t: FAILED on a regression input"; tail -30 "$W/$t-replay.log"; status=1; continue
    fi
  fi
  if (cd "$W" && ASAN_OPTIONS=detect_leaks=1 ./fuzz-"$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "$W/corpus-$t" "$HERE/corpus-$t" >"$W/$t.log" 2>&1); then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$W/$t.log")
    echo "fuzz $t: ok ${runs:-?} runs in ${SECONDS_EACH} s"
  else
    echo "fuzz $t: FAILED"
    grep -E "ERROR|SUMMARY|runtime error|#[0-9]+ 0x" "$W/$t.log" | head -30
    for c in "$W"/crash-* "$W"/leak-* "$W"/timeout-* "$W"/oom-*; do
      [ -f "$c" ] || continue
      echo "  input $(basename "$c") (save it as tests/fuzz/crashes/$t-NAME):"
      od -c "$c" | head -10 | sed 's/^/    /'
    done
    status=1
  fi
done
exit $status
