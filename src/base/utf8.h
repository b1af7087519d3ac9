// UTF-8 validity of byte strings that reach atrest from outside (paths,
// names, file names, answers of other services) before they are stored or
// echoed.
//
// Thread safety: pure functions.
#ifndef ATREST_BASE_UTF8_H_
#define ATREST_BASE_UTF8_H_

#include <string_view>

namespace atrest {

// True when `s` is strict UTF-8: no overlong forms, no surrogates, nothing
// past U+10FFFF, no truncated sequence. The empty string is valid.
bool IsValidUtf8(std::string_view s);

}  // namespace atrest

#endif  // ATREST_BASE_UTF8_H_
