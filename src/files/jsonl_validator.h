// Validation of fine-tuning training and validation files (chat-format JSON
// Lines, reference/azure-openai-api.md §2.1) while they stream in.
//
// An upload with purpose "fine-tune" is encrypted as it arrives and never
// kept in plaintext, so the validator sees it once, chunk by chunk, and keeps
// only the current line (at most Options::max_line_bytes of it). Update()
// never fails: a bad file is not an error of the validator but a verdict,
// which Finish() returns as a FineTuneFileReport whose status_details is the
// text the Files API puts into the file object.
//
// The file:
//  - UTF-8, with or without a byte order mark (EF BB BF), which may only be
//    the first three bytes of the file;
//  - lines end with "\n" or "\r\n"; the last line may lack its terminator;
//    lines of only spaces, tabs and carriage returns are skipped; lines are
//    numbered from 1 by "\n", blank ones included, as editors number them;
//  - at most Options::max_bytes bytes in all;
//  - at least Options::min_examples valid lines ("examples").
//
// Each non-blank line (see ValidateChatExample for the example itself):
//  - at most Options::max_line_bytes bytes, without its terminator (and
//    without the byte order mark on line 1); a longer line is reported and
//    skipped without being buffered;
//  - valid UTF-8, with no byte order mark at its start (except line 1's);
//  - one JSON value, nested at most kMaxJsonDepth levels deep and made of
//    at most kMaxJsonValues values. These bound what parsing a line costs:
//    without them a 4 MiB line of "[[],[],..." takes over 100 MB of heap;
//    with them, about twice the line's size plus 10 MB.
// Only the first problem of a line is reported.
//
// The verdict depends only on the bytes, never on how they were split into
// chunks: feeding a file in one Update() or byte by byte gives equal reports.
//
// Thread safety: a FineTuneValidator is used by one upload at a time; it has
// no shared state. ValidateChatExample is a pure function.
#ifndef ATREST_FILES_JSONL_VALIDATOR_H_
#define ATREST_FILES_JSONL_VALIDATOR_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::files {

// Deepest nesting of arrays and objects accepted in a line. Real examples
// (messages, tool calls, JSON-schema tool parameters) stay far below it.
inline constexpr int kMaxJsonDepth = 64;
// Most values (objects, arrays, strings, numbers, ...) accepted in a line. A
// long conversation with tool definitions has a few thousand.
inline constexpr int64_t kMaxJsonValues = 100'000;

// The verdict on a whole file.
struct FineTuneFileReport {
  bool valid = false;
  // Lines that passed; these are the file's training examples.
  int64_t examples = 0;
  // Lines read, blank ones included ("a\nb" and "a\nb\n" both have 2). When
  // the file is too large, only the lines complete before the limit.
  int64_t lines = 0;
  // Lines that failed, and the line numbers of the first
  // Options::max_reported_lines of them, ascending.
  int64_t bad_line_count = 0;
  std::vector<int64_t> bad_lines;
  // The file exceeded Options::max_bytes; the rest was not read.
  bool too_large = false;
  // Empty when valid. Otherwise sentences for the owner of the file:
  // the first Options::max_reported_lines problems ("Line 3: messages[1] has
  // an unrecognized role (allowed: ...)."), then "And N more invalid line(s)."
  // if there were more, then "File is larger than N bytes." or, for a file that
  // was read to its end, "<file_kind> has N example(s), but must have at least
  // M examples." when it has too few. Problems name positions and allowed
  // values, never a key or value of the file (the text is stored
  // unencrypted), so its length is bounded by max_reported_lines.
  std::string status_details;

  friend bool operator==(const FineTuneFileReport&,
                         const FineTuneFileReport&) = default;
};

class FineTuneValidator {
 public:
  struct Options {
    // Longest line, without its line terminator. At least 1.
    int64_t max_line_bytes = int64_t{4} << 20;
    // Largest file (reference §2.1: "< 512 MB"). At least 1.
    int64_t max_bytes = int64_t{512} << 20;
    // Fewest examples a valid file has; jobs need 10. At least 0.
    int64_t min_examples = 10;
    // How many problems status_details and bad_lines list. 1 to 100.
    int max_reported_lines = 10;
    // Names the file in the example-count sentence. Not empty.
    std::string file_kind = "Training file";
  };

  // InvalidArgument naming the first option out of its range.
  static Result<FineTuneValidator> Create(Options options);

  // Reads the next bytes of the file; `data` is not kept. Never fails: bad
  // lines are remembered for Finish(). Bytes past Options::max_bytes are
  // ignored. Must not be called after Finish().
  void Update(ByteView data);

  // Checks the last line if it lacked a "\n" and returns the verdict.
  // Calling it again returns the same report.
  FineTuneFileReport Finish();

 private:
  explicit FineTuneValidator(Options options);

  // Consumes bytes of the file that are within max_bytes.
  void Consume(std::string_view data);
  // Checks the line now in line_ (or the skipped overlong line).
  void EndLine();
  void AddProblem(int64_t line_number, std::string message);

  const Options options_;
  // The current line, up to max_line_bytes plus what may still be stripped
  // from it (a "\r", and line 1's byte order mark).
  std::string line_;
  // The current line outgrew line_'s bound; its bytes are being dropped.
  bool overlong_ = false;
  int64_t bytes_ = 0;
  bool too_large_ = false;
  bool finished_ = false;
  int64_t lines_ = 0;
  int64_t examples_ = 0;
  int64_t bad_line_count_ = 0;
  std::vector<int64_t> bad_lines_;
  std::string problems_;  // "Line N: ...." sentences, space-separated.
};

// Checks one parsed line against the chat fine-tuning format. OK, or
// InvalidArgument with the first problem found, e.g. "messages[1] has an
// unrecognized role (allowed: ...)" (no "Line N:" prefix, no final period):
//  - a JSON object whose keys are among messages, tools (an array),
//    parallel_tool_calls (a boolean) and functions (an array);
//  - "messages": a non-empty array of objects, each with
//    - "role": system, user, assistant, tool or function;
//    - "content": a string, or a non-empty array of text parts
//      {"type": "text", "text": "..."}; an assistant message with
//      "tool_calls" or "function_call" may have null or no content;
//    - optional "name" (a string); "weight" (0 or 1), "tool_calls" (a
//      non-empty array), "function_call" (an object) and "refusal" (a
//      string) only on assistant messages; "tool_call_id" (a string) only
//      on tool messages;
//    - no other keys;
//  - at least one assistant message without "weight": 0.
// A key whose value is null counts as absent, except "role" and "weight"
// (SDKs' dumps of API responses write "tool_calls": null and the like).
Status ValidateChatExample(const nlohmann::json& example);

}  // namespace atrest::files

#endif  // ATREST_FILES_JSONL_VALIDATOR_H_
