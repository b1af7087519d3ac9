// Base64 (RFC 4648 §4) and base64url (§5) codecs.
//
// Key Vault and JOSE send base64url without padding; decoders here accept it
// with or without '=' padding and reject any other character, misplaced
// padding, or non-zero trailing bits (so each value has one encoding).
#ifndef ATREST_BASE_BASE64_H_
#define ATREST_BASE_BASE64_H_

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest {

// Standard alphabet, with padding.
std::string Base64Encode(ByteView data);
Result<Bytes> Base64Decode(std::string_view text);

// URL-safe alphabet, no padding.
std::string Base64UrlEncode(ByteView data);
Result<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace atrest

#endif  // ATREST_BASE_BASE64_H_
