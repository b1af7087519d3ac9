// Headers: an ordered multimap of HTTP header fields with case-insensitive
// name lookup, independent of any socket or parser.
//
// Names keep the case they were added with (for output); lookups compare
// names ASCII case-insensitively, as RFC 9110 requires.
//
// Thread safety: a value type; const methods may be called concurrently.
#ifndef ATREST_HTTP_HEADERS_H_
#define ATREST_HTTP_HEADERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atrest::http {

// ASCII case-insensitive equality, for header names and hosts.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// ASCII lower-case copy.
std::string ToLowerAscii(std::string_view s);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends a field; an existing field of the same name is kept.
  void Add(std::string name, std::string value);
  // Replaces every field named `name` with one field.
  void Set(std::string name, std::string value);
  // Removes every field named `name`.
  void Remove(std::string_view name);

  // The first value of `name`, or nullopt. The view is valid until the next
  // non-const call.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_HEADERS_H_
