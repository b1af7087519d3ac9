// Role assignment scopes: the one check that a scope a caller sent names a
// real ARM scope, and its normal form.
//
// A scope is one of
//   /subscriptions/{subscription}
//   /subscriptions/{subscription}/resourceGroups/{group}
//   /subscriptions/{subscription}/resourceGroups/{group}/providers/
//       {namespace}/{type}/{name}[/{type}/{name}]...
// where no segment is empty, "." or ".."; the subscription and the names
// follow ValidateResourceName, the group ValidateGroupName (resources/
// names.h, whose reasons a refusal then carries), namespaces and types are
// 1 to 64 letters, digits or '.'.
// The keywords match ignoring case and come out as written above; names
// keep their case (scopes compare ignoring case, resources/roles.h). Path
// parameters arrive decoded, so "rg%2F..%2Fother" is the group
// "rg/../other": segments that shape does not allow, refused.
//
// Thread safety: pure functions.
#ifndef ATREST_RESOURCES_SCOPE_H_
#define ATREST_RESOURCES_SCOPE_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace atrest::resources {

// The normal form of `scope`, or InvalidArgument saying what is wrong with
// it: reason "InvalidScope" for the shape, else the reason of the part.
Result<std::string> NormalizeScope(std::string_view scope);

}  // namespace atrest::resources

#endif  // ATREST_RESOURCES_SCOPE_H_
