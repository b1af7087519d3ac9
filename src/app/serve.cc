#include "app/serve.h"

#include <chrono>
#include <iostream>

#include "app/runtime.h"

namespace atrest::app {
namespace {

Status Run(const Config& config, std::ostream& out) {
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime,
                   Runtime::Create(config, std::cerr));
  RETURN_IF_ERROR(runtime->Start());
  runtime->PrintEndpoints(out);
  const int sig = runtime->RunUntilShutdownSignal(std::chrono::seconds(10));
  out << "atrest stopped (signal " << sig << ")\n";
  return Status::Ok();
}

}  // namespace

int Serve(const Config& config, std::ostream& out, std::ostream& err) {
  Status s = Run(config, out);
  if (!s.ok()) {
    err << "atrest: " << s.message() << "\n";
    if (s.code() == StatusCode::kInsufficientStorage) {
      err << "atrest: the data disk is full and this start must write "
             "first (a first start, or state that does not exist yet); "
             "free space on the filesystem that holds "
          << config.data_dir << " and start again\n";
    }
    return 1;
  }
  return 0;
}

}  // namespace atrest::app
