#!/bin/bash
# Mutation runner: does the test suite catch a broken wall?
#
# For each mutant of tests/mutants/list (a one-line change to a security
# check of src/), this applies the change to a source tree, rebuilds
# incrementally (one build directory: only the changed file recompiles and
# the programs relink), runs only that mutant's tests and records whether
# some test failed (caught) or all passed (SURVIVED); then puts the line
# back. A pattern that does not match exactly one line is a stale mutant:
# an error, never a pass. Prints a table and a score; exits non-zero if a
# mutant survived, was stale or did not build.
#
#   tests/mutants/run.sh [--src DIR --build DIR] [--no-baseline] [ID...]
#
# By default the tree is copied to a scratch directory ($MUTANT_WORK,
# /tmp/moat-mutants-$UID) and built there once (kept for the next run), so
# the tree you work in is never touched. --src/--build mutate DIR in place
# and use the build directory BUILD already configured for it (CI reuses
# its -Werror lane this way, in its throwaway checkout); the line is put
# back after each mutant, on an error or a signal too.
#
# Tests run as `make check` does (guard.sh, TAP), each set under
# `flock $MOAT_TEST_LOCK` (default /tmp/moat-test.lock: other runs of the
# suite on this host share cgroup paths), so do not run this script itself
# under that lock. A test gets $MUTANT_TEST_TIMEOUT seconds (default 180):
# a mutant that hangs a test is caught, not a hang.
#
# Before the mutants, the union of their tests runs once unmutated
# (--no-baseline skips it, as CI does after its lane passed): a test that
# fails anyway would catch every mutant.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LIST=${MUTANT_LIST:-$HERE/list}
LOCK=${MOAT_TEST_LOCK:-/tmp/moat-test.lock}
SRC= BUILD= BASELINE=1 ONLY=()
while [ $# -gt 0 ]; do
  case $1 in
    --src) SRC=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --list) LIST=$2; shift 2 ;;
    --no-baseline) BASELINE=0; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) ONLY+=("$1"); shift ;;
  esac
done
START=$(date +%s)
say () { echo "mutants: $*"; }
die () { echo "mutants: $*" >&2; exit 2; }

# --- the list --------------------------------------------------------------
IDS=() FILES=() FINDS=() REPLS=() TESTSETS=()
parse () {
  local line id= file= find= repl= tests= have=0 n=0
  flush () {
    [ "$have" = 1 ] || return 0
    [ -n "$id" ] && [ -n "$file" ] && [ -n "$find" ] && [ -n "$tests" ] \
      || die "$LIST: mutant ending at line $n lacks id, file, find or tests"
    IDS+=("$id") FILES+=("$file") FINDS+=("$find") REPLS+=("$repl") TESTSETS+=("$tests")
    id= file= find= repl= tests= have=0
  }
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    case $line in
      '#'*) continue ;;
      '') flush ;;
      'id: '*) id=${line#id: }; have=1 ;;
      'file: '*) file=${line#file: }; have=1 ;;
      'find: '*) find=${line#find: }; have=1 ;;
      'replace: '*) repl=${line#replace: }; have=1 ;;
      'tests: '*) tests=${line#tests: }; have=1 ;;
      'why: '*) have=1 ;;
      *) die "$LIST:$n: not a mutant field: $line" ;;
    esac
  done < "$LIST"
  flush
}
[ -f "$LIST" ] || die "no list at $LIST"
parse
[ ${#IDS[@]} -gt 0 ] || die "$LIST holds no mutant"
dups=$(printf '%s\n' "${IDS[@]}" | sort | uniq -d)
[ -z "$dups" ] || die "duplicate mutant ids: $dups"
SEL=()
for i in "${!IDS[@]}"; do
  if [ ${#ONLY[@]} -eq 0 ]; then SEL+=("$i"); continue; fi
  for o in "${ONLY[@]}"; do [ "$o" = "${IDS[$i]}" ] && SEL+=("$i"); done
done
[ ${#SEL[@]} -gt 0 ] || die "no mutant named ${ONLY[*]}"

# --- the tree and its build --------------------------------------------------
if [ -n "$SRC" ] || [ -n "$BUILD" ]; then
  [ -n "$SRC" ] && [ -n "$BUILD" ] || die "--src and --build go together"
  SRC=$(cd "$SRC" && pwd) || exit 2
  [ -f "$BUILD/Makefile" ] || die "$BUILD is not a configured build directory"
  BUILD=$(cd "$BUILD" && pwd)
else
  WORK=${MUTANT_WORK:-/tmp/moat-mutants-$(id -u)}
  SRC=$WORK/src BUILD=$WORK/build
  mkdir -p "$SRC" "$BUILD"
  # Copy what git knows (tracked and untracked, not ignored); tar keeps the
  # times, so an unchanged file does not recompile in a kept build.
  say "copying $TOP to $SRC"
  if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$TOP" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$SRC" -xf - \
      || die "copy failed"
  else
    (cd "$TOP" && tar --exclude='./build-*' -cf - .) | tar -C "$SRC" -xf - || die "copy failed"
  fi
  # A kept build made from another configure.ac or Makefile.am would link
  # the old list of files: start it again.
  SUM=$(cat "$SRC/configure.ac" "$SRC/Makefile.am" | sha256sum)
  if [ -f "$BUILD/Makefile" ] && [ "$(cat "$WORK/build.sum" 2>/dev/null)" != "$SUM" ]; then
    say "configure.ac or Makefile.am changed: a new build"
    rm -rf "$BUILD"; mkdir -p "$BUILD"
  fi
  echo "$SUM" > "$WORK/build.sum"
  if [ ! -f "$BUILD/Makefile" ]; then
    say "configuring $BUILD"
    (cd "$SRC" && ./autogen.sh >"$WORK/autogen.log" 2>&1) || { cat "$WORK/autogen.log"; die "autogen failed"; }
    (cd "$BUILD" && "$SRC/configure" --enable-werror >"$WORK/configure.log" 2>&1) \
      || { tail -n 30 "$WORK/configure.log"; die "configure failed"; }
  fi
fi
LOGDIR=$BUILD/mutants
mkdir -p "$LOGDIR"

# A run killed in the middle left a line changed: put it back first.
restore_leftovers () {
  local b
  for b in $(find "$SRC/src" -name '*.mutant-orig' 2>/dev/null); do
    say "restoring ${b%.mutant-orig} left mutated by an earlier run"
    cp "$b" "${b%.mutant-orig}" && touch "${b%.mutant-orig}" && rm -f "$b"
  done
}
restore_leftovers

CUR=
revert () {
  [ -n "$CUR" ] || return 0
  # the original text with a new time: the next build recompiles it
  cp "$CUR.mutant-orig" "$CUR" && touch "$CUR" && rm -f "$CUR.mutant-orig"
  CUR=
}
trap 'revert' EXIT
trap 'revert; exit 130' INT TERM HUP

build () { make -C "$BUILD" -j2 all >"$1" 2>&1 && make -C "$BUILD" -j2 check TESTS= >>"$1" 2>&1; }
# check LOG TESTS...: 0 if every test passed. The time spent waiting for
# the lock (other runs of the suite on this host) is counted apart.
WAITED=0
check () {
  local log=$1 t0 rc; shift
  t0=$(date +%s)
  rm -f "$log.locked"
  MOAT_TEST_TIMEOUT=${MUTANT_TEST_TIMEOUT:-180} flock "$LOCK" \
    sh -c 'date +%s > "$0.locked"; exec "$@"' "$log" make -C "$BUILD" check TESTS="$*" >"$log" 2>&1
  rc=$?
  [ -s "$log.locked" ] && WAITED=$((WAITED + $(cat "$log.locked") - t0))
  rm -f "$log.locked"
  return $rc
}
failed_tests () { grep -E '^(FAIL|ERROR|XPASS):' "$1" | awk '{print $2}' | sed 's,.*/,,' | sort -u | tr '\n' ' '; }

say "building $BUILD (unmutated)"
build "$LOGDIR/build-clean.log" || { tail -n 40 "$LOGDIR/build-clean.log"; die "the unmutated tree does not build"; }

if [ "$BASELINE" = 1 ]; then
  ALL=$(for i in "${SEL[@]}"; do printf '%s\n' ${TESTSETS[$i]}; done | sort -u | tr '\n' ' ')
  say "baseline: $ALL"
  if ! check "$LOGDIR/baseline.log" $ALL; then
    echo "mutants: these tests fail without any mutant: $(failed_tests "$LOGDIR/baseline.log")" >&2
    die "fix the baseline first (log: $LOGDIR/baseline.log)"
  fi
fi

# --- the mutants -------------------------------------------------------------
RESULT=() WHO=() SECS=()
for i in "${SEL[@]}"; do
  id=${IDS[$i]} f=$SRC/${FILES[$i]} find=${FINDS[$i]} repl=${REPLS[$i]} tests=${TESTSETS[$i]}
  t0=$(date +%s)
  RESULT[$i]=STALE WHO[$i]=""
  if [ ! -f "$f" ]; then
    echo "mutants: $id: no file ${FILES[$i]}" >&2
  else
    lines=$(grep -cF -- "$find" "$f")
    line=$(grep -nF -- "$find" "$f" | head -n 1 | cut -d: -f1)
    if [ "$lines" != 1 ]; then
      echo "mutants: $id: the pattern matches $lines lines of ${FILES[$i]} (must be exactly 1): $find" >&2
    else
      cp -p "$f" "$f.mutant-orig"
      CUR=$f
      FIND=$find REPL=$repl LINE=$line awk '
        NR == ENVIRON["LINE"] {
          s = $0; p = index(s, ENVIRON["FIND"]); n = length(ENVIRON["FIND"])
          if (index(substr(s, p + n), ENVIRON["FIND"]) > 0) { print "twice" > "/dev/stderr"; exit 3 }
          $0 = substr(s, 1, p - 1) ENVIRON["REPL"] substr(s, p + n)
        }
        { print }' "$f.mutant-orig" > "$f.new" && mv "$f.new" "$f"
      if cmp -s "$f" "$f.mutant-orig"; then
        echo "mutants: $id: the replacement changed nothing (or the pattern occurs twice on its line)" >&2
      elif ! build "$LOGDIR/$id.build.log"; then
        RESULT[$i]=NOBUILD
        echo "mutants: $id: does not build (log: $LOGDIR/$id.build.log)" >&2
        grep -m 3 -E 'error' "$LOGDIR/$id.build.log" >&2
      elif check "$LOGDIR/$id.check.log" $tests; then
        RESULT[$i]=SURVIVED
      else
        RESULT[$i]=caught WHO[$i]=$(failed_tests "$LOGDIR/$id.check.log")
        # keep the failing cases: what caught it
        for t in $tests; do
          log=$BUILD/$t.log
          [ -f "$log" ] && grep -E '^not ok|^Bail out' "$log" | head -n 3 | sed "s,^,    $id: ${t##*/}: ," >>"$LOGDIR/caught-by.txt"
        done
      fi
      revert
    fi
  fi
  SECS[$i]=$(( $(date +%s) - t0 ))
  printf 'mutants: %-28s %-8s %3ss  %s\n' "$id" "${RESULT[$i]}" "${SECS[$i]}" "${WHO[$i]}"
done

# Leave the build unmutated for the next run (and CI's next step).
build "$LOGDIR/build-final.log" || say "warning: the final unmutated rebuild failed (log: $LOGDIR/build-final.log)"

# --- the table -----------------------------------------------------------------
caught=0 bad=0
echo
printf '%-28s %-40s %-8s %s\n' MUTANT "TESTS MEANT TO CATCH IT" RESULT "FAILED TESTS"
for i in "${SEL[@]}"; do
  printf '%-28s %-40s %-8s %s\n' "${IDS[$i]}" "${TESTSETS[$i]//tests\//}" "${RESULT[$i]}" "${WHO[$i]}"
  if [ "${RESULT[$i]}" = caught ]; then caught=$((caught + 1)); else bad=$((bad + 1)); fi
done
echo "mutation score: $caught/${#SEL[@]} caught ($(( $(date +%s) - START ))s, ${WAITED}s of it waiting for $LOCK)"
[ "$bad" = 0 ]
