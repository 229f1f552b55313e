// Where the planner's demand comes from: a running server's GET /demand document, a sampled
// query log (the "query client=..." lines of `dnslb serve`), or a list of client networks.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "dnslb/geo/geo.hpp"
#include "dnslb/plan/plan.hpp"

namespace dnslb::plan {

struct Net {
    int family = 4;
    uint8_t addr[16] = {};
    uint8_t prefix = 32;
    uint64_t count = 1;
};

// The located networks of `pool` in a /demand document, and the pool's located origins
// (`origins`, from its "pools" list). Throws std::runtime_error for a document that is not one.
std::vector<Point> demand_from_json(const std::string& text, const std::string& pool,
                                    std::vector<Site>& origins);

// The clients of the query-log lines that name `pool` (other lines are skipped), one per line.
std::vector<Net> nets_from_query_log(std::istream& in, const std::string& pool);

// "CIDR [COUNT]" per line; '#' starts a comment. Throws std::runtime_error "file:line: ...".
std::vector<Net> nets_from_list(std::istream& in, const std::string& file);

// "ADDR/PREFIX" or a bare address. Throws std::invalid_argument.
Net parse_net(const std::string& text);

// Locates every network (networks nothing places are left out).
std::vector<Point> locate(const std::vector<Net>& nets, const geo::Resolver& geo);

}  // namespace dnslb::plan
