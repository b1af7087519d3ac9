// Chat conversations as fine-tuning examples and chat completion requests
// carry them (reference/azure-openai-api.md §1.7 and §2.1).
#ifndef ATREST_TRAINING_CHAT_H_
#define ATREST_TRAINING_CHAT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace atrest::training {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool", "function".
  std::string content;
  // Assistant messages of training examples: 0 skips the message in
  // training, 1 (the default) trains on it.
  int weight = 1;
};
using Conversation = std::vector<ChatMessage>;

// Parses one line of a chat fine-tuning file: {"messages": [...]}.
// InvalidArgument naming the position of the problem (never quoting the
// content, which is customer data).
//
// Each message needs a "role" (system, user, assistant, tool, function) and
// a "content": a string, or an array of {"type": "text", "text": ...} parts,
// whose texts are joined. An assistant message with "tool_calls" or
// "function_call" may lack content (it is then ""). "weight" (0 or 1) is
// allowed on assistant messages only. Other keys are ignored: training
// files were validated in full on upload (files/jsonl_validator.h). Arrays
// and objects may nest at most 64 deep. The parsed JSON's strings are wiped
// before it is freed (the JSON parser's own scratch buffer is not).
Result<Conversation> ParseExample(std::string_view jsonl_line);

// Overwrites every message's content with zeros (it is customer data)
// and leaves the conversation empty. The trainer calls it before freeing
// the examples it parsed.
void WipeConversation(Conversation& conversation);

// Splits a JSON Lines text (with or without a UTF-8 BOM; blank lines
// skipped) into conversations. InvalidArgument naming the line number.
Result<std::vector<Conversation>> ParseExamples(std::string_view jsonl);

}  // namespace atrest::training

#endif  // ATREST_TRAINING_CHAT_H_
