#include "http/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace atrest::http {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

void AppendLabelValue(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

// `{a="x",b="y"}` plus an optional extra label (le="..."); "" when empty.
std::string Labels(const std::vector<std::string>& names,
                   const LabelValues& values, const std::string& extra_name,
                   const std::string& extra_value) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"";
    AppendLabelValue(out, values[i]);
    out += "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void AppendHeader(std::string& out, const std::string& name,
                  const std::string& help, const char* type) {
  out += "# HELP " + name + " ";
  for (char c : help) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  out += "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)) {}

void CounterFamily::Inc(const LabelValues& labels, double delta) {
  if (!(delta >= 0)) return;  // Counters only go up; also rejects NaN.
  std::lock_guard<std::mutex> lock(mu_);
  values_[labels] += delta;
}

double CounterFamily::Value(const LabelValues& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void CounterFamily::Render(std::string& out) const {
  AppendHeader(out, name_, help_, "counter");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, value] : values_) {
    out += name_ + Labels(label_names_, labels, "", "") + " " +
           FormatNumber(value) + "\n";
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

void HistogramFamily::Observe(const LabelValues& labels, double value) {
  size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.resize(bounds_.size());
  if (bucket < bounds_.size()) ++s.buckets[bucket];
  ++s.count;
  s.sum += value;
}

uint64_t HistogramFamily::Count(const LabelValues& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

void HistogramFamily::Render(std::string& out) const {
  AppendHeader(out, name_, help_, "histogram");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      out += name_ + "_bucket" +
             Labels(label_names_, labels, "le", FormatNumber(bounds_[i])) +
             " " + std::to_string(cumulative) + "\n";
    }
    out += name_ + "_bucket" + Labels(label_names_, labels, "le", "+Inf") +
           " " + std::to_string(s.count) + "\n";
    out += name_ + "_sum" + Labels(label_names_, labels, "", "") + " " +
           FormatNumber(s.sum) + "\n";
    out += name_ + "_count" + Labels(label_names_, labels, "", "") + " " +
           std::to_string(s.count) + "\n";
  }
}

Status MetricsRegistry::CheckName(
    const std::string& name,
    const std::vector<std::string>& label_names) const {
  if (!ValidName(name)) {
    return InvalidArgumentError("bad metric name '" + name + "'");
  }
  for (const std::string& l : label_names) {
    if (!ValidName(l) || l.find(':') != std::string::npos || l == "le") {
      return InvalidArgumentError("bad label name '" + l + "'");
    }
  }
  if (std::find(order_.begin(), order_.end(), name) != order_.end()) {
    return AlreadyExistsError("metric '" + name + "' already registered");
  }
  return Status::Ok();
}

Result<CounterFamily*> MetricsRegistry::AddCounter(
    std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckName(name, label_names));
  order_.push_back(name);
  counters_.push_back(std::unique_ptr<CounterFamily>(new CounterFamily(
      std::move(name), std::move(help), std::move(label_names))));
  return counters_.back().get();
}

Result<HistogramFamily*> MetricsRegistry::AddHistogram(
    std::string name, std::string help, std::vector<std::string> label_names,
    std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckName(name, label_names));
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    return InvalidArgumentError("histogram bounds must ascend strictly");
  }
  order_.push_back(name);
  histograms_.push_back(std::unique_ptr<HistogramFamily>(
      new HistogramFamily(std::move(name), std::move(help),
                          std::move(label_names), std::move(bounds))));
  return histograms_.back().get();
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const std::string& name : order_) {
    for (const auto& c : counters_) {
      if (c->name_ == name) c->Render(out);
    }
    for (const auto& h : histograms_) {
      if (h->name_ == name) h->Render(out);
    }
  }
  return out;
}

}  // namespace atrest::http
