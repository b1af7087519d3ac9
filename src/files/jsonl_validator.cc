#include "files/jsonl_validator.h"

#include <cassert>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "base/json.h"
#include "base/utf8.h"

namespace atrest::files {
namespace {

using nlohmann::json;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
// Problems never quote the file: status_details is stored in the file's
// metadata row unencrypted, so it names positions and the allowed values
// only (DESIGN.md §7: no customer data in plaintext on disk).
constexpr int64_t kMaxLineBytesLimit = int64_t{1} << 30;
constexpr int kMaxReportedLinesLimit = 100;

Status Problem(std::string message) {
  return InvalidArgumentError(std::move(message));
}

// Spaces, tabs and carriage returns only (JSON whitespace without "\n").
bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool IsRole(std::string_view role) {
  return role == "system" || role == "user" || role == "assistant" ||
         role == "tool" || role == "function";
}

bool IsMessageKey(std::string_view key) {
  return key == "role" || key == "content" || key == "name" ||
         key == "weight" || key == "function_call" || key == "tool_calls" ||
         key == "tool_call_id" || key == "refusal";
}

bool IsExampleKey(std::string_view key) {
  return key == "messages" || key == "tools" || key == "parallel_tool_calls" ||
         key == "functions";
}

// The value of `key`, or nullptr when it is absent or null.
const json* Field(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

bool IsTextPart(const json& part) {
  if (!part.is_object()) return false;
  const json* type = Field(part, "type");
  const json* text = Field(part, "text");
  return type != nullptr && type->is_string() && *type == "text" &&
         text != nullptr && text->is_string();
}

Status CheckContent(const json& message, const std::string& where,
                    bool may_be_absent) {
  const json* content = Field(message, "content");
  if (content == nullptr) {
    if (may_be_absent) return Status::Ok();
    return Problem(where + " has no 'content'");
  }
  if (content->is_string()) return Status::Ok();
  if (!content->is_array()) {
    return Problem(where +
                   " has a 'content' that is neither a string nor an array "
                   "of text parts");
  }
  if (content->empty()) return Problem(where + " has an empty 'content' array");
  for (size_t j = 0; j < content->size(); ++j) {
    if (!IsTextPart((*content)[j])) {
      return Problem(where + ".content[" + std::to_string(j) +
                     "] is not a text part {\"type\": \"text\", \"text\": "
                     "\"...\"}");
    }
  }
  return Status::Ok();
}

// Checks messages[i]; sets *learns when it is an assistant message that
// training learns from (weight absent or 1).
Status CheckMessage(const json& message, size_t i, bool* learns) {
  const std::string where = "messages[" + std::to_string(i) + "]";
  if (!message.is_object()) return Problem(where + " is not an object");
  auto role_it = message.find("role");
  if (role_it == message.end()) return Problem(where + " has no 'role'");
  if (!role_it->is_string()) {
    return Problem(where + " has a 'role' that is not a string");
  }
  const std::string& role = role_it->get_ref<const std::string&>();
  if (!IsRole(role)) {
    return Problem(where +
                   " has an unrecognized role (allowed: system, user, "
                   "assistant, tool, function)");
  }
  for (const auto& item : message.items()) {
    if (!IsMessageKey(item.key())) {
      return Problem(where +
                     " has an unrecognized key (allowed: role, content, name, "
                     "weight, tool_calls, function_call, refusal, "
                     "tool_call_id)");
    }
  }
  const bool assistant = role == "assistant";
  for (const char* key : {"weight", "tool_calls", "function_call", "refusal"}) {
    if (!assistant && Field(message, key) != nullptr) {
      return Problem(where + " has '" + key +
                     "', which only assistant messages may have");
    }
  }
  if (role != "tool" && Field(message, "tool_call_id") != nullptr) {
    return Problem(where +
                   " has 'tool_call_id', which only tool messages may have");
  }
  const json* name = Field(message, "name");
  if (name != nullptr && !name->is_string()) {
    return Problem(where + " has a 'name' that is not a string");
  }
  const json* tool_calls = Field(message, "tool_calls");
  if (tool_calls != nullptr &&
      (!tool_calls->is_array() || tool_calls->empty())) {
    return Problem(where + " has a 'tool_calls' that is not a non-empty array");
  }
  const json* function_call = Field(message, "function_call");
  if (function_call != nullptr && !function_call->is_object()) {
    return Problem(where + " has a 'function_call' that is not an object");
  }
  const json* refusal = Field(message, "refusal");
  if (refusal != nullptr && !refusal->is_string()) {
    return Problem(where + " has a 'refusal' that is not a string");
  }
  const json* tool_call_id = Field(message, "tool_call_id");
  if (tool_call_id != nullptr && !tool_call_id->is_string()) {
    return Problem(where + " has a 'tool_call_id' that is not a string");
  }
  RETURN_IF_ERROR(CheckContent(
      message, where,
      assistant && (tool_calls != nullptr || function_call != nullptr)));
  bool weight_one = true;
  auto weight = message.find("weight");
  if (weight != message.end()) {
    if (!weight->is_number() || (*weight != 0 && *weight != 1)) {
      return Problem(where + " has a 'weight' other than 0 or 1");
    }
    weight_one = *weight == 1;
  }
  if (assistant && weight_one) *learns = true;
  return Status::Ok();
}

// Checks one line that is not blank and is within the length limit.
Status CheckLine(std::string_view line) {
  if (!IsValidUtf8(line)) return Problem("not valid UTF-8");
  if (line.starts_with(kBom)) {
    return Problem(
        "byte order mark, which is allowed only at the start of "
        "the file");
  }
  // The line's length is bounded by the caller (max_line_bytes).
  ASSIGN_OR_RETURN(
      json example,
      ParseJson(line, {.max_bytes = std::numeric_limits<size_t>::max(),
                       .max_depth = kMaxJsonDepth,
                       .max_values = kMaxJsonValues}));
  return ValidateChatExample(example);
}

}  // namespace

Status ValidateChatExample(const json& example) {
  if (!example.is_object()) return Problem("not a JSON object");
  for (const auto& item : example.items()) {
    if (!IsExampleKey(item.key())) {
      return Problem(
          "has an unrecognized top-level key (allowed: messages, tools, "
          "parallel_tool_calls, functions)");
    }
  }
  const json* tools = Field(example, "tools");
  if (tools != nullptr && !tools->is_array()) {
    return Problem("'tools' is not an array");
  }
  const json* functions = Field(example, "functions");
  if (functions != nullptr && !functions->is_array()) {
    return Problem("'functions' is not an array");
  }
  const json* parallel = Field(example, "parallel_tool_calls");
  if (parallel != nullptr && !parallel->is_boolean()) {
    return Problem("'parallel_tool_calls' is not a boolean");
  }
  const json* messages = Field(example, "messages");
  if (messages == nullptr) return Problem("missing 'messages'");
  if (!messages->is_array()) return Problem("'messages' is not an array");
  if (messages->empty()) return Problem("'messages' is empty");
  bool learns = false;
  for (size_t i = 0; i < messages->size(); ++i) {
    RETURN_IF_ERROR(CheckMessage((*messages)[i], i, &learns));
  }
  if (!learns) return Problem("example has no assistant message to learn from");
  return Status::Ok();
}

Result<FineTuneValidator> FineTuneValidator::Create(Options options) {
  if (options.max_line_bytes < 1 ||
      options.max_line_bytes > kMaxLineBytesLimit) {
    return InvalidArgumentError("max_line_bytes must be between 1 and " +
                                std::to_string(kMaxLineBytesLimit));
  }
  if (options.max_bytes < 1) {
    return InvalidArgumentError("max_bytes must be at least 1");
  }
  if (options.min_examples < 0) {
    return InvalidArgumentError("min_examples must not be negative");
  }
  if (options.max_reported_lines < 1 ||
      options.max_reported_lines > kMaxReportedLinesLimit) {
    return InvalidArgumentError("max_reported_lines must be between 1 and " +
                                std::to_string(kMaxReportedLinesLimit));
  }
  if (options.file_kind.empty()) {
    return InvalidArgumentError("file_kind must not be empty");
  }
  return FineTuneValidator(std::move(options));
}

FineTuneValidator::FineTuneValidator(Options options)
    : options_(std::move(options)) {}

void FineTuneValidator::Update(ByteView data) {
  assert(!finished_ && "Update() after Finish()");
  if (finished_ || too_large_) return;
  const std::string_view text = AsString(data);
  const auto room = static_cast<uint64_t>(options_.max_bytes - bytes_);
  if (text.size() <= room) {
    bytes_ += static_cast<int64_t>(text.size());
    Consume(text);
    return;
  }
  Consume(text.substr(0, room));
  bytes_ = options_.max_bytes;
  too_large_ = true;
  // The line cut by the limit is neither checked nor counted.
  line_ = std::string();
  overlong_ = false;
}

void FineTuneValidator::Consume(std::string_view data) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const std::string_view part = data.substr(0, newline);
    if (!overlong_) {
      // Room for a "\r" before the "\n", and on line 1 for the BOM.
      const auto bound = static_cast<size_t>(options_.max_line_bytes) + 1 +
                         (lines_ == 0 ? kBom.size() : 0);
      if (line_.size() + part.size() > bound) {
        overlong_ = true;
        line_.clear();
      } else {
        line_.append(part);
      }
    }
    if (newline == std::string_view::npos) return;
    EndLine();
    data.remove_prefix(newline + 1);
  }
}

void FineTuneValidator::EndLine() {
  const int64_t number = ++lines_;
  std::string_view line = line_;
  bool too_long = overlong_;
  if (!too_long) {
    if (number == 1 && line.starts_with(kBom)) line.remove_prefix(kBom.size());
    if (line.ends_with('\r')) line.remove_suffix(1);
    too_long = line.size() > static_cast<size_t>(options_.max_line_bytes);
  }
  if (too_long) {
    AddProblem(number, "line is longer than " +
                           std::to_string(options_.max_line_bytes) + " bytes");
  } else if (!IsBlank(line)) {
    Status s = CheckLine(line);
    if (s.ok()) {
      ++examples_;
    } else {
      AddProblem(number, s.message());
    }
  }
  line_.clear();
  overlong_ = false;
}

void FineTuneValidator::AddProblem(int64_t line_number, std::string message) {
  ++bad_line_count_;
  if (bad_lines_.size() >= static_cast<size_t>(options_.max_reported_lines)) {
    return;
  }
  bad_lines_.push_back(line_number);
  if (!problems_.empty()) problems_ += ' ';
  problems_ += "Line " + std::to_string(line_number) + ": " + message + ".";
}

FineTuneFileReport FineTuneValidator::Finish() {
  if (!finished_) {
    finished_ = true;
    if (overlong_ || !line_.empty()) EndLine();
    line_ = std::string();
  }
  FineTuneFileReport report;
  report.examples = examples_;
  report.lines = lines_;
  report.bad_line_count = bad_line_count_;
  report.bad_lines = bad_lines_;
  report.too_large = too_large_;
  std::string& details = report.status_details;
  details = problems_;
  auto add = [&details](const std::string& sentence) {
    if (!details.empty()) details += ' ';
    details += sentence;
  };
  const auto listed = static_cast<int64_t>(bad_lines_.size());
  if (bad_line_count_ > listed) {
    add("And " + std::to_string(bad_line_count_ - listed) +
        " more invalid line(s).");
  }
  if (too_large_) {
    add("File is larger than " + std::to_string(options_.max_bytes) +
        " bytes.");
  } else if (examples_ < options_.min_examples) {
    add(options_.file_kind + " has " + std::to_string(examples_) +
        " example(s), but must have at least " +
        std::to_string(options_.min_examples) + " examples.");
  }
  report.valid = details.empty();
  return report;
}

}  // namespace atrest::files
