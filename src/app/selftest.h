// Known-answer and round-trip checks run by `atrest selftest` and at server
// start: they prove that the crypto provider in use works before any
// customer data is touched.
#ifndef ATREST_APP_SELFTEST_H_
#define ATREST_APP_SELFTEST_H_

#include <ostream>

#include "base/status.h"

namespace atrest::app {

// Runs every check, writing one line per check to `out`. OK when all pass.
Status RunSelfTest(std::ostream& out);

}  // namespace atrest::app

#endif  // ATREST_APP_SELFTEST_H_
