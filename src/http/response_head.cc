#include "http/response_head.h"

#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include "http/headers.h"

namespace atrest::http {
namespace {

// Beast stores a field's name and value lengths plus 2 in 16 bits and
// throws beyond that; such a response is left to Beast.
constexpr size_t kMaxFieldPart = std::numeric_limits<uint16_t>::max() - 2;

// What Beast's basic_fields does to a value on insert (detail::trim):
// drops leading and trailing spaces and tabs.
std::string_view TrimBlanks(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

bool BeastRewrites(std::string_view name) {
  return EqualsIgnoreCase(name, "Connection") ||
         EqualsIgnoreCase(name, "Content-Length") ||
         EqualsIgnoreCase(name, "Transfer-Encoding");
}

}  // namespace

bool AppendResponseHead(const Response& res, bool keep_alive, size_t body_size,
                        std::string& out) {
  const int code = res.status;
  if (code < 200 || code > 999 || code == 204 || code == 304) return false;
  for (const auto& [name, value] : res.headers.fields()) {
    if (name.size() > kMaxFieldPart || value.size() > kMaxFieldPart ||
        BeastRewrites(name)) {
      return false;
    }
  }
  const auto reason = boost::beast::http::obsolete_reason(
      static_cast<boost::beast::http::status>(code));
  out += "HTTP/1.1 ";
  out += static_cast<char>('0' + code / 100);
  out += static_cast<char>('0' + code / 10 % 10);
  out += static_cast<char>('0' + code % 10);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [name, value] : res.headers.fields()) {
    out += name;
    out += ": ";
    out += TrimBlanks(value);
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  char digits[24];  // Enough for any size_t, so to_chars cannot fail.
  const std::to_chars_result n =
      std::to_chars(digits, digits + sizeof(digits), body_size);
  out += "Content-Length: ";
  out.append(digits, n.ptr);
  out += "\r\n\r\n";
  return true;
}

}  // namespace atrest::http
