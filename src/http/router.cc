#include "http/router.h"

#include <algorithm>

#include "http/headers.h"
#include "http/query.h"

namespace atrest::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  // "/a/b" -> {"a", "b"}; "/" -> {""}; "/a/" -> {"a", ""}.
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() >= 3 && seg.front() == '{' && seg.back() == '}';
}

// Matches `segments` of a route against a request path; fills `params`.
bool MatchPath(const Route& route, const std::vector<std::string_view>& path,
               std::vector<std::pair<std::string, std::string>>* params) {
  if (route.segments.size() != path.size()) return false;
  params->clear();
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (IsParam(seg)) {
      if (path[i].empty()) return false;
      Result<std::string> value = PercentDecode(path[i], false);
      if (!value.ok()) return false;
      params->emplace_back(seg.substr(1, seg.size() - 2), std::move(*value));
    } else if (!EqualsIgnoreCase(seg, path[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

Router::HostEntry* Router::EntryFor(std::string_view host_pattern,
                                    Status* status) {
  std::string host = ToLowerAscii(host_pattern);
  bool wildcard = false;
  std::string suffix;
  if (host == "*") {
    wildcard = true;
  } else if (host.starts_with("*.") && host.size() > 2) {
    wildcard = true;
    suffix = host.substr(1);
  }
  if (host.empty() || host.find('*', wildcard ? 1 : 0) != std::string::npos) {
    *status = InvalidArgumentError("bad host pattern '" + host + "'");
    return nullptr;
  }
  auto it = std::find_if(hosts_.begin(), hosts_.end(),
                         [&](const HostEntry& h) { return h.pattern == host; });
  if (it != hosts_.end()) return &*it;
  hosts_.push_back(HostEntry{host, suffix, wildcard, Surface::kGeneric, {}});
  return &hosts_.back();
}

Status Router::SetSurface(std::string_view host_pattern, Surface surface) {
  Status status;
  HostEntry* entry = EntryFor(host_pattern, &status);
  if (entry == nullptr) return status;
  entry->surface = surface;
  return Status::Ok();
}

Status Router::Add(std::string_view host_pattern, std::string_view method,
                   std::string_view path_pattern, RouteLimits limits,
                   Handler handler) {
  if (path_pattern.empty() || path_pattern.front() != '/') {
    return InvalidArgumentError("path pattern must start with '/'");
  }
  if (method.empty() || !handler) {
    return InvalidArgumentError("route needs a method and a handler");
  }
  if (limits.streaming_body && limits.inline_handler) {
    return InvalidArgumentError(
        "a streaming_body route cannot be an inline_handler");
  }
  Status status;
  HostEntry* entry = EntryFor(host_pattern, &status);
  if (entry == nullptr) return status;
  auto route = std::make_unique<Route>();
  route->host_pattern = entry->pattern;
  route->method = std::string(method);
  route->path_pattern = std::string(path_pattern);
  route->limits = limits;
  route->handler = std::move(handler);
  route->metric_route = route->host_pattern + route->path_pattern;
  for (std::string_view seg : SplitPath(path_pattern)) {
    bool has_brace = seg.find_first_of("{}") != std::string_view::npos;
    if (has_brace && !IsParam(seg)) {
      return InvalidArgumentError("bad path parameter in '" +
                                  route->path_pattern + "'");
    }
    route->segments.emplace_back(seg);
  }
  for (const auto& r : entry->routes) {
    if (r->method == route->method && r->segments == route->segments) {
      return AlreadyExistsError("duplicate route " + route->method + " " +
                                entry->pattern + route->path_pattern);
    }
  }
  entry->routes.push_back(std::move(route));
  return Status::Ok();
}

const Router::HostEntry* Router::FindHost(std::string_view host,
                                          std::string* label) const {
  const HostEntry* best = nullptr;
  for (const HostEntry& h : hosts_) {
    if (!h.wildcard) {
      if (h.pattern == host) {
        label->clear();
        return &h;
      }
      continue;
    }
    if (h.suffix.empty()) {  // "*": the weakest match.
      if (best == nullptr) best = &h;
      continue;
    }
    if (host.size() <= h.suffix.size() || !host.ends_with(h.suffix)) continue;
    std::string_view first = host.substr(0, host.size() - h.suffix.size());
    if (first.find('.') != std::string_view::npos) continue;
    if (best == nullptr || best->suffix.size() < h.suffix.size()) {
      best = &h;
      *label = std::string(first);
    }
  }
  if (best != nullptr && best->suffix.empty()) label->clear();
  return best;
}

RouteMatch Router::Find(std::string_view host, std::string_view method,
                        std::string_view path) const {
  RouteMatch match;
  const HostEntry* entry = FindHost(host, &match.host_label);
  if (entry == nullptr) return match;
  match.surface = entry->surface;
  if (path.empty() || path.front() != '/') return match;
  std::vector<std::string_view> segments = SplitPath(path);
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& route : entry->routes) {
    if (!MatchPath(*route, segments, &params)) continue;
    if (route->method == method) {
      match.kind = RouteMatch::Kind::kFound;
      match.route = route.get();
      match.params = std::move(params);
      return match;
    }
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += route->method;
    match.kind = RouteMatch::Kind::kMethodNotAllowed;
  }
  return match;
}

Response Router::NotFoundResponse(const RouteMatch& match) {
  if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
    Response r = SurfaceError(match.surface, 405, "MethodNotAllowed",
                              "The method is not allowed for this path; "
                              "allowed: " +
                                  match.allow);
    r.headers.Set("Allow", match.allow);
    return r;
  }
  return SurfaceError(match.surface, 404, "NotFound",
                      "No such endpoint for this host and path.");
}

std::vector<Router::Listed> Router::Routes() const {
  std::vector<Listed> out;
  for (const HostEntry& h : hosts_) {
    for (const auto& r : h.routes) out.push_back({r.get(), h.surface});
  }
  return out;
}

size_t Router::LargestHeaderLimit() const {
  size_t largest = 0;
  for (const HostEntry& h : hosts_) {
    for (const auto& r : h.routes) {
      largest = std::max(largest, r->limits.max_header_bytes);
    }
  }
  return largest == 0 ? 16 * 1024 : largest;
}

}  // namespace atrest::http
