#include "dnslb/zone/reader.hpp"

#include <algorithm>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dnslb::zone::detail {

namespace {

// Builds one JSON value from SAX events, appending object members in O(1) (an object of many
// keys gets a hash index for the duplicate check).
class DomBuilder {
public:
    void start(Json* slot) {
        slot_ = slot;
        stack_.clear();
    }
    size_t depth() const { return stack_.size(); }

    void scalar(Json&& v) { *take_slot() = std::move(v); }
    void start_object() { open(Json::object()); }
    void start_array() { open(Json::array()); }
    void end() {
        // JSON_DIAGNOSTICS (meson.build) gives each value a parent pointer, which nlohmann
        // asserts on; its own parser sets them with the private set_parents(), which a move
        // assignment calls.
        Json* j = stack_.back().json;
        *j = Json(std::move(*j));
        stack_.pop_back();
    }
    void key(std::string& k) {
        Frame& f = stack_.back();
        slot_ = &member(f, f.json->get_ref<Json::object_t&>(), k);
    }

private:
    static constexpr size_t kIndexFrom = 16;  // below this, a linear scan is cheaper
    struct Frame {
        Json* json;
        std::unique_ptr<std::unordered_map<std::string, size_t>> index;
    };

    Json* take_slot() {
        if (!stack_.empty() && stack_.back().json->is_array()) {
            return &stack_.back().json->get_ref<Json::array_t&>().emplace_back();
        }
        return std::exchange(slot_, nullptr);
    }
    void open(Json&& container) {
        Json* j = take_slot();
        *j = std::move(container);
        stack_.push_back(Frame{j, nullptr});
    }
    static Json& member(Frame& f, Json::object_t& obj, std::string& k) {
        if (!f.index && obj.size() >= kIndexFrom) {
            f.index = std::make_unique<std::unordered_map<std::string, size_t>>();
            for (size_t i = 0; i < obj.size(); ++i) {
                f.index->emplace((obj.begin() + static_cast<ptrdiff_t>(i))->first, i);
            }
        }
        if (f.index) {
            const auto [it, fresh] = f.index->try_emplace(k, obj.size());
            if (!fresh) {
                return (obj.begin() + static_cast<ptrdiff_t>(it->second))->second;
            }
        } else {
            for (auto& [name, value] : obj) {
                if (name == k) {
                    return value;
                }
            }
        }
        obj.emplace_back(std::move(k), Json());
        return obj.back().second;
    }

    Json* slot_ = nullptr;
    std::vector<Frame> stack_;
};

// A set of 64-bit hashes (open addressing); insert() is false when the hash was there.
class HashSet {
public:
    bool insert(uint64_t h) {
        h = h == 0 ? 1 : h;
        if ((used_ + 1) * 2 > slots_.size()) {
            grow();
        }
        const size_t mask = slots_.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            if (slots_[i] == h) {
                return false;
            }
            if (slots_[i] == 0) {
                slots_[i] = h;
                ++used_;
                return true;
            }
        }
    }
    void clear() {
        slots_.clear();
        slots_.shrink_to_fit();
        used_ = 0;
    }

private:
    void grow() {
        std::vector<uint64_t> old(std::max<size_t>(1024, slots_.size() * 2), 0);
        old.swap(slots_);
        used_ = 0;
        for (const uint64_t h : old) {
            if (h != 0) {
                insert(h);
            }
        }
    }
    std::vector<uint64_t> slots_;
    size_t used_ = 0;
};

uint64_t key_hash(const std::string& k) { return std::hash<std::string_view>()(k); }

// The SAX events nlohmann's parser delivers, forwarded to on_*() of a derived class.
template <class Derived>
class SaxBase {
public:
    bool null() { return self().on_scalar(Json(nullptr)); }
    bool boolean(bool v) { return self().on_scalar(Json(v)); }
    bool number_integer(Json::number_integer_t v) { return self().on_scalar(Json(v)); }
    bool number_unsigned(Json::number_unsigned_t v) { return self().on_scalar(Json(v)); }
    bool number_float(Json::number_float_t v, const std::string& /*text*/) {
        return self().on_scalar(Json(v));
    }
    bool string(std::string& v) { return self().on_scalar(Json(std::move(v))); }
    bool binary(Json::binary_t& v) { return self().on_scalar(Json(Json::binary_t(v))); }
    bool start_object(size_t /*n*/) { return self().on_start(true); }
    bool start_array(size_t /*n*/) { return self().on_start(false); }
    bool end_object() { return self().on_end(); }
    bool end_array() { return self().on_end(); }
    bool key(std::string& k) { return self().on_key(k); }
    template <class Exception>
    bool parse_error(size_t /*pos*/, const std::string& /*token*/, const Exception& ex) {
        throw ex;  // NOLINT(cert-err09-cpp,cert-err61-cpp): the concrete nlohmann exception
    }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

// Pass 1: the DOM without the members of /records.
class Pass1 : public SaxBase<Pass1> {
public:
    Pass1(Json& root, RecordsInfo& info) : info_(info) { dom_.start(&root); }

    bool on_scalar(Json&& v) {
        records_next_ = false;
        if (rdepth_ == 0) {
            dom_.scalar(std::move(v));
        } else if (capturing_) {
            capture_.scalar(std::move(v));
        }
        return true;
    }
    bool on_start(bool object) {
        if (rdepth_ == 0) {
            if (object && records_next_) {  // /records: an empty object stands for it
                records_next_ = false;
                dom_.start_object();
                dom_.end();
                rdepth_ = 1;
                info_.members = 0;
                info_.repeated.clear();
                seen_.clear();
                return true;
            }
            records_next_ = false;
            object ? dom_.start_object() : dom_.start_array();
            return true;
        }
        if (capturing_) {
            object ? capture_.start_object() : capture_.start_array();
        }
        ++rdepth_;
        return true;
    }
    bool on_end() {
        if (rdepth_ == 0) {
            dom_.end();
            return true;
        }
        if (--rdepth_ == 0) {  // the end of /records
            capturing_ = false;
            seen_.clear();
        } else if (capturing_) {
            capture_.end();
        }
        return true;
    }
    bool on_key(std::string& k) {
        if (rdepth_ == 0) {
            if (dom_.depth() == 1 && k == "records") {  // a key of the root object
                records_next_ = true;
                ++info_.occurrences;
            }
            dom_.key(k);
            return true;
        }
        if (rdepth_ > 1) {
            if (capturing_) {
                capture_.key(k);
            }
            return true;
        }
        // A member of /records.
        capturing_ = false;
        if (k == "$comment") {
            return true;
        }
        ++info_.members;
        if (!seen_.insert(key_hash(k))) {
            capturing_ = true;
            capture_.start(&info_.repeated[k]);
        }
        return true;
    }

private:
    RecordsInfo& info_;
    DomBuilder dom_;
    DomBuilder capture_;
    HashSet seen_;
    bool records_next_ = false;  // the last key was "records" in the root object
    size_t rdepth_ = 0;          // containers open inside /records (itself included)
    bool capturing_ = false;     // building the value of a repeated member
};

// Pass 2: each member of the last /records object, in file order, to `fn(key, value)`, until
// fn returns false.
class Pass2 : public SaxBase<Pass2> {
public:
    Pass2(const RecordsInfo& info, const RecordFn& fn) : info_(info), fn_(fn) {}

    bool on_scalar(Json&& v) {
        target_next_ = false;
        if (building_) {
            dom_.scalar(std::move(v));
            if (rdepth_ == 1) {
                return deliver();
            }
        }
        return true;
    }
    bool on_start(bool object) {
        if (rdepth_ == 0) {
            if (object && target_next_) {
                rdepth_ = 1;
            } else {
                ++depth_;
                root_object_ = root_object_ || (depth_ == 1 && object);
            }
            target_next_ = false;
            return true;
        }
        if (building_) {
            object ? dom_.start_object() : dom_.start_array();
        }
        ++rdepth_;
        return true;
    }
    bool on_end() {
        if (rdepth_ == 0) {
            --depth_;
            return true;
        }
        if (--rdepth_ == 0) {
            return false;  // the records are done; nothing else is needed from the text
        }
        if (building_) {
            dom_.end();
            if (rdepth_ == 1) {
                return deliver();
            }
        }
        return true;
    }
    bool on_key(std::string& k) {
        if (rdepth_ == 0) {
            if (depth_ == 1 && root_object_ && k == "records" && ++seen_ == info_.occurrences) {
                target_next_ = true;
            }
            return true;
        }
        if (rdepth_ > 1) {
            if (building_) {
                dom_.key(k);
            }
            return true;
        }
        building_ = false;
        if (k == "$comment") {
            return true;
        }
        if (!info_.repeated.empty()) {
            const auto it = info_.repeated.find(k);
            if (it != info_.repeated.end()) {
                // First position, last value.
                return !done_.insert(k).second || fn_(static_cast<const std::string&>(k),
                                                      static_cast<const Json&>(it->second));
            }
        }
        key_ = std::move(k);
        building_ = true;
        value_ = Json();
        dom_.start(&value_);
        return true;
    }

private:
    bool deliver() {
        building_ = false;
        const bool more =
            fn_(static_cast<const std::string&>(key_), static_cast<const Json&>(value_));
        value_ = Json();
        return more;
    }

    const RecordsInfo& info_;
    const RecordFn& fn_;
    DomBuilder dom_;
    std::string key_;
    Json value_;
    std::unordered_set<std::string> done_;  // repeated members already delivered
    size_t depth_ = 0;                      // containers open outside /records
    bool root_object_ = false;
    size_t seen_ = 0;  // "records" keys of the root object so far
    bool target_next_ = false;
    size_t rdepth_ = 0;
    bool building_ = false;
};

// nlohmann reports a byte offset; people read line and column.
[[noreturn]] void syntax_error(const std::string& file, std::string_view text,
                               const nlohmann::json::parse_error& e) {
    const size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    size_t line = 1;
    size_t col = 1;
    for (size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    std::string reason = e.what();
    const size_t colon = reason.find(": ", reason.find("parse error"));
    if (colon != std::string::npos) {
        reason = reason.substr(colon + 2);
    }
    throw LoadError(file + ": line " + std::to_string(line) + ", column " + std::to_string(col) +
                    ": " + reason);
}

}  // namespace

void read_zone_json(std::string_view text, const std::string& file, Json& root, RecordsInfo& info) {
    info.text = text;
    try {
        Pass1 sax(root, info);
        Json::sax_parse(text, &sax);
    } catch (const nlohmann::json::parse_error& e) {
        syntax_error(file, text, e);
    } catch (const nlohmann::json::exception& e) {
        // Not a syntax error but still the parser's: a number too large for a double (1e400).
        std::string why = e.what();
        auto close = why.find("] ");
        throw LoadError(file + ": " + (close == std::string::npos ? why : why.substr(close + 2)));
    }
}

void stream_records(const RecordsInfo& info, const RecordFn& fn) {
    Pass2 sax(info, fn);
    Json::sax_parse(info.text, &sax, nlohmann::detail::input_format_t::json, false);
}

}  // namespace dnslb::zone::detail
