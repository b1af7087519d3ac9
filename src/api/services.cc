#include "api/services.h"

namespace atrest::api {

std::string Services::Origin(const std::string& name) const {
  std::string host = name.empty() ? domain : name + "." + domain;
  return "https://" + host + (port == 443 ? "" : ":" + std::to_string(port));
}

std::vector<std::string> Services::Audiences(const std::string& name) const {
  const std::string host = name.empty() ? domain : name + "." + domain;
  std::vector<std::string> out;
  for (const std::string& base :
       {"https://" + host, "https://" + host + ":" + std::to_string(port)}) {
    out.push_back(base);
    out.push_back(base + "/");
  }
  return out;
}

}  // namespace atrest::api
