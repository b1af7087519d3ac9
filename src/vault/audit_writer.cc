#include "vault/audit_writer.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <utility>

#include "crypto/digest.h"

namespace atrest::vault {
namespace {

// A batch this large is written without waiting for the interval.
constexpr size_t kBatchTrigger = 512;

bool ShapeIs(const std::string& s, size_t max, bool (*allowed)(char)) {
  return s.size() <= max && std::all_of(s.begin(), s.end(), allowed);
}
bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
}
bool IdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == ':' || c == '_';
}

// Callers choose the key name and version (the URL) and, for vaults they
// are refused on, only those; ids and the address come from the token and
// the connection, and are bounded the same way in case a token carries
// odd claims.
void CompactFields(store::AuditEvent& e) {
  e.vault = AuditWriter::Compact(e.vault, ShapeIs(e.vault, 24, NameChar));
  e.key_name =
      AuditWriter::Compact(e.key_name, ShapeIs(e.key_name, 127, NameChar));
  e.key_version =
      AuditWriter::Compact(e.key_version, ShapeIs(e.key_version, 64, IdChar));
  for (std::string* id : {&e.caller_tenant_id, &e.caller_object_id,
                          &e.caller_app_id, &e.client_ip}) {
    *id = AuditWriter::Compact(*id, ShapeIs(*id, 128, IdChar));
  }
}

Status QueueFull() {
  return Status(StatusCode::kUnavailable,
                "The vault's audit log is not keeping up; nothing was done. "
                "Retry the request shortly.",
                "ServiceUnavailable");
}

}  // namespace

std::string AuditWriter::Compact(const std::string& value, bool valid) {
  if (valid) return value;
  std::string out;
  for (size_t i = 0; i < value.size() && i < 16; ++i) {
    const char c = value[i];
    out += IdChar(c) ? c : '_';
  }
  const Bytes digest = crypto::Sha256(AsBytes(value));
  out += "~" + std::to_string(value.size()) + "~" +
         HexEncode(ByteView(digest).first(8));
  return out;
}

AuditWriter::AuditWriter(store::Store& store, const env::Clock& clock,
                         AuditWriterOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      thread_([this] { Run(); }) {}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status AuditWriter::Admit(const std::string& vault,
                          const store::AuditEvent& call) {
  std::lock_guard lock(mu_);
  if (queue_.size() + in_flight_ < options_.max_queued) return Status::Ok();
  store::AuditEvent e = call;
  e.vault = vault;
  e.result = "AuditQueueFull";
  e.status_code = 503;
  CompactFields(e);
  Coalesce(std::move(e), clock_.Monotonic());
  return QueueFull();
}

void AuditWriter::Add(store::AuditEvent event, bool refused_by_authorization) {
  CompactFields(event);
  std::lock_guard lock(mu_);
  const env::MonoTime now = clock_.Monotonic();
  if (refused_by_authorization && !TakeRefused(event, now)) {
    Coalesce(std::move(event), now);
    return;
  }
  queue_.push_back(std::move(event));
  if (queue_.size() >= kBatchTrigger) cv_.notify_all();
}

void AuditWriter::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = ++flush_requests_;
  cv_.notify_all();
  flushed_.wait(lock, [&] { return flushes_done_ >= target || stop_; });
}

bool AuditWriter::Take(Bucket& b, int burst, std::chrono::milliseconds refill,
                       env::MonoTime now) {
  if (b.last == env::MonoTime{}) {
    b.tokens = burst;
  } else if (refill.count() > 0) {
    const double gained =
        std::chrono::duration<double, std::milli>(now - b.last).count() /
        static_cast<double>(refill.count());
    b.tokens = std::min<double>(burst, b.tokens + gained);
  }
  b.last = now;
  return b.tokens >= 1;
}

void AuditWriter::TrimBuckets(std::map<std::string, Bucket>& buckets, int burst,
                              std::chrono::milliseconds refill,
                              env::MonoTime now) {
  // Buckets that have refilled hold no state worth keeping.
  std::erase_if(buckets, [&](auto& entry) {
    Bucket copy = entry.second;
    Take(copy, burst, refill, now);
    return copy.tokens >= burst;
  });
}

bool AuditWriter::TakeRefused(const store::AuditEvent& e, env::MonoTime now) {
  const std::string caller =
      e.vault + "\n" + e.caller_tenant_id + "/" + e.caller_object_id;
  const std::string address = e.vault + "\n" + e.client_ip;
  struct Use {
    std::map<std::string, Bucket>& map;
    const std::string& key;
    int burst;
    std::chrono::milliseconds refill;
  };
  const Use uses[] = {{vault_buckets_, e.vault, options_.vault_refused_burst,
                       options_.vault_refused_refill},
                      {caller_buckets_, caller, options_.refused_burst,
                       options_.refused_refill},
                      {address_buckets_, address, options_.refused_burst,
                       options_.refused_refill}};
  Bucket* buckets[3];
  bool all = true;
  for (size_t i = 0; i < 3; ++i) {
    const Use& u = uses[i];
    auto it = u.map.find(u.key);
    if (it == u.map.end()) {
      if (u.map.size() >= options_.max_tracked) {
        TrimBuckets(u.map, u.burst, u.refill, now);
      }
      if (u.map.size() >= options_.max_tracked) return false;
      it = u.map.emplace(u.key, Bucket{}).first;
    }
    buckets[i] = &it->second;
    all = Take(*buckets[i], u.burst, u.refill, now) && all;
  }
  if (!all) return false;
  for (Bucket* b : buckets) b->tokens -= 1;
  return true;
}

void AuditWriter::Coalesce(store::AuditEvent e, env::MonoTime now) {
  SummaryKey key{e.vault, e.caller_tenant_id + "/" + e.caller_object_id,
                 e.status_code, e.result};
  auto it = summaries_.find(key);
  if (it == summaries_.end()) {
    if (summaries_.size() >= options_.max_tracked) {
      ++untracked_;
      return;
    }
    it = summaries_.emplace(std::move(key), Summary{.first = now}).first;
  }
  it->second.count += e.count > 0 ? e.count : 1;
  it->second.last = std::move(e);
}

void AuditWriter::TakeSummaries(bool all, env::MonoTime now,
                                std::deque<store::AuditEvent>& out) {
  for (auto it = summaries_.begin(); it != summaries_.end();) {
    if (!all && now - it->second.first < options_.summary_interval) {
      ++it;
      continue;
    }
    store::AuditEvent e = std::move(it->second.last);
    e.operation = kSummaryOperation;
    e.key_name.clear();
    e.key_version.clear();
    e.count = it->second.count;
    out.push_back(std::move(e));
    it = summaries_.erase(it);
  }
}

Status AuditWriter::Write(const std::deque<store::AuditEvent>& batch) {
  return store_.Transact([&](store::Transaction& tx) -> Status {
    for (const store::AuditEvent& e : batch) {
      Result<int64_t> seq = tx.audit().Append(e);
      // An event of a vault purged meanwhile (or of one that never
      // existed) has nowhere to go, now or later.
      if (!seq.ok() && seq.status().code() != StatusCode::kNotFound &&
          seq.status().code() != StatusCode::kInvalidArgument) {
        return seq.status();
      }
    }
    return Status::Ok();
  });
}

void AuditWriter::Run() {
  std::unique_lock lock(mu_);
  int shutdown_attempts = 0;
  while (true) {
    cv_.wait_for(lock, options_.flush_interval, [&] {
      return stop_ || flush_requests_ > flushes_done_ ||
             (!failing_ && queue_.size() >= kBatchTrigger);
    });
    const uint64_t requested = flush_requests_;
    const bool everything = stop_ || requested > flushes_done_;
    const env::MonoTime now = clock_.Monotonic();
    std::deque<store::AuditEvent> batch;
    batch.swap(queue_);
    TakeSummaries(everything, now, batch);
    if (const int64_t untracked = std::exchange(untracked_, 0); untracked > 0) {
      std::cerr << "atrest: audit log: " << untracked
                << " refused calls coalesced without a summary record (too "
                   "many vaults refusing calls at once)\n";
    }
    if (batch.empty()) {
      flushes_done_ = requested;
      flushed_.notify_all();
      if (stop_) return;
      continue;
    }
    in_flight_ = batch.size();
    lock.unlock();
    Status s = Write(batch);
    if (!s.ok() && !failing_) {
      std::cerr << "atrest: audit log: cannot write " << batch.size()
                << " records yet (" << s.message()
                << "); keeping them and retrying\n";
    } else if (s.ok() && failing_) {
      std::cerr << "atrest: audit log: writing again\n";
    }
    lock.lock();
    in_flight_ = 0;
    failing_ = !s.ok();
    if (!s.ok()) {
      // Back in front, in order, before what came meanwhile.
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
    }
    flushes_done_ = std::max(flushes_done_, requested);
    flushed_.notify_all();
    if (stop_) {
      if (queue_.empty() && summaries_.empty()) return;
      if (!s.ok() && ++shutdown_attempts >= 2) {
        std::cerr << "atrest: audit log: " << queue_.size()
                  << " records lost at shutdown (" << s.message() << ")\n";
        return;
      }
    }
  }
}

}  // namespace atrest::vault
