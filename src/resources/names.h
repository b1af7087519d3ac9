// Names and ids of the management plane, checked against ARM's rules before
// anything that holds them is stored: a name that reached a row is echoed
// by every later listing, so a bad one must be refused at the door (with
// ARM's error code as the Status reason), whatever route it came by.
//
// Every validator accepts only valid UTF-8 without control characters.
// Messages may quote the name; surfaces serialize them with DumpJson or
// http::Response::Error, which never fail on the bytes.
//
// Thread safety: pure functions.
#ifndef ATREST_RESOURCES_NAMES_H_
#define ATREST_RESOURCES_NAMES_H_

#include <string_view>

#include "base/status.h"

namespace atrest::resources {

// 8-4-4-4-12 hex digits of either case, as ARM spells GUIDs.
bool IsGuid(std::string_view s);

// Role assignment names are GUIDs; else InvalidArgument
// "InvalidRoleAssignmentId".
Status ValidateRoleAssignmentName(std::string_view name);

// 1-90 letters, digits, '_', '(', ')', '-' or '.', not ending in '.'; else
// InvalidArgument "InvalidResourceGroup".
Status ValidateGroupName(std::string_view name);

// The name of a resource (or of a subscription id segment): 1-260 bytes of
// UTF-8 without control characters or any of < > * % & : \ ? / #; else
// InvalidArgument "InvalidResourceName".
Status ValidateResourceName(std::string_view name);

// Scopes: NormalizeScope (resources/scope.h).

}  // namespace atrest::resources

#endif  // ATREST_RESOURCES_NAMES_H_
