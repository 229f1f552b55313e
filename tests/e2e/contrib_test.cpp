// The monitoring drop-ins of contrib/ against the real server: the Prometheus alert rules pass
// `promtool check rules` and their own unit tests (`promtool test rules`), every dashboard query
// is valid PromQL, and every dnslb_* metric that a rule or a dashboard query names is exported
// on /metrics by a dnslb serving pools whose health checks hit real HTTP servers on loopback.
#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/backends.hpp"
#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/e2e/zone_json.hpp"

using namespace dnslb::e2e;
using Json = nlohmann::json;

namespace {

std::string contrib_dir() { return source_root() + "/contrib"; }
std::string rules_file() { return contrib_dir() + "/prometheus/dnslb.rules.yml"; }
std::string rules_test_file() { return contrib_dir() + "/prometheus/dnslb.rules.test.yml"; }
std::string dashboard_file() { return contrib_dir() + "/grafana/dnslb.json"; }

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    INFO("reading " << path);
    REQUIRE(in.good());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void require_promtool() {
    int status = -1;
    run_command("command -v promtool", &status);
    INFO("promtool is required (Debian package prometheus, installed by tools/setup)");
    REQUIRE(status == 0);
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

bool ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool ident_char(char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// The dnslb_* metric names of a PromQL expression: identifiers outside string literals (label
// values such as rcode="SERVFAIL" or job=~"$job" are not names) that start with dnslb_.
std::set<std::string> metric_names(const std::string& expr) {
    std::set<std::string> names;
    size_t i = 0;
    while (i < expr.size()) {
        char c = expr[i];
        if (c == '"' || c == '\'' || c == '`') {
            for (++i; i < expr.size() && expr[i] != c; ++i) {
                if (expr[i] == '\\' && c != '`') {
                    ++i;
                }
            }
            ++i;
        } else if (ident_start(c)) {
            size_t start = i;
            while (i < expr.size() && ident_char(expr[i])) {
                ++i;
            }
            std::string id = expr.substr(start, i - start);
            if (id.rfind("dnslb_", 0) == 0) {
                names.insert(id);
            }
        } else {
            ++i;
        }
    }
    return names;
}

size_t indent_of(const std::string& line) { return line.find_first_not_of(' '); }

// The values of every `key:` of a YAML file written as the rules are: a plain or quoted scalar on
// the same line, or a block scalar (| or >) made of the following more-indented lines.
std::vector<std::string> yaml_values(const std::string& text, const std::string& key) {
    std::vector<std::string> out;
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        size_t ind = indent_of(line);
        if (ind == std::string::npos) {
            continue;
        }
        std::string rest = line.substr(ind);
        if (rest.rfind("- ", 0) == 0) {
            rest = rest.substr(2);
            ind += 2;
        }
        if (rest.rfind(key + ":", 0) != 0) {
            continue;
        }
        std::string value = rest.substr(key.size() + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (!value.empty() && (value[0] == '|' || value[0] == '>')) {
            value.clear();
            for (size_t j = i + 1; j < lines.size(); ++j) {
                size_t jind = indent_of(lines[j]);
                if (jind != std::string::npos && jind <= ind) {
                    break;
                }
                value += lines[j] + "\n";
                i = j;
            }
        } else if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') &&
                   value.back() == value[0]) {
            value = value.substr(1, value.size() - 2);
        }
        out.push_back(value);
    }
    return out;
}

// Every "expr" of the dashboard's panel targets (rows nest panels) and every query of its
// template variables.
struct DashboardQueries {
    std::vector<std::string> panel_exprs;
    std::vector<std::string> variable_queries;
};

DashboardQueries dashboard_queries(const Json& dash) {
    DashboardQueries q;
    std::function<void(const Json&)> walk_panels = [&](const Json& panels) {
        for (const auto& p : panels) {
            for (const auto& t : p.value("targets", Json::array())) {
                if (t.contains("expr")) {
                    q.panel_exprs.push_back(t["expr"].get<std::string>());
                }
            }
            if (p.contains("panels")) {
                walk_panels(p["panels"]);
            }
        }
    };
    walk_panels(dash.value("panels", Json::array()));
    for (const auto& v : dash["templating"].value("list", Json::array())) {
        if (v.value("type", "") != "query") {
            continue;
        }
        const Json& query = v["query"];
        q.variable_queries.push_back(query.is_string() ? query.get<std::string>()
                                                       : query.value("query", ""));
    }
    return q;
}

// The names a scrape can be queried by: each family of `# TYPE` lines, and for a histogram its
// _bucket, _sum and _count series instead of the bare family name.
std::set<std::string> exported_names(const std::string& metrics) {
    std::set<std::string> names;
    std::istringstream in(metrics);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string hash, kw, name, type;
        if (!(words >> hash >> kw >> name >> type) || hash != "#" || kw != "TYPE") {
            continue;
        }
        if (type == "histogram" || type == "summary") {
            if (type == "histogram") {
                names.insert(name + "_bucket");
            }
            names.insert(name + "_sum");
            names.insert(name + "_count");
        } else {
            names.insert(name);
        }
    }
    return names;
}

std::string join(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) {
        out += (out.empty() ? "" : ", ") + x;
    }
    return out;
}

constexpr const char* kUp = "127.0.0.61";
constexpr const char* kDown = "127.0.0.62";  // nothing listens: checks are refused

// web: one origin up, one down (degraded). edge: the same, min_healthy 2, falls back to web.
// dead: its only origin down, no fallback (all_down answers). chain: down, falls back to dead.
std::string contrib_zone(uint16_t monitor_port) {
    auto origins = [](std::initializer_list<std::pair<const char*, const char*>> list) {
        Json o = Json::object();
        for (const auto& [name, address] : list) {
            o[name] = {{"addresses", {address}}};
        }
        return o;
    };
    Json z = zone_object("contrib.test.", {{"@", {{"NS", {"ns1"}}}},
                                           {"ns1", {{"A", {"192.0.2.1"}}}},
                                           {"app", {{"pool", "web"}}},
                                           {"edge", {{"pool", "edge"}}},
                                           {"dead", {{"pool", "dead"}}},
                                           {"chain", {{"pool", "chain"}}}});
    z["pools"] = {
        {"web", {{"monitor", "http"}, {"origins", origins({{"one", kUp}, {"two", kDown}})}}},
        {"edge",
         {{"monitor", "http"},
          {"min_healthy", 2},
          {"fallback", "web"},
          {"origins", origins({{"one", kUp}, {"two", kDown}})}}},
        {"dead", {{"monitor", "http"}, {"origins", origins({{"only", kDown}})}}},
        {"chain",
         {{"monitor", "http"}, {"fallback", "dead"}, {"origins", origins({{"only", kDown}})}}}};
    z["monitors"] = {{"http",
                      {{"type", "http"},
                       {"port", monitor_port},
                       {"interval", "500ms"},
                       {"timeout", "400ms"},
                       {"rise", 1},
                       {"fall", 1}}}};
    return z.dump(2);
}

}  // namespace

TEST_CASE("the PromQL name extractor skips label values and keeps histogram series",
          "[e2e][contrib]") {
    CHECK(metric_names(R"(sum(rate(dnslb_a_total{job="dnslb_fake", x='dnslb_y'}[5m])))"
                       R"( / on (instance) dnslb_b_bucket > 0.5)") ==
          std::set<std::string>{"dnslb_a_total", "dnslb_b_bucket"});
    std::string metrics =
        "# HELP dnslb_h_seconds h\n# TYPE dnslb_h_seconds histogram\n"
        "dnslb_h_seconds_bucket{le=\"+Inf\"} 1\n# TYPE dnslb_c_total counter\ndnslb_c_total 1\n";
    CHECK(exported_names(metrics) ==
          std::set<std::string>{"dnslb_h_seconds_bucket", "dnslb_h_seconds_sum",
                                "dnslb_h_seconds_count", "dnslb_c_total"});
    std::string yaml =
        "groups:\n  - rules:\n      - alert: A\n        expr: dnslb_x == 0\n"
        "      - alert: B\n        expr: |\n          dnslb_y\n            and dnslb_z\n"
        "        for: 1m\n";
    CHECK(yaml_values(yaml, "alert") == std::vector<std::string>{"A", "B"});
    CHECK(yaml_values(yaml, "expr") ==
          std::vector<std::string>{"dnslb_x == 0", "          dnslb_y\n            and dnslb_z\n"});
}

TEST_CASE("contrib alert rules pass promtool check rules and promtool test rules",
          "[e2e][contrib]") {
    require_promtool();
    int status = -1;
    std::string out =
        run_command("promtool check rules " + quoted(rules_file()) + " 2>&1", &status);
    INFO(out);
    CHECK(status == 0);
    // Run from the rules' directory: the test file names the rules file relative to itself.
    out = run_command("cd " + quoted(contrib_dir() + "/prometheus") +
                          " && promtool test rules dnslb.rules.test.yml 2>&1",
                      &status);
    INFO(out);
    CHECK(status == 0);

    // Every alert is exercised by the unit tests.
    std::vector<std::string> alerts = yaml_values(read_text(rules_file()), "alert");
    std::vector<std::string> tested = yaml_values(read_text(rules_test_file()), "alertname");
    std::set<std::string> tested_set(tested.begin(), tested.end());
    REQUIRE(alerts.size() >= 10);
    for (const auto& a : alerts) {
        INFO("alert " << a << " has no case in dnslb.rules.test.yml");
        CHECK(tested_set.count(a) == 1);
    }
}

TEST_CASE("contrib Grafana dashboard: a datasource variable, valid PromQL in every panel",
          "[e2e][contrib]") {
    require_promtool();
    Json dash = Json::parse(read_text(dashboard_file()));
    CHECK(dash.value("schemaVersion", 0) >= 39);
    bool datasource_variable = false;
    for (const auto& v : dash["templating"]["list"]) {
        datasource_variable = datasource_variable || (v.value("type", "") == "datasource" &&
                                                      v.value("query", "") == "prometheus");
    }
    CHECK(datasource_variable);
    DashboardQueries q = dashboard_queries(dash);
    REQUIRE(q.panel_exprs.size() >= 30);

    // promtool parses each query as a recording rule, with Grafana's variables filled in.
    auto fill = [](std::string e) {
        for (const auto& [var, value] :
             {std::pair<std::string, std::string>{"$__rate_interval", "5m"},
              {"$__interval", "1m"},
              {"$__range", "1h"}}) {
            for (size_t pos = e.find(var); pos != std::string::npos; pos = e.find(var)) {
                e.replace(pos, var.size(), value);
            }
        }
        return e;
    };
    Json rules{{"groups", Json::array({{{"name", "dashboard"}, {"rules", Json::array()}}})}};
    for (size_t i = 0; i < q.panel_exprs.size(); ++i) {
        rules["groups"][0]["rules"].push_back(
            {{"record", "dashboard:query_" + std::to_string(i)}, {"expr", fill(q.panel_exprs[i])}});
    }
    TempDir dir;
    dir.write("dashboard.rules.json", rules.dump(2));  // JSON is YAML
    int status = -1;
    std::string out = run_command(
        "promtool check rules " + quoted(dir.path() + "/dashboard.rules.json") + " 2>&1", &status);
    INFO(out);
    CHECK(status == 0);
    for (const auto& p : dash["panels"]) {
        for (const auto& t : p.value("targets", Json::array())) {
            INFO("panel " << p.value("title", "") << ": targets use the datasource variable");
            CHECK(t["datasource"].value("uid", "") == "${datasource}");
        }
    }
}

TEST_CASE("every metric named by the contrib rules and dashboard is exported by dnslb",
          "[e2e][contrib]") {
    TempDir dir;
    uint16_t monitor_port = common_port({kUp, kDown});
    HttpBackend up{kUp, monitor_port};
    std::filesystem::create_directory(dir.path() + "/zones");
    dir.write("zones/contrib.test.json", contrib_zone(monitor_port));
    uint16_t http_port = pick_free_port();
    Json cfg{{"zones", dir.path() + "/zones"},
             {"workers", 1},
             {"http", "127.0.0.1:" + std::to_string(http_port)}};
    dir.write("dnslb.json", cfg.dump(2));
    ServerOptions o;
    o.config_file = dir.path() + "/dnslb.json";
    Server server(o);
    E2E_START(server);
    for (const char* name : {"app.contrib.test.", "edge.contrib.test.", "nx.contrib.test."}) {
        REQUIRE(ask(Transport::kUdp, server.port(), name, LDNS_RR_TYPE_A));
    }

    // Wait for periodic checks (the lateness histogram counts those) and settled pool states.
    std::string metrics;
    auto pool = [&](const char* metric, const char* name) {
        return metric_value(metrics,
                            std::string(metric) + "{zone=\"contrib.test.\",pool=\"" + name + "\"}");
    };
    bool settled = wait_until(
        [&] {
            metrics = http("GET", http_port, "/metrics").body;
            return metric_value(metrics, "dnslb_probe_lateness_seconds_count") >= 8 &&
                   pool("dnslb_pool_origins_up", "web") == 1 &&
                   pool("dnslb_pool_all_down", "dead") == 1 &&
                   pool("dnslb_pool_all_down", "chain") == 1;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(200));
    INFO(metrics);
    REQUIRE(settled);
    // The pool gauges the rules rely on, as steering sees the pools.
    CHECK(pool("dnslb_pool_origins", "web") == 2);
    CHECK(pool("dnslb_pool_min_healthy", "web") == 1);
    CHECK(pool("dnslb_pool_all_down", "web") == 0);
    CHECK(pool("dnslb_pool_origins_up", "edge") == 1);
    CHECK(pool("dnslb_pool_min_healthy", "edge") == 2);
    CHECK(pool("dnslb_pool_all_down", "edge") == 0);  // its fallback web answers
    CHECK(pool("dnslb_pool_origins_up", "dead") == 0);

    std::set<std::string> exported = exported_names(metrics);
    std::set<std::string> used_by_rules;
    for (const auto& e : yaml_values(read_text(rules_file()), "expr")) {
        used_by_rules.merge(metric_names(e));
    }
    DashboardQueries q = dashboard_queries(Json::parse(read_text(dashboard_file())));
    std::set<std::string> used_by_dashboard;
    for (const auto& list : {q.panel_exprs, q.variable_queries}) {
        for (const auto& e : list) {
            used_by_dashboard.merge(metric_names(e));
        }
    }
    // Guards against an extractor that finds nothing and so can never fail.
    REQUIRE(used_by_rules.size() >= 10);
    REQUIRE(used_by_dashboard.size() >= 30);

    std::set<std::string> missing_rules, missing_dashboard;
    for (const auto& n : used_by_rules) {
        if (exported.count(n) == 0) {
            missing_rules.insert(n);
        }
    }
    for (const auto& n : used_by_dashboard) {
        if (exported.count(n) == 0) {
            missing_dashboard.insert(n);
        }
    }
    INFO("names used by the rules: " << join(used_by_rules));
    INFO("names used by the dashboard: " << join(used_by_dashboard));
    CHECK(join(missing_rules).empty());
    CHECK(join(missing_dashboard).empty());
    std::printf("contrib: rules use %zu dnslb metrics, the dashboard %zu; /metrics exports %zu\n",
                used_by_rules.size(), used_by_dashboard.size(), exported.size());
    E2E_STOP_CLEAN(server);
}
