// MetricsRegistry: a small Prometheus registry of labelled counters and
// histograms, rendered in the text exposition format 0.0.4 for /metrics.
//
// Modules register their families once at start-up and keep the returned
// references (owned by the registry, valid for its lifetime); the hot path
// then looks up a labelled child and increments it. Label values must never
// hold secrets, customer data or unbounded ids (use route patterns, not
// paths).
//
// Thread safety: every method may be called concurrently.
#ifndef ATREST_HTTP_METRICS_H_
#define ATREST_HTTP_METRICS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace atrest::http {

using LabelValues = std::vector<std::string>;

class CounterFamily {
 public:
  // Adds `delta` (>= 0) to the counter with these label values (one value
  // per label name, in order); creates it at 0 first if needed.
  void Inc(const LabelValues& labels, double delta = 1);
  // Current value; 0 for an unknown label set.
  double Value(const LabelValues& labels) const;

 private:
  friend class MetricsRegistry;
  CounterFamily(std::string name, std::string help,
                std::vector<std::string> label_names);
  void Render(std::string& out) const;

  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<LabelValues, double> values_;  // Guarded by mu_.
};

class HistogramFamily {
 public:
  void Observe(const LabelValues& labels, double value);
  // Number of observations; 0 for an unknown label set.
  uint64_t Count(const LabelValues& labels) const;

 private:
  friend class MetricsRegistry;
  HistogramFamily(std::string name, std::string help,
                  std::vector<std::string> label_names,
                  std::vector<double> bounds);
  void Render(std::string& out) const;

  struct Series {
    std::vector<uint64_t> buckets;  // Non-cumulative, one per bound.
    uint64_t count = 0;
    double sum = 0;
  };
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // Ascending upper bounds, no +Inf.
  mutable std::mutex mu_;
  std::map<LabelValues, Series> series_;  // Guarded by mu_.
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family. InvalidArgument for a name or label name that is not
  // [a-zA-Z_:][a-zA-Z0-9_:]*, AlreadyExists when the name is taken. The
  // returned pointer is owned by the registry.
  Result<CounterFamily*> AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names);
  // `bounds` must be strictly ascending and non-empty.
  Result<HistogramFamily*> AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds);

  // Every family in registration order, text format 0.0.4.
  std::string Render() const;

  // The content type of Render()'s output.
  static constexpr const char* kContentType =
      "text/plain; version=0.0.4; charset=utf-8";

 private:
  Status CheckName(const std::string& name,
                   const std::vector<std::string>& label_names) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<CounterFamily>> counters_;      // Guarded.
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;  // Guarded.
  std::vector<std::string> order_;                            // Guarded.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_METRICS_H_
