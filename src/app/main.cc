// The atrest executable: server and administration commands.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/selftest.h"
#include "crypto/provider.h"

namespace {

constexpr const char* kVersion = "0.1.0";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "atrest: AI training data and fine-tuned models encrypted at rest under "
      "keys you control"};
  app.require_subcommand(1);
  bool fips = false;
  std::string fips_module_dir;
  app.add_flag("--fips", fips,
               "use only the OpenSSL FIPS provider (see docs/fips.md)")
      ->envname("ATREST_FIPS");
  app.add_option("--fips-module-dir", fips_module_dir,
                 "directory holding the FIPS provider fips.so")
      ->envname("ATREST_FIPS_MODULE_DIR");

  auto* version = app.add_subcommand("version", "print the version");
  auto* selftest = app.add_subcommand(
      "selftest", "check that the cryptography in use works");

  CLI11_PARSE(app, argc, argv);

  atrest::Status init = atrest::crypto::InitializeCrypto(
      {.fips = fips, .fips_module_dir = fips_module_dir});
  if (!init.ok()) {
    std::cerr << "atrest: " << init.message() << "\n";
    return 2;
  }
  if (version->parsed()) {
    std::cout << "atrest " << kVersion << " ("
              << atrest::crypto::CryptoDescription() << ")\n";
    return 0;
  }
  if (selftest->parsed()) {
    atrest::Status s = atrest::app::RunSelfTest(std::cout);
    std::cout << (s.ok() ? "self-test passed\n" : "self-test FAILED\n");
    return s.ok() ? 0 : 1;
  }
  return 0;
}
