// dnslb plan: the what-if planner on the command line (the model is in dnslb/plan/).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include <curl/curl.h>

#include "dnslb/cli.hpp"
#include "dnslb/control/build.hpp"
#include "dnslb/plan/input.hpp"
#include "dnslb/plan/plan.hpp"

namespace dnslb::cli {

namespace {

size_t append(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

// GET url; throws std::runtime_error with the reason or the HTTP status.
std::string http_get(const std::string& url) {
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (curl == nullptr) {
        throw std::runtime_error("cannot start libcurl");
    }
    std::string body;
    curl_slist* headers = nullptr;
    // One thread: nothing changes the environment while the command runs.
    const char* token = std::getenv("DNSLB_API_TOKEN");  // NOLINT(concurrency-mt-unsafe)
    if (token != nullptr && *token != '\0') {
        headers =
            curl_slist_append(headers, (std::string("Authorization: Bearer ") + token).c_str());
    }
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl.get());
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        throw std::runtime_error(url + ": " + curl_easy_strerror(rc));
    }
    if (status != 200) {
        throw std::runtime_error(url + ": HTTP " + std::to_string(status) + ": " + body);
    }
    return body;
}

// The pool's located origins in the configured zones.
std::vector<plan::Site> zone_sites(const config::Config& cfg, const std::string& pool) {
    std::vector<std::string> errors;
    auto snap = server::build_snapshot(cfg, nullptr, server::make_resolver(cfg), errors);
    for (const auto& e : errors) {
        std::cerr << "error: " << e << "\n";
    }
    for (const auto& z : snap->zones) {
        for (const auto& p : z->pools) {
            if (p.name != pool) {
                continue;
            }
            std::vector<plan::Site> out;
            for (const auto& o : p.origins) {
                if (o.has_location) {
                    out.push_back(plan::Site{o.name, o.lat, o.lon});
                }
            }
            return out;
        }
    }
    throw std::runtime_error("no pool " + pool + " in " + cfg.zones_dir);
}

std::vector<plan::Net> read_nets(const Args& args) {
    const std::string& file = args.query_log.empty() ? args.networks : args.query_log;
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error(file + ": cannot open");
    }
    return args.query_log.empty() ? plan::nets_from_list(in, file)
                                  : plan::nets_from_query_log(in, args.pool);
}

}  // namespace

int plan(const Args& args) {
    int sources = static_cast<int>(!args.server.empty()) +
                  static_cast<int>(!args.query_log.empty()) +
                  static_cast<int>(!args.networks.empty());
    if (args.pool.empty() || sources != 1 || !args.positional.empty()) {
        throw UsageError("plan needs --pool and one of --server, --query-log, --networks");
    }
    try {
        std::vector<plan::Site> add;
        for (const auto& a : args.add) {
            add.push_back(plan::parse_site(a));
        }
        std::vector<plan::Site> before;
        std::vector<plan::Point> demand;
        if (!args.server.empty()) {
            std::string url = args.server;
            while (!url.empty() && url.back() == '/') {
                url.pop_back();
            }
            demand = plan::demand_from_json(http_get(url + "/demand"), args.pool, before);
        } else {
            before = zone_sites(args.config, args.pool);
            demand = plan::locate(read_nets(args), *server::make_resolver(args.config));
        }
        if (before.empty()) {
            throw std::runtime_error("pool " + args.pool + " has no origin with lat and lon");
        }
        std::vector<plan::Site> after = plan::apply(before, add, args.remove);
        plan::Result r = plan::compute(demand, before, after, args.route_factor);
        std::cout << "pool " << args.pool << ": " << before.size() << " origins before, "
                  << after.size() << " after; RTT = 2 x km x " << args.route_factor
                  << " / 200 km per ms\n";
        std::cout << plan::render_table(r);
        if (!args.svg.empty()) {
            std::ofstream out(args.svg, std::ios::trunc);
            out << plan::render_svg(r, "dnslb plan: pool " + args.pool);
            if (!out) {
                throw std::runtime_error(args.svg + ": cannot write");
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "dnslb plan: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace dnslb::cli
