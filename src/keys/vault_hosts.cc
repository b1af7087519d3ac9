#include "keys/vault_hosts.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "net/https_client.h"

namespace atrest::keys {
namespace {

constexpr std::string_view kScheme = "https://";
constexpr std::string_view kShape = "https://<vault>.<suffix>/";

Status UriInvalid(std::string_view uri, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "The key vault URI '" + std::string(uri) +
                    "' is not of the form " + std::string(kShape) + ": " +
                    std::string(why) + ".",
                "KeyVaultUriInvalid");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// One DNS label: letters, digits and dashes, 1-63, no dash at either end.
bool ValidLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// A host whose last label is a number is an IPv4 address in one of the
// forms resolvers accept ("127.0.0.1", "127.1", "2130706433").
bool LooksLikeIpv4(std::string_view host) {
  size_t dot = host.rfind('.');
  return AllDigits(dot == std::string_view::npos ? host : host.substr(dot + 1));
}

// A DNS name of at least two valid labels, not an IP address.
bool ValidSuffixHost(std::string_view host) {
  if (host.find('.') == std::string_view::npos || LooksLikeIpv4(host)) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : dot - start);
    if (!ValidLabel(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::vector<std::string> AudiencesOf(const VaultSuffix& s) {
  std::vector<std::string> out = {std::string(kScheme) + s.host};
  if (s.port != 443) {
    out.push_back(std::string(kScheme) + s.host + ":" + std::to_string(s.port));
  }
  return out;
}

}  // namespace

std::string VaultSuffix::ToString() const {
  return port == 443 ? host : host + ":" + std::to_string(port);
}

Result<std::vector<VaultSuffix>> ParseVaultSuffixes(std::string_view text) {
  std::vector<VaultSuffix> out;
  size_t i = 0;
  auto separator = [](char c) {
    return c == ',' || std::isspace(static_cast<unsigned char>(c));
  };
  while (i < text.size()) {
    if (separator(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !separator(text[end])) ++end;
    const std::string_view entry = text.substr(i, end - i);
    i = end;
    const auto bad = [&](std::string_view why) {
      return InvalidArgumentError("key vault suffix '" + std::string(entry) +
                                  "' " + std::string(why));
    };
    VaultSuffix s;
    std::string_view host = entry;
    if (size_t colon = entry.find(':'); colon != std::string_view::npos) {
      host = entry.substr(0, colon);
      std::string_view port = entry.substr(colon + 1);
      unsigned value = 0;
      auto [ptr, ec] =
          std::from_chars(port.data(), port.data() + port.size(), value);
      if (port.empty() || ec != std::errc() ||
          ptr != port.data() + port.size() || value == 0 || value > 65535) {
        return bad("has a port outside 1-65535");
      }
      s.port = static_cast<uint16_t>(value);
    }
    if (!ValidSuffixHost(host)) {
      return bad(
          "is not a DNS name of two or more labels (letters, digits, "
          "dashes), such as vault.azure.net or vault.example.com:4443");
    }
    s.host = Lower(host);
    if (std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<VaultHosts> VaultHosts::Create(VaultSuffix builtin,
                                      std::vector<VaultSuffix> allowed) {
  auto check = [](VaultSuffix& s) -> Status {
    if (!ValidSuffixHost(s.host) || s.port == 0) {
      return InvalidArgumentError("key vault suffix '" + s.ToString() +
                                  "' is not a DNS name of two or more labels "
                                  "with a port from 1 to 65535");
    }
    s.host = Lower(s.host);
    return Status::Ok();
  };
  if (!builtin.host.empty()) RETURN_IF_ERROR(check(builtin));
  for (VaultSuffix& s : allowed) RETURN_IF_ERROR(check(s));
  return VaultHosts(std::move(builtin), std::move(allowed));
}

Result<VaultEndpoint> VaultHosts::Check(std::string_view uri) const {
  if (uri.size() < kScheme.size() ||
      Lower(uri.substr(0, kScheme.size())) != kScheme) {
    return UriInvalid(uri, "it must start with https://");
  }
  const std::string_view rest = uri.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return UriInvalid(uri,
                      "it has user info (user@host), which a vault URI never "
                      "has");
  }
  if (authority.find('[') != std::string_view::npos ||
      authority.find(']') != std::string_view::npos) {
    return UriInvalid(uri,
                      "its host is an IP address; name the vault by its DNS "
                      "name");
  }
  if (rest.find('#') != std::string_view::npos) {
    return UriInvalid(uri, "it has a fragment (#...)");
  }
  Result<net::HttpsUrl> url = net::HttpsUrl::Parse(uri);
  if (!url.ok()) {
    // The parser's message repeats the URI; say only what is wrong.
    const std::string& m = url.status().message();
    return UriInvalid(uri, m.find("port") != std::string::npos
                               ? "its port is not a number from 1 to 65535"
                               : "its host is not a DNS name");
  }
  if (url->target != "/") {
    return UriInvalid(uri, "a vault URI has no path or query");
  }
  if (LooksLikeIpv4(url->host)) {
    return UriInvalid(uri,
                      "its host is an IP address; name the vault by its DNS "
                      "name");
  }
  // The first near miss explains the refusal when no suffix matches.
  std::optional<Status> near_miss;
  std::vector<const VaultSuffix*> candidates;
  if (!builtin_.host.empty()) candidates.push_back(&builtin_);
  for (const VaultSuffix& s : allowed_) candidates.push_back(&s);
  for (const VaultSuffix* s : candidates) {
    const std::string tail = "." + s->host;
    if (url->host.size() <= tail.size() || !url->host.ends_with(tail)) {
      continue;
    }
    const std::string name =
        url->host.substr(0, url->host.size() - tail.size());
    if (!ValidLabel(name)) {
      if (!near_miss) {
        near_miss = UriInvalid(uri, "the vault's name (before ." + s->host +
                                        ") must be one DNS label: letters, "
                                        "digits and dashes");
      }
      continue;
    }
    if (url->port != s->port) {
      if (!near_miss) {
        near_miss =
            UriInvalid(uri, "vaults under " + s->host + " are served at port " +
                                std::to_string(s->port) + ", not at port " +
                                std::to_string(url->port));
      }
      continue;
    }
    return VaultEndpoint{.uri = "https://" + url->HostHeader(),
                         .host = url->host,
                         .port = url->port,
                         .name = name,
                         .suffix = *s,
                         .builtin = s == &builtin_};
  }
  if (near_miss) return *near_miss;
  return UriInvalid(
      uri, "its host is not under an allowed key vault suffix (" + Describe() +
               "; the list is the server's accounts.vault_suffixes)");
}

Result<std::string> VaultHosts::ChallengeAudience(
    const VaultEndpoint& vault, std::string_view resource) const {
  std::string r = Lower(resource);
  if (!r.empty() && r.back() == '/') r.pop_back();
  for (const std::string& audience : AudiencesOf(vault.suffix)) {
    if (r == audience) return audience;
  }
  return Status(StatusCode::kPermissionDenied,
                "The key vault " + vault.uri +
                    " asked for a token for another audience than Key "
                    "Vault's (" +
                    AudiencesOf(vault.suffix).front() +
                    "); no token was sent to it.",
                "KeyVaultChallengeResourceMismatch");
}

std::vector<std::string> VaultHosts::Audiences() const {
  std::vector<std::string> out;
  auto add = [&](const VaultSuffix& s) {
    for (std::string& a : AudiencesOf(s)) {
      if (std::find(out.begin(), out.end(), a) == out.end()) {
        out.push_back(std::move(a));
      }
    }
  };
  if (!builtin_.host.empty()) add(builtin_);
  for (const VaultSuffix& s : allowed_) add(s);
  return out;
}

std::string VaultHosts::Describe() const {
  std::string out;
  auto add = [&](const VaultSuffix& s) {
    if (!out.empty()) out += ", ";
    out += s.ToString();
  };
  if (!builtin_.host.empty()) add(builtin_);
  for (const VaultSuffix& s : allowed_) add(s);
  return out.empty() ? "none" : out;
}

}  // namespace atrest::keys
