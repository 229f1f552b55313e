// Cluster mode end to end: a three-member etcd cluster started from the etcd binary (own data
// dirs and ports on 127.0.2.x), three real dnslb nodes, each sending its probes (and its etcd
// traffic) from its own address 127.0.4.x, and three real HTTP origins on 127.0.3.x that can
// refuse chosen client addresses, so an origin can be down for one node only. The measured
// times are printed on stdout.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/backends.hpp"
#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/e2e/zone_json.hpp"

using namespace dnslb::e2e;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kZone = "cluster.test.";
constexpr const char* kToken = "cluster-test-token";
constexpr int kIntervalMs = 1000;
constexpr int kFall = 2;
constexpr int kLeaseTtlS = 3;
constexpr int kGraceS = 4;
constexpr unsigned kProbesPerCheck = 2;
const std::vector<std::string> kOrigins = {"127.0.3.1", "127.0.3.2", "127.0.3.3"};
const std::vector<std::string> kSources = {"127.0.4.1", "127.0.4.2", "127.0.4.3"};
const std::vector<std::string> kEtcdIps = {"127.0.2.1", "127.0.2.2", "127.0.2.3"};

long ms_since(Clock::time_point t0) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// One etcd member, started from /usr/bin/etcd and stopped by its pid.
class EtcdMember : dnslb::test::NoCopy {
public:
    EtcdMember(std::string name, std::string ip, uint16_t client, uint16_t peer,
               std::string cluster, std::string dir)
        : name_(std::move(name)),
          ip_(std::move(ip)),
          client_(client),
          peer_(peer),
          cluster_(std::move(cluster)),
          dir_(std::move(dir)) {}
    ~EtcdMember() { kill_now(SIGKILL); }

    std::string url() const { return "http://" + ip_ + ":" + std::to_string(client_); }

    bool start() {
        std::string peer_url = "http://" + ip_ + ":" + std::to_string(peer_);
        std::vector<std::string> args = {"/usr/bin/etcd",
                                         "--name",
                                         name_,
                                         "--data-dir",
                                         dir_ + "/" + name_,
                                         "--listen-client-urls",
                                         url(),
                                         "--advertise-client-urls",
                                         url(),
                                         "--listen-peer-urls",
                                         peer_url,
                                         "--initial-advertise-peer-urls",
                                         peer_url,
                                         "--initial-cluster",
                                         cluster_,
                                         "--initial-cluster-token",
                                         "dnslb-e2e-" + std::to_string(getpid()),
                                         "--initial-cluster-state",
                                         "new",
                                         "--heartbeat-interval",
                                         "200",
                                         "--election-timeout",
                                         "2000",
                                         "--logger",
                                         "zap",
                                         "--log-level",
                                         "warn",
                                         "--experimental-watch-progress-notify-interval",
                                         "2s"};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        std::string log = dir_ + "/" + name_ + ".log";
        pid_ = fork();
        if (pid_ == 0) {
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execv(argv[0], argv.data());
            _exit(127);
        }
        return pid_ > 0;
    }
    void kill_now(int sig) {
        if (pid_ > 0) {
            ::kill(pid_, sig);
            int status = 0;
            waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }

private:
    std::string name_;
    std::string ip_;
    uint16_t client_;
    uint16_t peer_;
    std::string cluster_;
    std::string dir_;
    pid_t pid_ = -1;
};

std::string etcdctl(const std::string& endpoints, const std::string& args) {
    int status = 0;
    std::string out =
        run_command("ETCDCTL_API=3 /usr/bin/etcdctl --dial-timeout=2s --endpoints=" + endpoints +
                        " " + args + " 2>&1",
                    &status);
    return status == 0 ? out : "FAILED: " + out;
}

Json zone() {
    Json origins = Json::object();
    const char* names[] = {"a", "b", "c"};
    for (size_t i = 0; i < kOrigins.size(); ++i) {
        origins[names[i]] = Json{{"addresses", Json::array({kOrigins[i]})},
                                 {"lat", 50.0 + static_cast<double>(i)},
                                 {"lon", 8.0}};
    }
    Json records = Json{{"@", {{"NS", Json::array({"ns1"})}}},
                        {"ns1", {{"A", Json::array({"192.0.2.53"})}}},
                        {"web", {{"pool", "web"}}}};
    Json z = zone_object(kZone, records);
    z["pools"] = Json{{"web", Json{{"steering", "proximity"},
                                   {"answers", 3},
                                   {"ttl", 5},
                                   {"monitor", "web-http"},
                                   {"origins", origins}}}};
    return z;
}

Json monitors(uint16_t port) {
    return Json{{"web-http", Json{{"type", "http"},
                                  {"port", port},
                                  {"path", "/healthz"},
                                  {"interval", "1s"},
                                  {"timeout", "500ms"},
                                  {"rise", 2},
                                  {"fall", kFall}}}};
}

// The sorted A records of web.cluster.test. from one node; {"<no reply>"} when it is silent.
std::vector<std::string> answer_of(uint16_t port) {
    auto wire = udp_exchange(port, make_query(std::string("web.") + kZone, LDNS_RR_TYPE_A), 1000ms);
    if (!wire) {
        return {"<no reply>"};
    }
    Reply r{*wire, walk(*wire), parse(*wire)};
    auto out = rdatas(r.pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> without(const std::string& ip) {
    std::vector<std::string> out;
    for (const auto& o : kOrigins) {
        if (o != ip) {
            out.push_back(o);
        }
    }
    return out;
}

struct Node {
    std::string name;
    std::string source;
    uint16_t api = 0;
    std::string zones;
    std::unique_ptr<Server> server;
};

class Cluster {
public:
    Cluster() : port_(common_port(kOrigins)) {
        uint16_t client = common_port(kEtcdIps);
        uint16_t peer = client;
        while (peer == client) {
            peer = common_port(kEtcdIps);
        }
        std::string initial;
        for (size_t i = 0; i < 3; ++i) {
            initial += (i ? "," : "") + std::string("m") + std::to_string(i + 1) + "=http://" +
                       kEtcdIps[i] + ":" + std::to_string(peer);
        }
        for (size_t i = 0; i < 3; ++i) {
            etcd_.push_back(std::make_unique<EtcdMember>("m" + std::to_string(i + 1), kEtcdIps[i],
                                                         client, peer, initial, data_.path()));
            endpoints_ += (i ? "," : "") + etcd_.back()->url();
        }
        for (const auto& ip : kOrigins) {
            origins_.push_back(std::make_unique<HttpBackend>(ip, port_));
        }
        // The monitors live in the zone.
        Json z = zone();
        z["monitors"] = monitors(port_);
        zones_.write("cluster.test.json", z.dump(2));
        prefix_ = "/dnslb/e2e-" + std::to_string(getpid());
        for (size_t i = 0; i < 3; ++i) {
            Node n;
            n.name = "n" + std::to_string(i + 1);
            n.source = kSources[i];
            n.api = pick_free_port();
            nodes_.push_back(std::move(n));
        }
    }

    bool start_etcd() {
        for (auto& m : etcd_) {
            if (!m->start()) {
                return false;
            }
        }
        return wait_until(
            [&] {
                return etcdctl(endpoints_, "endpoint health").find("FAILED") == std::string::npos;
            },
            30000ms, 200ms);
    }
    void kill_etcd(size_t i) { etcd_[i]->kill_now(SIGKILL); }
    bool restart_etcd(size_t i) { return etcd_[i]->start(); }
    const std::string& endpoints() const { return endpoints_; }
    const std::string& prefix() const { return prefix_; }

    void write_config(size_t i, const std::string& verdict) {
        Json endpoints = Json::array();
        for (const auto& m : etcd_) {
            endpoints.push_back(m->url());
        }
        Json cfg = {{"http", "127.0.0.1:" + std::to_string(nodes_[i].api)},
                    {"api_token", kToken},
                    {"probe_source", nodes_[i].source},
                    {"cluster",
                     {{"endpoints", endpoints},
                      {"prefix", prefix_},
                      {"node", nodes_[i].name},
                      {"region", i == 2 ? "us" : "eu"},
                      {"verdict", verdict},
                      {"probes_per_check", kProbesPerCheck},
                      {"grace", kGraceS},
                      {"lease_ttl", kLeaseTtlS}}}};
        conf_.write(nodes_[i].name + ".json", cfg.dump(2));
    }

    // Starts node i; `zones_dir` other than the shared one replaces its server.
    bool start_node(size_t i, const std::string& verdict = "majority",
                    const std::string& zones_dir = "") {
        write_config(i, verdict);
        Node& n = nodes_[i];
        if (!zones_dir.empty() || (n.server && n.zones != zones_.path())) {
            n.server.reset();
        }
        if (!n.server) {
            ServerOptions o;
            o.zones_dir = zones_dir.empty() ? zones_.path() : zones_dir;
            n.zones = o.zones_dir;
            o.config_file = conf_.path() + "/" + n.name + ".json";
            o.port = pick_free_port();
            o.extra_args = {"--workers", "1", "--probers", "1"};
            n.server = std::make_unique<Server>(o);
        }
        return n.server->start();
    }
    Node& node(size_t i) { return nodes_[i]; }
    HttpBackend& origin(size_t i) { return *origins_[i]; }

    Json status(size_t i) const {
        HttpReply r = http("GET", nodes_[i].api, "/status");
        Json j = Json::parse(r.body, nullptr, false);
        return j.is_object() && j.contains("cluster") ? j["cluster"] : Json::object();
    }
    double metric(size_t i, const std::string& series) const {
        return metric_value(http("GET", nodes_[i].api, "/metrics").body, series);
    }
    std::vector<size_t> running() const {
        std::vector<size_t> out;
        for (size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].server && nodes_[i].server->running()) {
                out.push_back(i);
            }
        }
        return out;
    }
    // Every running node reports etcd reachable, `members` live members and every check run
    // by min(k, members) nodes.
    bool settled(size_t members) const {
        for (size_t i : running()) {
            Json c = status(i);
            if (!c.value("etcd_reachable", false) ||
                c.value("members", Json::object()).size() != members) {
                return false;
            }
            for (const auto& check : c.value("checks", Json::array())) {
                if (check.value("votes", Json::object()).size() !=
                    std::min<size_t>(kProbesPerCheck, members)) {
                    return false;
                }
            }
        }
        return true;
    }
    bool all_answer(const std::vector<std::string>& expected) const {
        for (size_t i : running()) {
            if (answer_of(nodes_[i].server->port()) != expected) {
                return false;
            }
        }
        return true;
    }
    // Milliseconds until every running node answers `expected`, nullopt after `limit`.
    std::optional<long> time_until_all(const std::vector<std::string>& expected,
                                       std::chrono::milliseconds limit,
                                       Clock::time_point t0 = Clock::now()) const {
        while (Clock::now() - t0 < limit) {
            if (all_answer(expected)) {
                return ms_since(t0);
            }
            std::this_thread::sleep_for(50ms);
        }
        return std::nullopt;
    }
    // The nodes that voted on the check of `ip` (as node 0..2 of the running set sees it).
    std::vector<std::string> voters(size_t seen_by, const std::string& ip) const {
        std::vector<std::string> out;
        for (const auto& check : status(seen_by).value("checks", Json::array())) {
            if (check.value("check", "").find("@" + ip) != std::string::npos) {
                for (const auto& [node, v] : check["votes"].items()) {
                    out.push_back(node);
                }
            }
        }
        return out;
    }
    std::string logs() const {
        std::string out;
        for (const auto& n : nodes_) {
            if (n.server) {
                out += "---- " + n.name + "\n" + n.server->stderr_text().substr(0, 6000);
            }
        }
        return out;
    }
    size_t index_of(const std::string& name) const {
        for (size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].name == name) {
                return i;
            }
        }
        return 0;
    }

private:
    uint16_t port_;
    TempDir data_;
    TempDir zones_;
    TempDir conf_;
    std::vector<std::unique_ptr<EtcdMember>> etcd_;
    std::string endpoints_;
    std::string prefix_;
    std::vector<std::unique_ptr<HttpBackend>> origins_;
    std::vector<Node> nodes_;
};

}  // namespace

TEST_CASE("three nodes share verdicts, probe work and overrides through a three-member etcd",
          "[e2e][cluster]") {
    Cluster c;
    REQUIRE(c.start_etcd());
    for (size_t i = 0; i < 3; ++i) {
        INFO(c.logs());
        REQUIRE(c.start_node(i));
    }
    INFO(c.logs());
    REQUIRE(wait_until([&] { return c.settled(3); }, 20000ms, 200ms));
    REQUIRE(c.time_until_all(kOrigins, 5000ms));
    const auto bound = std::chrono::milliseconds(kIntervalMs * kFall + 2000);

    // ---- divided probing: each check by exactly probes_per_check nodes --------------------
    {
        for (size_t o = 0; o < 3; ++o) {
            c.origin(o).clear_counts();
        }
        auto t0 = Clock::now();
        std::this_thread::sleep_for(5000ms);
        double intervals = static_cast<double>(ms_since(t0)) / kIntervalMs;
        for (size_t o = 0; o < 3; ++o) {
            auto by = c.origin(o).requests_by_source();
            int total = 0;
            for (const auto& [src, n] : by) {
                total += n;
            }
            INFO("origin " << kOrigins[o]);
            CHECK(by.size() == kProbesPerCheck);
            std::printf(
                "cluster: 3 nodes, k=%u: origin %s got %.2f probe requests per interval "
                "from %zu sources\n",
                kProbesPerCheck, kOrigins[o].c_str(), total / intervals, by.size());
        }
    }

    // ---- an origin stops: every node agrees within interval x fall + 2 s ---------------------
    {
        auto t0 = Clock::now();
        c.origin(0).stop();
        auto t = c.time_until_all(without(kOrigins[0]), bound, t0);
        REQUIRE(t);
        std::printf("cluster: all 3 nodes dropped a stopped origin after %ld ms (bound %ld)\n", *t,
                    static_cast<long>(bound.count()));
        t0 = Clock::now();
        c.origin(0).start();
        t = c.time_until_all(kOrigins, bound + 1000ms, t0);
        REQUIRE(t);
        std::printf("cluster: all 3 nodes took it back after %ld ms\n", *t);
    }

    // ---- an origin fails for one prober only: majority keeps it --------------------------------
    {
        REQUIRE(wait_until([&] { return c.voters(0, kOrigins[1]).size() == kProbesPerCheck; },
                           5000ms, 100ms));
        std::string victim = c.voters(0, kOrigins[1]).front();
        size_t vi = c.index_of(victim);
        c.origin(1).set_refused({c.node(vi).source});
        auto t0 = Clock::now();
        bool kept = true;
        while (Clock::now() - t0 < bound * 2) {
            kept = kept && c.all_answer(kOrigins);
            std::this_thread::sleep_for(200ms);
        }
        CHECK(kept);
        // The refused node's own view is down, the cluster's up: one disagreement there.
        CHECK(wait_until([&] { return c.metric(vi, "dnslb_cluster_disagreements") == 1; }, 3000ms,
                         100ms));
        c.origin(1).set_refused({});
        CHECK(wait_until([&] { return c.metric(vi, "dnslb_cluster_disagreements") == 0; }, bound,
                         100ms));
    }

    // ---- an override on one node moves all of them within 1 s; auto restores --------------------
    {
        auto t0 = Clock::now();
        HttpReply r = http("POST", c.node(1).api, "/origins/web/c/override", "down", kToken);
        CHECK(r.status == 200);
        INFO(r.body);
        auto t = c.time_until_all(without(kOrigins[2]), 3000ms, t0);
        REQUIRE(t);
        CHECK(*t <= 1000);
        std::printf("cluster: override down through n2: all nodes moved after %ld ms\n", *t);
        t0 = Clock::now();
        r = http("POST", c.node(1).api, "/origins/web/c/override", "auto", kToken);
        CHECK(r.status == 200);
        t = c.time_until_all(kOrigins, 3000ms, t0);
        REQUIRE(t);
        CHECK(*t <= 1000);
        std::printf("cluster: override auto: all nodes restored after %ld ms\n", *t);
        // The under-attack switch too.
        r = http("POST", c.node(0).api, "/under-attack", "on", kToken);
        CHECK(r.status == 200);
        for (size_t i = 0; i < 3; ++i) {
            CHECK(wait_until(
                [&] { return c.metric(i, "dnslb_under_attack{trigger=\"manual\"}") == 1; }, 1000ms,
                50ms));
        }
        r = http("POST", c.node(2).api, "/under-attack", "off", kToken);
        CHECK(r.status == 200);
        for (size_t i = 0; i < 3; ++i) {
            CHECK(wait_until(
                [&] { return c.metric(i, "dnslb_under_attack{trigger=\"manual\"}") == 0; }, 1000ms,
                50ms));
        }
    }

    // ---- a node dies: its checks are taken over within a lease period plus an interval --------
    {
        auto t0 = Clock::now();
        c.node(2).server->stop(SIGKILL);
        const auto takeover = std::chrono::milliseconds(kLeaseTtlS * 1000 + kIntervalMs + 3000);
        bool done = wait_until([&] { return c.settled(2); }, takeover, 100ms);
        long ms = ms_since(t0);
        CHECK(done);
        CHECK(c.all_answer(kOrigins));
        std::printf(
            "cluster: checks of a killed node taken over after %ld ms (lease %d s, "
            "interval %d ms)\n",
            ms, kLeaseTtlS, kIntervalMs);
        REQUIRE(c.start_node(2));
        REQUIRE(wait_until([&] { return c.settled(3); }, 15000ms, 200ms));
    }

    // ---- one etcd member stops: nothing changes
    // ---------------------------------------------------
    {
        c.kill_etcd(0);
        auto t0 = Clock::now();
        bool same = true;
        while (Clock::now() - t0 < 6000ms) {
            same = same && c.all_answer(kOrigins);
            std::this_thread::sleep_for(200ms);
        }
        CHECK(same);
        CHECK(wait_until([&] { return c.settled(3); }, 10000ms, 200ms));
        for (size_t i = 0; i < 3; ++i) {
            CHECK(c.metric(i, "dnslb_cluster_fallback") == 0);
        }
        REQUIRE(c.restart_etcd(0));
    }

    // ---- all of etcd stops: no query lost; after the grace, each node answers from its own probes
    {
        for (size_t m = 0; m < 3; ++m) {
            c.kill_etcd(m);
        }
        auto t0 = Clock::now();
        int sent = 0;
        int answered = 0;
        const auto load_for = std::chrono::milliseconds(kGraceS * 1000 + 4000);
        while (Clock::now() - t0 < load_for && sent < 3000) {
            for (size_t i = 0; i < 3; ++i) {
                ++sent;
                auto a = answer_of(c.node(i).server->port());
                answered += a == kOrigins ? 1 : 0;
            }
            std::this_thread::sleep_for(20ms);
        }
        std::printf("cluster: etcd fully down for %ld ms: %d queries sent, %d answered, %d lost\n",
                    ms_since(t0), sent, answered, sent - answered);
        CHECK(answered == sent);
        for (size_t i = 0; i < 3; ++i) {
            CHECK(c.metric(i, "dnslb_cluster_fallback") == 1);
            CHECK(c.metric(i, "dnslb_cluster_etcd_reachable") == 0);
        }
        // In fallback each node probes every check and decides alone.
        auto ts = Clock::now();
        c.origin(0).stop();
        auto t = c.time_until_all(without(kOrigins[0]), bound, ts);
        CHECK(t);
        c.origin(0).start();
        CHECK(c.time_until_all(kOrigins, bound + 1000ms));
        auto tr = Clock::now();
        for (size_t m = 0; m < 3; ++m) {
            REQUIRE(c.restart_etcd(m));
        }
        bool back = wait_until([&] { return c.settled(3); }, 30000ms, 200ms);
        CHECK(back);
        for (size_t i = 0; i < 3; ++i) {
            CHECK(c.metric(i, "dnslb_cluster_fallback") == 0);
        }
        std::printf("cluster: etcd restarted: cluster verdicts back on all nodes after %ld ms\n",
                    ms_since(tr));
    }

    // ---- garbage under the prefix is logged and ignored ----------------------------------------
    {
        std::string p = c.prefix();
        std::vector<std::string> ids;
        for (const auto& check : c.status(0).value("checks", Json::array())) {
            ids.push_back(check.value("id", ""));
        }
        REQUIRE(!ids.empty());
        CHECK(etcdctl(c.endpoints(), "put " + p + "/verdicts/" + ids[0] + "/n9 'not json'")
                  .find("OK") != std::string::npos);
        etcdctl(c.endpoints(), "put " + p + "/verdicts/" + ids[0] +
                                   "/n9 '{\"state\":\"down\",\"time\":99999999999999}'");
        etcdctl(c.endpoints(), "put " + p + "/members/evil '[1,2]'");
        etcdctl(c.endpoints(), "put " + p + "/overrides/x '{\"state\":\"sideways\"}'");
        etcdctl(c.endpoints(), "put " + p + "/surprise 'x'");
        etcdctl(c.endpoints(), "put " + p + "/attack '{\"on\":\"yes\"}'");
        for (size_t i = 0; i < 3; ++i) {
            CHECK(wait_until(
                [&] {
                    return c.node(i).server->stderr_text().find("cluster: ignoring") !=
                           std::string::npos;
                },
                3000ms, 100ms));
            CHECK(c.node(i).server->running());
        }
        CHECK(c.all_answer(kOrigins));
        CHECK(c.metric(0, "dnslb_cluster_ignored_total") > 0);
        etcdctl(c.endpoints(), "del --prefix " + p + "/members/evil");
        etcdctl(c.endpoints(), "del " + p + "/surprise");
        etcdctl(c.endpoints(), "del " + p + "/attack");
        etcdctl(c.endpoints(), "del --prefix " + p + "/overrides/");
        etcdctl(c.endpoints(), "del " + p + "/verdicts/" + ids[0] + "/n9");
    }

    // ---- a node serving another zone serial shows as drift -------------------------------------
    {
        TempDir other;
        Json z = zone();
        z["soa"]["serial"] = 2;
        z["monitors"] = monitors(c.origin(0).port());
        other.write("cluster.test.json", z.dump(2));
        c.node(2).server->stop();
        REQUIRE(c.start_node(2, "majority", other.path()));
        CHECK(wait_until([&] { return c.metric(0, "dnslb_cluster_drift") == 1; }, 10000ms, 200ms));
        std::string drift = c.status(0)["members"]["n3"].value("drift", "");
        CHECK(drift.find("zone cluster.test.") != std::string::npos);
        c.node(2).server->stop();
        REQUIRE(c.start_node(2));
        CHECK(wait_until([&] { return c.metric(0, "dnslb_cluster_drift") == 0; }, 10000ms, 200ms));
    }

    // ---- all-up: a failure seen by one prober takes the origin out everywhere -------------------
    {
        for (size_t i = 0; i < 3; ++i) {
            c.node(i).server->stop();
        }
        for (size_t i = 0; i < 3; ++i) {
            REQUIRE(c.start_node(i, "all-up"));
        }
        REQUIRE(wait_until([&] { return c.settled(3); }, 20000ms, 200ms));
        REQUIRE(c.time_until_all(kOrigins, 5000ms));
        std::string victim = c.voters(0, kOrigins[1]).front();
        c.origin(1).set_refused({c.node(c.index_of(victim)).source});
        auto t = c.time_until_all(without(kOrigins[1]), bound);
        CHECK(t);
        c.origin(1).set_refused({});
        CHECK(c.time_until_all(kOrigins, bound + 1000ms));
    }

    // ---- one node alone: every check from that one node --------------------------------------
    {
        c.node(1).server->stop();  // a clean stop revokes the lease: no wait for its expiry
        c.node(2).server->stop();
        REQUIRE(wait_until([&] { return c.settled(1); }, 10000ms, 200ms));
        for (size_t o = 0; o < 3; ++o) {
            c.origin(o).clear_counts();
        }
        auto t0 = Clock::now();
        std::this_thread::sleep_for(4000ms);
        double intervals = static_cast<double>(ms_since(t0)) / kIntervalMs;
        for (size_t o = 0; o < 3; ++o) {
            auto by = c.origin(o).requests_by_source();
            int total = 0;
            for (const auto& [src, n] : by) {
                total += n;
            }
            CHECK(by.size() == 1);
            std::printf("cluster: 1 node: origin %s got %.2f probe requests per interval\n",
                        kOrigins[o].c_str(), total / intervals);
        }
        E2E_STOP_CLEAN(*c.node(0).server);
    }
}
