// Role assignment scopes: the one check that a scope a caller sent names a
// real ARM scope, and its normal form.
//
// A scope is one of
//   /subscriptions/{subscription}
//   /subscriptions/{subscription}/resourceGroups/{group}
//   /subscriptions/{subscription}/resourceGroups/{group}/providers/
//       {namespace}/{type}/{name}[/{type}/{name}]...
// where every segment is 1 to 260 characters of [A-Za-z0-9._()-] and none
// is "." or ".."; a group is at most 90 characters and does not end in '.'.
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

// The normal form of `scope`, or InvalidArgument (reason "InvalidScope")
// saying what is wrong with it.
Result<std::string> NormalizeScope(std::string_view scope);

}  // namespace atrest::resources

#endif  // ATREST_RESOURCES_SCOPE_H_
