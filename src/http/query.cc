#include "http/query.h"

#include "base/bytes.h"
#include "http/headers.h"

namespace atrest::http {

Result<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 2 < in.size() ? HexDigitValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexDigitValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgumentError(
            "malformed percent-encoding in request target");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<QueryParams> ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view field = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (field.empty()) continue;
    size_t eq = field.find('=');
    std::string_view name = field.substr(0, eq);
    std::string_view value = eq == std::string_view::npos
                                 ? std::string_view()
                                 : field.substr(eq + 1);
    ASSIGN_OR_RETURN(std::string dname, PercentDecode(name, true));
    ASSIGN_OR_RETURN(std::string dvalue, PercentDecode(value, true));
    params.emplace_back(std::move(dname), std::move(dvalue));
  }
  return params;
}

void SplitTarget(std::string_view target, std::string_view* path,
                 std::string_view* query) {
  size_t q = target.find('?');
  *path = target.substr(0, q);
  *query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

Result<std::string> HostWithoutPort(std::string_view host_header) {
  std::string_view host = host_header;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError("malformed Host header");
    }
    host = host.substr(1, close - 1);
  } else {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return InvalidArgumentError("missing Host header");
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' ||
              c == '_';
    if (!ok) return InvalidArgumentError("malformed Host header");
  }
  return ToLowerAscii(host);
}

}  // namespace atrest::http
