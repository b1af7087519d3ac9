// Response head serialisation for buffered (string) bodies. Internal to the
// http module.
//
// The session writes most responses as one contiguous buffer: status line,
// header fields and body, serialised here without building a Beast message
// and its field list, and without Beast's serializer and its buffer
// sequences (which cost about a fifth of the CPU of a small request). The
// bytes are exactly those Beast writes for the same response
// (response_head_test.cc compares the two): the status line with Beast's
// reason phrase, the handler's fields in order with values trimmed of
// surrounding blanks, "Connection: close" when the connection is not kept,
// then "Content-Length". Responses whose fields Beast would rewrite
// (Connection, Content-Length, Transfer-Encoding) or whose status Beast
// treats specially (1xx, 204, 304, outside 200..999) are not handled here.
//
// Thread safety: pure functions.
#ifndef ATREST_HTTP_RESPONSE_HEAD_H_
#define ATREST_HTTP_RESPONSE_HEAD_H_

#include <cstddef>
#include <string>

#include "http/response.h"

namespace atrest::http {

// Appends to `out` the HTTP/1.1 head for `res` with a body of `body_size`
// bytes, ending with the empty line. Returns false, leaving `out` as it was,
// when `res` is one of the cases above that only Beast's serializer handles.
bool AppendResponseHead(const Response& res, bool keep_alive, size_t body_size,
                        std::string& out);

}  // namespace atrest::http

#endif  // ATREST_HTTP_RESPONSE_HEAD_H_
