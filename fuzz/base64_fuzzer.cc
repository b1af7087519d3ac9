// Fuzzes the base64 and base64url codecs of base/base64.h.
//
// Invariants, each checked with abort():
//  - decoding any text returns a value or InvalidArgument, never crashes;
//  - decode(encode(x)) == x for both alphabets, and encodings use only their
//    alphabet (url: no padding; standard: padded to a multiple of 4);
//  - one encoding per value: when Base64UrlDecode(text) succeeds,
//    Base64UrlEncode of the result is `text` without its '=' padding, and
//    when Base64Decode(text) succeeds, Base64Encode of the result is `text`
//    with its padding completed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/base64.h"
#include "base/bytes.h"
#include "base/status.h"
#include "fuzz_check.h"

namespace atrest {
namespace {

std::string_view StripPadding(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  return s;
}

void CheckDecodeFailure(const Status& s) {
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument);
}

int Run(const uint8_t* data, size_t size) {
  const ByteView bytes(data, size);
  const std::string_view text = AsString(bytes);

  // Round trips of arbitrary bytes.
  const std::string url = Base64UrlEncode(bytes);
  FUZZ_CHECK(url.size() == (size * 4 + 2) / 3);
  FUZZ_CHECK(url.find_first_of("+/=") == std::string::npos);
  Result<Bytes> url_back = Base64UrlDecode(url);
  FUZZ_CHECK(url_back.ok() && *url_back == Bytes(bytes.begin(), bytes.end()));

  const std::string std_enc = Base64Encode(bytes);
  FUZZ_CHECK(std_enc.size() == (size + 2) / 3 * 4);
  FUZZ_CHECK(std_enc.find_first_of("-_") == std::string::npos);
  Result<Bytes> std_back = Base64Decode(std_enc);
  FUZZ_CHECK(std_back.ok() && *std_back == Bytes(bytes.begin(), bytes.end()));
  // Unpadded standard base64 is accepted too.
  Result<Bytes> std_unpadded = Base64Decode(StripPadding(std_enc));
  FUZZ_CHECK(std_unpadded.ok() && *std_unpadded == *std_back);

  // The input as text: canonical encodings only.
  Result<Bytes> url_dec = Base64UrlDecode(text);
  if (url_dec.ok()) {
    FUZZ_CHECK(Base64UrlEncode(*url_dec) == StripPadding(text));
  } else {
    CheckDecodeFailure(url_dec.status());
  }
  Result<Bytes> std_dec = Base64Decode(text);
  if (std_dec.ok()) {
    const std::string again = Base64Encode(*std_dec);
    FUZZ_CHECK(StripPadding(again) == StripPadding(text));
    if (text.find('=') != std::string_view::npos) FUZZ_CHECK(again == text);
  } else {
    CheckDecodeFailure(std_dec.status());
  }
  return 0;
}

}  // namespace
}  // namespace atrest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::Run(data, size);
}
