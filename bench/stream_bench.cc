// Throughput of the streaming format (crypto/streaming_aead.h) against its
// baseline: one single-shot AES-256-GCM call over the same buffer, measured
// in the same run (STYLE.md habit 10).
//
//   BM_SingleShotGcm{Encrypt,Decrypt}/size   EVP init with key and IV, one
//                                            Update, Final, tag; output into
//                                            a preallocated buffer.
//   BM_Stream{Encrypt,Decrypt}/size          Create (HKDF, key schedule) +
//                                            one Update over the whole
//                                            buffer + Finish, default
//                                            segment size, counting sink.
//   BM_Stream{Encrypt,Decrypt}Segment/size/segment_size
//                                            the same at 16 MiB for a sweep
//                                            of segment sizes.
//
// Every figure is CPU time (not UseRealTime), reported as bytes/second of
// plaintext: the build VM is shared and noisy, and wall-clock time there
// mostly measures how long the process waited for a core. All the work is
// on the benchmark thread, so CPU time is the cost of the operation.
// scripts/bench.sh runs this and turns the JSON into docs/benchmarks.md's
// tables.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/provider.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "crypto/stream_format.h"
#include "crypto/streaming_aead.h"

namespace atrest::crypto {
namespace {

constexpr int64_t kKiB = 1 << 10;
constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kMinSize = 4 * kKiB;
constexpr int64_t kMaxSize = 256 * kMiB;
constexpr int64_t kSweepSize = 16 * kMiB;
// Long enough for a few iterations of the 256 MiB cases, short enough that
// the whole binary runs in well under a minute per repetition on 2 cores.
constexpr double kMinTime = 0.2;

constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;
constexpr char kAssociatedData[] = "bench account/container/object v1";

ByteView AssociatedData() { return AsBytes(kAssociatedData); }

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

struct CipherDeleter {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};

// Fetched once, as the library fetches its own (crypto/openssl_util.h).
const EVP_CIPHER* Gcm() {
  static const std::unique_ptr<EVP_CIPHER, CipherDeleter> cipher(
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  return cipher.get();
}

// One key for the whole run, so that cached ciphertexts stay decryptable.
const SecretBytes& Key() {
  static const SecretBytes key = NewAes256Key();
  return key;
}

// kMaxSize random bytes; every benchmark reads a prefix.
ByteView Plaintext(size_t size) {
  static const Bytes data = [] {
    Bytes d(kMaxSize);
    for (size_t off = 0; off < d.size(); off += kMiB) {
      RandomBytes(MutableByteView(d.data() + off, kMiB));
    }
    return d;
  }();
  return ByteView(data).first(size);
}

// A fresh IV for each single-shot encryption of the run, so that no (key, IV)
// pair repeats; IV 0 is SingleShotCiphertext()'s.
void NextIv(uint8_t* iv) {
  static uint64_t counter = 0;
  ++counter;
  StoreBigEndian32(static_cast<uint32_t>(counter >> 32), iv + kIvSize - 8);
  StoreBigEndian32(static_cast<uint32_t>(counter), iv + kIvSize - 4);
}

// Single-shot AES-256-GCM: writes ciphertext || tag to `out`.
bool SealOnce(EVP_CIPHER_CTX* ctx, const uint8_t* iv, ByteView pt,
              uint8_t* out) {
  int len = 0;
  int fin = 0;
  return EVP_EncryptInit_ex2(ctx, Gcm(), Key().RevealSecret().data(), iv,
                             nullptr) == 1 &&
         EVP_EncryptUpdate(ctx, out, &len, pt.data(),
                           static_cast<int>(pt.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, out + len, &fin) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize,
                             out + pt.size()) == 1;
}

// Single-shot ciphertext || tag of Plaintext(size) under (Key(), iv 0...),
// computed once per size.
const Bytes& SingleShotCiphertext(size_t size) {
  static std::map<size_t, Bytes> cache;
  auto it = cache.find(size);
  if (it != cache.end()) return it->second;
  Bytes ct(size + kTagSize);
  const uint8_t iv[kIvSize] = {};
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!SealOnce(ctx.get(), iv, Plaintext(size), ct.data())) ct.clear();
  return cache.emplace(size, std::move(ct)).first->second;
}

// A stream of Plaintext(size) in `segment_size` segments, made once.
const Bytes& StreamCiphertext(size_t size, uint32_t segment_size) {
  static std::map<std::pair<size_t, uint32_t>, Bytes> cache;
  const auto k = std::make_pair(size, segment_size);
  auto it = cache.find(k);
  if (it != cache.end()) return it->second;
  Result<Bytes> ct = EncryptAll(Key(), AssociatedData(), Plaintext(size),
                                StreamParams{.segment_size = segment_size});
  return cache.emplace(k, ct.ok() ? std::move(ct).value() : Bytes())
      .first->second;
}

void BM_SingleShotGcmEncrypt(benchmark::State& state) {
  const size_t size = state.range(0);
  const ByteView pt = Plaintext(size);
  Bytes out(size + kTagSize);  // Zero-filled: its pages are already mapped.
  uint8_t iv[kIvSize] = {};
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  for (auto _ : state) {
    NextIv(iv);
    if (!SealOnce(ctx.get(), iv, pt, out.data())) {
      state.SkipWithError("EVP AES-256-GCM encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void BM_SingleShotGcmDecrypt(benchmark::State& state) {
  const size_t size = state.range(0);
  const Bytes& ct = SingleShotCiphertext(size);
  Bytes out(size);
  const uint8_t iv[kIvSize] = {};
  uint8_t tag[kTagSize];
  std::memcpy(tag, ct.data() + size, kTagSize);
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  for (auto _ : state) {
    int len = 0;
    int fin = 0;
    if (EVP_DecryptInit_ex2(ctx.get(), Gcm(), Key().RevealSecret().data(), iv,
                            nullptr) != 1 ||
        EVP_DecryptUpdate(ctx.get(), out.data(), &len, ct.data(),
                          static_cast<int>(size)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) !=
            1 ||
        EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1) {
      state.SkipWithError("EVP AES-256-GCM decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// A Sink that copies nothing: it only counts the bytes it is handed.
Sink CountingSink(uint64_t& count) {
  return [&count](ByteView b) {
    count += b.size();
    return Status::Ok();
  };
}

void RunStreamEncrypt(benchmark::State& state, uint32_t segment_size) {
  const size_t size = state.range(0);
  const ByteView pt = Plaintext(size);
  const uint64_t expected = StreamEncrypter::CiphertextSize(size, segment_size);
  for (auto _ : state) {
    uint64_t written = 0;
    auto enc =
        StreamEncrypter::Create(Key(), AssociatedData(), CountingSink(written),
                                StreamParams{.segment_size = segment_size});
    if (!enc.ok() || !(*enc)->Update(pt).ok() || !(*enc)->Finish().ok() ||
        written != expected) {
      state.SkipWithError("StreamEncrypter failed");
      break;
    }
    benchmark::DoNotOptimize(written);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void RunStreamDecrypt(benchmark::State& state, uint32_t segment_size) {
  const size_t size = state.range(0);
  const Bytes& ct = StreamCiphertext(size, segment_size);
  if (ct.empty()) {
    state.SkipWithError("EncryptAll failed");
    return;
  }
  for (auto _ : state) {
    uint64_t read = 0;
    auto dec =
        StreamDecrypter::Create(Key(), AssociatedData(), CountingSink(read));
    if (!dec.ok() || !(*dec)->Update(ct).ok() || !(*dec)->Finish().ok() ||
        read != size) {
      state.SkipWithError("StreamDecrypter failed");
      break;
    }
    benchmark::DoNotOptimize(read);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void BM_StreamEncrypt(benchmark::State& state) {
  RunStreamEncrypt(state, stream_format::kDefaultSegmentSize);
}
void BM_StreamDecrypt(benchmark::State& state) {
  RunStreamDecrypt(state, stream_format::kDefaultSegmentSize);
}
void BM_StreamEncryptSegment(benchmark::State& state) {
  RunStreamEncrypt(state, static_cast<uint32_t>(state.range(1)));
}
void BM_StreamDecryptSegment(benchmark::State& state) {
  RunStreamDecrypt(state, static_cast<uint32_t>(state.range(1)));
}

// 4 KiB, 64 KiB, 1 MiB, 16 MiB, 256 MiB.
void Sizes(benchmark::internal::Benchmark* b) {
  b->RangeMultiplier(16)
      ->Range(kMinSize, kMaxSize)
      ->ArgName("size")
      ->MinTime(kMinTime)
      ->Unit(benchmark::kMicrosecond);
}

// 16 MiB with 4 KiB, 16 KiB, 64 KiB, 256 KiB and 1 MiB segments.
void SegmentSweep(benchmark::internal::Benchmark* b) {
  b->ArgsProduct(
       {{kSweepSize}, {4 * kKiB, 16 * kKiB, 64 * kKiB, 256 * kKiB, 1 * kMiB}})
      ->ArgNames({"size", "segment"})
      ->MinTime(kMinTime)
      ->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_SingleShotGcmEncrypt)->Apply(Sizes);
BENCHMARK(BM_StreamEncrypt)->Apply(Sizes);
BENCHMARK(BM_SingleShotGcmDecrypt)->Apply(Sizes);
BENCHMARK(BM_StreamDecrypt)->Apply(Sizes);
BENCHMARK(BM_StreamEncryptSegment)->Apply(SegmentSweep);
BENCHMARK(BM_StreamDecryptSegment)->Apply(SegmentSweep);

}  // namespace
}  // namespace atrest::crypto

int main(int argc, char** argv) {
  namespace crypto = atrest::crypto;
  if (atrest::Status st = crypto::InitializeCrypto({}); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("crypto", crypto::CryptoDescription());
  benchmark::AddCustomContext(
      "default_segment_size",
      std::to_string(crypto::stream_format::kDefaultSegmentSize));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
