// Synthetic chat fine-tuning data for tests, benchmarks and fuzz seeds:
// customer-support conversations about 25 products with 8 kinds of
// question, asked by 5 different customers under 3 system prompts, each
// with its own multi-sentence reply (names, ticket numbers and times vary).
// Some are multi-turn, some carry an assistant message of weight 0.
//
// Deterministic: SyntheticChats(n) is the same on every run. Examples
// 0..999 are all different; from 1000 on they repeat.
//
// Library atrest_training_testing; not linked into the server.
#ifndef ATREST_TRAINING_SYNTHETIC_CHATS_H_
#define ATREST_TRAINING_SYNTHETIC_CHATS_H_

#include <string>
#include <vector>

#include "training/chat.h"

namespace atrest::training {

std::vector<Conversation> SyntheticChats(int n);

// The conversations as a chat fine-tuning file (JSON Lines, "\n" after
// every line; weight written only where it is 0).
std::string ToJsonl(const std::vector<Conversation>& examples);

}  // namespace atrest::training

#endif  // ATREST_TRAINING_SYNTHETIC_CHATS_H_
