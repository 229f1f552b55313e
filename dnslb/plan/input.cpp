#include "dnslb/plan/input.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace dnslb::plan {

namespace {

geo::CountryCode code_of(const std::string& s) {
    return s.size() == 2 ? geo::country_code(s[0], s[1]) : 0;
}

}  // namespace

std::vector<Point> demand_from_json(const std::string& text, const std::string& pool,
                                    std::vector<Site>& origins) {
    using nlohmann::json;
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("not a /demand document: ") + e.what());
    }
    if (!j.is_object() || !j.contains("networks") || !j.contains("pools")) {
        throw std::runtime_error("not a /demand document: no networks or pools");
    }
    std::string zone;
    for (const auto& p : j["pools"]) {
        if (p.value("pool", "") != pool) {
            continue;
        }
        zone = p.value("zone", "");
        for (const auto& o : p.value("origins", json::array())) {
            if (o.contains("lat") && o.contains("lon")) {
                origins.push_back(
                    Site{o.value("name", ""), o["lat"].get<double>(), o["lon"].get<double>()});
            }
        }
        break;
    }
    if (zone.empty()) {
        throw std::runtime_error("the server has no pool " + pool);
    }
    std::vector<Point> out;
    for (const auto& n : j["networks"]) {
        if (n.value("pool", "") != pool || n.value("zone", "") != zone || !n.contains("lat")) {
            continue;
        }
        out.push_back(Point{n["lat"].get<double>(), n["lon"].get<double>(),
                            code_of(n.value("continent", "")), n.value("queries", uint64_t{0})});
    }
    return out;
}

Net parse_net(const std::string& text) {
    Net n;
    size_t slash = text.find('/');
    std::string host = text.substr(0, slash);
    n.family = host.find(':') == std::string::npos ? 4 : 6;
    const int max = n.family == 4 ? 32 : 128;
    int prefix = max;
    if (slash != std::string::npos) {
        std::string p = text.substr(slash + 1);
        char* end = nullptr;
        long v = std::strtol(p.c_str(), &end, 10);
        if (p.empty() || *end != '\0' || v < 0 || v > max) {
            throw std::invalid_argument("bad prefix in " + text);
        }
        prefix = static_cast<int>(v);
    }
    if (inet_pton(n.family == 4 ? AF_INET : AF_INET6, host.c_str(), n.addr) != 1) {
        throw std::invalid_argument("bad address in " + text);
    }
    n.prefix = static_cast<uint8_t>(prefix);
    return n;
}

std::vector<Net> nets_from_query_log(std::istream& in, const std::string& pool) {
    std::vector<Net> out;
    std::string line;
    const std::string want = " pool=" + pool + " ";
    while (std::getline(in, line)) {
        size_t c = line.find("query client=");
        if (c == std::string::npos || line.find(want) == std::string::npos) {
            continue;
        }
        size_t start = c + 13;
        size_t end = line.find(' ', start);
        try {
            out.push_back(parse_net(line.substr(start, end - start)));
        } catch (const std::invalid_argument&) {
            continue;  // not one of our lines after all
        }
    }
    return out;
}

std::vector<Net> nets_from_list(std::istream& in, const std::string& file) {
    std::vector<Net> out;
    std::string line;
    for (size_t no = 1; std::getline(in, line); ++no) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string cidr;
        std::string count;
        std::string extra;
        if (!(words >> cidr)) {
            continue;
        }
        try {
            Net n = parse_net(cidr);
            if (words >> count) {
                size_t used = 0;
                n.count = std::stoull(count, &used);
                if (used != count.size() || count[0] == '-') {
                    throw std::invalid_argument("bad count " + count);
                }
            }
            if (words >> extra) {
                throw std::invalid_argument("expected CIDR [COUNT]");
            }
            out.push_back(n);
        } catch (const std::exception& e) {
            throw std::runtime_error(file + ":" + std::to_string(no) + ": " + e.what());
        }
    }
    return out;
}

std::vector<Point> locate(const std::vector<Net>& nets, const geo::Resolver& geo) {
    std::vector<Point> out;
    for (const Net& n : nets) {
        geo::Location where = geo.lookup(n.family, n.addr, n.prefix);
        if (where.has_coords) {
            out.push_back(Point{where.lat, where.lon, where.continent, n.count});
        }
    }
    return out;
}

}  // namespace dnslb::plan
