#include "app/selftest.h"

#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/provider.h"
#include "crypto/random.h"
#include "crypto/rsa.h"
#include "crypto/streaming_aead.h"

namespace atrest::app {
namespace {

using crypto::SecretBytes;

// RFC 5869 appendix A.1.
Status HkdfKnownAnswer() {
  Bytes ikm(22, 0x0b), salt, info, okm;
  (void)HexDecode("000102030405060708090a0b0c", &salt);
  (void)HexDecode("f0f1f2f3f4f5f6f7f8f9", &info);
  (void)HexDecode(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208"
      "d5b887185865",
      &okm);
  ASSIGN_OR_RETURN(SecretBytes out, crypto::HkdfSha256(ikm, salt, info, 42));
  if (!out.Equals(SecretBytes::CopyFrom(okm))) {
    return InternalError("HKDF-SHA256 known answer mismatch");
  }
  return Status::Ok();
}

Status AeadRoundTrip() {
  ASSIGN_OR_RETURN(auto aead, crypto::Aead::Create(crypto::NewAes256Key()));
  ASSIGN_OR_RETURN(Bytes ct,
                   aead->Encrypt(AsBytes("self-test"), AsBytes("ad")));
  ASSIGN_OR_RETURN(SecretBytes pt, aead->Decrypt(ct, AsBytes("ad")));
  if (AsString(pt.RevealSecret()) != "self-test") {
    return InternalError("AES-256-GCM round trip mismatch");
  }
  if (aead->Decrypt(ct, AsBytes("other")).ok()) {
    return InternalError("AES-256-GCM accepted the wrong associated data");
  }
  return Status::Ok();
}

Status StreamRoundTrip() {
  SecretBytes key = crypto::NewAes256Key();
  Bytes data(300000);
  crypto::RandomBytes(data);
  ASSIGN_OR_RETURN(Bytes ct, crypto::EncryptAll(key, AsBytes("ctx"), data));
  ASSIGN_OR_RETURN(Bytes back, crypto::DecryptAll(key, AsBytes("ctx"), ct));
  if (back != data) return InternalError("stream round trip mismatch");
  ct[ct.size() / 2] ^= 1;
  if (crypto::DecryptAll(key, AsBytes("ctx"), ct).ok()) {
    return InternalError("stream accepted a tampered segment");
  }
  return Status::Ok();
}

Status RsaWrapRoundTrip() {
  ASSIGN_OR_RETURN(crypto::RsaPrivateKey key,
                   crypto::RsaPrivateKey::Generate(2048));
  SecretBytes dek = crypto::NewAes256Key();
  for (auto padding :
       {crypto::RsaPadding::kOaepSha256, crypto::RsaPadding::kOaepSha1}) {
    ASSIGN_OR_RETURN(Bytes wrapped,
                     key.PublicKey().Encrypt(padding, dek.RevealSecret()));
    ASSIGN_OR_RETURN(SecretBytes back, key.Decrypt(padding, wrapped));
    if (!back.Equals(dek)) return InternalError("RSA unwrap mismatch");
  }
  return Status::Ok();
}

}  // namespace

Status RunSelfTest(std::ostream& out) {
  out << "crypto: " << crypto::CryptoDescription() << "\n";
  const std::vector<std::pair<const char*, std::function<Status()>>> checks = {
      {"HKDF-SHA256 known answer", HkdfKnownAnswer},
      {"AES-256-GCM round trip and tamper", AeadRoundTrip},
      {"segmented stream round trip and tamper", StreamRoundTrip},
      {"RSA-2048 OAEP wrap/unwrap", RsaWrapRoundTrip},
  };
  Status first_failure;
  for (const auto& [name, check] : checks) {
    Status s = check();
    out << (s.ok() ? "ok    " : "FAIL  ") << name;
    if (!s.ok()) out << ": " << s.message();
    out << "\n";
    if (!s.ok() && first_failure.ok()) first_failure = s;
  }
  return first_failure;
}

}  // namespace atrest::app
