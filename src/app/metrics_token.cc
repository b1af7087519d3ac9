#include "app/metrics_token.h"

#include "crypto/random.h"

namespace atrest::app {

Result<MetricsToken> LoadOrCreateMetricsToken(env::FileSystem& fs,
                                              const std::string& path) {
  if (!fs.Exists(path)) {
    Bytes raw(32);
    crypto::RandomBytes(MutableByteView(raw));
    MetricsToken made{HexEncode(raw), true};
    const std::string line = made.token + "\n";
    RETURN_IF_ERROR(env::WriteFileAtomically(fs, path, AsBytes(line))
                        .WithContext("writing the metrics token"));
    return made;
  }
  ASSIGN_OR_RETURN(Bytes raw, env::ReadFile(fs, path));
  std::string token(raw.begin(), raw.end());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  bool printable = !token.empty();
  for (char c : token) printable = printable && c > ' ' && c < 0x7f;
  if (!printable || token.size() < 16 || token.size() > 256) {
    return InvalidArgumentError(
        "the metrics token file " + path +
        " must hold one token of 16 to 256 printable characters (delete it "
        "to have a new one made)");
  }
  return MetricsToken{std::move(token), false};
}

}  // namespace atrest::app
