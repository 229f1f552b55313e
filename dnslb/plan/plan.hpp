// The "what if" planner: for a pool's demand (located askers with their query counts), the
// distance from each asker to the origin it would be sent to, before and after adding or
// removing origins, by continent.
//
// The model: an asker goes to the nearest origin by great-circle distance (proximity steering,
// every origin up). The round-trip time a distance implies is
//   rtt_ms = 2 * km * route_factor / 200
// (light in fibre covers about 200 km per millisecond; routes are longer than the great
// circle by the route factor, 1.5 by default). Pure functions: used by `dnslb plan` and by
// the server's /plan endpoint alike, so both give the same numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dnslb/geo/country.hpp"

namespace dnslb::plan {

inline constexpr double kDefaultRouteFactor = 1.5;
inline constexpr double kFibreKmPerMs = 200;

struct Site {
    std::string name;
    double lat = 0;
    double lon = 0;
};

// One located asker (a network) and how many queries it sent.
struct Point {
    double lat = 0;
    double lon = 0;
    geo::CountryCode continent = 0;  // 0: unknown
    uint64_t count = 0;
};

struct Row {
    std::string continent;  // "EU", ...; "all" for the total row; "--" for unknown
    uint64_t queries = 0;
    double median_before_km = 0;
    double p90_before_km = 0;
    double median_after_km = 0;
    double p90_after_km = 0;
    double changed_share = 0;  // of the queries, whose origin differs after
};

struct Result {
    std::vector<Row> rows;  // by continent code, then the "all" row
    double route_factor = kDefaultRouteFactor;
};

inline double rtt_ms(double km, double route_factor) noexcept {
    return 2 * km * route_factor / kFibreKmPerMs;
}

// The origins after the change: `before` without `remove`, plus `add` (an added name that
// exists already moves that origin). Throws std::invalid_argument for a removed name that is
// not in `before`.
std::vector<Site> apply(const std::vector<Site>& before, const std::vector<Site>& add,
                        const std::vector<std::string>& remove);

// Weighted quantile (q in [0, 1]) of values with weights: the smallest value whose cumulative
// weight reaches q of the total. 0 for no weight.
double weighted_quantile(std::vector<std::pair<double, uint64_t>> values, double q);

Result compute(const std::vector<Point>& demand, const std::vector<Site>& before,
               const std::vector<Site>& after, double route_factor = kDefaultRouteFactor);

// "NAME:LAT,LON". Throws std::invalid_argument.
Site parse_site(const std::string& text);

// A fixed-width text table, one line per row.
std::string render_table(const Result& r);
// A bar chart (median distance per continent, before and after) as a standalone SVG document.
std::string render_svg(const Result& r, const std::string& title);
// The result as JSON (for the HTTP API and the page).
std::string render_json(const Result& r, const std::vector<Site>& before,
                        const std::vector<Site>& after);

std::string continent_text(geo::CountryCode c);

}  // namespace dnslb::plan
