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

}  // namespace atrest::resources
