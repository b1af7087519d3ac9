#include "env/testing.h"

#include <cassert>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace atrest::env {

WallTime FakeClock::DefaultStart() {
  using namespace std::chrono;  // NOLINT(build/namespaces)
  return sys_days{year{2026} / January / 1};
}

FakeClock::FakeClock(WallTime start)
    : wall_(start), mono_(MonoTime(std::chrono::seconds(1000))) {}

WallTime FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wall_;
}

MonoTime FakeClock::Monotonic() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mono_;
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  assert(d.count() >= 0 && "FakeClock::Advance into the past");
  std::lock_guard<std::mutex> lock(mu_);
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  mono_ += std::chrono::duration_cast<MonoTime::duration>(d);
}

void FakeClock::SetWallTime(WallTime t) {
  std::lock_guard<std::mutex> lock(mu_);
  wall_ = t;
}

void SeededRandom::Fill(MutableByteView out) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!out.empty()) {
    uint64_t word = engine_();
    const size_t n = std::min(out.size(), sizeof(word));
    for (size_t i = 0; i < n; ++i, word >>= 8) {
      out[i] = static_cast<uint8_t>(word);
    }
    out = out.subspan(n);
  }
}

Result<ScopedTempDir> ScopedTempDir::Create() {
  std::string base = "/tmp";
  for (const char* var : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* value = std::getenv(var);
    if (value != nullptr && *value != '\0') {
      base = value;
      break;
    }
  }
  std::string tmpl = base + "/atrest-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return InternalError("mkdtemp " + tmpl + " failed");
  }
  return ScopedTempDir(std::string(buf.data()));
}

ScopedTempDir::ScopedTempDir(ScopedTempDir&& other) noexcept
    : path_(std::exchange(other.path_, std::string())) {}

ScopedTempDir& ScopedTempDir::operator=(ScopedTempDir&& other) noexcept {
  if (this != &other) {
    ScopedTempDir old(std::move(*this));
    path_ = std::exchange(other.path_, std::string());
  }
  return *this;
}

ScopedTempDir::~ScopedTempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ScopedTempDir::Join(const std::string& name) const {
  return path_ + "/" + name;
}

}  // namespace atrest::env
