#include "hsm/pkcs11.h"

#include <dlfcn.h>

#include <cstdio>
#include <utility>

namespace atrest::hsm::internal {
namespace {

struct CkrEntry {
  CK_RV rv;
  const char* name;
};

#define ATREST_CKR(name) \
  { name, #name }
// The return values a caller of the functions used here can meet; others
// print as hex.
constexpr CkrEntry kCkrNames[] = {
    ATREST_CKR(CKR_OK),
    ATREST_CKR(CKR_CANCEL),
    ATREST_CKR(CKR_HOST_MEMORY),
    ATREST_CKR(CKR_SLOT_ID_INVALID),
    ATREST_CKR(CKR_GENERAL_ERROR),
    ATREST_CKR(CKR_FUNCTION_FAILED),
    ATREST_CKR(CKR_ARGUMENTS_BAD),
    ATREST_CKR(CKR_CANT_LOCK),
    ATREST_CKR(CKR_ATTRIBUTE_READ_ONLY),
    ATREST_CKR(CKR_ATTRIBUTE_SENSITIVE),
    ATREST_CKR(CKR_ATTRIBUTE_TYPE_INVALID),
    ATREST_CKR(CKR_ATTRIBUTE_VALUE_INVALID),
    ATREST_CKR(CKR_ACTION_PROHIBITED),
    ATREST_CKR(CKR_DATA_INVALID),
    ATREST_CKR(CKR_DATA_LEN_RANGE),
    ATREST_CKR(CKR_DEVICE_ERROR),
    ATREST_CKR(CKR_DEVICE_MEMORY),
    ATREST_CKR(CKR_DEVICE_REMOVED),
    ATREST_CKR(CKR_ENCRYPTED_DATA_INVALID),
    ATREST_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE),
    ATREST_CKR(CKR_FUNCTION_CANCELED),
    ATREST_CKR(CKR_FUNCTION_NOT_SUPPORTED),
    ATREST_CKR(CKR_KEY_HANDLE_INVALID),
    ATREST_CKR(CKR_KEY_SIZE_RANGE),
    ATREST_CKR(CKR_KEY_TYPE_INCONSISTENT),
    ATREST_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
    ATREST_CKR(CKR_KEY_NOT_WRAPPABLE),
    ATREST_CKR(CKR_KEY_UNEXTRACTABLE),
    ATREST_CKR(CKR_MECHANISM_INVALID),
    ATREST_CKR(CKR_MECHANISM_PARAM_INVALID),
    ATREST_CKR(CKR_OBJECT_HANDLE_INVALID),
    ATREST_CKR(CKR_OPERATION_ACTIVE),
    ATREST_CKR(CKR_OPERATION_NOT_INITIALIZED),
    ATREST_CKR(CKR_PIN_INCORRECT),
    ATREST_CKR(CKR_PIN_INVALID),
    ATREST_CKR(CKR_PIN_LEN_RANGE),
    ATREST_CKR(CKR_PIN_EXPIRED),
    ATREST_CKR(CKR_PIN_LOCKED),
    ATREST_CKR(CKR_SESSION_CLOSED),
    ATREST_CKR(CKR_SESSION_COUNT),
    ATREST_CKR(CKR_SESSION_HANDLE_INVALID),
    ATREST_CKR(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    ATREST_CKR(CKR_SESSION_READ_ONLY),
    ATREST_CKR(CKR_SESSION_EXISTS),
    ATREST_CKR(CKR_SESSION_READ_ONLY_EXISTS),
    ATREST_CKR(CKR_SESSION_READ_WRITE_SO_EXISTS),
    ATREST_CKR(CKR_SIGNATURE_INVALID),
    ATREST_CKR(CKR_SIGNATURE_LEN_RANGE),
    ATREST_CKR(CKR_TEMPLATE_INCOMPLETE),
    ATREST_CKR(CKR_TEMPLATE_INCONSISTENT),
    ATREST_CKR(CKR_TOKEN_NOT_PRESENT),
    ATREST_CKR(CKR_TOKEN_NOT_RECOGNIZED),
    ATREST_CKR(CKR_TOKEN_WRITE_PROTECTED),
    ATREST_CKR(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    ATREST_CKR(CKR_UNWRAPPING_KEY_SIZE_RANGE),
    ATREST_CKR(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
    ATREST_CKR(CKR_USER_ALREADY_LOGGED_IN),
    ATREST_CKR(CKR_USER_NOT_LOGGED_IN),
    ATREST_CKR(CKR_USER_PIN_NOT_INITIALIZED),
    ATREST_CKR(CKR_USER_TYPE_INVALID),
    ATREST_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    ATREST_CKR(CKR_USER_TOO_MANY_TYPES),
    ATREST_CKR(CKR_WRAPPED_KEY_INVALID),
    ATREST_CKR(CKR_WRAPPED_KEY_LEN_RANGE),
    ATREST_CKR(CKR_WRAPPING_KEY_HANDLE_INVALID),
    ATREST_CKR(CKR_WRAPPING_KEY_SIZE_RANGE),
    ATREST_CKR(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
    ATREST_CKR(CKR_RANDOM_NO_RNG),
    ATREST_CKR(CKR_BUFFER_TOO_SMALL),
    ATREST_CKR(CKR_INFORMATION_SENSITIVE),
    ATREST_CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
    ATREST_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    ATREST_CKR(CKR_MUTEX_BAD),
    ATREST_CKR(CKR_MUTEX_NOT_LOCKED),
    ATREST_CKR(CKR_FIPS_SELF_TEST_FAILED),
    ATREST_CKR(CKR_LIBRARY_LOAD_FAILED),
    ATREST_CKR(CKR_PIN_TOO_WEAK),
    ATREST_CKR(CKR_PUBLIC_KEY_INVALID),
    ATREST_CKR(CKR_FUNCTION_REJECTED),
};
#undef ATREST_CKR

StatusCode CodeFor(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_KEY_NOT_WRAPPABLE:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_ACTION_PROHIBITED:
      return StatusCode::kPermissionDenied;
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_MEMORY:
    case CKR_SESSION_COUNT:
      return StatusCode::kResourceExhausted;
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_FUNCTION_CANCELED:
      return StatusCode::kUnavailable;
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_SLOT_ID_INVALID:
      return StatusCode::kNotFound;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
      return StatusCode::kUnimplemented;
    case CKR_KEY_SIZE_RANGE:
    case CKR_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
      return StatusCode::kInvalidArgument;
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_CRYPTOKI_ALREADY_INITIALIZED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return StatusCode::kFailedPrecondition;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

std::string CkrName(CK_RV rv) {
  for (const CkrEntry& e : kCkrNames) {
    if (e.rv == rv) return e.name;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "CKR_0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

Status CkError(std::string_view what, CK_RV rv) {
  std::string message(what);
  message += ": ";
  message += CkrName(rv);
  return Status(CodeFor(rv), std::move(message));
}

bool SessionBroken(CK_RV rv) {
  return rv == CKR_SESSION_CLOSED || rv == CKR_SESSION_HANDLE_INVALID ||
         rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
         rv == CKR_DEVICE_ERROR || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

Status CheckTokenLabel(std::string_view label) {
  if (label.empty() || label.size() > kTokenLabelSize) {
    return InvalidArgumentError("token label must be 1 to 32 characters");
  }
  for (char c : label) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgumentError("token label must be printable ASCII");
    }
  }
  if (label.back() == ' ') {
    return InvalidArgumentError("token label must not end with a space");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Module>> Module::Load(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("PKCS#11 module path is empty");
  // RTLD_LOCAL keeps the module's symbols (and the libraries it pulls in)
  // from resolving ours; RTLD_NOW reports a broken module here, not at the
  // first call.
  void* dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (dl == nullptr) {
    const char* err = ::dlerror();
    return FailedPreconditionError("cannot load PKCS#11 module " + path + ": " +
                                   (err != nullptr ? err : "dlopen"));
  }
  auto get_list =
      reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl, "C_GetFunctionList"));
  CK_FUNCTION_LIST* fn = nullptr;
  CK_RV rv = get_list != nullptr ? get_list(&fn) : CKR_FUNCTION_NOT_SUPPORTED;
  if (rv != CKR_OK || fn == nullptr) {
    ::dlclose(dl);
    return FailedPreconditionError(path + " is not a PKCS#11 module (" +
                                   "C_GetFunctionList: " + CkrName(rv) + ")");
  }
  // Let the module use OS mutexes: the session pool calls it from many
  // threads at once, and we supply no locking callbacks of our own.
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  rv = fn->C_Initialize(&args);
  if (rv != CKR_OK) {
    ::dlclose(dl);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      return FailedPreconditionError(
          "PKCS#11 module " + path +
          " is already initialised in this process; open one Token per "
          "process and close it before PrepareSoftHsm or another Open");
    }
    return CkError("C_Initialize of " + path, rv);
  }
  return std::unique_ptr<Module>(new Module(dl, fn));
}

Module::~Module() {
  fn_->C_Finalize(nullptr);
  ::dlclose(dl_);
}

Result<std::vector<CK_SLOT_ID>> Module::Slots() const {
  CK_ULONG count = 0;
  CK_RV rv = fn_->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return CkError("C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(count);
  rv = fn_->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return CkError("C_GetSlotList", rv);
  slots.resize(count);
  return slots;
}

Result<CK_SLOT_ID> Module::FindToken(std::string_view label) const {
  RETURN_IF_ERROR(CheckTokenLabel(label));
  std::string padded(label);
  padded.resize(kTokenLabelSize, ' ');
  ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, Slots());
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (fn_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    if (std::string_view(reinterpret_cast<const char*>(info.label),
                         kTokenLabelSize) == padded) {
      return slot;
    }
  }
  return NotFoundError("no PKCS#11 token labelled \"" + std::string(label) +
                       "\"");
}

Result<CK_SLOT_ID> Module::FindUninitialisedSlot() const {
  ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, Slots());
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (fn_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) return slot;
  }
  return NotFoundError("the PKCS#11 module has no free slot for a new token");
}

bool Module::HasMechanism(CK_SLOT_ID slot, CK_MECHANISM_TYPE mechanism,
                          CK_FLAGS flags) const {
  CK_MECHANISM_INFO info{};
  return fn_->C_GetMechanismInfo(slot, mechanism, &info) == CKR_OK &&
         (info.flags & flags) == flags;
}

}  // namespace atrest::hsm::internal
