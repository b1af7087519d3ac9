#include "hsm/softhsm.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "crypto/random.h"
#include "hsm/pkcs11.h"

namespace atrest::hsm {
namespace {

// Where Debian and its derivatives put the module: the compatibility path
// first, then the multiarch directories of the common architectures.
constexpr const char* kSoftHsmPaths[] = {
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/arm-linux-gnueabihf/softhsm/libsofthsm2.so",
    "/usr/lib/i386-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
};

// Random bytes of entropy per PIN, written as twice as many hex characters
// (SoftHSM2 takes 4 to 255).
constexpr size_t kUserPinBytes = 24;
constexpr size_t kSoPinBytes = 24;

crypto::SecretBytes RandomPin(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  crypto::SecretBytes raw = crypto::NewRandomSecret(bytes);
  crypto::SecretBytes pin(2 * bytes);
  MutableByteView out = pin.MutableSecret();
  for (size_t i = 0; i < bytes; ++i) {
    const uint8_t b = raw.RevealSecret()[i];
    out[2 * i] = static_cast<uint8_t>(kHex[b >> 4]);
    out[2 * i + 1] = static_cast<uint8_t>(kHex[b & 0xf]);
  }
  return pin;
}

// The PIN file holds the PIN and a newline, so that an operator can use it
// with pkcs11-tool --pin "$(cat pin)".
Result<crypto::SecretBytes> ReadPin(env::FileSystem& fs,
                                    const std::string& path) {
  ASSIGN_OR_RETURN(Bytes raw, env::ReadFile(fs, path));
  crypto::SecretBytes file = crypto::SecretBytes::CopyFrom(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  ByteView pin = file.RevealSecret();
  while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) {
    pin = pin.first(pin.size() - 1);
  }
  if (pin.empty()) {
    return DataLossError("PIN file " + path + " is empty");
  }
  return crypto::SecretBytes::CopyFrom(pin);
}

Status WritePin(env::FileSystem& fs, const std::string& path,
                const crypto::SecretBytes& pin) {
  crypto::SecretBytes file(pin.size() + 1);
  MutableByteView out = file.MutableSecret();
  std::copy(pin.RevealSecret().begin(), pin.RevealSecret().end(), out.begin());
  out[pin.size()] = '\n';
  return env::WriteFileAtomically(fs, path, file.RevealSecret())
      .WithContext("writing the HSM PIN file");
}

// C_InitToken with a random SO PIN, then C_InitPIN with `user_pin`, both
// through PKCS#11 so that any conforming module would do.
Status InitToken(const internal::Module& module, std::string_view label,
                 const crypto::SecretBytes& user_pin) {
  CK_FUNCTION_LIST* fn = module.fn();
  ASSIGN_OR_RETURN(CK_SLOT_ID free_slot, module.FindUninitialisedSlot());
  crypto::SecretBytes so_pin = RandomPin(kSoPinBytes);
  std::string padded(label);
  padded.resize(internal::kTokenLabelSize, ' ');
  // The PKCS#11 API takes non-const pointers but writes neither input.
  CK_RV rv = fn->C_InitToken(
      free_slot, const_cast<uint8_t*>(so_pin.RevealSecret().data()),
      so_pin.size(), reinterpret_cast<CK_UTF8CHAR*>(padded.data()));
  if (rv != CKR_OK) return internal::CkError("C_InitToken", rv);
  // SoftHSM2 moves a newly initialised token to a slot of its own; find it
  // again by label.
  ASSIGN_OR_RETURN(CK_SLOT_ID slot, module.FindToken(label));
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                         nullptr, &session);
  if (rv != CKR_OK) return internal::CkError("C_OpenSession", rv);
  rv = fn->C_Login(session, CKU_SO,
                   const_cast<uint8_t*>(so_pin.RevealSecret().data()),
                   so_pin.size());
  Status status = Status::Ok();
  if (rv != CKR_OK) {
    status = internal::CkError("C_Login (SO)", rv);
  } else {
    rv = fn->C_InitPIN(session,
                       const_cast<uint8_t*>(user_pin.RevealSecret().data()),
                       user_pin.size());
    if (rv != CKR_OK) status = internal::CkError("C_InitPIN", rv);
    fn->C_Logout(session);
  }
  fn->C_CloseSession(session);
  return status;
}

}  // namespace

Result<std::string> FindSoftHsmModule() {
  // dlopen reads the real filesystem, not the Env seam, so the lookup does
  // too: a fake filesystem could not make a module loadable.
  for (const char* path : kSoftHsmPaths) {
    struct stat st;
    if (::stat(path, &st) == 0 && S_ISREG(st.st_mode)) return std::string(path);
  }
  return NotFoundError(
      "SoftHSM2 is not installed (no libsofthsm2.so in /usr/lib/softhsm or "
      "the multiarch directories); install the Debian package softhsm2 "
      "(scripts/install-deps.sh does), or configure another PKCS#11 module");
}

Result<TokenOptions> PrepareSoftHsm(env::Env& env, const std::string& dir,
                                    std::string_view label) {
  RETURN_IF_ERROR(internal::CheckTokenLabel(label));
  if (dir.empty() || dir.find('\n') != std::string::npos) {
    return InvalidArgumentError("HSM directory must be a one-line path");
  }
  ASSIGN_OR_RETURN(std::string module_path, FindSoftHsmModule());
  env::FileSystem& fs = env.fs();
  const std::string tokens = dir + "/tokens";
  const std::string conf = dir + "/softhsm2.conf";
  const std::string pin_path = dir + "/pin";
  RETURN_IF_ERROR(fs.CreateDirs(tokens));
  const std::string conf_text =
      "# Written by atrest at start when it differs (src/hsm/softhsm.cc).\n"
      "directories.tokendir = " +
      tokens +
      "\n"
      "objectstore.backend = file\n"
      "log.level = ERROR\n"
      "slots.removable = false\n";
  // Rewritten only when it differs, so a start on a full disk finds it.
  Result<Bytes> current = env::ReadFile(fs, conf);
  if (!current.ok() || AsString(*current) != conf_text) {
    RETURN_IF_ERROR(env::WriteFileAtomically(fs, conf, AsBytes(conf_text))
                        .WithContext("writing softhsm2.conf"));
  }
  // SoftHSM2 reads the variable in C_Initialize, so it must be set before
  // the module is initialised, here and in Token::Open.
  if (::setenv("SOFTHSM2_CONF", conf.c_str(), /*overwrite=*/1) != 0) {
    return InternalError("setenv SOFTHSM2_CONF failed");
  }

  ASSIGN_OR_RETURN(std::unique_ptr<internal::Module> module,
                   internal::Module::Load(module_path));
  const bool have_pin = fs.Exists(pin_path);
  Result<CK_SLOT_ID> slot = module->FindToken(label);
  if (!slot.ok() && slot.status().code() != StatusCode::kNotFound) {
    return slot.status();
  }
  const std::string token_name =
      "SoftHSM2 token \"" + std::string(label) + "\" in " + tokens;
  if (slot.ok() && !have_pin) {
    return FailedPreconditionError(
        token_name + " exists but its PIN file " + pin_path +
        " does not; restore the PIN file from backup (if initialisation was "
        "interrupted on first start, remove " +
        tokens + " instead)");
  }
  if (!slot.ok() && have_pin) {
    return FailedPreconditionError(
        token_name + " does not exist but its PIN file " + pin_path +
        " does; restore the token directory from backup, or remove the PIN "
        "file to start a new, empty token");
  }

  TokenOptions options;
  options.module_path = module_path;
  options.token_label = std::string(label);
  if (slot.ok()) {
    ASSIGN_OR_RETURN(options.pin, ReadPin(fs, pin_path));
    return options;
  }
  options.pin = RandomPin(kUserPinBytes);
  RETURN_IF_ERROR(InitToken(*module, label, options.pin));
  // Written after the token so that a PIN file always names a real token.
  RETURN_IF_ERROR(WritePin(fs, pin_path, options.pin));
  return options;
}

}  // namespace atrest::hsm
