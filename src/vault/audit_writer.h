// AuditWriter: the queue between the key vault data plane and its audit log
// in the store (docs/keyvault.md, "Audit events").
//
// Every data-plane call ends in one record, written by a background thread
// in batches, one transaction each, so that a key operation never waits for
// an fsync of its own. What it guarantees, and what it does when pushed:
//
//  * Compact records. A field a caller chose (key name, version, vault name)
//    that is not of its valid shape or is longer than its valid maximum is
//    stored as "<first 16 characters>~<length>~<16 hex digits of SHA-256>",
//    so a 30 KB name costs about 50 bytes and stays recognisable.
//  * Refused outsiders are rate-limited. A call that authorization refused
//    (the caller's token is from another tenant, the firewall, the access
//    policy or RBAC said no: 401 or 403 before anything else ran) adds a
//    record only while three token buckets all have a token: one for the
//    vault, one for the (vault, caller object id) and one for the (vault,
//    client address). Beyond that the call is counted, never dropped: one
//    summary record per (vault, result) says how many were coalesced
//    (operation "RefusedCallsSummary", `count` = N, caller fields of the
//    last of them), written once `summary_interval` has passed since its
//    first call, or at Flush() and shutdown. An outsider thus adds at most
//    refused_burst records and then one per refill interval (and per vault
//    at most vault_refused_burst, then one per vault interval), plus one
//    summary per interval, however many calls it makes.
//  * A bounded queue. At most `max_queued` records wait (plus the calls in
//    flight when it filled). Admit() refuses a call before it runs while the
//    queue is full, with Unavailable "ServiceUnavailable" (HTTP 503, which
//    the Key Vault SDKs retry with backoff), and counts it in a summary
//    record of result "AuditQueueFull" (status 503). No call runs without a
//    record of it, and no record is dropped silently.
//  * Failed writes are retried. A batch the store cannot take (a full disk,
//    a busy database) stays queued and is retried every flush interval, so
//    the queue fills and calls are refused as above until the store takes
//    writes again; the first failure of a run of them is logged (no record
//    content in the log). Records the store can never take (a vault purged
//    meanwhile) are skipped. Only at shutdown, when the store still refuses,
//    are the records left counted and logged as lost.
//  * A crash loses at most the last flush interval of records.
//
// Thread safety: all methods may be called from any thread.
#ifndef ATREST_VAULT_AUDIT_WRITER_H_
#define ATREST_VAULT_AUDIT_WRITER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include "base/status.h"
#include "env/env.h"
#include "store/store.h"

namespace atrest::vault {

struct AuditWriterOptions {
  size_t max_queued = 10000;
  std::chrono::milliseconds flush_interval{200};
  // Per (vault, caller) and per (vault, client address).
  int refused_burst = 20;
  std::chrono::milliseconds refused_refill{3000};  // One record back each.
  // Per vault, over all callers.
  int vault_refused_burst = 100;
  std::chrono::milliseconds vault_refused_refill{1000};
  // How long a summary collects before it is written.
  std::chrono::milliseconds summary_interval{60000};
  // Bounds the limiter's memory: (vault, caller) and (vault, address)
  // buckets kept at most, and summaries pending at most. Past the bound, a
  // refused call is coalesced (a full summary table: counted in the log).
  size_t max_tracked = 4096;
};

class AuditWriter {
 public:
  // The operation of summary records.
  static constexpr const char* kSummaryOperation = "RefusedCallsSummary";

  // `store` and `clock` are borrowed and must outlive the writer.
  AuditWriter(store::Store& store, const env::Clock& clock,
              AuditWriterOptions options = {});
  ~AuditWriter();  // Writes what is queued, retrying once if it must.
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Before a data-plane call on `vault`: OK, or Unavailable (reason
  // "ServiceUnavailable") when the queue is full; the call must then not
  // run, and it is counted in a summary record.
  Status Admit(const std::string& vault, const store::AuditEvent& call);

  // Queues the record of a call that ran. `refused_by_authorization`: the
  // call was refused before anything ran because the caller may not use
  // the vault (see above).
  void Add(store::AuditEvent event, bool refused_by_authorization);

  // Writes everything queued before the call, summaries included. Returns
  // once written, or once a write attempt after the call failed (the
  // records stay queued), or at shutdown.
  void Flush();

  // The stored form of a field a caller chose (see above): `value` itself
  // when `valid`, else its compact form.
  static std::string Compact(const std::string& value, bool valid);

 private:
  struct Bucket {
    double tokens = 0;
    env::MonoTime last{};
  };
  // (vault, status code, result) -> pending count.
  // Vault, caller ("tenant/object"), status code, result: a summary counts
  // the calls of one caller, so the identity it names made all of them.
  using SummaryKey = std::tuple<std::string, std::string, int, std::string>;
  struct Summary {
    int64_t count = 0;
    env::MonoTime first{};
    store::AuditEvent last;  // The latest call coalesced.
  };

  void Run();
  // REQUIRE mu_ held.
  bool Take(Bucket& bucket, int burst, std::chrono::milliseconds refill,
            env::MonoTime now);
  bool TakeRefused(const store::AuditEvent& e, env::MonoTime now);
  void Coalesce(store::AuditEvent e, env::MonoTime now);
  // Moves due summaries (all when `all`) into `out`.
  void TakeSummaries(bool all, env::MonoTime now,
                     std::deque<store::AuditEvent>& out);
  void TrimBuckets(std::map<std::string, Bucket>& buckets, int burst,
                   std::chrono::milliseconds refill, env::MonoTime now);
  Status Write(const std::deque<store::AuditEvent>& batch);

  store::Store& store_;
  const env::Clock& clock_;
  const AuditWriterOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable flushed_;
  // Guarded by mu_:
  std::deque<store::AuditEvent> queue_;
  size_t in_flight_ = 0;  // Records being written, out of queue_.
  std::map<std::string, Bucket> vault_buckets_;
  std::map<std::string, Bucket> caller_buckets_;   // "vault\n" + object id.
  std::map<std::string, Bucket> address_buckets_;  // "vault\n" + address.
  std::map<SummaryKey, Summary> summaries_;
  int64_t untracked_ = 0;  // Coalesced with the summary table full.
  uint64_t flush_requests_ = 0, flushes_done_ = 0;
  bool failing_ = false;  // The last write attempt failed.
  bool stop_ = false;
  std::thread thread_;  // Last: starts once everything above exists.
};

}  // namespace atrest::vault

#endif  // ATREST_VAULT_AUDIT_WRITER_H_
