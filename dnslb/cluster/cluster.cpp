#include "dnslb/cluster/cluster.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "dnslb/base/hash.hpp"
#include "dnslb/base/log.hpp"

namespace dnslb::cluster {

namespace {

using json = nlohmann::json;

constexpr int64_t kTickMs = 100;
// etcd unreachable for this long (or the grace, if shorter): this node probes every check, so
// that its own verdicts are fresh when the grace ends.
constexpr int64_t kProbeAllAfterMs = 2000;
constexpr int64_t kFutureSlackMs = 300000;  // a verdict time further ahead is refused
constexpr int64_t kApplyWaitMs = 2000;
constexpr size_t kMaxLogged = 10000;

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string check_id(const std::string& key) { return hex64(hash::splitmix64(hash::fnv1a(key))); }

json range_of(const std::string& prefix) {
    return json{{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))}};
}

EtcdOptions etcd_options(const config::Config& cfg) {
    EtcdOptions o;
    o.endpoints = cfg.cluster.endpoints;
    o.ca = cfg.cluster.ca;
    o.cert = cfg.cluster.cert;
    o.key = cfg.cluster.key;
    o.user = cfg.cluster.user;
    o.password = cfg.cluster.password;
    o.source = cfg.probe_source;
    return o;
}

const char* state_text(probes::State s) { return probes::state_name(s); }

}  // namespace

Cluster::Cluster(const config::Config& cfg, probes::HealthTable& table, AttackFn attack)
    : cfg_(cfg.cluster),
      rule_(parse_rule(cfg.cluster.verdict).value_or(Rule::kMajority)),
      table_(table),
      attack_(std::move(attack)),
      etcd_(etcd_options(cfg)),
      root_(cfg.cluster.prefix + "/") {}

Cluster::~Cluster() { stop(); }

void Cluster::start() {
    log::info("cluster: node " + cfg_.node + (cfg_.region.empty() ? "" : " (" + cfg_.region + ")") +
              ", prefix " + cfg_.prefix + ", verdict " + rule_name(rule_) + ", " +
              std::to_string(cfg_.probes_per_check) + " probes per check, etcd " +
              etcd_.endpoint());
    watch_thread_ = std::thread([this] { watch_loop(); });
    thread_ = std::thread([this] { run(); });
}

void Cluster::stop() {
    if (!thread_.joinable() && !watch_thread_.joinable()) {
        return;
    }
    stop_.store(true);
    watch_abort_.store(true);
    {
        std::lock_guard lock(wake_mutex_);
        wake_.notify_all();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
    if (watch_thread_.joinable()) {
        watch_thread_.join();
    }
    if (lease_ != 0) {
        std::string error;
        etcd_.call("lease/revoke", json{{"ID", std::to_string(lease_)}}, error, 500);
        lease_ = 0;
    }
}

void Cluster::set_inventory(Inventory inv) {
    std::lock_guard lock(inv_mutex_);
    pending_inventory_ = std::move(inv);
}

Numbers Cluster::numbers() const {
    std::lock_guard lock(status_mutex_);
    return numbers_;
}

nlohmann::ordered_json Cluster::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

bool Cluster::reachable() const {
    std::lock_guard lock(view_mutex_);
    return lease_ok_ && watch_connected_;
}

// ---- the watch thread ------------------------------------------------------------------------

void Cluster::watch_loop() {
    int64_t backoff = 100;
    while (!stop_.load()) {
        watch_abort_.store(false);
        std::string error;
        std::optional<json> r = etcd_.call("kv/range", range_of(root_), error);
        if (r) {
            std::map<std::string, std::string> kv;
            for (const auto& item : r->value("kvs", json::array())) {
                auto k = base64_decode(item.value("key", ""));
                auto v = base64_decode(item.value("value", ""));
                if (k && v) {
                    kv[*k] = *v;
                }
            }
            int64_t rev = int_field(r->value("header", json::object()), "revision");
            {
                std::lock_guard lock(view_mutex_);
                view_ = std::move(kv);
                view_revision_ = rev;
                ++view_version_;
                watch_connected_ = true;
                watch_error_.clear();
            }
            backoff = 100;
            json req = range_of(root_);
            req["start_revision"] = std::to_string(rev + 1);
            req["progress_notify"] = true;
            bool relist = false;
            error = etcd_.watch(
                req,
                [&](const json& msg) {
                    if (msg.contains("error")) {
                        return false;
                    }
                    const json& res = msg.value("result", json::object());
                    if (res.value("canceled", false) || int_field(res, "compact_revision") > 0) {
                        relist = true;
                        return false;
                    }
                    std::lock_guard lock(view_mutex_);
                    for (const auto& ev : res.value("events", json::array())) {
                        const json& kvj = ev.value("kv", json::object());
                        auto k = base64_decode(kvj.value("key", ""));
                        if (!k) {
                            continue;
                        }
                        if (ev.value("type", "") == "DELETE") {
                            view_.erase(*k);
                        } else if (auto v = base64_decode(kvj.value("value", "")); v) {
                            view_[*k] = *v;
                        }
                    }
                    int64_t rev_now = int_field(res.value("header", json::object()), "revision");
                    view_revision_ = std::max(view_revision_, rev_now);
                    ++view_version_;
                    return true;
                },
                watch_abort_);
            if (relist) {
                log::info("cluster: watch history compacted or cancelled; listing again");
                continue;
            }
        }
        {
            std::lock_guard lock(view_mutex_);
            if (watch_connected_ || watch_error_ != error) {
                if (!stop_.load()) {
                    log::warn("cluster: etcd watch lost: " + error);
                }
            }
            watch_connected_ = false;
            watch_error_ = error;
        }
        if (stop_.load()) {
            break;
        }
        etcd_.rotate();
        std::unique_lock lock(wake_mutex_);
        wake_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return stop_.load(); });
        backoff = std::min<int64_t>(backoff * 2, 2000);
    }
}

// ---- the cluster thread ----------------------------------------------------------------------

void Cluster::run() {
    while (!stop_.load()) {
        tick();
        std::unique_lock lock(wake_mutex_);
        wake_.wait_for(lock, std::chrono::milliseconds(kTickMs), [this] { return stop_.load(); });
    }
}

std::string Cluster::member_value() const {
    json zones = json::object();
    for (const auto& [zone, serial] : inventory_.zones) {
        zones[zone] = serial;
    }
    return json{
        {"region", cfg_.region}, {"checks", digest_}, {"zones", zones}, {"since", unix_ms()}}
        .dump();
}

void Cluster::keep_lease(int64_t now) {
    std::string error;
    const int64_t period = std::max<int64_t>(500, int64_t{cfg_.lease_ttl_s} * 1000 / 3);
    if (lease_ == 0) {
        if (now < next_lease_try_ms_) {
            return;
        }
        auto r = etcd_.call("lease/grant", json{{"TTL", std::to_string(cfg_.lease_ttl_s)}}, error);
        int64_t id = r ? int_field(*r, "ID") : 0;
        if (id == 0) {
            if (lease_ok_ || next_lease_try_ms_ == 0) {
                log::warn("cluster: no lease from etcd: " +
                          (error.empty() ? std::string("no ID in the answer") : error));
            }
            std::lock_guard lock(view_mutex_);
            lease_ok_ = false;
            next_lease_try_ms_ = now + 1000;
            return;
        }
        lease_ = id;
        last_keepalive_ms_ = now;
        member_dirty_ = true;
        published_.clear();  // the old lease took our verdicts with it
        log::info("cluster: joined with lease " + std::to_string(id));
        std::lock_guard lock(view_mutex_);
        lease_ok_ = true;
        return;
    }
    if (now - last_keepalive_ms_ < (lease_ok_ ? period : 500)) {
        return;
    }
    last_keepalive_ms_ = now;
    auto r = etcd_.call("lease/keepalive", json{{"ID", std::to_string(lease_)}}, error);
    if (!r) {
        if (lease_ok_) {
            log::warn("cluster: lease keepalive failed: " + error);
        }
        std::lock_guard lock(view_mutex_);
        lease_ok_ = false;
        watch_abort_.store(true);  // reconnect the watch too, maybe to another member
        return;
    }
    if (int_field(r->value("result", json::object()), "TTL") <= 0) {
        log::warn("cluster: lease " + std::to_string(lease_) + " expired; joining again");
        lease_ = 0;
        next_lease_try_ms_ = 0;
        return;
    }
    std::lock_guard lock(view_mutex_);
    lease_ok_ = true;
}

void Cluster::ignore(const std::string& key, const std::string& value, const std::string& why) {
    ++ignored_;
    if (logged_.size() > kMaxLogged) {
        logged_.clear();
    }
    if (logged_.insert(key + '\n' + value).second) {
        std::string shown = value.size() > 80 ? value.substr(0, 80) + "..." : value;
        log::warn("cluster: ignoring " + key + " = '" + shown + "': " + why);
    }
}

void Cluster::parse_view(const std::map<std::string, std::string>& kv) {
    members_.clear();
    votes_.clear();
    overrides_.clear();
    attack_on_ = false;
    const int64_t now = unix_ms();
    for (const auto& entry : kv) {
        const std::string& key = entry.first;
        const std::string& value = entry.second;
        std::string rel = key.substr(root_.size());
        json j = json::parse(value, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            ignore(key, value, "not a JSON object");
            continue;
        }
        auto field = [&j](const char* name) -> std::string {
            auto it = j.find(name);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        if (rel.starts_with("members/") && rel.find('/', 8) == std::string::npos &&
            rel.size() > 8) {
            MemberRec m;
            m.region = field("region");
            m.digest = field("checks");
            if (auto z = j.find("zones"); z != j.end() && z->is_object()) {
                for (const auto& [zone, serial] : z->items()) {
                    if (serial.is_number_unsigned()) {
                        m.zones[zone] = serial.get<uint32_t>();
                    }
                }
            }
            members_[rel.substr(8)] = std::move(m);
        } else if (rel.starts_with("verdicts/")) {
            size_t slash = rel.find('/', 9);
            std::string state = field("state");
            auto t = j.find("time");
            if (slash == std::string::npos || slash == 9 || slash + 1 >= rel.size() ||
                rel.find('/', slash + 1) != std::string::npos) {
                ignore(key, value, "not verdicts/<check>/<node>");
            } else if (state != "up" && state != "down") {
                ignore(key, value, "state is neither up nor down");
            } else if (t == j.end() || !t->is_number_integer() || t->get<int64_t>() <= 0) {
                ignore(key, value, "no time");
            } else if (t->get<int64_t>() > now + kFutureSlackMs) {
                ignore(key, value, "time in the future");
            } else {
                VoteRec v;
                v.node = rel.substr(slash + 1);
                v.up = state == "up";
                v.time_ms = t->get<int64_t>();
                v.reason = field("reason");
                v.rtt_us = j.value("rtt_us", int64_t{0});
                votes_[rel.substr(9, slash - 9)].push_back(std::move(v));
            }
        } else if (rel.starts_with("overrides/")) {
            OverrideRec o;
            std::string rest = rel.substr(10);
            size_t a = rest.find('/');
            size_t b = a == std::string::npos ? a : rest.find('/', a + 1);
            std::string state = field("state");
            if (b == std::string::npos || rest.find('/', b + 1) != std::string::npos ||
                (state != "up" && state != "down")) {
                ignore(key, value, "not overrides/<zone>/<pool>/<origin> with state up or down");
                continue;
            }
            o.zone = rest.substr(0, a);
            o.pool = rest.substr(a + 1, b - a - 1);
            o.origin = rest.substr(b + 1);
            o.state = state == "up" ? probes::Override::kUp : probes::Override::kDown;
            overrides_.push_back(std::move(o));
        } else if (rel == "attack") {
            auto on = j.find("on");
            if (on == j.end() || !on->is_boolean()) {
                ignore(key, value, "no boolean 'on'");
            } else {
                attack_on_ = on->get<bool>();
            }
        } else {
            ignore(key, value, "unknown key");
        }
    }
}

void Cluster::take_view() {
    std::map<std::string, std::string> kv;
    int64_t revision = 0;
    {
        std::lock_guard lock(view_mutex_);
        if (view_version_ == seen_version_) {
            return;
        }
        seen_version_ = view_version_;
        kv = view_;
        revision = view_revision_;
    }
    parse_view(kv);
    seen_revision_ = revision;
}

void Cluster::assign(bool probe_all) {
    std::vector<Member> live;
    for (const auto& entry : members_) {
        live.push_back(Member{entry.first, entry.second.region});
    }
    if (members_.count(cfg_.node) == 0) {
        live.push_back(Member{cfg_.node, cfg_.region});
    }
    for (const Check& c : checks_) {
        bool here = probe_all;
        if (!here) {
            auto chosen = choose(c.id, live, cfg_.probes_per_check);
            here = std::find(chosen.begin(), chosen.end(), cfg_.node) != chosen.end();
        }
        auto it = mine_.find(c.cell);
        if (it != mine_.end() && it->second == here) {
            continue;
        }
        if (here) {
            assigned_checks_[c.cell] = table_.snapshot(c.cell).checks;
        }
        table_.set_probing(c.cell, here);
        mine_[c.cell] = here;
    }
}

void Cluster::publish_verdicts() {
    if (lease_ == 0 || !lease_ok_) {
        return;
    }
    for (const Check& c : checks_) {
        const std::string key = root_ + "verdicts/" + c.id + "/" + cfg_.node;
        auto pub = published_.find(c.cell);
        std::string error;
        if (!mine_[c.cell]) {
            if (pub != published_.end()) {
                if (etcd_.call("kv/deleterange", json{{"key", base64_encode(key)}}, error)) {
                    published_.erase(pub);
                }
            }
            continue;
        }
        probes::CellSnapshot s = table_.snapshot(c.cell);
        if (s.probed == probes::State::kUnknown || s.checks <= assigned_checks_[c.cell] ||
            (pub != published_.end() && pub->second == s.probed)) {
            continue;
        }
        json v = {{"state", state_text(s.probed)},
                  {"reason", s.last_error},
                  {"time", unix_ms()},
                  {"rtt_us", s.last_latency_us}};
        json req = {{"key", base64_encode(key)},
                    {"value", base64_encode(v.dump())},
                    {"lease", std::to_string(lease_)}};
        if (etcd_.call("kv/put", req, error)) {
            published_[c.cell] = s.probed;
        } else {
            log::warn("cluster: publishing a verdict failed: " + error);
            return;
        }
    }
}

void Cluster::compute_verdicts() {
    disagreements_ = 0;
    for (const Check& c : checks_) {
        std::vector<Vote> votes;
        auto it = votes_.find(c.id);
        if (it != votes_.end()) {
            for (const VoteRec& v : it->second) {
                auto m = members_.find(v.node);
                if (m != members_.end()) {
                    votes.push_back(Vote{v.node, m->second.region, v.up});
                }
            }
        }
        if (votes.empty()) {
            continue;  // the last cluster verdict (or, before the first, the local one) holds
        }
        probes::State s =
            decide(rule_, cfg_.threshold, votes) ? probes::State::kUp : probes::State::kDown;
        auto pub = published_.find(c.cell);
        if (pub != published_.end() && pub->second != s) {
            ++disagreements_;
        }
        auto& applied = cluster_state_[c.cell];
        if (applied != s) {
            if (applied != probes::State::kUnknown) {
                log::info("cluster: check " + c.key + " " + state_text(applied) + " -> " +
                          state_text(s) + " (" + std::to_string(votes.size()) + " votes, " +
                          rule_name(rule_) + ")");
            }
            applied = s;
        }
        table_.set_cluster(c.cell, s);
    }
}

void Cluster::apply_overrides() {
    std::map<int32_t, probes::Override> want;
    for (const OverrideRec& o : overrides_) {
        for (const auto& orig : inventory_.origins) {
            if ((o.zone == "*" || o.zone == orig.zone) && o.pool == orig.pool &&
                o.origin == orig.origin) {
                for (int32_t cell : orig.cells) {
                    want[cell] = o.state;
                }
            }
        }
    }
    for (auto it = overridden_.begin(); it != overridden_.end();) {
        if (want.count(*it) == 0) {
            table_.set_override(*it, probes::Override::kAuto);
            it = overridden_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& entry : want) {
        if (table_.override_of(entry.first) != entry.second) {
            table_.set_override(entry.first, entry.second);
        }
        overridden_.insert(entry.first);
    }
    if (attack_on_ != attack_applied_ && attack_on_.has_value()) {
        if (attack_applied_.has_value() || *attack_on_) {
            attack_(*attack_on_);
        }
        attack_applied_ = attack_on_;
    }
}

void Cluster::tick() {
    const int64_t now = steady_ms();
    {
        std::lock_guard lock(inv_mutex_);
        if (pending_inventory_) {
            inventory_ = std::move(*pending_inventory_);
            pending_inventory_.reset();
            checks_.clear();
            std::set<int32_t> cells;
            std::vector<std::string> keys;
            for (const auto& c : inventory_.checks) {
                if (c.cell >= 0 && cells.insert(c.cell).second) {
                    checks_.push_back(Check{c.cell, check_id(c.key), c.key});
                    keys.push_back(c.key);
                }
            }
            std::sort(keys.begin(), keys.end());
            std::string all;
            for (const auto& k : keys) {
                all += k + '\n';
            }
            digest_ = hex64(hash::fnv1a(all));
            member_dirty_ = true;
            mine_.clear();  // assign() sets every cell again
        }
    }
    keep_lease(now);
    if (lease_ != 0 && lease_ok_ && member_dirty_) {
        std::string error;
        json req = {{"key", base64_encode(root_ + "members/" + cfg_.node)},
                    {"value", base64_encode(member_value())},
                    {"lease", std::to_string(lease_)}};
        if (etcd_.call("kv/put", req, error)) {
            member_dirty_ = false;
        } else {
            log::warn("cluster: publishing the member record failed: " + error);
        }
    }
    take_view();
    const bool ok = reachable();
    if (ok) {
        if (unreachable_since_ms_ != 0) {
            log::info(std::string("cluster: etcd reachable again") +
                      (fallback_ ? "; cluster verdicts apply again" : ""));
        }
        unreachable_since_ms_ = 0;
        probe_all_ = false;
        fallback_ = false;
    } else {
        if (unreachable_since_ms_ == 0) {
            unreachable_since_ms_ = now;
        }
        const int64_t down_for = now - unreachable_since_ms_;
        if (!probe_all_ && down_for >= std::min<int64_t>(kProbeAllAfterMs, cfg_.grace_ms)) {
            probe_all_ = true;
            log::warn(
                "cluster: etcd unreachable; probing every check here, keeping the cluster "
                "verdicts for the grace period");
        }
        if (!fallback_ && down_for >= cfg_.grace_ms) {
            fallback_ = true;
            log::warn("cluster: etcd unreachable for the grace period (" +
                      std::to_string(cfg_.grace_ms / 1000.0) +
                      " s): answering from this node's own probes");
            for (const Check& c : checks_) {
                table_.set_cluster(c.cell, probes::State::kUnknown);
            }
            cluster_state_.clear();
        }
    }
    assign(probe_all_);
    if (ok) {
        publish_verdicts();
        compute_verdicts();
    }
    apply_overrides();
    {
        std::lock_guard lock(applied_mutex_);
        applied_revision_ = seen_revision_;
    }
    applied_cv_.notify_all();
    build_status(now);
}

void Cluster::build_status(int64_t now) {
    (void)now;
    Numbers n;
    n.members = members_.size();
    n.reachable = reachable();
    n.fallback = fallback_;
    n.checks = checks_.size();
    for (const auto& entry : mine_) {
        n.checks_here += entry.second ? 1 : 0;
    }
    n.disagreements = disagreements_;
    n.revision = seen_revision_;
    n.ignored = ignored_;
    nlohmann::ordered_json j;
    j["node"] = cfg_.node;
    j["region"] = cfg_.region;
    j["verdict"] = rule_name(rule_);
    j["probes_per_check"] = cfg_.probes_per_check;
    j["etcd_reachable"] = n.reachable;
    j["endpoint"] = etcd_.endpoint();
    j["mode"] = n.reachable ? "cluster" : fallback_ ? "fallback" : "grace";
    j["revision"] = n.revision;
    j["lease"] = std::to_string(lease_);
    nlohmann::ordered_json members = nlohmann::ordered_json::object();
    size_t drift = 0;
    for (const auto& [node, m] : members_) {
        std::string differs;
        if (node != cfg_.node) {
            if (m.digest != digest_) {
                differs = "checks";
            }
            for (const auto& [zone, serial] : inventory_.zones) {
                auto z = m.zones.find(zone);
                if (z == m.zones.end() || z->second != serial) {
                    differs += (differs.empty() ? "" : ", ") + std::string("zone ") + zone;
                }
            }
        }
        drift += differs.empty() ? 0 : 1;
        members[node] = {{"region", m.region}, {"checks", m.digest}, {"drift", differs}};
    }
    n.drift = drift;
    j["members"] = std::move(members);
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const Check& c : checks_) {
        nlohmann::ordered_json votes = nlohmann::ordered_json::object();
        if (auto it = votes_.find(c.id); it != votes_.end()) {
            for (const VoteRec& v : it->second) {
                votes[v.node] = {{"state", v.up ? "up" : "down"},
                                 {"reason", v.reason},
                                 {"time_ms", v.time_ms},
                                 {"rtt_us", v.rtt_us}};
            }
        }
        auto cs = cluster_state_.find(c.cell);
        checks.push_back(
            {{"id", c.id},
             {"check", c.key},
             {"cluster",
              state_text(cs != cluster_state_.end() ? cs->second : probes::State::kUnknown)},
             {"here", mine_[c.cell]},
             {"votes", std::move(votes)}});
    }
    j["checks"] = std::move(checks);
    std::lock_guard lock(status_mutex_);
    numbers_ = n;
    status_ = std::move(j);
}

// ---- the API thread --------------------------------------------------------------------------

bool Cluster::wait_applied(int64_t revision) {
    std::unique_lock lock(applied_mutex_);
    return applied_cv_.wait_for(lock, std::chrono::milliseconds(kApplyWaitMs),
                                [&] { return applied_revision_ >= revision; });
}

int Cluster::put_override(const std::string& zone, const std::string& pool,
                          const std::string& origin, const std::string& state,
                          const std::string& who, std::string& message) {
    const std::string key =
        root_ + "overrides/" + (zone.empty() ? "*" : zone) + "/" + pool + "/" + origin;
    std::string error;
    std::optional<json> r;
    if (state == "auto") {
        r = etcd_.call("kv/deleterange", json{{"key", base64_encode(key)}}, error);
    } else {
        json v = {{"state", state}, {"who", who}, {"when", unix_ms()}};
        r = etcd_.call(
            "kv/put", json{{"key", base64_encode(key)}, {"value", base64_encode(v.dump())}}, error);
    }
    if (!r) {
        message = "etcd: " + error;
        return 503;
    }
    int64_t rev = int_field(r->value("header", json::object()), "revision");
    if (!wait_applied(rev)) {
        message = "written to etcd (revision " + std::to_string(rev) +
                  ") but not applied here within 2 s";
        return 504;
    }
    message = "applied at revision " + std::to_string(rev);
    return 200;
}

int Cluster::put_attack(bool on, const std::string& who, std::string& message) {
    const std::string key = root_ + "attack";
    std::string error;
    json v = {{"on", on}, {"who", who}, {"when", unix_ms()}};
    auto r = etcd_.call(
        "kv/put", json{{"key", base64_encode(key)}, {"value", base64_encode(v.dump())}}, error);
    if (!r) {
        message = "etcd: " + error;
        return 503;
    }
    int64_t rev = int_field(r->value("header", json::object()), "revision");
    if (!wait_applied(rev)) {
        message = "written to etcd but not applied here within 2 s";
        return 504;
    }
    message = "applied at revision " + std::to_string(rev);
    return 200;
}

}  // namespace dnslb::cluster
