// Internal to hsm/: loading a PKCS#11 module, turning CK_RV into Status,
// and finding slots. Nothing outside src/hsm/ includes this header, so the
// PKCS#11 types stay out of the public interface (hsm/token.h).
//
// Thread safety: a Module is immutable after Load(); its function list may
// be called from several threads because Load() asks for CKF_OS_LOCKING_OK.
#ifndef ATREST_HSM_PKCS11_H_
#define ATREST_HSM_PKCS11_H_

#include <p11-kit/pkcs11.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::hsm::internal {

// "CKR_PIN_INCORRECT" and so on; "CKR_0x<hex>" for a value without a name.
std::string CkrName(CK_RV rv);

// The Status for a failed call: "<what>: CKR_NAME", with a code that tells
// the caller what to do (PIN trouble is PermissionDenied, a missing token
// Unavailable, an unknown object NotFound, the rest Internal). Messages are
// built only from `what` and the CKR name, so no PIN or key byte can reach
// them.
Status CkError(std::string_view what, CK_RV rv);

// True when `rv` means the session can no longer be used (closed, device
// gone); the session pool then drops it instead of reusing it.
bool SessionBroken(CK_RV rv);

// PKCS#11 token labels are 32 bytes, padded with spaces.
inline constexpr size_t kTokenLabelSize = 32;
// InvalidArgument unless 1 to 32 bytes of printable ASCII without trailing
// spaces (which the padding would swallow).
Status CheckTokenLabel(std::string_view label);

// A loaded and initialised PKCS#11 module: dlopen, C_GetFunctionList,
// C_Initialize with CKF_OS_LOCKING_OK; the destructor calls C_Finalize and
// dlclose. PKCS#11 allows one initialisation per module and process, so a
// second Load() of a module that is already initialised fails with
// FailedPrecondition instead of sharing (and later finalising) it.
class Module {
 public:
  static Result<std::unique_ptr<Module>> Load(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return fn_; }

  // The slot holding the initialised token labelled `label`; NotFound
  // otherwise.
  Result<CK_SLOT_ID> FindToken(std::string_view label) const;
  // A slot whose token is present but not initialised (SoftHSM2 always
  // offers one); NotFound otherwise.
  Result<CK_SLOT_ID> FindUninitialisedSlot() const;
  // Whether the token in `slot` offers `mechanism` with all of `flags`
  // (CKF_UNWRAP and so on).
  bool HasMechanism(CK_SLOT_ID slot, CK_MECHANISM_TYPE mechanism,
                    CK_FLAGS flags) const;

 private:
  Module(void* dl, CK_FUNCTION_LIST* fn) : dl_(dl), fn_(fn) {}
  Result<std::vector<CK_SLOT_ID>> Slots() const;

  void* const dl_;
  CK_FUNCTION_LIST* const fn_;
};

// Template entries. PKCS#11 declares input templates non-const but does not
// write through them, so constant values may be pointed at.
inline CK_ATTRIBUTE AttrBytes(CK_ATTRIBUTE_TYPE type, ByteView value) {
  return {type, const_cast<uint8_t*>(value.data()), value.size()};
}
template <typename T>
CK_ATTRIBUTE AttrValue(CK_ATTRIBUTE_TYPE type, const T& value) {
  return {type, const_cast<T*>(&value), sizeof(T)};
}
inline constexpr CK_BBOOL kTrue = CK_TRUE;
inline constexpr CK_BBOOL kFalse = CK_FALSE;

}  // namespace atrest::hsm::internal

#endif  // ATREST_HSM_PKCS11_H_
