#!/bin/bash
# The audit log against the container it records: every line of it is
# UTF-8 JSON whatever bytes the container puts in its comm and its paths;
# the table shows those bytes, never sends them to the terminal; a reader
# never skips a line silently.
. "$(dirname "$0")/lib.sh"

B="$TMP/b"
AUD="$TMP/audit"
mkbundle "$B"
cfg "$B" 'del(.linux.resources)'
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
cfg "$B" '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}'

# Hostile strings: a comm holding a title-change sequence (ESC ] 0;pwn BEL),
# paths holding a screen clear (ESC [2J), a newline (a forged row), a byte
# that is not UTF-8, a right-to-left override (U+202E), and a comm that is
# not UTF-8 either.
cat > "$B/rootfs/bin/hostile.sh" <<'EOF'
#!/bin/sh
/bin/workload named x:1b5d303b70776e07 syscall mkdir s:/tmp/a 0755
/bin/workload named s:clear syscall mkdir x:2f746d702f1b5b324a 0755
/bin/workload named s:newline syscall mkdir x:2f746d702f610a323a30303a303020202020202020312020666f726765640a62 0755
/bin/workload named s:notutf8 syscall mkdir x:2f746d702fff 0755
/bin/workload named x:ff41 syscall mkdir s:/tmp/c 0755
/bin/workload named s:rtl syscall mkdir x:2f746d702fe280ae6667 0755
exit 0
EOF
chmod 755 "$B/rootfs/bin/hostile.sh"
setargs "$B" /bin/hostile.sh
A run --bundle "$B" hs >/dev/null 2>&1
LOG="$AUD/hs.jsonl"
t_is "six records of calls" "$(jq -c 'select(.kind == "syscall")' "$LOG" 2>/dev/null | wc -l)" 6
diag "$(jq -c 'select(.kind != "syscall") | {kind, what}' "$LOG" 2>/dev/null)"
NREC=$(nohdr "$LOG" | wc -l)
t_ok "every line of the log is UTF-8" iconv -f UTF-8 -t UTF-8 "$LOG" -o /dev/null
t_is "every line of the log is one JSON object" "$(jq -c 'select(.kind == "syscall")' "$LOG" | wc -l)" 6
t_is "a path that is not UTF-8: U+FFFD in the string, its bytes beside it" \
  "$(jq -r 'select(.comm == "notutf8") | .args.pathname + " " + .args.pathname_bytes' "$LOG")" "/tmp/� 2f746d702fff"
t_is "a comm that is not UTF-8: the same" "$(jq -r 'select(.comm_bytes) | .comm_bytes' "$LOG")" "ff41"
t_is "control characters are JSON escapes in the log" \
  "$(jq -r 'select(.comm == "clear") | .args.pathname' "$LOG" | od -An -c | tr -s ' ' | head -n 1)" " / t m p / 033 [ 2 J \n"

TABLE=$(A audit hs 2>&1); RC=$?
t_is "moat audit: exit 0" "$RC" 0
t_is "the table: a header and one row per record" "$(printf '%s\n' "$TABLE" | wc -l)" $((NREC + 1))
t_is "no escape, bell or other control byte reaches the terminal" \
  "$(printf '%s' "$TABLE" | LC_ALL=C tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
t_ok "the table is UTF-8" sh -c 'printf "%s" "$1" | iconv -f UTF-8 -t UTF-8 -o /dev/null' - "$TABLE"
t_like "the comm's escape sequence is shown" "$TABLE" '\\x1b\]0;pwn\\x07'
t_like "the screen clear is shown" "$TABLE" 'mkdir\("/tmp/\\x1b\[2J"'
t_like "the newline is shown, the forged row stays in its own" "$TABLE" 'mkdir\("/tmp/a\\x0a2:00:00 .*forged\\x0ab"'
t_like "the byte that is not UTF-8 is shown as it was" "$TABLE" 'mkdir\("/tmp/\\xff"'
t_like "the comm that is not UTF-8 too" "$TABLE" '\\xffA'
t_like "the right-to-left override is shown, not obeyed" "$TABLE" 'mkdir\("/tmp/\\xe2\\x80\\xaefg"'
t_is "moat audit --json: every record, each valid JSON" "$(A audit --json hs | jq -c . | wc -l)" "$NREC"
t_like "moat audit --summary counts all six" "$(A audit --summary hs)" "^ +6  seccomp +mkdir"
t_ok "moat explain reads the whole log" A explain hs

# A line no reader can parse (moat never writes one) is counted and said,
# never skipped silently; the rest is still shown.
printf 'not json\n' >> "$LOG"
OUT=$(A audit hs 2>"$TMP/err"); RC=$?
t_is "moat audit: exit 1 with an unreadable line" "$RC" 1
t_like "... which it counts and places" "$(cat "$TMP/err")" "1 line could not be read \(the first: line $((NREC + 2))\)"
t_is "... after showing every record" "$(printf '%s\n' "$OUT" | wc -l)" $((NREC + 1))
OUT=$(A explain hs 2>"$TMP/err"); RC=$?
t_is "moat explain: still explains" "$RC" 0
t_like "... and says what it left out" "$(cat "$TMP/err")" "1 line could not be read \(the first: line $((NREC + 2))\)"

# A logged call that went on to run says its memory was read at the
# notification (another thread could change it before the kernel reads it);
# a refused one does not need to.
cfg "$B" '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_LOG"},{"names":["rmdir"],"action":"SCMP_ACT_ERRNO"}]}'
cat > "$B/rootfs/bin/logged.sh" <<'EOF'
#!/bin/sh
/bin/workload syscall mkdir s:/tmp/logged 0755
/bin/workload syscall rmdir s:/tmp/logged
exit 0
EOF
chmod 755 "$B/rootfs/bin/logged.sh"
setargs "$B" /bin/logged.sh
A run --bundle "$B" lg >/dev/null 2>&1
t_is "a logged call's record: its memory arguments read at the notification" \
  "$(jq -r 'select(.syscall == "mkdir") | .action + " " + .argsReadAt' "$AUD/lg.jsonl")" "log notification"
t_is "a refused call's record has no such caveat" "$(jq -r 'select(.syscall == "rmdir") | .argsReadAt' "$AUD/lg.jsonl")" null

# A supervisor killed while its container runs: the filter fails closed
# (ENOSYS) and nothing is recorded from then on, which the next moat
# command that touches the container writes in the log, once, and `moat
# state` shows in org.moat.audit.
cfg "$B" '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}'
setargs "$B" /bin/workload sleep 60
A run -d --bundle "$B" sk >/dev/null 2>&1
t_is "a running container's audit is active" "$(A state sk | jq -r '.annotations["org.moat.audit"]')" active
SUP=$(jq -r .supervisorPid "$ROOT/sk/state.json")
kill -9 "$SUP"
for _ in $(seq 50); do [ -d "/proc/$SUP" ] || break; sleep 0.1; done
t_like "once its supervisor is killed: lost, since when it was seen" \
  "$(A state sk | jq -r '.annotations["org.moat.audit"]')" "^lost since 20[0-9-]+T[0-9:.]+Z$"
SINCE1=$(A state sk | jq -r '.annotations["org.moat.audit"]')
A audit sk >/dev/null 2>&1
A exec sk /bin/workload syscall mkdir s:/tmp/x 0755 >/dev/null 2>&1
t_is "the same time at every look" "$(A state sk | jq -r '.annotations["org.moat.audit"]')" "$SINCE1"
t_is "the log says it, once" "$(jq -r 'select(.kind == "notice") | .what' "$AUD/sk.jsonl" | grep -c '^the audit ended')" 1
A delete --force sk >/dev/null 2>&1
t_like "a container that ended normally: ended" \
  "$(A run -d --bundle "$B" se >/dev/null 2>&1; A kill se KILL; for _ in $(seq 50); do A state se | grep -q stopped && break; sleep 0.1; done; A state se | jq -r '.annotations["org.moat.audit"]')" "^ended$"
t_is "... and no notice of a loss" "$(grep -c 'the audit ended' "$AUD/se.jsonl")" 0
A delete --force se >/dev/null 2>&1

# The log's budget. Past it (a rate, or a size the log reached), calls are
# counted, not taken down: one aggregate per kind of call and interval,
# with its count; the records in full plus the counts are every call.
cfg "$B" '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","getppid"],"action":"SCMP_ACT_ERRNO"}]}'
setargs "$B" /bin/workload storm 2 5000 getppid
OUT=$(A --audit-rate 100 --audit-burst 200 run --bundle "$B" bu1 2>&1)
t_like "a storm past the rate: every call refused" "$OUT" "^storm getppid ok=0 EPERM=10000$"
FULL=$(jq -s '[.[] | select(.kind == "syscall" and .syscall == "getppid")] | length' "$AUD/bu1.jsonl")
COUNTED=$(jq -s '[.[] | select(.kind == "aggregate" and .syscall == "getppid") | .count] | add // 0' "$AUD/bu1.jsonl")
diag "$FULL in full, $COUNTED counted"
t_is "records in full plus the counted: every call" "$((FULL + COUNTED))" 10000
t_like "in full: the burst, and the rate's share" "$FULL" "^(2[0-9][0-9]|3[0-9][0-9])$"
t_like "the aggregates say why" "$(jq -r 'select(.kind == "aggregate") | .why' "$AUD/bu1.jsonl" | sort -u)" \
  "^over 100 records a second$"
t_like "the table shows them" "$(A audit bu1 | tail -n 1)" "getppid\(\.\.\.\) x [0-9]+, counted +EPERM +\(syscalls\[0\]\)"
t_like "--summary counts the calls, not the lines" "$(A audit --summary bu1)" "^ +10000  seccomp +getppid"

# The attack: two threads of 4,000-byte paths. With a 256 KiB cap the log
# stays near it (a batch past it at most), however long the storm.
LONG=$(head -c 4000 /dev/zero | tr '\0' y)
setargs "$B" /bin/workload storm 2 20000 mkdir "s:/tmp/$LONG" 0755
OUT=$(A --audit-max-size 256K --audit-rate 0 run --bundle "$B" bu2 2>&1)
t_like "40,000 mkdirs of 4,000-byte paths refused" "$OUT" "^storm mkdir ok=0 EPERM=40000$"
SIZE=$(stat -c %s "$AUD/bu2.jsonl")
diag "log: $SIZE bytes"
t_ok "the log stays near its cap (< 512 KiB, not 160 MB)" test "$SIZE" -lt 524288
FULL=$(jq -s '[.[] | select(.kind == "syscall" and .syscall == "mkdir")] | length' "$AUD/bu2.jsonl")
COUNTED=$(jq -s '[.[] | select(.kind == "aggregate" and .syscall == "mkdir") | .count] | add // 0' "$AUD/bu2.jsonl")
t_is "... and every call is counted in it" "$((FULL + COUNTED))" 40000
t_like "why: the size" "$(jq -r 'select(.kind == "aggregate") | .why' "$AUD/bu2.jsonl" | sort -u)" "^the log reached its size, 262144 bytes$"

# Set per container: its policy's audit section, its annotations (which
# win), and a bad value refused naming where it came from.
cat > "$TMP/budget-policy.json" <<'JSON'
{"name": "tight", "audit": {"rate": 5, "burst": 5},
 "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}}
JSON
setargs "$B" /bin/workload storm 1 100 getppid
A run --policy "$TMP/budget-policy.json" --bundle "$B" bu3 >/dev/null 2>&1
t_like "a policy's budget: few in full" "$(jq -s '[.[] | select(.kind == "syscall")] | length' "$AUD/bu3.jsonl")" "^([5-9]|1[0-9])$"
cfg "$B" '.annotations["org.moat.audit.rate"] = "0"'
A run --policy "$TMP/budget-policy.json" --bundle "$B" bu4 >/dev/null 2>&1
t_is "an annotation over the policy: all in full" "$(jq -s '[.[] | select(.kind == "syscall")] | length' "$AUD/bu4.jsonl")" 100
cfg "$B" '.annotations["org.moat.audit.max-size"] = "lots"'
OUT=$(A run --bundle "$B" bu5 2>&1); RC=$?
t_is "a bad budget: refused" "$RC" 1
t_like "... naming the annotation" "$OUT" "annotations.org.moat.audit.max-size: \`lots\` is not a size"
t_fails "... and nothing is left" test -e "$ROOT/bu5"
cfg "$B" 'del(.annotations)'

# Retention: what the audit directory keeps of the logs of containers gone.
# An empty log (nothing was stopped) goes at delete unless the container
# asked to keep it; logs older than --audit-retain-age go; then the oldest
# until the rest fit --audit-retain-size. A log of a container still here,
# or with a spool beside it, or written within the last minute, stays.
RD="$TMP/ret"
mkdir -p "$RD"
AR () { "$MOAT" --root "$ROOT" --audit-dir "$RD" "$@"; }
cfg "$B" 'del(.linux.seccomp)'
setargs "$B" /bin/workload pid
AR run --bundle "$B" rt-empty >/dev/null 2>&1
t_fails "an empty log goes at delete" test -e "$RD/rt-empty.jsonl"
cfg "$B" '.annotations["org.moat.audit.keep-empty"] = "true"'
AR run --bundle "$B" rt-keep >/dev/null 2>&1
t_ok "... unless the container asks to keep it" test -e "$RD/rt-keep.jsonl"
cfg "$B" 'del(.annotations)'
mk () {   # mk NAME KIB AGE: a log of a container gone
  head -c $(($2 * 1024)) /dev/zero | tr '\0' a > "$RD/$1"
  touch -d "$3" "$RD/$1"
}
mk old.jsonl 1 "40 days ago"
mk s1.jsonl 400 "5 hours ago"
mk s2.jsonl.1 400 "4 hours ago"
mk s3.jsonl 400 "3 hours ago"
mk spooled.jsonl 400 "6 hours ago"; : > "$RD/spooled.spool"
mk fresh.jsonl 400 "now"
setargs "$B" /bin/workload sleep 30
AR run -d --bundle "$B" rt-live >/dev/null 2>&1
mk rt-live.jsonl 400 "7 hours ago"
mk notalog.txt 1 "40 days ago"
setargs "$B" /bin/workload pid
# The sweep runs at most once a minute per directory: the runs above have
# just swept. What is past retention now waits for the next minute...
AR --audit-retain-size 1M run --bundle "$B" rt-early >/dev/null 2>&1
t_ok "a sweep within the minute of the last one does not run (its stamp says when)" test -e "$RD/old.jsonl"
t_ok "... its stamp is there" test -f "$RD/.retire-sweep"
# ... and goes once the last sweep is a minute old.
touch -d "61 seconds ago" "$RD/.retire-sweep"
AR --audit-retain-size 1M run --bundle "$B" rt-sweep >/dev/null 2>&1
t_fails "a log older than the age goes (30 days by default)" test -e "$RD/old.jsonl"
t_fails "the oldest go until the rest fit the size" test -e "$RD/s1.jsonl"
t_ok "... and no more (rotated logs count as logs)" test -e "$RD/s2.jsonl.1"
t_ok "the newest kept" test -e "$RD/s3.jsonl"
t_ok "a log with a spool beside it stays (a supervisor still owes it records)" test -e "$RD/spooled.jsonl"
t_ok "a log written within the last minute stays" test -e "$RD/fresh.jsonl"
t_ok "a log of a container still here stays" test -e "$RD/rt-live.jsonl"
t_ok "what is not a log is never touched" test -e "$RD/notalog.txt"
t_like "a bad retention: refused" "$(AR --audit-retain-age forever list 2>&1)" "--audit-retain-age: \`forever\` is not an age"
AR delete --force rt-live >/dev/null 2>&1

# A full audit file system: a storm of denied calls with 4,000-byte paths
# into a small tmpfs. Batches the disk refuses are taken back whole: every
# line stays one JSON record, and the loss is a line of its own with its
# count, once there is room; records plus losses are every call.
SMALL="$TMP/small"
mkdir -p "$SMALL"
mount -t tmpfs -o size=1m tmpfs "$SMALL" || skip_all "cannot mount a tmpfs"
trap 'umount -l "$SMALL" 2>/dev/null; cleanup' EXIT
AS () { "$MOAT" --root "$ROOT" --audit-dir "$SMALL" "$@"; }
cfg "$B" '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}'
LONG=$(head -c 4000 /dev/zero | tr '\0' x)
setargs "$B" /bin/workload storm 2 200 mkdir "s:/tmp/$LONG" 0755
# the spool (132 KiB) is made at create; leave the log about 150 KiB
dd if=/dev/zero of="$SMALL/filler" bs=1k count=$((1024 - 132 - 150)) status=none
OUT=$(AS run --bundle "$B" full 2>&1)
t_like "the storm ran, every call refused" "$OUT" "^storm mkdir ok=0 EPERM=400$"
t_is "the full log holds whole lines only" "$(tail -c 1 "$SMALL/full.jsonl" | od -An -c | tr -d ' ')" '\n'
t_ok "every line of it is one JSON record" jq -e . "$SMALL/full.jsonl"
rm -f "$SMALL/filler"
AS audit full >/dev/null 2>&1
REC=$(jq -s '[.[] | select(.kind == "syscall")] | length' "$SMALL/full.jsonl")
LOST=$(jq -s '[.[] | select(.kind == "notice") | .lost // 0] | add // 0' "$SMALL/full.jsonl")
diag "$REC records, $LOST said lost"
t_is "records plus the losses said are every call" "$((REC + LOST))" 400
t_like "some were lost, and said so" "$LOST" "^[1-9][0-9]*$"
t_ok "once there is room, every line is still one JSON record" jq -e . "$SMALL/full.jsonl"
t_ok "moat explain reads it" AS explain full
t_fails "no spool is left" test -e "$SMALL/full.spool"
umount -l "$SMALL"
trap cleanup EXIT
t_done
