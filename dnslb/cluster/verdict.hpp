// The pure parts of cluster mode: the verdict rules that turn the nodes' own verdicts into the
// cluster's, and the rendezvous choice of the nodes that run a check. Same inputs, same output
// on every node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dnslb::cluster {

enum class Rule : uint8_t { kMajority, kAnyUp, kAllUp, kThreshold, kRegions };

// "majority", "any-up", "all-up", "threshold", "regions"; nullopt for anything else.
std::optional<Rule> parse_rule(const std::string& name);
const char* rule_name(Rule r) noexcept;

struct Vote {
    std::string node;
    std::string region;
    bool up = true;
};

// The cluster's verdict from the votes of the live nodes (true: up). No votes: up. Ties count
// as up in `majority` and `regions` (a split vote never takes an origin out).
// - majority: down when more than half of the votes are down;
// - any-up: up while one vote is up;
// - all-up: down as soon as one vote is down;
// - threshold: up when at least the share `threshold` of the votes is up (Route 53 style);
// - regions: majority within each region, then majority of the regions.
bool decide(Rule rule, double threshold, const std::vector<Vote>& votes);

struct Member {
    std::string node;
    std::string region;
};

// The rendezvous score of `node` for `check`: a stable 64-bit hash of both.
uint64_t score(const std::string& check, const std::string& node);

// The `k` members that run `check` (all of them when there are no more than k): highest
// score first, with one member of each region taken before a region gets a second.
std::vector<std::string> choose(const std::string& check, const std::vector<Member>& members,
                                unsigned k);

}  // namespace dnslb::cluster
