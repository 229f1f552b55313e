#include "dnslb/plan/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "dnslb/geo/geo.hpp"

namespace dnslb::plan {

namespace {

struct Nearest {
    size_t index = 0;
    double km = 0;
};

Nearest nearest(const Point& p, const std::vector<Site>& sites) {
    Nearest best{0, std::numeric_limits<double>::infinity()};
    for (size_t i = 0; i < sites.size(); ++i) {
        double km = geo::distance_km(p.lat, p.lon, sites[i].lat, sites[i].lon);
        if (km < best.km) {
            best = {i, km};
        }
    }
    return best;
}

struct Acc {
    std::vector<std::pair<double, uint64_t>> before;
    std::vector<std::pair<double, uint64_t>> after;
    uint64_t queries = 0;
    uint64_t changed = 0;
};

Row finish(const std::string& name, Acc& a) {
    Row row;
    row.continent = name;
    row.queries = a.queries;
    row.median_before_km = weighted_quantile(a.before, 0.5);
    row.p90_before_km = weighted_quantile(a.before, 0.9);
    row.median_after_km = weighted_quantile(a.after, 0.5);
    row.p90_after_km = weighted_quantile(a.after, 0.9);
    row.changed_share = a.queries == 0 ? 0 : static_cast<double>(a.changed) / a.queries;
    return row;
}

std::string escape_xml(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
    return buf;
}

}  // namespace

std::string continent_text(geo::CountryCode c) {
    if (c == 0) {
        return "--";
    }
    return std::string{static_cast<char>(c >> 8U), static_cast<char>(c & 0xFFU)};
}

std::vector<Site> apply(const std::vector<Site>& before, const std::vector<Site>& add,
                        const std::vector<std::string>& remove) {
    std::vector<Site> out = before;
    for (const auto& name : remove) {
        auto it =
            std::find_if(out.begin(), out.end(), [&](const Site& s) { return s.name == name; });
        if (it == out.end()) {
            throw std::invalid_argument("no origin named " + name + " to remove");
        }
        out.erase(it);
    }
    for (const auto& s : add) {
        auto it =
            std::find_if(out.begin(), out.end(), [&](const Site& o) { return o.name == s.name; });
        if (it != out.end()) {
            *it = s;
        } else {
            out.push_back(s);
        }
    }
    return out;
}

double weighted_quantile(std::vector<std::pair<double, uint64_t>> values, double q) {
    uint64_t total = 0;
    for (const auto& v : values) {
        total += v.second;
    }
    if (total == 0) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const double need = q * static_cast<double>(total);
    uint64_t cum = 0;
    for (const auto& v : values) {
        cum += v.second;
        if (static_cast<double>(cum) >= need) {
            return v.first;
        }
    }
    return values.back().first;
}

Result compute(const std::vector<Point>& demand, const std::vector<Site>& before,
               const std::vector<Site>& after, double route_factor) {
    std::map<geo::CountryCode, Acc> by;
    Acc all;
    for (const Point& p : demand) {
        if (p.count == 0 || before.empty() || after.empty()) {
            continue;
        }
        Nearest b = nearest(p, before);
        Nearest a = nearest(p, after);
        bool changed = before[b.index].name != after[a.index].name;
        for (Acc* acc : {&by[p.continent], &all}) {
            acc->before.emplace_back(b.km, p.count);
            acc->after.emplace_back(a.km, p.count);
            acc->queries += p.count;
            acc->changed += changed ? p.count : 0;
        }
    }
    Result r;
    r.route_factor = route_factor;
    for (auto& [code, acc] : by) {
        r.rows.push_back(finish(continent_text(code), acc));
    }
    r.rows.push_back(finish("all", all));
    return r;
}

Site parse_site(const std::string& text) {
    size_t colon = text.rfind(':');
    size_t comma = text.find(',', colon == std::string::npos ? 0 : colon);
    if (colon == std::string::npos || colon == 0 || comma == std::string::npos) {
        throw std::invalid_argument("expected NAME:LAT,LON, got \"" + text + "\"");
    }
    Site s;
    s.name = text.substr(0, colon);
    try {
        size_t used = 0;
        std::string lat = text.substr(colon + 1, comma - colon - 1);
        std::string lon = text.substr(comma + 1);
        s.lat = std::stod(lat, &used);
        bool ok = used == lat.size();
        s.lon = std::stod(lon, &used);
        ok = ok && used == lon.size();
        if (!ok || std::abs(s.lat) > 90 || std::abs(s.lon) > 180) {
            throw std::invalid_argument("range");
        }
    } catch (const std::exception&) {
        throw std::invalid_argument("expected NAME:LAT,LON with -90..90 and -180..180, got \"" +
                                    text + "\"");
    }
    return s;
}

std::string render_table(const Result& r) {
    char line[256];
    std::string out;
    std::snprintf(line, sizeof(line), "%-9s %9s %21s %21s %21s %21s %8s\n", "continent", "queries",
                  "median km before/after", "p90 km before/after", "median RTT ms b/a",
                  "p90 RTT ms b/a", "changed");
    out += line;
    for (const Row& w : r.rows) {
        double f = r.route_factor;
        std::snprintf(line, sizeof(line),
                      "%-9s %9llu %10.0f/%-10.0f %10.0f/%-10.0f %10.1f/%-10.1f %10.1f/%-10.1f "
                      "%7.1f%%\n",
                      w.continent.c_str(), static_cast<unsigned long long>(w.queries),
                      w.median_before_km, w.median_after_km, w.p90_before_km, w.p90_after_km,
                      rtt_ms(w.median_before_km, f), rtt_ms(w.median_after_km, f),
                      rtt_ms(w.p90_before_km, f), rtt_ms(w.p90_after_km, f), 100 * w.changed_share);
        out += line;
    }
    return out;
}

std::string render_svg(const Result& r, const std::string& title) {
    constexpr int kGroup = 90;
    constexpr int kBar = 30;
    constexpr int kTop = 50;
    constexpr int kHeight = 300;
    constexpr int kLeft = 60;
    double top_km = 1;
    for (const Row& w : r.rows) {
        top_km = std::max({top_km, w.median_before_km, w.median_after_km});
    }
    const int width = kLeft + kGroup * static_cast<int>(r.rows.size()) + 180;
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(kTop + kHeight + 60) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s += "<title>" + escape_xml(title) + "</title>\n";
    s += "<text x=\"10\" y=\"20\" font-size=\"15\">" + escape_xml(title) + "</text>\n";
    s += "<text x=\"10\" y=\"38\">median distance to the origin, km (RTT at route factor " +
         fixed(r.route_factor, 2) + ")</text>\n";
    int x = kLeft;
    for (const Row& w : r.rows) {
        const double vals[2] = {w.median_before_km, w.median_after_km};
        const char* fills[2] = {"#8a8a8a", "#2a7ab9"};
        for (int i = 0; i < 2; ++i) {
            int h = static_cast<int>(vals[i] / top_km * kHeight);
            int bx = x + i * kBar;
            s += "<rect x=\"" + std::to_string(bx) + "\" y=\"" +
                 std::to_string(kTop + kHeight - h) + "\" width=\"" + std::to_string(kBar - 2) +
                 "\" height=\"" + std::to_string(h) + "\" fill=\"" + fills[i] + "\"><title>" +
                 escape_xml(w.continent) + (i == 0 ? " before: " : " after: ") + fixed(vals[i], 0) +
                 " km, " + fixed(rtt_ms(vals[i], r.route_factor), 1) + " ms</title></rect>\n";
            s += "<text x=\"" + std::to_string(bx) + "\" y=\"" +
                 std::to_string(kTop + kHeight - h - 4) + "\" font-size=\"10\">" +
                 fixed(vals[i], 0) + "</text>\n";
        }
        s += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kTop + kHeight + 18) +
             "\">" + escape_xml(w.continent) + "</text>\n";
        x += kGroup;
    }
    s += "<rect x=\"" + std::to_string(x + 10) + "\" y=\"60\" width=\"12\" height=\"12\" " +
         "fill=\"#8a8a8a\"/><text x=\"" + std::to_string(x + 28) + "\" y=\"70\">before</text>\n";
    s += "<rect x=\"" + std::to_string(x + 10) + "\" y=\"80\" width=\"12\" height=\"12\" " +
         "fill=\"#2a7ab9\"/><text x=\"" + std::to_string(x + 28) + "\" y=\"90\">after</text>\n";
    s += "</svg>\n";
    return s;
}

std::string render_json(const Result& r, const std::vector<Site>& before,
                        const std::vector<Site>& after) {
    nlohmann::json j;
    j["route_factor"] = r.route_factor;
    j["rows"] = nlohmann::json::array();
    for (const Row& w : r.rows) {
        j["rows"].push_back({{"continent", w.continent},
                             {"queries", w.queries},
                             {"median_before_km", w.median_before_km},
                             {"p90_before_km", w.p90_before_km},
                             {"median_after_km", w.median_after_km},
                             {"p90_after_km", w.p90_after_km},
                             {"median_before_rtt_ms", rtt_ms(w.median_before_km, r.route_factor)},
                             {"p90_before_rtt_ms", rtt_ms(w.p90_before_km, r.route_factor)},
                             {"median_after_rtt_ms", rtt_ms(w.median_after_km, r.route_factor)},
                             {"p90_after_rtt_ms", rtt_ms(w.p90_after_km, r.route_factor)},
                             {"changed_share", w.changed_share}});
    }
    for (const auto* list : {&before, &after}) {
        auto& out = j[list == &before ? "before" : "after"];
        out = nlohmann::json::array();
        for (const Site& s : *list) {
            out.push_back({{"name", s.name}, {"lat", s.lat}, {"lon", s.lon}});
        }
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dnslb::plan
