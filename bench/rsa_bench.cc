// RSA-2048 key wrapping as atrest does it (crypto/rsa.h): wrap a 32-byte data
// key with the public key, unwrap it with the private key, for RSA-OAEP-256
// (what atrest uses) and RSA-OAEP (SHA-1, what some Key Vault clients send).
//
// The baseline is `openssl speed -seconds 3 rsa2048`, which scripts/bench.sh
// runs in the same invocation: wrap is compared with its "verify/s" (the
// public-key operation) and unwrap with its "sign/s" (the private one).
// CPU time, as `openssl speed` measures by default; items/second is
// operations per second.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/provider.h"
#include "crypto/random.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {
namespace {

constexpr int kBits = 2048;
constexpr double kMinTime = 0.5;

// One key for the run; generating it takes a fraction of a second.
const RsaPrivateKey* PrivateKey() {
  static const std::optional<RsaPrivateKey> key = [] {
    Result<RsaPrivateKey> k = RsaPrivateKey::Generate(kBits);
    return k.ok() ? std::optional<RsaPrivateKey>(std::move(k).value())
                  : std::nullopt;
  }();
  return key ? &*key : nullptr;
}

RsaPadding Padding(const benchmark::State& state) {
  return static_cast<RsaPadding>(state.range(0));
}

void BM_RsaWrap(benchmark::State& state) {
  const RsaPrivateKey* priv = PrivateKey();
  if (priv == nullptr) {
    state.SkipWithError("RSA key generation failed");
    return;
  }
  const RsaPublicKey pub = priv->PublicKey();
  const SecretBytes dek = NewAes256Key();
  for (auto _ : state) {
    Result<Bytes> wrapped = pub.Encrypt(Padding(state), dek.RevealSecret());
    if (!wrapped.ok()) {
      state.SkipWithError("RsaPublicKey::Encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(wrapped->data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(RsaPaddingName(Padding(state))));
}

void BM_RsaUnwrap(benchmark::State& state) {
  const RsaPrivateKey* priv = PrivateKey();
  if (priv == nullptr) {
    state.SkipWithError("RSA key generation failed");
    return;
  }
  const SecretBytes dek = NewAes256Key();
  Result<Bytes> wrapped =
      priv->PublicKey().Encrypt(Padding(state), dek.RevealSecret());
  if (!wrapped.ok()) {
    state.SkipWithError("RsaPublicKey::Encrypt failed");
    return;
  }
  for (auto _ : state) {
    Result<SecretBytes> unwrapped = priv->Decrypt(Padding(state), *wrapped);
    if (!unwrapped.ok() || !unwrapped->Equals(dek)) {
      state.SkipWithError("RsaPrivateKey::Decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(unwrapped->size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(RsaPaddingName(Padding(state))));
}

void Paddings(benchmark::internal::Benchmark* b) {
  b->Arg(static_cast<int64_t>(RsaPadding::kOaepSha256))
      ->Arg(static_cast<int64_t>(RsaPadding::kOaepSha1))
      ->ArgName("padding")
      ->MinTime(kMinTime)
      ->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_RsaWrap)->Apply(Paddings);
BENCHMARK(BM_RsaUnwrap)->Apply(Paddings);

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
  benchmark::AddCustomContext("rsa_bits", std::to_string(crypto::kBits));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
