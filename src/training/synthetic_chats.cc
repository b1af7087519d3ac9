#include "training/synthetic_chats.h"

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/json.h"

namespace atrest::training {
namespace {

struct Topic {
  const char* thing;
  const char* place;
  const char* feature;
  const char* team;
};

constexpr Topic kTopics[] = {
    {"password", "Account > Security", "single sign-on for the whole team",
     "identity team"},
    {"invoice", "Billing > Invoices", "automatic payment reminders",
     "billing team"},
    {"router", "Devices > Network", "the guest network scheduler",
     "network team"},
    {"printer", "Devices > Printers", "duplex printing presets",
     "device support team"},
    {"VPN connection", "Settings > Remote Access", "split tunneling rules",
     "network team"},
    {"cloud backup", "Storage > Backups", "hourly snapshots", "storage team"},
    {"email account", "Mail > Accounts", "shared mailboxes", "messaging team"},
    {"team calendar", "Calendar > Sharing", "room booking rules",
     "collaboration team"},
    {"phone plan", "Plans > Mobile", "international roaming packs",
     "mobile team"},
    {"video subscription", "Subscriptions > Video", "offline downloads",
     "media team"},
    {"laptop warranty", "Devices > Warranty", "next-day replacement",
     "hardware team"},
    {"online order", "Orders > History", "delivery time slots",
     "logistics team"},
    {"refund request", "Orders > Returns", "instant store credit",
     "returns team"},
    {"two-factor login", "Account > Sign-in", "hardware security keys",
     "identity team"},
    {"storage quota", "Storage > Usage", "per-folder limits", "storage team"},
    {"Wi-Fi hotspot", "Devices > Hotspot", "data usage alerts", "mobile team"},
    {"API key", "Developers > Keys", "per-key rate limits",
     "developer relations team"},
    {"database connection", "Data > Connections", "read replicas",
     "platform team"},
    {"smart thermostat", "Home > Climate", "weekly heating schedules",
     "smart home team"},
    {"photo library", "Media > Photos", "shared albums", "media team"},
    {"loyalty points", "Rewards > Points", "double-point weekends",
     "rewards team"},
    {"gift card", "Wallet > Gift Cards", "scheduled delivery", "payments team"},
    {"delivery address", "Account > Addresses", "saved drop-off notes",
     "logistics team"},
    {"webinar license", "Events > Licenses", "attendee analytics",
     "events team"},
    {"project workspace", "Projects > Settings", "guest access controls",
     "collaboration team"},
};
constexpr int kNumTopics = sizeof(kTopics) / sizeof(kTopics[0]);

struct Customer {
  const char* greeting;
  const char* name;
};

constexpr Customer kCustomers[] = {
    {"Hi, this is Dana from accounting.", "Dana"},
    {"Hello! I'm Priya and I run a small design studio.", "Priya"},
    {"Hey, Marco here.", "Marco"},
    {"Good morning, my name is Olu.", "Olu"},
    {"Hi team, Chen writing from the Berlin office.", "Chen"},
};

constexpr const char* kSystems[] = {
    "You are Contoso's support assistant. Answer politely and concisely, "
    "and give concrete steps.",
    "You are a helpful IT helpdesk agent for Fabrikam. Keep answers short "
    "and practical.",
    "You are the customer care assistant of Northwind Traders. Be friendly "
    "and precise.",
};

// Question and reply templates: {thing} {place} {feature} {team} {name}
// {greeting} {n} {ticket}.
struct Intent {
  const char* question;
  const char* reply;
};

constexpr Intent kIntents[] = {
    {"{greeting} How do I reset my {thing}? I think I locked myself out.",
     "Hi {name}, you can reset your {thing} from {place}. Choose Reset, "
     "confirm your identity, and you will receive an email with a one-time "
     "code. If nothing arrives within {n} minutes, check your spam folder. "
     "Your reference number is {ticket}."},
    {"{greeting} My {thing} stopped working this morning. What should I "
     "check first?",
     "Sorry to hear that, {name}. First, open {place} and check whether the "
     "status shows any warnings. Then sign out, wait {n} seconds and sign "
     "back in. If the {thing} still fails, the {team} can look at the logs; "
     "I opened ticket {ticket} for you."},
    {"{greeting} Can you explain how I'm billed for the {thing}?",
     "Of course, {name}. The {thing} is billed monthly, and the charge "
     "appears under {place}. Usage beyond the included amount costs {n} "
     "cents per unit. You can download every statement as a PDF there as "
     "well."},
    {"{greeting} I want to cancel the {thing}. Is there a fee?",
     "There is no cancellation fee, {name}. Go to {place}, select Cancel and "
     "confirm. The {thing} stays active until the end of the current "
     "period, which is in {n} days. We will email you a confirmation with "
     "reference {ticket}."},
    {"{greeting} What do I get if I upgrade my {thing}?",
     "Good question, {name}! The upgraded {thing} includes priority support "
     "from the {team} and {feature}. You can switch in {place} at any time, "
     "and the price difference is prorated over the next {n} days."},
    {"{greeting} I got a strange email about my {thing}. Is it from you?",
     "Thank you for checking, {name}. We never ask for your {thing} details "
     "by email. Please do not click any links in that message and forward it "
     "to the {team}. You can review recent activity in {place}; ticket "
     "{ticket} tracks your report."},
    {"{greeting} How can I export the data from my {thing}?",
     "You can export it yourself, {name}. Open {place}, choose Export and "
     "pick CSV or JSON. Large exports are prepared in the background and "
     "usually take about {n} minutes. A download link will then appear "
     "under Notifications."},
    {"{greeting} Is the {thing} available on mobile, or only on the web?",
     "Both, {name}. The mobile app shows the same {thing} settings as "
     "{place} on the web, and changes sync within {n} seconds. Some advanced "
     "options, such as {feature}, are only on the web for now."},
};
constexpr int kNumIntents = sizeof(kIntents) / sizeof(kIntents[0]);

struct Fill {
  const Topic& topic;
  const Customer& customer;
  int n;
  std::string ticket;
};

std::string Expand(std::string_view tmpl, const Fill& f) {
  std::string out;
  while (!tmpl.empty()) {
    const size_t open = tmpl.find('{');
    out.append(tmpl.substr(0, open));
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open);
    const std::string_view key = tmpl.substr(open + 1, close - open - 1);
    if (key == "thing") out += f.topic.thing;
    if (key == "place") out += f.topic.place;
    if (key == "feature") out += f.topic.feature;
    if (key == "team") out += f.topic.team;
    if (key == "name") out += f.customer.name;
    if (key == "greeting") out += f.customer.greeting;
    if (key == "n") out += std::to_string(f.n);
    if (key == "ticket") out += f.ticket;
    tmpl.remove_prefix(close + 1);
  }
  return out;
}

ChatMessage Message(const char* role, std::string content, int weight = 1) {
  return ChatMessage{
      .role = role, .content = std::move(content), .weight = weight};
}

}  // namespace

std::vector<Conversation> SyntheticChats(int n) {
  std::vector<Conversation> out;
  for (int k = 0; k < n; ++k) {
    const int i = k % 1000;
    const int t = i % kNumTopics;
    const int r = i / kNumTopics;  // 0..39.
    const Intent& intent = kIntents[(r + t) % kNumIntents];
    const Fill fill{
        .topic = kTopics[t],
        .customer = kCustomers[(r / kNumIntents + t) % 5],
        .n = 5 + (i * 13) % 40,
        .ticket = "CX-" + std::to_string(40000 + (i * 7919) % 50000),
    };
    Conversation c;
    c.push_back(Message("system", kSystems[(t + r) % 3]));
    c.push_back(Message("user", Expand(intent.question, fill)));
    if (i % 10 == 3) {
      c.push_back(Message("assistant", "Let me look into that for you.", 0));
      c.push_back(Message("user", "Sure, take your time."));
    }
    c.push_back(Message("assistant", Expand(intent.reply, fill)));
    if (i % 6 == 5) {
      c.push_back(Message("user",
                          "Thanks! One more thing: how long until the change "
                          "shows up everywhere?"));
      c.push_back(Message(
          "assistant",
          "It normally takes up to " + std::to_string(2 + (i * 7) % 20) +
              " minutes, " + fill.customer.name + ". If the " +
              fill.topic.thing +
              " still looks unchanged after that, reply here and mention " +
              fill.ticket + " so the " + fill.topic.team + " can pick it up."));
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string ToJsonl(const std::vector<Conversation>& examples) {
  std::string out;
  for (const Conversation& c : examples) {
    nlohmann::json messages = nlohmann::json::array();
    for (const ChatMessage& m : c) {
      nlohmann::json j = {{"role", m.role}, {"content", m.content}};
      if (m.weight == 0) j["weight"] = 0;
      messages.push_back(std::move(j));
    }
    out += DumpJson(nlohmann::json{{"messages", std::move(messages)}});
    out += '\n';
  }
  return out;
}

}  // namespace atrest::training
