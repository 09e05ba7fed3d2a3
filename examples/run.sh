#!/bin/bash
# Run moat's examples, each in a throwaway container, and print what each
# program printed, how it ended, and the audit records it left.
#
#   examples/run.sh [-w WORKDIR] [EXAMPLE...]      (as root; EXAMPLE: 01-null-pointer or just 01)
#
# Environment: MOAT, the moat binary (default: the source tree's ./moat, else
# moat on PATH); BIN, the built examples (default: examples/bin, see the
# Makefile); PAUSE, seconds between examples (default 1: the kernel log is
# rate-limited to about 10 fault reports per 5 s, host-wide).
# With -w, everything (bundles, state, audit logs, and per run ID.out with
# the program's output and ID.status with moat run's exit status) is kept in
# WORKDIR; without it, a temporary directory is removed at the end.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
POLICIES=$(cd "$HERE/../policies" && pwd)
: "${MOAT:=}"
if [ -z "$MOAT" ]; then
  if [ -x "$HERE/../moat" ]; then MOAT=$HERE/../moat; else MOAT=$(command -v moat || true); fi
fi
: "${BIN:=$HERE/bin}"
: "${PAUSE:=1}"
WORK=
while getopts w: o; do
  case $o in
    w) WORK=$OPTARG ;;
    *) echo "usage: $0 [-w WORKDIR] [EXAMPLE...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

die () { echo "run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (containers need namespaces, mounts and cgroups)"
[ -n "$MOAT" ] && [ -x "$MOAT" ] || die "no moat binary: set MOAT=/path/to/moat"
command -v jq >/dev/null || die "needs jq"
TEMP=
if [ -z "$WORK" ]; then
  WORK=$(mktemp -d /tmp/moat-examples.XXXXXX)
  TEMP=$WORK
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
STATE=$WORK/state
AUDIT=$WORK/audit
M () { "$MOAT" --root "$STATE" --audit-dir "$AUDIT" "$@"; }
# On any exit (an interrupt too), no container is left behind.
finish () {
  local id
  for id in $(ls "$STATE" 2>/dev/null); do M delete --force "$id" >/dev/null 2>&1; done
  [ -z "$TEMP" ] || rm -rf "$TEMP"
}
trap finish EXIT
trap 'exit 130' INT TERM

# The policies each example runs under: "none" is a config.json without
# linux.seccomp and no --policy; "own" is the example's policy.json; other
# names are files in policies/.
policies_of () {
  case $1 in
    05-*) echo "default audit-all" ;;   # the filter's EPERM, then what is behind it
    06-*) echo "default strict" ;;      # the walls under the filter, then the filter first
    07-*) echo "strict" ;;              # default.json allows ptrace
    10-*) echo "none default" ;;        # the cost with and without the filter
    *) echo "default" ;;
  esac
  [ ! -f "$HERE/$1/policy.json" ] || echo own
}

if [ $# -eq 0 ]; then
  set -- $(cd "$HERE" && ls -d [0-9][0-9]-*/ | tr -d /)
fi

first=1
for want in "$@"; do
  name=$(cd "$HERE" && ls -d "$want"*/ 2>/dev/null | head -n 1 | tr -d /)
  [ -n "$name" ] && [ -f "$HERE/$name/main.c" ] || die "no example $want"
  [ -x "$BIN/$name" ] || die "$BIN/$name is not built: make -C $HERE${BIN:+ OUT=$BIN}"
  for pol in $(policies_of "$name"); do
    [ $first = 1 ] || sleep "$PAUSE"
    first=0
    id=$name.$pol
    case $pol in
      none) popt=(); pshow="" ;;
      own) popt=(--policy "$HERE/$name/policy.json"); pshow="--policy examples/$name/policy.json " ;;
      *) popt=(--policy "$POLICIES/$pol.json"); pshow="--policy policies/$pol.json " ;;
    esac

    # the bundle: a rootfs with the one static binary, moat spec's config
    b=$WORK/bundles/$id
    rm -rf "$b"
    mkdir -p "$b/rootfs/bin"
    cp "$BIN/$name" "$b/rootfs/bin/example"
    "$MOAT" spec --bundle "$b" || die "moat spec failed"
    filter='.process.args = ["/bin/example"] | del(.linux.resources)'
    [ ! -f "$HERE/$name/config.jq" ] || filter="$filter | $(cat "$HERE/$name/config.jq")"
    jq "$filter" "$b/config.json" > "$b/config.json.new" && mv "$b/config.json.new" "$b/config.json" \
      || die "jq failed on $b/config.json"

    if [ -t 1 ]; then printf '\n\033[1m=== %s (policy: %s) ===\033[0m\n' "$name" "$pol"
    else printf '\n=== %s (policy: %s) ===\n' "$name" "$pol"; fi
    if [ "${name%%-*}" = 09 ] && "$MOAT" features >/dev/null 2>&1; then
      echo "\$ moat features | jq .annotations"
      "$MOAT" features | jq .annotations
    fi
    echo "\$ moat run ${pshow}--bundle BUNDLE $id"
    M run ${popt[@]+"${popt[@]}"} --bundle "$b" "$id" > "$WORK/$id.out" 2>&1
    rc=$?
    echo $rc > "$WORK/$id.status"
    cat "$WORK/$id.out"
    if [ $rc -gt 128 ]; then
      echo "(exit status $rc: killed by SIG$(kill -l $((rc - 128))))"
    else
      echo "(exit status $rc)"
    fi
    echo "\$ moat audit $id"
    if [ -s "$AUDIT/$id.jsonl" ]; then
      M audit "$id"
      echo "\$ moat audit --json $id"
      M audit --json "$id" 2>/dev/null || cat "$AUDIT/$id.jsonl"
    else
      echo "(no audit records)"
    fi
    M delete --force "$id" >/dev/null 2>&1 || true
  done
done
exit 0
