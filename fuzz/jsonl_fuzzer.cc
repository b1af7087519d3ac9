// Fuzzes the streaming validator of fine-tuning files, files/
// jsonl_validator.h: the input is the uploaded file.
//
// Each input is validated with the default options and with tight ones
// (a short max_line_bytes, a max_bytes inside the input, few examples and
// reported lines), so that small inputs reach every limit. Invariants, each
// checked with abort():
//  - validation never crashes, throws or leaks;
//  - the report does not depend on how the file is cut: one Update(),
//    chunks of sizes drawn from a hash of the input, and byte by byte give
//    equal reports;
//  - the report is consistent: valid exactly when status_details is empty;
//    a valid file has no bad lines, enough examples and is not too large;
//    bad_lines are the first bad line numbers, ascending, within the lines
//    read; examples and bad lines together are at most the lines read;
//    status_details stays short.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "base/bytes.h"
#include "base/status.h"
#include "files/jsonl_validator.h"
#include "fuzz_check.h"

namespace atrest::files {
namespace {

using Options = FineTuneValidator::Options;

// Longest "Line N: ...." sentence, with room to spare: the longest message
// quotes 32 bytes, each escaped to at most 4 characters.
constexpr size_t kMaxSentence = 400;

uint64_t Fnv1a(ByteView data) {
  uint64_t h = 14695981039346656037u;
  for (uint8_t b : data) h = (h ^ b) * 1099511628211u;
  return h;
}

uint64_t Next(uint64_t* state) {  // splitmix64
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

FineTuneValidator NewValidator(const Options& options) {
  Result<FineTuneValidator> v = FineTuneValidator::Create(options);
  FUZZ_CHECK(v.ok());
  return std::move(v).value();
}

void CheckConsistent(const FineTuneFileReport& r, const Options& options) {
  FUZZ_CHECK(r.valid == r.status_details.empty());
  if (r.valid) {
    FUZZ_CHECK(r.bad_line_count == 0 && !r.too_large);
    FUZZ_CHECK(r.examples >= options.min_examples);
  }
  FUZZ_CHECK(r.examples >= 0 && r.bad_line_count >= 0);
  FUZZ_CHECK(r.examples + r.bad_line_count <= r.lines);
  const auto listed = static_cast<int64_t>(r.bad_lines.size());
  FUZZ_CHECK(listed ==
             std::min<int64_t>(r.bad_line_count, options.max_reported_lines));
  for (size_t i = 0; i < r.bad_lines.size(); ++i) {
    FUZZ_CHECK(r.bad_lines[i] >= 1 && r.bad_lines[i] <= r.lines);
    if (i > 0) FUZZ_CHECK(r.bad_lines[i - 1] < r.bad_lines[i]);
  }
  FUZZ_CHECK(r.status_details.size() <=
             (static_cast<size_t>(options.max_reported_lines) + 2) *
                 kMaxSentence);
}

void Check(ByteView file, const Options& options, uint64_t seed) {
  FineTuneValidator whole = NewValidator(options);
  whole.Update(file);
  const FineTuneFileReport want = whole.Finish();
  CheckConsistent(want, options);
  FUZZ_CHECK(whole.Finish() == want);

  FineTuneValidator chunked = NewValidator(options);
  uint64_t state = seed;
  for (size_t at = 0; at < file.size();) {
    const uint64_t r = Next(&state);
    // Mostly short chunks, sometimes empty ones or long ones.
    size_t n = (r & 0xF) == 0 ? (r >> 8) % 4096 : (r >> 8) % 17;
    n = std::min(n, file.size() - at);
    chunked.Update(file.subspan(at, n));
    at += n;
  }
  FUZZ_CHECK(chunked.Finish() == want);

  FineTuneValidator bytewise = NewValidator(options);
  for (size_t at = 0; at < file.size(); ++at) {
    bytewise.Update(file.subspan(at, 1));
  }
  FUZZ_CHECK(bytewise.Finish() == want);
}

int Run(const uint8_t* data, size_t size) {
  const ByteView file(data, size);
  const uint64_t hash = Fnv1a(file);
  Check(file, Options(), hash);
  const Options tight = {
      .max_line_bytes = 1 + static_cast<int64_t>(hash % 160),
      // Half the time the limit cuts the input.
      .max_bytes = std::max<int64_t>(
          1, static_cast<int64_t>((hash & 0x100) != 0 ? size * 3 / 4 : size)),
      .min_examples = 2,
      .max_reported_lines = 3,
      .file_kind = "Validation file",
  };
  Check(file, tight, hash >> 1);
  return 0;
}

}  // namespace
}  // namespace atrest::files

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::files::Run(data, size);
}
