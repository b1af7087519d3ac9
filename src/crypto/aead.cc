#include "crypto/aead.h"

#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace atrest::crypto {

using internal::CipherCtxPtr;

Status DecryptionFailed() {
  return DataLossError(
      "decryption failed: the data is corrupt or does not belong to this key "
      "and context");
}

Result<std::unique_ptr<Aead>> Aead::Create(SecretBytes key) {
  if (key.size() != kAes256KeySize) {
    return InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  return std::unique_ptr<Aead>(new Aead(std::move(key)));
}

Result<Bytes> Aead::Encrypt(ByteView plaintext,
                            ByteView associated_data) const {
  Bytes out(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  RandomBytes(MutableByteView(out.data(), kGcmNonceSize));
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), internal::Aes256Gcm(),
                          key_.RevealSecret().data(), out.data(),
                          nullptr) != 1 ||
      (!associated_data.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, associated_data.data(),
                         static_cast<int>(associated_data.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out.data() + kGcmNonceSize, &len,
                        plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kGcmNonceSize + len, &len) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          out.data() + out.size() - kGcmTagSize) != 1) {
    return internal::OpenSslError("AES-256-GCM encrypt");
  }
  return out;
}

Result<SecretBytes> Aead::Decrypt(ByteView ciphertext,
                                  ByteView associated_data) const {
  if (ciphertext.size() < kGcmNonceSize + kGcmTagSize) {
    return DecryptionFailed();
  }
  const size_t body = ciphertext.size() - kGcmNonceSize - kGcmTagSize;
  SecretBytes out(body);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  // The tag is passed as a const buffer; OpenSSL only reads it.
  void* tag =
      const_cast<uint8_t*>(ciphertext.data() + ciphertext.size() - kGcmTagSize);
  bool ok =
      ctx &&
      EVP_DecryptInit_ex2(ctx.get(), internal::Aes256Gcm(),
                          key_.RevealSecret().data(), ciphertext.data(),
                          nullptr) == 1 &&
      (associated_data.empty() ||
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, associated_data.data(),
                         static_cast<int>(associated_data.size())) == 1) &&
      EVP_DecryptUpdate(ctx.get(), out.MutableSecret().data(), &len,
                        ciphertext.data() + kGcmNonceSize,
                        static_cast<int>(body)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag) ==
          1 &&
      EVP_DecryptFinal_ex(ctx.get(), out.MutableSecret().data() + len, &len) ==
          1;
  if (!ok) {
    internal::ClearOpenSslErrors();
    return DecryptionFailed();
  }
  return out;
}

Result<Bytes> WrapKey(const Aead& kek, const SecretBytes& key,
                      ByteView associated_data) {
  return kek.Encrypt(key.RevealSecret(), associated_data);
}

Result<SecretBytes> UnwrapKey(const Aead& kek, ByteView wrapped,
                              ByteView associated_data) {
  return kek.Decrypt(wrapped, associated_data);
}

}  // namespace atrest::crypto
