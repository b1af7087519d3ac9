#include "resources/names.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/utf8.h"

namespace atrest::resources {
namespace {

Status Refused(std::string reason, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message),
                std::move(reason));
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
           };
           return lower(x) == lower(y);
         });
}

// A provider namespace ("Microsoft.KeyVault") or a resource type ("vaults").
bool ValidTypeWord(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAsciiAlnum(c) || c == '.'; });
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.push_back("");  // A trailing '/'.
  }
  return out;
}

Status BadScope(std::string_view scope) {
  return Refused("InvalidScope",
                 "The scope '" + std::string(scope) +
                     "' is not valid: use /subscriptions/{id}[/resourceGroups/"
                     "{group}[/providers/{namespace}/{type}/{name}]].");
}

}  // namespace

bool IsGuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

Status ValidateRoleAssignmentName(std::string_view name) {
  if (IsGuid(name)) return Status::Ok();
  return Refused("InvalidRoleAssignmentId",
                 "The role assignment ID '" + std::string(name) +
                     "' is not valid. The role assignment ID must be a GUID.");
}

Status ValidateGroupName(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 90 && name.back() != '.' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return IsAsciiAlnum(c) || c == '_' || c == '(' ||
                           c == ')' || c == '-' || c == '.';
                  });
  if (ok) return Status::Ok();
  return Refused("InvalidResourceGroup",
                 "resource group name '" + std::string(name) +
                     "' is invalid: use 1-90 letters, digits, '_', '(', ')', "
                     "'-' or '.', not ending in '.'");
}

Status ValidateResourceName(std::string_view name) {
  constexpr std::string_view kForbidden = "<>*%&:\\?/#";
  const bool ok = !name.empty() && name.size() <= 260 && IsValidUtf8(name) &&
                  std::none_of(name.begin(), name.end(), [&](char ch) {
                    const auto c = static_cast<unsigned char>(ch);
                    return c < 0x20 || c == 0x7f ||
                           kForbidden.find(ch) != std::string_view::npos;
                  });
  if (ok) return Status::Ok();
  return Refused("InvalidResourceName",
                 "The resource name '" + std::string(name) +
                     "' is invalid: it must be 1-260 characters of UTF-8 "
                     "without control characters or any of <>*%&:\\?/#.");
}

Status ValidateScope(std::string_view scope) {
  // "" (before the leading '/'), "subscriptions", the id, then pairs.
  const std::vector<std::string_view> s = Segments(scope);
  if (s.size() < 3 || !s[0].empty() ||
      !EqualsIgnoreCase(s[1], "subscriptions")) {
    return BadScope(scope);
  }
  RETURN_IF_ERROR(ValidateResourceName(s[2]));
  if (s.size() == 3) return Status::Ok();
  if (s.size() < 5 || !EqualsIgnoreCase(s[3], "resourceGroups")) {
    return BadScope(scope);
  }
  RETURN_IF_ERROR(ValidateGroupName(s[4]));
  if (s.size() == 5) return Status::Ok();
  // providers/{namespace}, then one or more {type}/{name} pairs.
  if (s.size() < 9 || (s.size() - 7) % 2 != 0 ||
      !EqualsIgnoreCase(s[5], "providers") || !ValidTypeWord(s[6])) {
    return BadScope(scope);
  }
  for (size_t i = 7; i < s.size(); i += 2) {
    if (!ValidTypeWord(s[i])) return BadScope(scope);
    RETURN_IF_ERROR(ValidateResourceName(s[i + 1]));
  }
  return Status::Ok();
}

}  // namespace atrest::resources
