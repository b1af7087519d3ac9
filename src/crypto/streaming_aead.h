// Streaming authenticated encryption of objects of any size: the format of
// crypto/stream_format.h and docs/format.md (segmented AES-256-GCM under a
// per-stream key derived from the object's data key).
//
// Guarantees, given a fresh random data key or not:
//  - confidentiality and integrity of every segment;
//  - reordering, duplicating, dropping, truncating or extending segments, or
//    splicing segments from another stream, is detected;
//  - the header (version, segment size, salt, nonce prefix) and the caller's
//    associated data are bound by a key commitment checked before any
//    segment is decrypted;
//  - every failure to authenticate returns DecryptionFailed() (crypto/aead.h).
//
// Memory: an encrypter or decrypter holds at most two segments, whatever
// the size of the object.
//
// Streaming decryption releases each segment's plaintext once that segment
// is authenticated. A stream cut short is reported by Finish(); a consumer
// that must not act on a prefix (an HTTP download, say) aborts when Finish()
// fails. RandomAccessDecrypter authenticates the final segment on Open(), so
// its plaintext_size() is trustworthy.
//
// Thread safety: StreamEncrypter and StreamDecrypter belong to one caller at
// a time. RandomAccessDecrypter is safe for concurrent Read() calls.
#ifndef ATREST_CRYPTO_STREAMING_AEAD_H_
#define ATREST_CRYPTO_STREAMING_AEAD_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"
#include "crypto/stream_format.h"
#include "env/env.h"

namespace atrest::crypto {

// Receives output bytes. Its view is valid only during the call. A non-OK
// return stops the stream and is passed back to the caller unchanged.
using Sink = std::function<Status(ByteView)>;

struct StreamParams {
  uint32_t segment_size = stream_format::kDefaultSegmentSize;
};

class StreamEncrypter {
 public:
  // `data_key` must be 32 bytes. `associated_data` binds the stream to what
  // it belongs to; the decrypter must pass the same bytes. The header is
  // written to `sink` on the first Update() or Finish().
  static Result<std::unique_ptr<StreamEncrypter>> Create(
      const SecretBytes& data_key, ByteView associated_data, Sink sink,
      StreamParams params = {});
  ~StreamEncrypter();

  // Encrypts more plaintext. Any error is permanent.
  Status Update(ByteView plaintext);
  // Encrypts the final segment. After Finish() the stream is closed.
  Status Finish();

  // Ciphertext size for a plaintext of `plaintext_size` bytes.
  static uint64_t CiphertextSize(uint64_t plaintext_size,
                                 uint32_t segment_size);

 private:
  struct State;
  explicit StreamEncrypter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class StreamDecrypter {
 public:
  // Plaintext goes to `sink`, one authenticated segment at a time.
  static Result<std::unique_ptr<StreamDecrypter>> Create(
      const SecretBytes& data_key, ByteView associated_data, Sink sink);
  ~StreamDecrypter();

  // Feeds ciphertext in chunks of any size. Any error is permanent.
  Status Update(ByteView ciphertext);
  // Authenticates the final segment; fails if the stream was cut short.
  Status Finish();

 private:
  struct State;
  explicit StreamDecrypter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class RandomAccessDecrypter {
 public:
  // Reads and checks the header, then authenticates the final segment.
  // `file` is borrowed and must outlive the decrypter.
  static Result<std::unique_ptr<RandomAccessDecrypter>> Open(
      const SecretBytes& data_key, ByteView associated_data,
      const env::RandomAccessFile& file);
  ~RandomAccessDecrypter();

  // Authenticated plaintext size.
  uint64_t plaintext_size() const;
  uint32_t segment_size() const;

  // Decrypts plaintext bytes [offset, offset + length) to `sink`, reading
  // only the segments that hold them. OutOfRange when the range ends past
  // plaintext_size().
  Status Read(uint64_t offset, uint64_t length, const Sink& sink) const;

 private:
  struct State;
  explicit RandomAccessDecrypter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Whole-buffer conveniences over the classes above (for small objects and
// tests). DecryptAll returns plaintext only if the whole stream verifies.
Result<Bytes> EncryptAll(const SecretBytes& data_key, ByteView associated_data,
                         ByteView plaintext, StreamParams params = {});
Result<Bytes> DecryptAll(const SecretBytes& data_key, ByteView associated_data,
                         ByteView ciphertext);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_STREAMING_AEAD_H_
