#include "resources/scope.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "resources/names.h"

namespace atrest::resources {
namespace {

constexpr size_t kMaxScope = 2048;

Status Invalid(std::string why) {
  return Status(StatusCode::kInvalidArgument,
                "The role assignment scope is not valid: " + why + ".",
                "InvalidScope");
}

// A provider namespace ("Microsoft.KeyVault") or a resource type ("vaults").
bool TypeWord(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.';
         });
}

bool Keyword(std::string_view segment, std::string_view keyword) {
  return segment.size() == keyword.size() &&
         std::equal(segment.begin(), segment.end(), keyword.begin(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b));
                    });
}

}  // namespace

Result<std::string> NormalizeScope(std::string_view scope) {
  if (scope.size() > kMaxScope) {
    return Invalid("it is longer than " + std::to_string(kMaxScope) +
                   " characters");
  }
  if (scope.empty() || scope.front() != '/') {
    return Invalid("it must start with /subscriptions/");
  }
  std::vector<std::string_view> segments;
  for (size_t start = 1;;) {
    const size_t slash = scope.find('/', start);
    segments.push_back(scope.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (std::string_view s : segments) {
    if (s.empty()) return Invalid("it has an empty segment");
    if (s == "." || s == "..") {
      return Invalid("it has a '.' or '..' segment");
    }
  }
  const size_t n = segments.size();
  if (n < 2 || !Keyword(segments[0], "subscriptions")) {
    return Invalid("it must start with /subscriptions/<subscription id>");
  }
  RETURN_IF_ERROR(ValidateResourceName(segments[1]));
  std::string out = "/subscriptions/" + std::string(segments[1]);
  if (n == 2) return out;
  if (n < 4 || !Keyword(segments[2], "resourceGroups")) {
    return Invalid(
        "below a subscription, a scope continues with "
        "/resourceGroups/<group>");
  }
  RETURN_IF_ERROR(ValidateGroupName(segments[3]));
  out += "/resourceGroups/" + std::string(segments[3]);
  if (n == 4) return out;
  // providers/<namespace>/<type>/<name>, then <type>/<name> pairs.
  if (!Keyword(segments[4], "providers") || n < 8 || (n - 6) % 2 != 0) {
    return Invalid(
        "below a resource group, a scope continues with "
        "/providers/<namespace>/<type>/<name>");
  }
  out += "/providers";
  for (size_t i = 5; i < n; ++i) {
    // Namespace and types at 5, 6, 8, ...; names at 7, 9, ...
    if (i == 5 || i % 2 == 0) {
      if (!TypeWord(segments[i])) {
        return Invalid(
            "a provider namespace or resource type is 1 to 64 letters, "
            "digits or '.'");
      }
    } else {
      RETURN_IF_ERROR(ValidateResourceName(segments[i]));
    }
    out += "/";
    out += segments[i];
  }
  return out;
}

}  // namespace atrest::resources
