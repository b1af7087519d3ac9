#include "training/chat.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "base/json.h"
#include "training/wiping_allocator.h"

namespace atrest::training {
namespace {

using nlohmann::json;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
// Deeper nesting than any chat example needs; bounds what parsing costs.
// The same depth and value count as the Files API's JSONL validation
// (files/jsonl_validator.h), so every line it accepted parses here; the line
// length is bounded by the file.
constexpr JsonLimits kExampleLimits{
    .max_bytes = std::numeric_limits<size_t>::max(),
    .max_depth = 64,
    .max_values = 100'000};

Status Problem(std::string message) {
  return InvalidArgumentError(std::move(message));
}

// Overwrites every string value of `doc` before it is freed: they are the
// customer's conversation. (Object keys are the format's own names.)
void WipeStrings(json& doc) {
  std::vector<json*> todo = {&doc};
  while (!todo.empty()) {
    json* j = todo.back();
    todo.pop_back();
    if (j->is_string()) {
      WipeString(j->get_ref<std::string&>());
    } else if (j->is_structured()) {
      for (json& child : *j) todo.push_back(&child);
    }
  }
}

// The value of `key`, or nullptr when it is absent or null.
const json* Field(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

bool IsRole(std::string_view role) {
  return role == "system" || role == "user" || role == "assistant" ||
         role == "tool" || role == "function";
}

// A message's text: a string, or the texts of an array of text parts
// joined; "" when it may be absent and is.
Status ReadContent(const json& message, const std::string& where,
                   bool may_be_absent, std::string* out) {
  const json* content = Field(message, "content");
  if (content == nullptr) {
    if (may_be_absent) return Status::Ok();
    return Problem(where + " has no 'content'");
  }
  if (content->is_string()) {
    *out = content->get<std::string>();
    return Status::Ok();
  }
  if (!content->is_array() || content->empty()) {
    return Problem(where +
                   " has a 'content' that is neither a string nor a "
                   "non-empty array of text parts");
  }
  size_t total = 0;
  for (size_t j = 0; j < content->size(); ++j) {
    const json& part = (*content)[j];
    const json* type = part.is_object() ? Field(part, "type") : nullptr;
    const json* text = part.is_object() ? Field(part, "text") : nullptr;
    if (type == nullptr || !type->is_string() || *type != "text" ||
        text == nullptr || !text->is_string()) {
      return Problem(where + ".content[" + std::to_string(j) +
                     "] is not a text part {\"type\": \"text\", \"text\": "
                     "\"...\"}");
    }
    total += text->get_ref<const std::string&>().size();
  }
  // One allocation, so that no partial copy is freed unwiped.
  out->reserve(total);
  for (const json& part : *content) {
    out->append(part.find("text")->get_ref<const std::string&>());
  }
  return Status::Ok();
}

Result<ChatMessage> ParseMessage(const json& message, size_t i) {
  const std::string where = "messages[" + std::to_string(i) + "]";
  if (!message.is_object()) return Problem(where + " is not an object");
  const json* role = Field(message, "role");
  if (role == nullptr || !role->is_string()) {
    return Problem(where + " has no 'role' string");
  }
  ChatMessage m;
  m.role = role->get<std::string>();
  if (!IsRole(m.role)) {
    return Problem(where +
                   " has an unrecognized role (allowed: system, user, "
                   "assistant, tool, function)");
  }
  const bool assistant = m.role == "assistant";
  if (const json* weight = Field(message, "weight")) {
    if (!assistant) {
      return Problem(where +
                     " has 'weight', which only assistant messages may have");
    }
    const double w = weight->is_number() ? weight->get<double>() : -1;
    if (w != 0 && w != 1) {
      return Problem(where + " has a 'weight' other than 0 or 1");
    }
    m.weight = static_cast<int>(w);
  }
  const bool calls = Field(message, "tool_calls") != nullptr ||
                     Field(message, "function_call") != nullptr;
  RETURN_IF_ERROR(ReadContent(message, where, assistant && calls, &m.content));
  return m;
}

Result<Conversation> ParseDocument(const json& doc) {
  if (!doc.is_object()) return Problem("not a JSON object");
  const json* messages = Field(doc, "messages");
  if (messages == nullptr) return Problem("missing 'messages'");
  if (!messages->is_array()) return Problem("'messages' is not an array");
  if (messages->empty()) return Problem("'messages' is empty");
  Conversation conversation;
  conversation.reserve(messages->size());
  for (size_t i = 0; i < messages->size(); ++i) {
    Result<ChatMessage> m = ParseMessage((*messages)[i], i);
    if (!m.ok()) {
      WipeConversation(conversation);
      return m.status();
    }
    conversation.push_back(std::move(m).value());
  }
  return conversation;
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

void WipeConversation(Conversation& conversation) {
  for (ChatMessage& m : conversation) WipeString(m.content);
  conversation.clear();
}

Result<Conversation> ParseExample(std::string_view jsonl_line) {
  ASSIGN_OR_RETURN(json doc, ParseJson(jsonl_line, kExampleLimits));
  Result<Conversation> conversation = ParseDocument(doc);
  WipeStrings(doc);
  return conversation;
}

Result<std::vector<Conversation>> ParseExamples(std::string_view jsonl) {
  if (jsonl.starts_with(kBom)) jsonl.remove_prefix(kBom.size());
  std::vector<Conversation> examples;
  // Sized once, since a reallocation would free the old storage (and the
  // short strings kept inside it) unwiped: a line shorter than
  // {"messages":[]} cannot be an example.
  size_t lines = 0;
  for (std::string_view rest = jsonl; !rest.empty();) {
    const size_t newline = std::min(rest.find('\n'), rest.size());
    if (newline >= 15) ++lines;
    rest.remove_prefix(std::min(newline + 1, rest.size()));
  }
  examples.reserve(lines);
  int64_t number = 0;
  while (!jsonl.empty()) {
    ++number;
    const size_t newline = jsonl.find('\n');
    std::string_view line = jsonl.substr(0, newline);
    jsonl.remove_prefix(newline == std::string_view::npos ? jsonl.size()
                                                          : newline + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (IsBlank(line)) continue;
    Result<Conversation> example = ParseExample(line);
    if (!example.ok()) {
      for (Conversation& c : examples) WipeConversation(c);
      return Problem("Line " + std::to_string(number) + ": " +
                     example.status().message());
    }
    examples.push_back(std::move(example).value());
  }
  return examples;
}

}  // namespace atrest::training
