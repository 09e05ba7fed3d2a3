#!/bin/bash
# Who a record is about, and every container's records at once: each log's
# header names the container as its engine did (the CRI annotations), and
# `moat audit --json` carries that in every record; `moat audit --all`
# merges every log of the node by time, keeps up with containers created
# after it started, and filters and counts by pod, namespace and image.
# Annotation values are the engine's (or anyone's) text: escaped and bounded.
. "$(dirname "$0")/lib.sh"

AUD="$TMP/audit"
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
B="$TMP/b"
mkbundle "$B"
cfg "$B" 'del(.linux.resources)'
cfg "$B" '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","rmdir"],"action":"SCMP_ACT_ERRNO"}]}'
# cri POD NAMESPACE CONTAINER IMAGE: the annotations containerd's CRI plugin sets
cri () {
  cfg "$B" '.annotations = {"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"0123abcd",
    "io.kubernetes.cri.sandbox-name":$p,"io.kubernetes.cri.sandbox-namespace":$n,
    "io.kubernetes.cri.container-name":$c,"io.kubernetes.cri.image-name":$i,"org.moat.team":"blue","other.key":"x"}' \
    --arg p "$1" --arg n "$2" --arg c "$3" --arg i "$4"
}
cat > "$B/rootfs/bin/calls.sh" <<'EOF2'
#!/bin/sh
n=$1
while [ "$n" -gt 0 ]; do /bin/workload syscall mkdir s:/tmp/a 0755 >/dev/null; n=$((n - 1)); done
exit 0
EOF2
chmod 755 "$B/rootfs/bin/calls.sh"

cri web-1 prod nginx docker.io/library/nginx:1.25
setargs "$B" /bin/calls.sh 1
A run --bundle "$B" c1 >/dev/null 2>&1
LOG="$AUD/c1.jsonl"
t_is "the log's first line is its header, schema 1" "$(head -n 1 "$LOG" | jq -r '.kind + " " + (.schema | tostring)')" "header 1"
t_is "... naming the pod, namespace, container and image" \
  "$(head -n 1 "$LOG" | jq -r '.identity | [.pod, .namespace, .container, .image, .sandboxId, .containerType] | join(" ")')" \
  "web-1 prod nginx docker.io/library/nginx:1.25 0123abcd container"
t_is "... with the org.moat.* annotations, no other" "$(head -n 1 "$LOG" | jq -c .identity.annotations)" '{"org.moat.team":"blue"}'
t_is "the header is said once" "$(grep -c '"kind":"header"' "$LOG")" 1
t_is "moat audit --json: the record carries its container's identity" \
  "$(A audit --json c1 | jq -r '[.identity.pod, .identity.namespace, .identity.image, .syscall] | join(" ")')" \
  "web-1 prod docker.io/library/nginx:1.25 mkdir"
t_is "... one line per record: the header is not one" "$(A audit --json c1 | wc -l)" 1
t_is "the table: no row for the header" "$(A audit c1 | wc -l)" 2
t_is "--pod on one container: a match" "$(A audit --json --pod web-1 c1 | wc -l)" 1
t_is "--pod on one container: no match" "$(A audit --json --pod web-2 c1 | wc -l)" 0

cri api-0 staging api registry.example/api:v2
setargs "$B" /bin/calls.sh 3
A run --bundle "$B" c2 >/dev/null 2>&1
# A container with no annotations at all, its log elsewhere (its own
# --audit-dir), still in the root: --all reads it from its state.
cfg "$B" 'del(.annotations)'
printf '#!/bin/sh\n/bin/workload syscall rmdir s:/tmp/a >/dev/null\nexec /bin/workload sleep 60\n' > "$B/rootfs/bin/c3.sh"
chmod 755 "$B/rootfs/bin/c3.sh"
setargs "$B" /bin/c3.sh
"$MOAT" --root "$ROOT" --audit-dir "$TMP/other" run -d --bundle "$B" c3 >/dev/null 2>&1
for _ in $(seq 100); do grep -q rmdir "$TMP/other/c3.jsonl" 2>/dev/null && break; sleep 0.05; done

ALL=$(A audit --all --json)
t_is "--all: the records of every container, deleted or running, with its log anywhere" \
  "$(jq -r '.container' <<<"$ALL" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "c1=1 c2=3 c3=1 "
t_ok "--all: in time order" bash -c 'jq -r .time <<<"$1" | sort -c' - "$ALL"
t_is "--all: a container without annotations has no identity" "$(jq -r 'select(.container == "c3") | .identity' <<<"$ALL")" null
t_is "--all --pod" "$(A audit --all --json --pod api-0 | jq -r .container | sort -u)" c2
t_is "--all --namespace" "$(A audit --all --json --namespace prod | jq -r .container | sort -u)" c1
t_is "--all --image (exact)" "$(A audit --all --json --image registry.example/api:v2 | wc -l)" 3
t_is "--all --image: a prefix is not a match" "$(A audit --all --json --image registry.example/api | wc -l)" 0
t_is "--all --syscall with the rest" "$(A audit --all --json --syscall rmdir | jq -r .container)" c3
TABLE=$(A audit --all)
t_like "--all table: who, by namespace/pod/container" "$TABLE" "^staging/api-0/api +[0-9:.]+ +[0-9]+ +workload +seccomp +mkdir"
t_like "--all table: or by id" "$TABLE" "^c3 +[0-9:.]+ +[0-9]+ +workload +seccomp +rmdir"
SUM=$(A audit --all --summary)
t_like "--all --summary: the pod that hit a wall most comes first" "$(sed -n 2p <<<"$SUM")" \
  "^ +3  staging/api-0/api +seccomp +mkdir +EPERM"
t_like "--all --summary: then the others" "$(sed -n '3,$p' <<<"$SUM")" "^ +1  prod/web-1/nginx +seccomp +mkdir"

# --follow: what is there, then what comes, from containers created after
# it started too, until SIGTERM.
# (moat itself in the background, not a shell function: the signal is moat's)
"$MOAT" --root "$ROOT" --audit-dir "$AUD" audit --all --follow --json > "$TMP/follow" 2>"$TMP/follow.err" &
FPID=$!
for _ in $(seq 100); do [ "$(wc -l < "$TMP/follow")" -ge 5 ] && break; sleep 0.05; done
t_is "--follow: first the records already there" "$(wc -l < "$TMP/follow")" 5
cri late-0 prod late registry.example/late:1
setargs "$B" /bin/calls.sh 2
A run --bundle "$B" c4 >/dev/null 2>&1
for _ in $(seq 100); do [ "$(grep -c '"container":"c4"' "$TMP/follow")" -ge 2 ] && break; sleep 0.05; done
t_is "--follow: then a container created after it started, with its identity" \
  "$(jq -r 'select(.container == "c4") | .identity.pod' "$TMP/follow" | tr '\n' ' ')" "late-0 late-0 "
# A log's last line without its newline is being written: not yet a record.
printf '{"time":"2099-01-01T00:00:00.000000000Z","container":"tt","wall":"moat",' > "$AUD/tt.jsonl"
A exec c3 /bin/workload syscall rmdir s:/tmp/b >/dev/null 2>&1
for _ in $(seq 100); do [ "$(grep -c '"rmdir"' "$TMP/follow")" -ge 2 ] && break; sleep 0.05; done
t_is "--follow: a running container's new record" "$(grep -c '"pathname":"/tmp/b"' "$TMP/follow")" 1
t_is "--follow: a torn last line is not printed" "$(grep -c '"tt"' "$TMP/follow")" 0
printf '"kind":"notice","what":"whole now"}\n' >> "$AUD/tt.jsonl"
for _ in $(seq 100); do grep -q 'whole now' "$TMP/follow" && break; sleep 0.05; done
t_is "--follow: ... until it is complete, then once" "$(grep -c 'whole now' "$TMP/follow")" 1
kill -TERM "$FPID"
for _ in $(seq 100); do pid_running "$FPID" || break; sleep 0.05; done
wait "$FPID"; RC=$?
t_is "--follow: SIGTERM ends it cleanly (exit 0)" "$RC" 0
t_is "... saying nothing on stderr" "$(cat "$TMP/follow.err")" ""
t_ok "every line it printed is one JSON object" sh -c 'jq -c . "$1" | wc -l | grep -qx "$(wc -l < "$1")"' - "$TMP/follow"
rm -f "$AUD/tt.jsonl"
A delete --force c3 >/dev/null 2>&1

# Hostile annotation values: control characters, a huge value, dozens of
# org.moat.* keys. Escaped in the log (one JSON line), bounded in size,
# shown visibly in the table.
HUGE=$(head -c 100000 /dev/zero | tr '\0' i)
cfg "$B" '.annotations = ({"io.kubernetes.cri.sandbox-name":"evil\u001b]0;pwn\u0007\npod","io.kubernetes.cri.sandbox-namespace":"ns\u001b[2J",
   "io.kubernetes.cri.image-name":$huge,"org.moat.\u001bkey":"v\u007fx"} + ([range(40)] | map({key: "org.moat.k\(.)", value: "v"}) | from_entries))' \
  --arg huge "$HUGE"
setargs "$B" /bin/calls.sh 1
A run --bundle "$B" ev >/dev/null 2>&1
HDR=$(head -n 1 "$AUD/ev.jsonl")
t_is "hostile values: the log is still one JSON object a line" "$(jq -c . "$AUD/ev.jsonl" | wc -l)" "$(wc -l < "$AUD/ev.jsonl")"
t_is "... no raw control byte in it" "$(LC_ALL=C tr -d '\n' < "$AUD/ev.jsonl" | LC_ALL=C grep -c '[[:cntrl:]]')" 0
t_is "... the pod name as it was, escaped" "$(jq -r .identity.pod <<<"$HDR" | od -An -c | tr -s ' ' | head -n 1)" \
  " e v i l 033 ] 0 ; p w n \a \n p o d"
t_ok "... a 100 KB value bounded (the header < 4 KiB)" test "${#HDR}" -lt 4096
t_is "... cut to 512 bytes, and the header says it was cut" "$(jq -r '(.identity.image | length | tostring) + " " + (.identity.truncated | tostring)' <<<"$HDR")" "512 true"
t_is "... at most 32 org.moat.* annotations" "$(jq '.identity.annotations | length' <<<"$HDR")" 32
OUT=$(A audit --all --pod "$(jq -r .identity.pod <<<"$HDR")")
t_like "--pod matches the name with its control characters" "$OUT" 'mkdir'
t_is "the table shows them, never sends them to the terminal" \
  "$(printf '%s' "$OUT" | LC_ALL=C tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
t_like "... visibly" "$OUT" 'ns\\x1b\[2J/evil\\x1b\]0;pwn\\x07\\x0apod'
SUM=$(A audit --all --summary --namespace "$(jq -r .identity.namespace <<<"$HDR")")
t_is "--summary too" "$(printf '%s' "$SUM" | LC_ALL=C tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0

t_fails "--all with an id is a usage error" A audit --all c1
t_like "... saying so" "$(A audit --all c1 2>&1)" "--all takes no container id"
t_like "no id and no --all: a usage error" "$(A audit 2>&1)" "missing container id \(or --all\)"

t_is "nothing left behind: processes" "$(stray_procs)" 0
t_is "nothing left behind: state" "$(ls "$ROOT" 2>/dev/null | wc -l)" 0
t_done
