// FUZZ_CHECK: the invariant check every fuzzer uses. A failed invariant
// aborts, which libFuzzer reports as a crash with the input that caused it.
#ifndef ATREST_FUZZ_FUZZ_CHECK_H_
#define ATREST_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

#endif  // ATREST_FUZZ_FUZZ_CHECK_H_
