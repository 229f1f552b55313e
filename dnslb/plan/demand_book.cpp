#include "dnslb/plan/demand_book.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "dnslb/base/prom_label.hpp"

namespace dnslb::plan {

namespace {

std::string escape_label(const std::string& v) { return base::prom_label(v); }

std::string code_text(geo::CountryCode c) { return continent_text(c); }

std::string net_text(int family, const std::array<uint8_t, 16>& addr, uint8_t prefix) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == 4 ? AF_INET : AF_INET6, addr.data(), buf, sizeof(buf));
    return std::string(buf) + "/" + std::to_string(prefix);
}

}  // namespace

size_t DemandBook::KeyHash::operator()(const Key& k) const noexcept {
    uint64_t h = 1469598103934665603ULL ^ static_cast<uint64_t>(k.slot) ^
                 (static_cast<uint64_t>(k.prefix) << 40U) ^
                 (static_cast<uint64_t>(k.family) << 48U);
    for (uint8_t b : k.addr) {
        h = (h ^ b) * 1099511628211ULL;
    }
    return static_cast<size_t>(h);
}

void DemandBook::name_origin(int32_t slot, const std::string& zone, const std::string& pool,
                             const std::string& origin) {
    std::lock_guard lock(mutex_);
    names_[slot] = Name{zone, pool, origin};
}

void DemandBook::add(int family, const uint8_t* addr, uint8_t prefix, int32_t slot, uint64_t count,
                     const geo::Resolver* geo) {
    Key k;
    std::copy_n(addr, 16, k.addr.begin());
    k.slot = slot;
    k.family = static_cast<uint8_t>(family);
    k.prefix = prefix;
    std::lock_guard lock(mutex_);
    add_locked(k, count, geo);
}

void DemandBook::add_locked(const Key& k, uint64_t count, const geo::Resolver* geo) {
    auto it = entries_.find(k);
    if (it == entries_.end()) {
        if (entries_.size() >= max_entries_) {
            book_drops_ += count;
            return;
        }
        Entry e;
        if (geo != nullptr) {
            geo::Location where = geo->lookup(k.family, k.addr.data(), k.prefix);
            e.has_coords = where.has_coords;
            e.lat = where.lat;
            e.lon = where.lon;
            e.country = where.country;
            e.continent = where.continent;
        }
        it = entries_.emplace(k, e).first;
    }
    Entry& e = it->second;
    e.queries += count;
    by_continent_[{k.slot, e.continent}] += count;
    by_country_[{k.slot, e.country}] += count;
    current_.answers[k.slot] += count;
}

void DemandBook::set_table_drops(uint64_t n) {
    std::lock_guard lock(mutex_);
    table_drops_ = n;
}

void DemandBook::set_table_bytes(size_t n) {
    std::lock_guard lock(mutex_);
    table_bytes_ = n;
}

void DemandBook::tick(int64_t now_ms) {
    std::lock_guard lock(mutex_);
    if (current_.start_ms == 0) {
        current_.start_ms = now_ms - now_ms % kBucketMs;
        return;
    }
    if (now_ms < current_.start_ms + kBucketMs) {
        return;
    }
    history_.push_back(std::move(current_));
    while (history_.size() > kBuckets) {
        history_.pop_front();
    }
    current_ = Bucket{};
    current_.start_ms = now_ms - now_ms % kBucketMs;
}

std::string DemandBook::name_of(int32_t slot) const {
    auto it = names_.find(slot);
    return it == names_.end() ? "slot" + std::to_string(slot)
                              : it->second.zone + "/" + it->second.pool + "/" + it->second.origin;
}

std::string DemandBook::json() const {
    using nlohmann::json;
    std::lock_guard lock(mutex_);
    json j;
    j["bucket_s"] = kBucketMs / 1000;
    j["capacity"] = max_entries_;
    j["entries"] = entries_.size();
    j["dropped"] = book_drops_ + table_drops_;
    j["memory_bytes"] = bytes_locked();
    json origins = json::array();
    for (const auto& [slot, n] : names_) {
        json o = {{"zone", n.zone}, {"pool", n.pool}, {"origin", n.origin}, {"answers", 0}};
        uint64_t total = 0;
        json conts = json::object();
        json countries = json::object();
        for (auto it = by_continent_.lower_bound({slot, 0});
             it != by_continent_.end() && it->first.first == slot; ++it) {
            conts[code_text(it->first.second)] = it->second;
            total += it->second;
        }
        for (auto it = by_country_.lower_bound({slot, 0});
             it != by_country_.end() && it->first.first == slot; ++it) {
            countries[code_text(it->first.second)] = it->second;
        }
        o["answers"] = total;
        o["continents"] = conts;
        o["countries"] = countries;
        origins.push_back(o);
    }
    j["origins"] = origins;
    json nets = json::array();
    for (const auto& [k, e] : entries_) {
        auto n = names_.find(k.slot);
        json row = {{"net", net_text(k.family, k.addr, k.prefix)},
                    {"queries", e.queries},
                    {"country", code_text(e.country)},
                    {"continent", code_text(e.continent)}};
        if (e.has_coords) {
            row["lat"] = e.lat;
            row["lon"] = e.lon;
        }
        if (n != names_.end()) {
            row["zone"] = n->second.zone;
            row["pool"] = n->second.pool;
            row["origin"] = n->second.origin;
        }
        nets.push_back(row);
    }
    j["networks"] = nets;
    json hist = json::array();
    auto put = [&](const Bucket& b) {
        json counts = json::object();
        for (const auto& [slot, n] : b.answers) {
            counts[name_of(slot)] = n;
        }
        hist.push_back({{"t_ms", b.start_ms}, {"answers", counts}});
    };
    for (const Bucket& b : history_) {
        put(b);
    }
    j["history"] = hist;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string DemandBook::metrics() const {
    std::lock_guard lock(mutex_);
    std::string out;
    out +=
        "# HELP dnslb_demand_answers_total Pool answers by origin and asker continent "
        "(demand recording).\n# TYPE dnslb_demand_answers_total counter\n";
    for (const auto& [key, n] : by_continent_) {
        auto it = names_.find(key.first);
        if (it == names_.end()) {
            continue;
        }
        out += "dnslb_demand_answers_total{zone=\"" + escape_label(it->second.zone) + "\",pool=\"" +
               escape_label(it->second.pool) + "\",origin=\"" + escape_label(it->second.origin) +
               "\",continent=\"" + code_text(key.second) + "\"} " + std::to_string(n) + "\n";
    }
    out +=
        "# HELP dnslb_demand_entries Networks (per origin) in the demand table.\n"
        "# TYPE dnslb_demand_entries gauge\ndnslb_demand_entries " +
        std::to_string(entries_.size()) + "\n";
    out +=
        "# HELP dnslb_demand_dropped_total Answers not recorded: a query thread's table or "
        "the merged table was full.\n# TYPE dnslb_demand_dropped_total counter\n"
        "dnslb_demand_dropped_total{table=\"thread\"} " +
        std::to_string(table_drops_) + "\ndnslb_demand_dropped_total{table=\"merged\"} " +
        std::to_string(book_drops_) + "\n";
    out +=
        "# HELP dnslb_demand_memory_bytes Memory of demand recording (thread tables and the "
        "merged table, estimated).\n# TYPE dnslb_demand_memory_bytes gauge\n"
        "dnslb_demand_memory_bytes " +
        std::to_string(bytes_locked()) + "\n";
    return out;
}

std::vector<Point> DemandBook::points(const std::string& zone, const std::string& pool) const {
    std::lock_guard lock(mutex_);
    std::vector<Point> out;
    for (const auto& [k, e] : entries_) {
        auto n = names_.find(k.slot);
        if (!e.has_coords || n == names_.end() || n->second.pool != pool ||
            (!zone.empty() && n->second.zone != zone)) {
            continue;
        }
        out.push_back(Point{e.lat, e.lon, e.continent, e.queries});
    }
    return out;
}

size_t DemandBook::entries() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

size_t DemandBook::bytes_locked() const {
    // A node of the hash map: the key, the entry, the next pointer and the cached hash; plus
    // one bucket pointer per entry.
    constexpr size_t kNode = sizeof(Key) + sizeof(Entry) + 2 * sizeof(void*) + sizeof(void*);
    size_t history = 0;
    for (const Bucket& b : history_) {
        history += sizeof(Bucket) + b.answers.size() * 48;
    }
    return table_bytes_ + entries_.size() * kNode + history +
           (by_continent_.size() + by_country_.size()) * 48;
}

size_t DemandBook::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_locked();
}

uint64_t DemandBook::dropped() const {
    std::lock_guard lock(mutex_);
    return book_drops_ + table_drops_;
}

void DemandBook::save(const std::string& path) const {
    using nlohmann::json;
    json j;
    {
        std::lock_guard lock(mutex_);
        j["version"] = 1;
        json rows = json::array();
        for (const auto& [k, e] : entries_) {
            auto n = names_.find(k.slot);
            if (n == names_.end()) {
                continue;
            }
            rows.push_back({{"net", net_text(k.family, k.addr, k.prefix)},
                            {"zone", n->second.zone},
                            {"pool", n->second.pool},
                            {"origin", n->second.origin},
                            {"queries", e.queries}});
        }
        j["networks"] = rows;
    }
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        if (!out) {
            throw std::runtime_error(tmp + ": cannot write");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        throw std::runtime_error(path + ": cannot rename " + tmp + " to it");
    }
}

void DemandBook::load(const std::string& path, const geo::Resolver* geo) {
    using nlohmann::json;
    std::ifstream in(path);
    if (!in) {
        return;  // no file yet: nothing saved
    }
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    if (!j.is_object() || !j.contains("networks") || !j["networks"].is_array()) {
        throw std::runtime_error(path + ": /networks: expected an array");
    }
    std::lock_guard lock(mutex_);
    std::map<std::string, int32_t> slot_of;
    for (const auto& [slot, n] : names_) {
        slot_of[n.zone + "/" + n.pool + "/" + n.origin] = slot;
    }
    const json& rows = j["networks"];
    for (size_t i = 0; i < rows.size(); ++i) {
        const json& r = rows[i];
        const std::string ptr = "/networks/" + std::to_string(i);
        if (!r.is_object() || !r.value("net", json()).is_string() ||
            !r.value("queries", json()).is_number_unsigned()) {
            std::string why = path;
            why += ": " + ptr + ": expected {net, zone, pool, origin, queries}";
            throw std::runtime_error(why);
        }
        auto s = slot_of.find(r.value("zone", "") + "/" + r.value("pool", "") + "/" +
                              r.value("origin", ""));
        if (s == slot_of.end()) {
            continue;  // an origin no zone has any more
        }
        std::string net = r["net"].get<std::string>();
        size_t slash = net.find('/');
        Key k;
        k.slot = s->second;
        std::string host = net.substr(0, slash);
        k.family = host.find(':') == std::string::npos ? 4 : 6;
        int prefix = slash == std::string::npos ? -1 : std::atoi(net.c_str() + slash + 1);
        if (prefix < 0 || prefix > (k.family == 4 ? 32 : 128) ||
            inet_pton(k.family == 4 ? AF_INET : AF_INET6, host.c_str(), k.addr.data()) != 1) {
            std::string why = path;
            why += ": " + ptr + "/net: expected ADDRESS/PREFIX";
            throw std::runtime_error(why);
        }
        k.prefix = static_cast<uint8_t>(prefix);
        add_locked(k, r["queries"].get<uint64_t>(), geo);
    }
    current_.answers.clear();  // saved counts are not answers of the last 10 s
}

}  // namespace dnslb::plan
