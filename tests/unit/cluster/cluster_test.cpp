// Cluster mode's pure parts: the verdict rules, the rendezvous choice, the etcd gateway's
// encodings, and the "cluster" section of the configuration.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnslb/cluster/etcd.hpp"
#include "dnslb/cluster/verdict.hpp"
#include "dnslb/config/config.hpp"

using namespace dnslb::cluster;

namespace {

std::vector<Vote> votes(const std::vector<std::pair<std::string, bool>>& v) {
    std::vector<Vote> out;
    int i = 0;
    for (const auto& [region, up] : v) {
        out.push_back(Vote{"n" + std::to_string(i++), region, up});
    }
    return out;
}

std::vector<Member> members(int n, const std::vector<std::string>& regions = {""}) {
    std::vector<Member> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(
            Member{"node" + std::to_string(i), regions[static_cast<size_t>(i) % regions.size()]});
    }
    return out;
}

}  // namespace

TEST_CASE("majority: down only when more than half say down; a tie is up") {
    CHECK(decide(Rule::kMajority, 0, votes({{"", true}, {"", true}, {"", false}})));
    CHECK_FALSE(decide(Rule::kMajority, 0, votes({{"", true}, {"", false}, {"", false}})));
    CHECK(decide(Rule::kMajority, 0, votes({{"", true}, {"", false}})));  // tie
    CHECK_FALSE(decide(Rule::kMajority, 0, votes({{"", false}})));
    CHECK(decide(Rule::kMajority, 0, {}));  // no votes: up
}

TEST_CASE("any-up, all-up and threshold") {
    auto one_up = votes({{"", true}, {"", false}, {"", false}});
    auto one_down = votes({{"", true}, {"", true}, {"", false}});
    CHECK(decide(Rule::kAnyUp, 0, one_up));
    CHECK_FALSE(decide(Rule::kAnyUp, 0, votes({{"", false}, {"", false}})));
    CHECK_FALSE(decide(Rule::kAllUp, 0, one_down));
    CHECK(decide(Rule::kAllUp, 0, votes({{"", true}, {"", true}})));
    // Route 53 style: up while at least 18 % are up.
    CHECK(decide(Rule::kThreshold, 0.18, one_up));
    CHECK_FALSE(decide(Rule::kThreshold, 0.5, one_up));
    CHECK(decide(Rule::kThreshold, 0.5, votes({{"", true}, {"", false}})));
    CHECK_FALSE(decide(Rule::kThreshold, 0.18, votes({{"", false}, {"", false}})));
}

TEST_CASE("regions: majority per region, then majority of regions") {
    // eu: 2 down of 3 (down); us: up; ap: up -> 2 of 3 regions up.
    CHECK(decide(Rule::kRegions, 0,
                 votes({{"eu", false}, {"eu", false}, {"eu", true}, {"us", true}, {"ap", true}})));
    // eu down, us down, ap up -> down, although 3 of 6 votes are up.
    CHECK_FALSE(decide(Rule::kRegions, 0,
                       votes({{"eu", false},
                              {"eu", false},
                              {"us", false},
                              {"ap", true},
                              {"ap", true},
                              {"ap", true}})));
    // Two regions, one each: a tie of regions is up.
    CHECK(decide(Rule::kRegions, 0, votes({{"eu", false}, {"us", true}})));
}

TEST_CASE("rule names round-trip") {
    for (Rule r : {Rule::kMajority, Rule::kAnyUp, Rule::kAllUp, Rule::kThreshold, Rule::kRegions}) {
        CHECK(parse_rule(rule_name(r)) == r);
    }
    CHECK_FALSE(parse_rule("quorum").has_value());
}

TEST_CASE("rendezvous: k distinct members, the same on every node, stable under removal") {
    auto all = members(5);
    std::map<std::string, int> load;
    for (int c = 0; c < 200; ++c) {
        std::string check = "check-" + std::to_string(c);
        auto chosen = choose(check, all, 3);
        REQUIRE(chosen.size() == 3);
        CHECK(std::set<std::string>(chosen.begin(), chosen.end()).size() == 3);
        // Another order of the member list gives the same choice.
        std::vector<Member> reversed(all.rbegin(), all.rend());
        CHECK(choose(check, reversed, 3) == chosen);
        for (const auto& n : chosen) {
            ++load[n];
        }
        // Removing a member that was not chosen changes nothing; removing a chosen one keeps
        // the other two.
        for (const Member& gone : all) {
            std::vector<Member> rest;
            for (const Member& m : all) {
                if (m.node != gone.node) {
                    rest.push_back(m);
                }
            }
            auto after = choose(check, rest, 3);
            size_t kept = 0;
            for (const auto& n : chosen) {
                kept += std::find(after.begin(), after.end(), n) != after.end() ? 1 : 0;
            }
            bool was_chosen = std::find(chosen.begin(), chosen.end(), gone.node) != chosen.end();
            CHECK(kept == (was_chosen ? 2U : 3U));
        }
    }
    // 600 choices over 5 nodes: each gets a fair share (120 expected).
    for (const auto& [node, n] : load) {
        CHECK(n > 80);
        CHECK(n < 160);
    }
    CHECK(choose("x", members(2), 3).size() == 2);  // fewer members than k: all of them
}

TEST_CASE("rendezvous: one member per region before a region gets a second") {
    auto all = members(6, {"eu", "eu", "us", "us", "ap", "ap"});
    std::map<std::string, std::string> region;
    for (const Member& m : all) {
        region[m.node] = m.region;
    }
    for (int c = 0; c < 100; ++c) {
        auto chosen = choose("check-" + std::to_string(c), all, 3);
        std::set<std::string> regions;
        for (const auto& n : chosen) {
            regions.insert(region[n]);
        }
        CHECK(regions.size() == 3);
    }
}

TEST_CASE("etcd gateway encodings") {
    const std::vector<std::string> samples = {
        "", "a", "ab", "abc", "abcd", "/dnslb/x/members/n1", std::string("\0\xff\x10", 3)};
    for (const std::string& s : samples) {
        auto back = base64_decode(base64_encode(s));
        REQUIRE(back.has_value());
        CHECK(*back == s);
    }
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK_FALSE(base64_decode("Zm9v!").has_value());
    CHECK(prefix_end("/dnslb/a/") == "/dnslb/a0");
    CHECK(prefix_end(std::string("a\xff", 2)) == "b");
    // int64 numbers arrive as strings; zero values are left out.
    auto j = nlohmann::json::parse(R"({"ID":"7587862170210449417","TTL":"10","n":5,"bad":"1x"})");
    CHECK(int_field(j, "ID") == 7587862170210449417LL);
    CHECK(int_field(j, "TTL") == 10);
    CHECK(int_field(j, "n") == 5);
    CHECK(int_field(j, "missing", -1) == -1);
    CHECK(int_field(j, "bad", -1) == -1);
}

TEST_CASE("the cluster section of the configuration") {
    using dnslb::config::Config;
    using dnslb::config::ConfigError;
    auto load = [](const std::string& text) {
        Config cfg;
        dnslb::config::load_cluster(nlohmann::json::parse(text), "dnslb.json", cfg);
        return cfg.cluster;
    };
    auto c = load(R"({"endpoints": ["http://127.0.0.1:2379/"], "node": "ns1", "region": "eu",
                      "verdict": "all-up", "probes_per_check": 2, "grace": 5, "lease_ttl": 4})");
    CHECK(c.enabled);
    CHECK(c.endpoints == std::vector<std::string>{"http://127.0.0.1:2379"});
    CHECK(c.node == "ns1");
    CHECK(c.verdict == "all-up");
    CHECK(c.probes_per_check == 2);
    CHECK(c.grace_ms == 5000);
    CHECK(c.lease_ttl_s == 4);
    CHECK_FALSE(load(R"({"endpoints": ["http://e:2379"]})").node.empty());  // the host name
    CHECK_THROWS_WITH(load(R"({"endpoints": []})"),
                      Catch::Contains("dnslb.json: /cluster/endpoints"));
    CHECK_THROWS_WITH(load(R"({"endpoints": ["e:2379"]})"),
                      Catch::Contains("/cluster/endpoints/0"));
    CHECK_THROWS_WITH(load(R"({"endpoints": ["http://e"], "verdict": "quorum"})"),
                      Catch::Contains("/cluster/verdict"));
    CHECK_THROWS_WITH(load(R"({"endpoints": ["http://e"], "node": "a/b"})"),
                      Catch::Contains("/cluster/node"));
    CHECK_THROWS_WITH(load(R"({"endpoints": ["http://e"], "tls": {"cert": "c"}})"),
                      Catch::Contains("/cluster/tls"));
    CHECK_THROWS_WITH(load(R"({"endpoints": ["http://e"], "nope": 1})"),
                      Catch::Contains("/cluster/nope: unknown key"));
    CHECK_THROWS_AS(load(R"({"endpoints": ["http://e"], "user": "u"})"), ConfigError);
}
