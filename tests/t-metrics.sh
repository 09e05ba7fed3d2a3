#!/bin/bash
# `moat metrics` against the audit logs it counts: the counters equal the
# records (an aggregate counts its calls), the text passes promtool, the
# textfile is written whole, the HTTP server survives garbage and stops on
# SIGTERM, and a real Prometheus scraping it sees the same numbers.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || skip_all "needs promtool and prometheus (apt-get install prometheus)"
command -v prometheus >/dev/null || skip_all "needs prometheus (apt-get install prometheus)"
command -v curl >/dev/null || skip_all "needs curl (apt-get install curl)"

AUD="$TMP/audit"
A () { "$MOAT" --root "$ROOT" --audit-dir "$AUD" "$@"; }
SRV_PID= PROM_PID=
stop_all () {
  local p
  for p in $SRV_PID $PROM_PID; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  cleanup
}
trap stop_all EXIT

# --- three containers: denials of several syscalls (some counted in
# aggregates), an OOM kill, a fault -------------------------------------
B="$TMP/b"
deny_bundle "$B"
cfg "$B" '.annotations = {"io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop",
  "io.kubernetes.cri.container-name":"nginx\"x"}'
cat > "$B/rootfs/bin/deny.sh" <<'EOF'
#!/bin/sh
/bin/workload syscall mkdir s:/tmp/a 0755
/bin/workload syscall mkdir s:/tmp/b 0755
/bin/workload syscall mkdir s:/tmp/c 0755
/bin/workload syscall rmdir s:/tmp
/bin/workload syscall rmdir s:/tmp
/bin/workload storm 1 400 mkdir s:/tmp/x 0755
exit 0
EOF
chmod 755 "$B/rootfs/bin/deny.sh"
setargs "$B" /bin/deny.sh
# create + start: its state (and so its pod labels) stays until delete.
A --audit-rate 10 --audit-burst 10 create --bundle "$B" mt-deny >/dev/null 2>&1
A start mt-deny
for _ in $(seq 1 300); do
  [ "$(A state mt-deny 2>/dev/null | jq -r .status)" = stopped ] && break
  sleep 0.1
done
t_is "the denying container ran to its end" "$(A state mt-deny | jq -r .status)" stopped

B2="$TMP/b2"
mkbundle "$B2" /bin/workload hog 200
cfg "$B2" '.linux.resources = {"memory": {"limit": 67108864}}'
A run --bundle "$B2" mt-oom >/dev/null 2>&1
B3="$TMP/b3"
mkbundle "$B3" /bin/workload segv
cfg "$B3" 'del(.linux.resources)'
A run --bundle "$B3" mt-segv >/dev/null 2>&1

# What the logs hold (moat audit --json: every record, the spool too).
LOGS=$(for id in mt-deny mt-oom mt-segv; do A audit --json "$id"; done)
want_calls () {   # SYSCALL: its records plus the calls its aggregates stand for
  jq -s --arg s "$1" '[.[] | select(.syscall == $s and (.kind == "syscall" or .kind == "aggregate")) | (.count // 1)] | add // 0' <<<"$LOGS"
}
t_is "the log: every mkdir call (3 + 400), some in aggregates" "$(want_calls mkdir)" 403
t_like "aggregates were written" "$(jq -s '[.[] | select(.kind == "aggregate")] | length' <<<"$LOGS")" '^[1-9]'
t_is "the log: the two rmdir calls" "$(want_calls rmdir)" 2

OUT=$(A metrics); RC=$?
t_is "moat metrics: exit 0" "$RC" 0
t_ok "promtool check metrics accepts the text" sh -c 'printf "%s\n" "$1" | promtool check metrics' - "$OUT"
val () { printf '%s\n' "$OUT" | grep -F -- "$1" | awk '{s += $NF} END {print s + 0}'; }
t_is "denials of mkdir: as many as the calls in the log" \
  "$(val 'moat_denials_total{id="mt-deny",pod="web-0",namespace="shop",container="nginx\"x",syscall="mkdir",wall="seccomp",rule="syscalls[0]",outcome="EPERM"}')" \
  "$(want_calls mkdir)"
t_is "denials of rmdir, with its errno" "$(val 'syscall="rmdir",wall="seccomp",rule="syscalls[1]",outcome="EACCES"}')" 2
t_is "the calls counted in aggregates" "$(val 'moat_records_aggregated_total{id="mt-deny"')" \
  "$(jq -s '[.[] | select(.kind == "aggregate" and .container == "mt-deny") | .count] | add' <<<"$LOGS")"
t_is "records by wall and kind equal the lines of each log" \
  "$(val 'moat_audit_records_total{id="mt-deny"')" "$(A audit --json mt-deny | wc -l)"
t_is "the OOM kill" "$(val 'moat_cgroup_events_total{id="mt-oom",kind="oom"}')" \
  "$(jq -s '[.[] | select(.container == "mt-oom" and .kind == "oom")] | length' <<<"$LOGS")"
t_is "... is one" "$(val 'moat_cgroup_events_total{id="mt-oom",kind="oom"}')" 1
t_is "the fault death" "$(val 'moat_fault_deaths_total{id="mt-segv",signal="SIGSEGV",wall="mmu"}')" 1
t_is "no line unreadable" "$(val moat_audit_unreadable_lines_total{)" 0
t_like "a quote in a label value is escaped" "$OUT" 'container="nginx\\"x"'
t_unlike "a container without pod annotations has only its id" "$OUT" 'id="mt-oom",pod='

# The textfile collector's file: whole, by rename, nothing left beside it.
mkdir "$TMP/tf"
t_ok "moat metrics --textfile" A metrics --textfile "$TMP/tf/moat.prom"
t_is "the textfile holds what stdout holds" "$(cat "$TMP/tf/moat.prom")" "$OUT"
t_is "no temporary file left beside it" "$(ls "$TMP/tf")" moat.prom
t_fails "--textfile in a directory that is not there: an error" A metrics --textfile "$TMP/none/moat.prom"
t_fails "--textfile and --listen together: an error" A metrics --textfile "$TMP/x" --listen 127.0.0.1:0
t_like "--listen with a host name: an error naming the flag" "$(A metrics --listen example.invalid:80 2>&1)" \
  '--listen .*not a numeric'

# --- the HTTP server -----------------------------------------------------
"$MOAT" --root "$ROOT" --audit-dir "$AUD" metrics --listen 127.0.0.1:0 2>"$TMP/srv.err" &
SRV_PID=$!
ADDR=
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's|^moat metrics: serving http://\(.*\)/metrics$|\1|p' "$TMP/srv.err")
  [ -n "$ADDR" ] && break
  kill -0 "$SRV_PID" 2>/dev/null || break
  sleep 0.1
done
t_like "the server says where it listens (port 0: one the kernel chose)" "$ADDR" '^127\.0\.0\.1:[1-9][0-9]*$'
C () { curl -s --max-time 20 "$@"; }
t_is "GET /metrics: what moat metrics prints" "$(C "http://$ADDR/metrics")" "$OUT"
t_like "its content type is the text format's" "$(C -o /dev/null -w '%{content_type}' "http://$ADDR/metrics")" \
  '^text/plain; version=0\.0\.4'
OM=$(C -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5' "http://$ADDR/metrics")
t_is "asked for OpenMetrics: it ends with # EOF" "$(tail -n 1 <<<"$OM")" "# EOF"
t_like "... its families named without _total" "$OM" '^# TYPE moat_denials counter$'
t_is "... the same samples" "$(grep -v '^#' <<<"$OM")" "$(grep -v '^#' <<<"$OUT")"
t_like "... and its content type" \
  "$(C -o /dev/null -w '%{content_type}' -H 'Accept: application/openmetrics-text' "http://$ADDR/metrics")" \
  '^application/openmetrics-text; version=1\.0\.0'
t_is "another path: 404" "$(C -o /dev/null -w '%{http_code}' "http://$ADDR/")" 404
t_is "POST: 405" "$(C -o /dev/null -w '%{http_code}' -d x "http://$ADDR/metrics")" 405
t_is "a request head past 8 KiB: 431" \
  "$(C -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "http://$ADDR/metrics")" 431
HOSTP=${ADDR%:*} PORTN=${ADDR##*:}
garbage () { exec 3<>"/dev/tcp/$HOSTP/$PORTN" && head -c 3000 /dev/urandom >&3; timeout 10 cat <&3 >/dev/null; exec 3>&-; }
garbage 2>/dev/null
t_is "after garbage bytes, it still serves" "$(C -o /dev/null -w '%{http_code}' "http://$ADDR/metrics")" 200
# A client that connects and says nothing is dropped after its deadline:
# the next one is served.
exec 4<>"/dev/tcp/$HOSTP/$PORTN"
t_is "a silent client does not hold the server" "$(C -o /dev/null -w '%{http_code}' "http://$ADDR/metrics")" 200
exec 4>&-

# A new record is counted by the next scrape (the log is read on from
# where the last scrape stopped).
setargs "$B3" /bin/workload segv
A run --bundle "$B3" mt-segv2 >/dev/null 2>&1
t_like "the next scrape counts a new container's fault" "$(C "http://$ADDR/metrics")" \
  'moat_fault_deaths_total\{id="mt-segv2",signal="SIGSEGV",wall="mmu"\} 1'
t_is "... and the old counts stay" "$(C "http://$ADDR/metrics" | grep -F 'id="mt-deny"' | grep -F 'syscall="mkdir"' | awk '{print $NF}')" 403

# --- a real Prometheus scrapes it -----------------------------------------
PROMPORT=
for _ in 1 2 3 4 5; do
  P=$((20000 + RANDOM % 30000))
  cat > "$TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: moat
    static_configs:
      - targets: ['$ADDR']
EOF
  prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom-data" \
    --web.listen-address="127.0.0.1:$P" > "$TMP/prom.log" 2>&1 &
  PROM_PID=$!
  for _ in $(seq 1 300); do
    kill -0 "$PROM_PID" 2>/dev/null || break
    [ "$(C -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/-/ready")" = 200 ] && { PROMPORT=$P; break; }
    sleep 0.1
  done
  [ -n "$PROMPORT" ] && break
  kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; PROM_PID=
done
t_like "prometheus is up on a port of its own" "$PROMPORT" '^[0-9]+$'
Q () { C "http://127.0.0.1:$PROMPORT/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'; }
GOT=none
for _ in $(seq 1 300); do
  GOT=$(Q 'sum(moat_denials_total{id="mt-deny",syscall="mkdir"})')
  [ "$GOT" != none ] && break
  sleep 0.2
done
t_is "prometheus: the mkdir denials, as in the log" "$GOT" "$(want_calls mkdir)"
t_is "prometheus: the rmdir denials with their errno" \
  "$(Q 'sum(moat_denials_total{id="mt-deny",syscall="rmdir",outcome="EACCES"})')" 2
t_is "prometheus: the OOM kill" "$(Q 'sum(moat_cgroup_events_total{id="mt-oom",kind="oom"})')" 1
t_is "prometheus: the fault" "$(Q 'sum(moat_fault_deaths_total{id="mt-segv",signal="SIGSEGV"})')" 1
t_is "prometheus: the pod labels" "$(Q 'count(moat_denials_total{pod="web-0",namespace="shop"})')" 2
t_is "prometheus: the target is up" "$(Q 'up{job="moat"}')" 1
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null; PROM_PID=

kill -TERM "$SRV_PID"
wait "$SRV_PID"
t_is "SIGTERM stops the server: exit 0" "$?" 0
SRV_PID=
t_is "and it listens no more" "$(C -o /dev/null -w '%{http_code}' "http://$ADDR/metrics")" 000

A delete mt-deny
t_done
