// Typed reads of fields of untrusted JSON objects (nlohmann::json) that never
// throw: a missing field, a field of another type, or a value out of range
// gives the default. nlohmann's json::value() throws type_error when the
// field exists with another type, so code reading request bodies, vault
// answers or stored JSON uses these instead.
//
// Header-only; callers link nlohmann_json.
#ifndef ATREST_BASE_JSON_FIELDS_H_
#define ATREST_BASE_JSON_FIELDS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace atrest {

// o[name] when `o` is an object holding a string there; else `def`.
inline std::string JsonString(const nlohmann::json& o, const char* name,
                              std::string def = "") {
  if (!o.is_object()) return def;
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : def;
}

// o[name] when it is an integer that fits int64_t; else `def`.
inline int64_t JsonInt(const nlohmann::json& o, const char* name,
                       int64_t def = 0) {
  if (!o.is_object()) return def;
  auto it = o.find(name);
  if (it == o.end()) return def;
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    return it->get<int64_t>();
  }
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(it->get<uint64_t>());
  }
  return def;
}

}  // namespace atrest

#endif  // ATREST_BASE_JSON_FIELDS_H_
