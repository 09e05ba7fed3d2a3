#!/bin/bash
# libFuzzer on the parsers that read what users and engines hand moat: the
# config.json parser, the policy parser and the audit-record reader, each for
# FUZZ_SECONDS (default 60) under ASan+UBSan, after replaying every input in
# tests/fuzz/crashes/ (each once crashed moat: a regression case). Needs
# clang with libFuzzer (Debian: clang, libclang-rt-dev). Runs in one lane of
# tests/run-suite.sh only.
. "$(dirname "$0")/lib.sh"
[ "${MOAT_SKIP_FUZZ:-}" = 1 ] && skip_all "fuzzing: run by the other lane of this suite"
command -v clang >/dev/null || skip_all "clang is not installed (apt-get install clang)"
[ -f "$BUILDDIR/config-host.h" ] || skip_all "no configured build at $BUILDDIR"
echo 'int LLVMFuzzerTestOneInput (const char *d, long n) { (void) d; (void) n; return 0; }' > "$TMP/probe.c"
clang -fsanitize=fuzzer "$TMP/probe.c" -o "$TMP/probe" 2>/dev/null || skip_all "clang cannot build a libFuzzer target here"

OUT=$("$(dirname "$0")/fuzz/run.sh" "$BUILDDIR" "${FUZZ_SECONDS:-60}" 2>&1)
for t in config policy audit; do
  line=$(grep "^fuzz $t:" <<<"$OUT" | head -1)
  if [[ $line == "fuzz $t: ok"* ]]; then
    ok "$line"
  else
    not_ok "fuzz $t"
    if grep -q "^fuzz $t:" <<<"$OUT"; then
      diag "$(grep -A40 "^fuzz $t:" <<<"$OUT" | head -40)"
    else
      diag "$(head -40 <<<"$OUT")"   # the build itself failed
    fi
  fi
done
t_done
