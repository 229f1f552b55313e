#!/bin/bash
# DNSSEC end to end, with real validators: a parent zone test. signed with ldns-signzone and
# served by NSD delegates lb.test. (served by the real dnslb binary) with the DS of dnslb's key;
# a validating Unbound (subnetcache validator iterator) whose only trust anchor is the parent's
# DS asks for every kind of answer and must set AD; delv must say "fully validated"; a server
# whose key does not match the DS must give SERVFAIL. Everything on 127.0.0.0/8, started and
# stopped here. Run once per signing policy given as the JSON of the zone's "dnssec" key.
# Usage: dnssec_test.sh DNSLB_BINARY
set -u
DNSLB=$1
for tool in nsd unbound ldns-keygen ldns-signzone ldns-key2ds dig delv python3; do
    if ! command -v "$tool" >/dev/null && ! [ -x "/usr/sbin/$tool" ]; then
        echo "SKIP: $tool is not installed (tools/setup installs it)"
        exit 77
    fi
done
PATH=$PATH:/usr/sbin
WORK=$(mktemp -d /tmp/dnslb-dnssec.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
free_port() {
    python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(("127.0.0.1",p)); print(p)'
}
# Waits (bounded) until COMMAND succeeds.
wait_for() {
    local tries=$1
    shift
    for _ in $(seq "$tries"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

# A TCP listener that health checks can reach at ADDR:PORT; prints its pid.
listener() {
    python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c,_=s.accept(); c.close()' "$1" "$2" >/dev/null 2>&1 &
    echo $!
}

LB_PORT=$(free_port)
NSD_PORT=$(free_port)
UB_PORT=$(free_port)
MON_PORT=$(free_port)

run_policy() {
    local policy=$1 label=$2
    local D=$WORK/$label
    mkdir -p "$D/zones" "$D/keys" "$D/other-keys"
    echo "== $label: $policy"
    # ---- the child zone, served by dnslb ----
    cat >"$D/zones/lb.test.json" <<EOF
{
  "origin": "lb.test.",
  "ttl": 300,
  "dnssec": $policy,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 3600, "retry": 600,
          "expire": 1209600, "minimum": 60},
  "records": {
    "@": {"NS": ["ns1"], "TXT": ["\"signed by dnslb\""]},
    "ns1": {"A": ["127.0.0.1"]},
    "static": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]},
    "www": {"CNAME": ["app"]},
    "app": {"pool": "web"},
    "nd": {"pool": "down-nodata"},
    "sf": {"pool": "down-servfail"},
    "ra": {"pool": "down-all"},
    "*.wild": {"TXT": ["\"wildcard\""], "A": ["192.0.2.7"]},
    "secure": {"NS": ["ns.secure"],
               "DS": ["12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118ad3aae0e2eb08b26c1b7e3e8"]},
    "ns.secure": {"A": ["127.0.0.1"]},
    "insecure": {"NS": ["ns.insecure"]},
    "ns.insecure": {"A": ["127.0.0.1"]}
  },
  "monitors": {"tcp": {"type": "tcp", "port": $MON_PORT, "interval": "200ms", "timeout": "150ms",
                        "rise": 1, "fall": 1}},
  "pools": {
    "web": {"steering": "proximity", "answers": 1, "ttl": 30, "ttl_degraded": 5, "monitor": "tcp",
            "origins": {"near1": {"addresses": ["127.0.0.11"], "lat": 50, "lon": 8},
                        "near2": {"addresses": ["127.0.0.12"], "lat": -33, "lon": 151}}},
    "down-nodata": {"all_down": "nodata", "monitor": "tcp",
                    "origins": {"x": {"addresses": ["127.0.0.13"]}}},
    "down-servfail": {"all_down": "servfail", "monitor": "tcp",
                      "origins": {"x": {"addresses": ["127.0.0.13"]}}},
    "down-all": {"all_down": "return-all", "monitor": "tcp",
                 "origins": {"x": {"addresses": ["127.0.0.13"]}, "y": {"addresses": ["127.0.0.14"]}}}
  }
}
EOF
    cat >"$D/dnslb.json" <<EOF
{"nets": {"10.1.0.0/16": {"lat": 50, "lon": 8}, "10.2.0.0/16": {"lat": -33, "lon": 151}}}
EOF
    L11=$(listener 127.0.0.11 "$MON_PORT")
    L12=$(listener 127.0.0.12 "$MON_PORT")
    PIDS+=("$L11" "$L12")
    start_dnslb() {
        "$DNSLB" serve --config "$D/dnslb.json" --zones "$D/zones" --key-dir "$1" \
            --listen "127.0.0.1:$LB_PORT" --workers 1 >"$D/dnslb.log" 2>&1 &
        LB_PID=$!
        PIDS+=("$LB_PID")
        wait_for 100 dig +time=1 +tries=1 @127.0.0.1 -p "$LB_PORT" lb.test SOA +short ||
            { fail "dnslb did not start: $(tail -5 "$D/dnslb.log")"; return 1; }
    }
    start_dnslb "$D/keys" || return
    ls -l "$D/keys" | grep -q '^-rw-------.*private' && pass "private key files are 0600" ||
        fail "private key mode: $(ls -l "$D/keys")"
    # The DS of dnslb's SEP key (flags 257) from the DNSKEY set it serves.
    dig +noall +answer @127.0.0.1 -p "$LB_PORT" lb.test DNSKEY | awk '$5 == 257' >"$D/lb.dnskey"
    [ -s "$D/lb.dnskey" ] || { fail "no DNSKEY 257 from dnslb"; return; }
    local ds
    ds=$(cd "$D" && ldns-key2ds -n -2 lb.dnskey)
    # ---- the parent, signed by ldns-signzone, served by NSD ----
    (cd "$D" && ldns-keygen -a ECDSAP256SHA256 -k test. >parent.base 2>/dev/null)
    local pk
    pk=$(cat "$D/parent.base")
    cat >"$D/test.zone" <<EOF
\$ORIGIN test.
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 1209600 60
@ IN NS ns.test.
ns IN A 127.0.0.1
lb IN NS ns1.lb.test.
ns1.lb IN A 127.0.0.1
$ds
EOF
    (cd "$D" && ldns-signzone test.zone "$pk") || { fail "ldns-signzone"; return; }
    cat >"$D/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  username: ""
  chroot: ""
  database: ""
  zonelistfile: "$D/zone.list"
  xfrdfile: "$D/xfrd.state"
  pidfile: "$D/nsd.pid"
  logfile: "$D/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: "test."
  zonefile: "$D/test.zone.signed"
EOF
    nsd -d -c "$D/nsd.conf" &
    PIDS+=($!)
    wait_for 50 dig +time=1 +tries=1 @127.0.0.1 -p "$NSD_PORT" test SOA +short ||
        { fail "nsd did not start: $(cat "$D/nsd.log")"; return; }
    # ---- the validating resolver ----
    cat >"$D/ta.ds" <<EOF
$(cat "$D/$pk.ds")
EOF
    cat >"$D/unbound.conf" <<EOF
server:
  interface: 127.0.0.1
  port: $UB_PORT
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  username: ""
  chroot: ""
  directory: "$D"
  pidfile: "$D/unbound.pid"
  logfile: "$D/unbound.log"
  use-syslog: no
  val-log-level: 2
  qname-minimisation: no
  local-zone: "test." nodefault
  trust-anchor-file: "$D/ta.ds"
  module-config: "subnetcache validator iterator"
  send-client-subnet: 127.0.0.1
  max-client-subnet-ipv4: 24
  num-threads: 1
stub-zone:
  name: "test."
  stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
  name: "lb.test."
  stub-addr: 127.0.0.1@$LB_PORT
EOF
    start_unbound() {
        unbound -d -c "$D/unbound.conf" &
        UB_PID=$!
        PIDS+=("$UB_PID")
        wait_for 50 dig +time=1 +tries=1 @127.0.0.1 -p "$UB_PORT" test SOA +short ||
            fail "unbound did not start: $(tail -5 "$D/unbound.log")"
    }
    stop_unbound() { kill "$UB_PID"; wait "$UB_PID" 2>/dev/null; }
    start_unbound
    # Health checks: wait until near2 is up (its answer for the southern subnet).
    wait_for 50 sh -c "dig +short @127.0.0.1 -p $LB_PORT +subnet=10.2.0.0/24 app.lb.test A | grep -q 127.0.0.12" ||
        fail "near2 never came up"
    # validate NAME TYPE [dig options...]: AD=1 through Unbound; prints the answer section.
    validate() {
        local name=$1 type=$2
        shift 2
        local out
        out=$(dig +time=3 +tries=1 +dnssec @127.0.0.1 -p "$UB_PORT" "$name" "$type" "$@")
        if echo "$out" | grep -q 'flags:[a-z ]* ad[ ;]'; then
            pass "$label: $name $type $* validates ($(echo "$out" | grep -o 'status: [A-Z]*'))"
        else
            fail "$label: $name $type $*: not validated: $(echo "$out" | grep -E 'status|flags|EDE')"
            tail -3 "$D/unbound.log"
        fi
        LAST=$out
    }
    expect() {  # expect PATTERN WHAT: the last answer contains PATTERN
        echo "$LAST" | grep -q -- "$1" || fail "$label: $2: expected '$1' in: $(echo "$LAST" | grep -v '^;' | grep -v '^$')"
    }
    validate app.lb.test A +subnet=10.1.0.0/24
    expect "127.0.0.11" "near1 for the northern subnet"
    validate app.lb.test A +subnet=10.2.0.0/24
    expect "127.0.0.12" "near2 for the southern subnet"
    validate www.lb.test A +subnet=10.1.0.0/24
    expect "CNAME" "CNAME into the pool"
    validate static.lb.test TXT
    expect "status: NOERROR" "NODATA"
    validate nope.lb.test A
    expect "status: NXDOMAIN" "NXDOMAIN"
    validate a.b.nope.lb.test TXT
    expect "status: NXDOMAIN" "NXDOMAIN below a name that does not exist"
    validate anything.wild.lb.test TXT
    expect "wildcard" "wildcard answer"
    validate anything.wild.lb.test MX
    expect "status: NOERROR" "wildcard NODATA"
    validate secure.lb.test DS
    expect "DS" "secure delegation's DS"
    validate insecure.lb.test DS
    expect "status: NOERROR" "no DS at the insecure delegation"
    validate lb.test DNSKEY
    validate lb.test CDS
    validate lb.test CDNSKEY
    validate lb.test ANY
    validate static.lb.test AAAA
    validate ApP.lB.TeSt A +subnet=10.1.0.0/24
    validate nd.lb.test A
    expect "status: NOERROR" "all_down nodata"
    validate ra.lb.test A
    expect "127.0.0.1[34]" "all_down return-all"
    validate ns1.lb.test A
    # Referrals straight from dnslb: DS, or the NSEC that shows there is none.
    dig +norec +dnssec @127.0.0.1 -p "$LB_PORT" host.secure.lb.test A | grep -q 'secure.lb.test.*RRSIG.*DS' &&
        pass "$label: secure referral carries the signed DS" || fail "$label: secure referral without DS RRSIG"
    dig +norec +dnssec @127.0.0.1 -p "$LB_PORT" host.insecure.lb.test A | grep -q 'insecure.lb.test.*NSEC' &&
        pass "$label: insecure referral carries the NSEC" || fail "$label: insecure referral without NSEC"
    local sf
    sf=$(dig +dnssec @127.0.0.1 -p "$LB_PORT" sf.lb.test A)
    echo "$sf" | grep -q "status: SERVFAIL" && pass "$label: all_down servfail" || fail "$label: all_down servfail"
    # DO=0: no signatures; DO=1 copies the DO bit (RFC 3225).
    dig +norec @127.0.0.1 -p "$LB_PORT" static.lb.test A | grep -q RRSIG && fail "$label: RRSIG without DO"
    dig +norec +dnssec @127.0.0.1 -p "$LB_PORT" static.lb.test A | grep -q 'flags: do' &&
        pass "$label: DO bit copied" || fail "$label: DO bit not copied"
    # delv with the parent's DS as its only anchor.
    local tag alg dtype hex
    read -r tag alg dtype hex < <(awk '{ for (i = 1; i <= NF; i++) if ($i == "DS") print $(i+1), $(i+2), $(i+3), $(i+4) }' "$D/$pk.ds")
    echo "trust-anchors { \"test.\" static-ds $tag $alg $dtype \"$hex\"; };" >"$D/anchors.conf"
    for q in "app.lb.test A" "nope.lb.test A" "anything.wild.lb.test TXT" "lb.test DNSKEY"; do
        # shellcheck disable=SC2086
        if delv @127.0.0.1 -p "$UB_PORT" -a "$D/anchors.conf" +root=test. $q 2>&1 | grep -q "fully validated"; then
            pass "$label: delv $q fully validated"
        else
            fail "$label: delv $q: $(delv @127.0.0.1 -p "$UB_PORT" -a "$D/anchors.conf" +root=test. $q 2>&1 | head -3)"
        fi
    done
    # Health change: near2 goes down; the southern subnet gets near1, signed, with the
    # degraded TTL (under the signature's original TTL).
    kill "$L12"
    wait_for 100 sh -c "dig +short @127.0.0.1 -p $LB_PORT +subnet=10.2.0.0/24 app.lb.test A | grep -q 127.0.0.11" ||
        fail "$label: near2 never went down"
    stop_unbound
    start_unbound
    validate app.lb.test A +subnet=10.2.0.0/24
    expect "127.0.0.11" "after the health change"
    echo "$LAST" | grep -E '^app.lb.test.*\sA\s' | awk '{ if ($2 > 5) exit 1 }' ||
        fail "$label: degraded TTL above ttl_degraded"
    # A restart reads the same keys (makes none): the first answer validates.
    kill "$LB_PID"
    wait "$LB_PID" 2>/dev/null
    local nkeys
    nkeys=$(ls "$D/keys" | wc -l)
    start_dnslb "$D/keys" || return
    [ "$(ls "$D/keys" | wc -l)" = "$nkeys" ] || fail "$label: a restart made new keys: $(ls "$D/keys")"
    stop_unbound
    start_unbound
    validate static.lb.test A
    expect "192.0.2.1" "after a restart"
    # A key that does not match the parent's DS: bogus, SERVFAIL.
    kill "$LB_PID"
    wait "$LB_PID" 2>/dev/null
    start_dnslb "$D/other-keys" || return
    stop_unbound
    start_unbound
    local bogus
    bogus=$(dig +time=3 +tries=1 +dnssec @127.0.0.1 -p "$UB_PORT" static.lb.test A)
    echo "$bogus" | grep -q "status: SERVFAIL" && pass "$label: wrong key gives SERVFAIL" ||
        fail "$label: wrong key not caught: $(echo "$bogus" | grep -E 'status|flags')"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()
}

run_policy '{"algorithm": 13, "keys": "csk", "denial": "nsec"}' alg13-csk-nsec
run_policy '{"algorithm": 15, "keys": "ksk-zsk", "denial": "nsec"}' alg15-kskzsk-nsec
if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS failures"
    exit 1
fi
echo "all passed"
