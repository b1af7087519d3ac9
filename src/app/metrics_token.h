// The bearer token that /metrics requires (api/system_api.h), kept in
// <data_dir>/metrics-token, mode 0600, one line: made at the first start
// (32 random bytes, hex), read at every later one. The file is what an
// operator gives Prometheus (`authorization: {credentials_file: ...}`);
// replacing its content and restarting changes the token.
#ifndef ATREST_APP_METRICS_TOKEN_H_
#define ATREST_APP_METRICS_TOKEN_H_

#include <string>

#include "base/status.h"
#include "env/env.h"

namespace atrest::app {

struct MetricsToken {
  std::string token;
  bool created = false;  // Made now, by this call.
};

// Reads the token in `path`, or makes one there when the file does not
// exist. InvalidArgument when the file holds no usable token (fewer than 16
// or more than 256 characters, or characters other than printable ASCII
// without spaces), naming the file; the filesystem's error otherwise.
Result<MetricsToken> LoadOrCreateMetricsToken(env::FileSystem& fs,
                                              const std::string& path);

}  // namespace atrest::app

#endif  // ATREST_APP_METRICS_TOKEN_H_
