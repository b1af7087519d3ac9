#include "http/request.h"

#include <algorithm>
#include <cstring>

namespace atrest::http {
namespace {

class StringBodySource final : public BodySource {
 public:
  explicit StringBodySource(std::string data) : data_(std::move(data)) {}

  Result<size_t> Read(MutableByteView out) override {
    size_t n = std::min(out.size(), data_.size() - offset_);
    if (n > 0) std::memcpy(out.data(), data_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  const std::string data_;
  size_t offset_ = 0;
};

}  // namespace

Result<ByteView> BodySource::Lend() {
  if (lend_buffer_.empty()) lend_buffer_.resize(64 * 1024);
  ASSIGN_OR_RETURN(size_t n, Read(MutableByteView(lend_buffer_)));
  return ByteView(lend_buffer_.data(), n);
}

std::unique_ptr<BodySource> MakeStringBodySource(std::string data) {
  return std::make_unique<StringBodySource>(std::move(data));
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [n, v] : path_params) {
    if (n == name) return v;
  }
  return {};
}

}  // namespace atrest::http
