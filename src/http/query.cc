#include "http/query.h"

#include <arpa/inet.h>

#include "base/bytes.h"
#include "http/headers.h"

namespace atrest::http {
namespace {

constexpr size_t kMaxHostName = 253;
constexpr size_t kMaxLabel = 63;

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Labels of 1-63 name characters separated by single dots.
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostName) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (!IsHostNameChar(c) || ++label > kMaxLabel) {
      return false;
    }
  }
  return label != 0;
}

// 1-5 digits, at most 65535.
bool IsPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value <= 65535;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view v) {
  while (!v.empty() && IsBlank(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsBlank(v.back())) v.remove_suffix(1);
  return v;
}

}  // namespace

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
    if (!IsValidUtf8(dname) || !IsValidUtf8(dvalue)) {
      return InvalidArgumentError(
          "parameter names and values must be UTF-8 once percent-decoded");
    }
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

Result<HostPort> ParseHostHeader(std::string_view value) {
  const Status bad = InvalidArgumentError(
      "malformed Host header: expected a host name or IP address and an "
      "optional numeric port");
  if (value.empty()) return InvalidArgumentError("missing Host header");
  std::string_view host, port;
  bool ipv6 = false;
  if (value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos) return bad;
    host = value.substr(1, close - 1);
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad;
      port = rest.substr(1);
      if (!IsPort(port)) return bad;
    }
    ipv6 = true;
  } else {
    size_t colon = value.find(':');
    host = value.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = value.substr(colon + 1);
      if (!IsPort(port)) return bad;  // Also a second ':' or an '@'.
    }
  }
  if (ipv6) {
    // inet_pton wants a NUL-terminated string; 45 characters at most.
    unsigned char addr[16];
    if (host.size() > 45 ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") !=
            std::string_view::npos) {
      return bad;  // Also a NUL, which would end the text inet_pton sees.
    }
    std::string text(host);
    if (inet_pton(AF_INET6, text.c_str(), addr) != 1) return bad;
    return HostPort{ToLowerAscii(host), std::string(port)};
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (!IsHostName(host)) return bad;
  return HostPort{ToLowerAscii(host), std::string(port)};
}

Status CheckTransferEncoding(const std::vector<std::string_view>& values) {
  if (values.empty()) return Status::Ok();
  size_t codings = 0;
  for (std::string_view v : values) {
    while (true) {
      size_t comma = v.find(',');
      std::string_view coding = TrimBlanks(v.substr(0, comma));
      if (!coding.empty()) {
        if (!EqualsIgnoreCase(coding, "chunked")) {
          return InvalidArgumentError(
              "unsupported Transfer-Encoding: it must be 'chunked' alone, "
              "atrest decodes no other transfer coding");
        }
        ++codings;
      }
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  if (codings != 1) {
    return InvalidArgumentError(
        "malformed Transfer-Encoding: it must be exactly 'chunked'");
  }
  return Status::Ok();
}

}  // namespace atrest::http
