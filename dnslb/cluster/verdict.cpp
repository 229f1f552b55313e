#include "dnslb/cluster/verdict.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "dnslb/base/hash.hpp"

namespace dnslb::cluster {

std::optional<Rule> parse_rule(const std::string& name) {
    if (name == "majority") {
        return Rule::kMajority;
    }
    if (name == "any-up") {
        return Rule::kAnyUp;
    }
    if (name == "all-up") {
        return Rule::kAllUp;
    }
    if (name == "threshold") {
        return Rule::kThreshold;
    }
    if (name == "regions") {
        return Rule::kRegions;
    }
    return std::nullopt;
}

const char* rule_name(Rule r) noexcept {
    switch (r) {
        case Rule::kMajority:
            return "majority";
        case Rule::kAnyUp:
            return "any-up";
        case Rule::kAllUp:
            return "all-up";
        case Rule::kThreshold:
            return "threshold";
        case Rule::kRegions:
            return "regions";
    }
    return "majority";
}

namespace {
// Up unless the down votes are more than half: a tie is up.
bool majority_up(size_t up, size_t total) { return up * 2 >= total; }
}  // namespace

bool decide(Rule rule, double threshold, const std::vector<Vote>& votes) {
    if (votes.empty()) {
        return true;
    }
    size_t up = 0;
    for (const Vote& v : votes) {
        up += v.up ? 1 : 0;
    }
    const size_t total = votes.size();
    switch (rule) {
        case Rule::kMajority:
            return majority_up(up, total);
        case Rule::kAnyUp:
            return up > 0;
        case Rule::kAllUp:
            return up == total;
        case Rule::kThreshold:
            return static_cast<double>(up) >= threshold * static_cast<double>(total);
        case Rule::kRegions: {
            std::map<std::string, std::pair<size_t, size_t>> by_region;  // up, total
            for (const Vote& v : votes) {
                auto& entry = by_region[v.region];
                entry.first += v.up ? 1 : 0;
                entry.second += 1;
            }
            size_t regions_up = 0;
            for (const auto& entry : by_region) {
                regions_up += majority_up(entry.second.first, entry.second.second) ? 1 : 0;
            }
            return majority_up(regions_up, by_region.size());
        }
    }
    return true;
}

uint64_t score(const std::string& check, const std::string& node) {
    return hash::splitmix64(hash::fnv1a(check) ^ hash::splitmix64(hash::fnv1a(node)));
}

std::vector<std::string> choose(const std::string& check, const std::vector<Member>& members,
                                unsigned k) {
    std::vector<std::pair<uint64_t, const Member*>> ranked;
    ranked.reserve(members.size());
    for (const Member& m : members) {
        ranked.emplace_back(score(check, m.node), &m);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second->node < b.second->node;
    });
    std::vector<std::string> out;
    std::vector<bool> taken(ranked.size(), false);
    std::set<std::string> regions;
    // First pass: the best of each region, in score order; then the rest by score.
    for (size_t i = 0; i < ranked.size() && out.size() < k; ++i) {
        if (regions.insert(ranked[i].second->region).second) {
            out.push_back(ranked[i].second->node);
            taken[i] = true;
        }
    }
    for (size_t i = 0; i < ranked.size() && out.size() < k; ++i) {
        if (!taken[i]) {
            out.push_back(ranked[i].second->node);
        }
    }
    return out;
}

}  // namespace dnslb::cluster
