// `atrest serve`: builds every service from the configuration, bootstraps
// an empty data dir, and runs the HTTPS server until SIGTERM or SIGINT.
#ifndef ATREST_APP_SERVE_H_
#define ATREST_APP_SERVE_H_

#include <ostream>

#include "app/config.h"

namespace atrest::app {

// Returns the process exit code. Start-up problems are printed to `err`
// with what to fix; the endpoints, the CA path and where the administrator
// credentials are go to `out`.
int Serve(const Config& config, std::ostream& out, std::ostream& err);

}  // namespace atrest::app

#endif  // ATREST_APP_SERVE_H_
