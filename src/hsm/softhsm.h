// The embedded default PKCS#11 token: SoftHSM2, kept under the data
// directory.
//
// On first start PrepareSoftHsm makes a SoftHSM2 configuration and token
// store of its own under `dir` and initialises a token in it through
// PKCS#11 (C_InitToken, C_InitPIN) with random PINs; on later starts it
// finds that token again. The result is the TokenOptions for Token::Open.
// docs/hsm.md describes the layout and how to use another PKCS#11 module
// instead.
//
// Thread safety: PrepareSoftHsm sets the process environment variable
// SOFTHSM2_CONF, which is not safe while other threads read the
// environment; call it at start-up, before starting threads and before
// opening any Token.
#ifndef ATREST_HSM_SOFTHSM_H_
#define ATREST_HSM_SOFTHSM_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "env/env.h"
#include "hsm/token.h"

namespace atrest::hsm {

// The path of Debian's libsofthsm2.so (package libsofthsm2, pulled in by
// softhsm2), looked up in the usual and the multiarch library directories.
// NotFound, naming the package to install, when it is not there.
Result<std::string> FindSoftHsmModule();

// Makes (first start) or finds (later starts) the SoftHSM2 token labelled
// `label` under `dir`:
//   dir/                 created with mode 0700
//   dir/softhsm2.conf    directories.tokendir = dir/tokens, file backend;
//                        rewritten on every call, then named by
//                        SOFTHSM2_CONF
//   dir/tokens/          SoftHSM2's token store
//   dir/pin              the user PIN (mode 0600), written once
// The SO PIN is random and thrown away after initialisation: nobody can
// reset the user PIN, so back up dir/pin together with dir/tokens.
//
// Errors: NotFound when SoftHSM2 is not installed; FailedPrecondition when
// the token exists without its PIN file or the PIN file without its token
// (a directory removed or restored in part), with what to do; the PKCS#11
// error otherwise.
Result<TokenOptions> PrepareSoftHsm(env::Env& env, const std::string& dir,
                                    std::string_view label);

}  // namespace atrest::hsm

#endif  // ATREST_HSM_SOFTHSM_H_
