// Fuzzes the management plane's name and scope validators
// (resources/names.h), which stand between request paths and the store.
// The first byte picks the validator; the rest is the name or scope.
//
// Invariants, each checked with abort():
//  - a validator returns OK or InvalidArgument with a non-empty reason,
//    never crashes; its message serializes with DumpJson;
//  - whatever a validator accepts is valid UTF-8 without control characters
//    (it is stored and echoed by every listing);
//  - a role assignment name is accepted exactly when it is a GUID, which
//    has 36 characters;
//  - an accepted scope starts with "/subscriptions/" (any case) and has no
//    empty segment; a group name without '/' is accepted exactly when the scope
//    of that group in a valid subscription is, and so for a resource name
//    in a resource's scope.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/utf8.h"
#include "fuzz_check.h"
#include "resources/names.h"
#include "resources/scope.h"

namespace atrest::resources {
namespace {

constexpr std::string_view kSub =
    "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590";

bool Clean(std::string_view s) {
  return IsValidUtf8(s) && std::none_of(s.begin(), s.end(), [](char ch) {
           const auto c = static_cast<unsigned char>(ch);
           return c < 0x20 || c == 0x7f;
         });
}

void CheckRefusal(const Status& s) {
  if (s.ok()) return;
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument);
  FUZZ_CHECK(!s.reason().empty());
  FUZZ_CHECK(IsValidUtf8(DumpJson(nlohmann::json{{"message", s.message()}})));
}

int Run(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string s(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      const Status st = ValidateRoleAssignmentName(s);
      CheckRefusal(st);
      FUZZ_CHECK(st.ok() == IsGuid(s));
      if (st.ok()) FUZZ_CHECK(s.size() == 36 && Clean(s));
      break;
    }
    case 1: {
      const Status st = ValidateGroupName(s);
      CheckRefusal(st);
      if (st.ok()) FUZZ_CHECK(Clean(s) && !s.empty());
      // (A '/' would make more segments, which the scope may accept.)
      if (s.find('/') == std::string::npos) {
        const std::string scope = std::string(kSub) + "/resourceGroups/" + s;
        if (!st.ok()) FUZZ_CHECK(!NormalizeScope(scope).ok());
      }
      break;
    }
    case 2: {
      const Status st = ValidateResourceName(s);
      CheckRefusal(st);
      if (st.ok()) FUZZ_CHECK(Clean(s) && !s.empty());
      if (s.find('/') == std::string::npos) {
        const std::string scope = std::string(kSub) +
                                  "/resourceGroups/rg/providers/"
                                  "Microsoft.KeyVault/vaults/" +
                                  s;
        if (!st.ok()) FUZZ_CHECK(!NormalizeScope(scope).ok());
      }
      break;
    }
    default: {
      const Status st = NormalizeScope(s).status();
      CheckRefusal(st);
      if (st.ok()) {
        FUZZ_CHECK(Clean(s));
        std::string head = s.substr(0, 15);
        for (char& c : head) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        FUZZ_CHECK(head == "/subscriptions/");
        FUZZ_CHECK(s.find("//") == std::string::npos && s.back() != '/');
      }
      break;
    }
  }
  return 0;
}

}  // namespace
}  // namespace atrest::resources

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::resources::Run(data, size);
}
