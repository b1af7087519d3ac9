#include "resources/scope.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace atrest::resources {
namespace {

constexpr size_t kMaxScope = 2048;
constexpr size_t kMaxSegment = 260;
constexpr size_t kMaxGroup = 90;

Status Invalid(std::string why) {
  return Status(StatusCode::kInvalidArgument,
                "The role assignment scope is not valid: " + why + ".",
                "InvalidScope");
}

bool SegmentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '(' || c == ')' || c == '-';
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
    if (s.size() > kMaxSegment ||
        !std::all_of(s.begin(), s.end(), SegmentChar)) {
      return Invalid("a segment is not 1 to " + std::to_string(kMaxSegment) +
                     " letters, digits or ._()-");
    }
  }
  const size_t n = segments.size();
  if (n < 2 || !Keyword(segments[0], "subscriptions")) {
    return Invalid("it must start with /subscriptions/<subscription id>");
  }
  std::string out = "/subscriptions/" + std::string(segments[1]);
  if (n == 2) return out;
  if (n < 4 || !Keyword(segments[2], "resourceGroups")) {
    return Invalid(
        "below a subscription, a scope continues with "
        "/resourceGroups/<group>");
  }
  const std::string_view group = segments[3];
  if (group.size() > kMaxGroup || group.back() == '.') {
    return Invalid(
        "a resource group name is 1 to 90 characters, not ending "
        "in '.'");
  }
  out += "/resourceGroups/" + std::string(group);
  if (n == 4) return out;
  // providers/<namespace>/<type>/<name>, then <type>/<name> pairs.
  if (!Keyword(segments[4], "providers") || n < 8 || (n - 6) % 2 != 0) {
    return Invalid(
        "below a resource group, a scope continues with "
        "/providers/<namespace>/<type>/<name>");
  }
  out += "/providers";
  for (size_t i = 5; i < n; ++i) {
    out += "/";
    out += segments[i];
  }
  return out;
}

}  // namespace atrest::resources
