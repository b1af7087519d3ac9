#include "api/openai_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

#include "base/json.h"
#include "base/json_fields.h"
#include "crypto/stream_format.h"
#include "http/multipart.h"

namespace atrest::api {
namespace {

using nlohmann::json;

constexpr std::string_view kBearer = "Bearer ";

http::Response OpenAiError(int status, std::string_view code,
                           std::string_view message,
                           std::string_view type = "invalid_request_error") {
  json j = {{"error",
             {{"code", code},
              {"message", message},
              {"param", nullptr},
              {"type", type}}}};
  // Messages may quote what the client sent (an id), which need not be
  // UTF-8.
  http::Response r = http::Response::Json(status, DumpJson(j));
  // The openai clients retry 409, 429 and 5xx unless told not to.
  r.headers.Set("x-should-retry", "false");
  return r;
}

http::Response FromStatus(const Status& s) {
  if (s.code() == StatusCode::kInsufficientStorage) {
    return OpenAiError(507, "insufficientStorage",
                       "The service is out of storage space; nothing was "
                       "stored. Retry once space has been freed on its data "
                       "disk.",
                       "server_error");
  }
  int status = http::HttpStatusFor(s.code());
  if (s.code() == StatusCode::kResourceExhausted) status = 413;
  if (s.code() == StatusCode::kFailedPrecondition) status = 400;
  std::string code = s.reason();
  if (code.empty()) {
    code = status == 404   ? "notFound"
           : status == 403 ? "forbidden"
           : status >= 500 ? "internalFailure"
                           : "invalidPayload";
  }
  std::string message = status >= 500
                            ? "The server had an internal error; see its log."
                            : s.message();
  http::Response r = OpenAiError(status, code, message);
  if (status >= 500) r.failure = s;  // For the server's event log.
  return r;
}

json FileJson(const store::StoredObject& f) {
  return {{"object", "file"},
          {"id", f.id},
          {"bytes", f.bytes},
          {"created_at", f.created_at},
          {"filename", f.filename},
          {"purpose", f.purpose},
          {"status", f.status},
          {"status_details",
           f.status_details.empty() ? json() : json(f.status_details)}};
}

// Azure's api-versions are dates, "2024-10-21" or "2025-04-01-preview"; the
// dated surface answers 404 for anything else, as Azure does for versions it
// does not know.
bool ApiVersionShape(std::string_view v) {
  constexpr std::string_view kPreview = "-preview";
  if (v.size() == 10 + kPreview.size() && v.substr(10) == kPreview) {
    v = v.substr(0, 10);
  }
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return false;
  }
  return v.substr(0, 4) >= "2022";
}

bool LooksLikeJwt(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

// The account of the request's host, once the caller proved it may use it.
Result<store::Account> Authenticate(http::Request& r, Services& s) {
  Result<store::Account> account = s.accounts->AccountForHost(r.host_label);
  if (!account.ok()) {
    if (account.status().code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound, "Resource not found", "404");
    }
    return account.status();
  }
  std::optional<std::string_view> key = r.headers.Get("api-key");
  if (!key) {
    std::optional<std::string_view> auth = r.headers.Get("Authorization");
    if (auth && auth->size() > kBearer.size() &&
        http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
      std::string_view token = auth->substr(kBearer.size());
      if (LooksLikeJwt(token)) {
        std::vector<std::string> audiences = {
            "https://cognitiveservices.azure.com",
            "https://cognitiveservices.azure.com/", "https://ai.azure.com",
            "https://ai.azure.com/"};
        for (const std::string& a : s.Audiences("cognitiveservices")) {
          audiences.push_back(a);
        }
        Result<identity::Caller> caller =
            s.identity.Authenticate(token, audiences, std::nullopt);
        if (!caller.ok()) {
          return Status(
              StatusCode::kUnauthenticated,
              "The access token is invalid: " + caller.status().message(),
              "401");
        }
        r.caller_id = caller->object_id;
        Status allowed = s.accounts->AuthorizeData(*caller, *account);
        if (!allowed.ok()) {
          return Status(StatusCode::kUnauthenticated,
                        "The principal " + caller->object_id +
                            " lacks a data role (Cognitive Services OpenAI "
                            "User) on this account.",
                        "PermissionDenied");
        }
        return account;
      }
      key = token;
    }
  }
  if (!key) {
    return Status(StatusCode::kUnauthenticated,
                  "Access denied due to missing subscription key. Make sure "
                  "to include subscription key when making requests to an "
                  "API.",
                  "401");
  }
  RETURN_IF_ERROR(s.accounts->CheckApiKey(*account, *key));
  r.caller_id = "api-key";
  return account;
}

using FileHandler = http::Response (*)(http::Request&, Services&,
                                       const store::Account&);

// Wraps a handler with the dated API's api-version rule and authentication.
http::Handler Route(FileHandler fn, Services& s, bool dated) {
  return [fn, &s, dated](http::Request& r) -> http::Response {
    std::optional<std::string_view> version = r.Query("api-version");
    if (dated && (!version || !ApiVersionShape(*version))) {
      return OpenAiError(404, "404", "Resource not found");
    }
    Result<store::Account> account = Authenticate(r, s);
    if (!account.ok()) return FromStatus(account.status());
    return fn(r, s, *account);
  };
}

// A "limit" query parameter: `def` when absent, else 1 to `max`.
Result<size_t> LimitOf(const http::Request& r, size_t def, size_t max) {
  auto l = r.Query("limit");
  if (!l) return def;
  size_t limit = 0;
  auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
  if (ec != std::errc() || ptr != l->data() + l->size() || limit < 1 ||
      limit > max) {
    return Status(StatusCode::kInvalidArgument,
                  "limit must be an integer from 1 to " + std::to_string(max),
                  "invalidPayload");
  }
  return limit;
}

http::Response ListFiles(http::Request& r, Services& s,
                         const store::Account& account) {
  files::FileService::ListQuery q;
  if (auto p = r.Query("purpose")) q.purpose = std::string(*p);
  if (auto a = r.Query("after")) q.after = std::string(*a);
  if (auto o = r.Query("order")) {
    if (*o != "asc" && *o != "desc") {
      return OpenAiError(400, "invalidPayload", "order must be asc or desc");
    }
    q.ascending = *o == "asc";
  }
  Result<size_t> limit = LimitOf(r, q.limit, 10000);
  if (!limit.ok()) return FromStatus(limit.status());
  q.limit = *limit;
  Result<files::FileService::Page> page = s.files->List(account, q);
  if (!page.ok()) return FromStatus(page.status());
  json data = json::array();
  for (const store::StoredObject& f : page->items) data.push_back(FileJson(f));
  json out = {
      {"object", "list"},
      {"data", data},
      {"has_more", page->has_more},
      {"first_id", page->items.empty() ? json() : json(page->items.front().id)},
      {"last_id", page->items.empty() ? json() : json(page->items.back().id)}};
  return http::Response::Json(200, DumpJson(out));
}

// How long a client refused by the upload quota is told to wait: about as
// long as a typical upload in flight takes to end.
constexpr int kUploadRetryAfterSeconds = 5;

// A Files API upload as the request body arrives (http/body_consumer.h):
// the multipart form is parsed from the server's chunks (lent, not copied)
// and the file part written straight into a files::Upload, which encrypts
// it into a temporary blob. Holds the upload's quota leases until it is
// destroyed, however the upload ended; an upload that does not finish
// leaves nothing stored (the blob writer removes its temporary file).
class UploadConsumer final : public http::BodyConsumer {
 public:
  UploadConsumer(Services& s, store::Account account, std::string path,
                 std::vector<http::ConcurrencyLimiter::Lease> leases)
      : s_(s),
        account_(std::move(account)),
        path_(std::move(path)),
        leases_(std::move(leases)) {}

  Status Start(const std::string& boundary) {
    http::MultipartCallbacks cb;
    cb.on_part_begin = [this](const http::MultipartPartHeaders& h) {
      return PartBegin(h);
    };
    cb.on_part_data = [this](ByteView data) { return PartData(data); };
    cb.on_part_end = [this]() -> Status {
      part_ = Part::kNone;
      return Status::Ok();
    };
    ASSIGN_OR_RETURN(parser_,
                     http::MultipartParser::Create(boundary, std::move(cb)));
    return Status::Ok();
  }

  Status Consume(ByteView chunk) override {
    Status fed = parser_->Feed(chunk);
    if (!fed.ok() && fed.reason().empty()) {
      fed = Status(fed.code(), fed.message(), "invalidPayload");
    }
    return fed;
  }

  http::Response Finish(const Status& body) override {
    if (!body.ok()) return FromStatus(body);
    if (Status done = parser_->Finish(); !done.ok()) {
      return OpenAiError(400, "invalidPayload", done.message());
    }
    if (!upload_) {
      return OpenAiError(400, "invalidPayload",
                         "The form has no file part named 'file'.");
    }
    if (!saw_purpose_) {
      return OpenAiError(400, "invalidPayload",
                         "The form has no purpose field.");
    }
    Result<store::StoredObject> file = upload_->Finish(purpose_);
    if (!file.ok()) return FromStatus(file.status());
    http::Response res = http::Response::Json(201, DumpJson(FileJson(*file)));
    res.headers.Set("Location",
                    path_ + (path_.back() == '/' ? "" : "/") + file->id);
    return res;
  }

 private:
  enum class Part { kNone, kFile, kPurpose, kOther };

  Status PartBegin(const http::MultipartPartHeaders& h) {
    if (h.name == "file") {
      if (upload_) return InvalidArgumentError("more than one file part");
      ASSIGN_OR_RETURN(
          upload_, s_.files->BeginUpload(account_, h.filename.value_or("")));
      part_ = Part::kFile;
    } else if (h.name == "purpose") {
      saw_purpose_ = true;
      part_ = Part::kPurpose;
    } else {
      part_ = Part::kOther;
    }
    return Status::Ok();
  }

  Status PartData(ByteView data) {
    switch (part_) {
      case Part::kFile:
        return upload_->Write(data);
      case Part::kPurpose:
        if (purpose_.size() + data.size() > 64) {
          return InvalidArgumentError("Invalid value for purpose.");
        }
        purpose_.append(data.begin(), data.end());
        return Status::Ok();
      default:
        other_bytes_ += data.size();
        if (other_bytes_ > 64 * 1024) {
          return InvalidArgumentError(
              "form fields other than file are too large");
        }
        return Status::Ok();
    }
  }

  Services& s_;
  const store::Account account_;
  const std::string path_;  // For Location.
  const std::vector<http::ConcurrencyLimiter::Lease> leases_;
  std::unique_ptr<http::MultipartParser> parser_;
  Part part_ = Part::kNone;
  std::string purpose_;
  bool saw_purpose_ = false;
  std::unique_ptr<files::Upload> upload_;
  size_t other_bytes_ = 0;
};

// POST /files, on the request head (a streaming_body route): checks the
// form's content type and the upload quota, then takes the body through an
// UploadConsumer. Nothing waits for the client here.
http::Response UploadFile(http::Request& r, Services& s,
                          const store::Account& account) {
  Result<std::string> boundary =
      http::MultipartBoundary(r.headers.Get("Content-Type").value_or(""));
  if (!boundary.ok()) {
    return OpenAiError(400, "invalidPayload",
                       "The request must be multipart/form-data: " +
                           boundary.status().message());
  }
  std::vector<http::ConcurrencyLimiter::Lease> leases;
  if (s.uploads != nullptr) {
    // An account's API keys are one principal; an Entra caller is one
    // across every account it may use.
    const std::string principal = r.caller_id == "api-key"
                                      ? "api-keys/" + account.uid
                                      : "principal/" + r.caller_id;
    auto by_principal =
        s.uploads->TryAcquire(principal, s.max_uploads_per_principal);
    auto by_account = by_principal
                          ? s.uploads->TryAcquire("account/" + account.uid,
                                                  s.max_uploads_per_account)
                          : std::nullopt;
    if (!by_principal || !by_account) {
      http::Response res = OpenAiError(
          429, "429",
          by_principal
              ? "This account has " +
                    std::to_string(s.max_uploads_per_account) +
                    " uploads in progress, the most it may have at once. "
                    "Retry after one of them ends."
              : "This caller has " +
                    std::to_string(s.max_uploads_per_principal) +
                    " uploads in progress, the most it may have at once. "
                    "Retry after one of them ends.",
          "requests");
      res.headers.Set("Retry-After", std::to_string(kUploadRetryAfterSeconds));
      // The openai clients may retry a 429 after Retry-After.
      res.headers.Remove("x-should-retry");
      return res;
    }
    leases.push_back(std::move(*by_principal));
    leases.push_back(std::move(*by_account));
  }
  auto consumer =
      std::make_shared<UploadConsumer>(s, account, r.path, std::move(leases));
  if (Status started = consumer->Start(*boundary); !started.ok()) {
    return FromStatus(started);
  }
  return http::Response::Consume(std::move(consumer));
}

http::Response GetFile(http::Request& r, Services& s,
                       const store::Account& account) {
  Result<store::StoredObject> f =
      s.files->Get(account, std::string(r.PathParam("id")));
  if (!f.ok()) return FromStatus(f.status());
  return http::Response::Json(200, DumpJson(FileJson(*f)));
}

http::Response DeleteFile(http::Request& r, Services& s,
                          const store::Account& account) {
  const std::string id(r.PathParam("id"));
  Status st = s.files->Delete(account, id);
  if (!st.ok()) return FromStatus(st);
  return http::Response::Json(
      200, DumpJson(json{{"id", id}, {"object", "file"}, {"deleted", true}}));
}

// One "bytes=a-b", "bytes=a-" or "bytes=-n" range of a body of `size`
// bytes; nullopt when the header should be ignored (several ranges or an
// unknown unit), an error when it cannot be satisfied.
Result<std::optional<std::pair<uint64_t, uint64_t>>> ParseRange(
    std::string_view header, uint64_t size) {
  using Range = std::optional<std::pair<uint64_t, uint64_t>>;
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return Range();
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return Range();
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return Range();
  auto number = [](std::string_view t, uint64_t* out) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
    return !t.empty() && ec == std::errc() && p == t.data() + t.size();
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {
    uint64_t n = 0;
    if (!number(b, &n) || n == 0) return OutOfRangeError("bad range");
    if (size == 0) return OutOfRangeError("empty file");
    first = n >= size ? 0 : size - n;
    last = size - 1;
  } else {
    if (!number(a, &first)) return Range();
    if (b.empty()) {
      last = size == 0 ? 0 : size - 1;
    } else if (!number(b, &last) || last < first) {
      return Range();
    }
    if (first >= size) return OutOfRangeError("range starts past the end");
    last = std::min(last, size - 1);
  }
  return Range(std::make_pair(first, last));
}

http::Response FileContent(http::Request& r, Services& s,
                           const store::Account& account) {
  Result<std::unique_ptr<files::Download>> opened =
      s.files->Open(account, std::string(r.PathParam("id")));
  if (!opened.ok()) return FromStatus(opened.status());
  std::shared_ptr<files::Download> d = std::move(*opened);
  const uint64_t size = d->size();
  uint64_t first = 0, end = size;
  int status = 200;
  std::string content_range;
  if (auto h = r.headers.Get("Range")) {
    auto range = ParseRange(*h, size);
    if (!range.ok()) {
      http::Response res =
          OpenAiError(416, "invalidPayload", "The range cannot be satisfied.");
      res.headers.Set("Content-Range", "bytes */" + std::to_string(size));
      return res;
    }
    if (*range) {
      first = (*range)->first;
      end = (*range)->second + 1;
      status = 206;
      content_range = "bytes " + std::to_string(first) + "-" +
                      std::to_string(end - 1) + "/" + std::to_string(size);
    }
  }
  // Plaintext is decrypted a window of whole segments at a time, so each
  // segment is authenticated once: straight into the server's chunk when
  // that holds the rest of the current segment (windows then end on segment
  // boundaries), else into `pending`, which the next chunks are copied from.
  struct State {
    uint64_t next = 0;
    uint64_t end = 0;
    std::vector<uint8_t> pending;
    size_t taken = 0;
  };
  auto state = std::make_shared<State>();
  state->next = first;
  state->end = end;
  static constexpr uint64_t kWindow = 1 << 20;
  // Files are written with the default segment size; another size only
  // costs some segments being decrypted twice.
  static constexpr uint64_t kSegment =
      crypto::stream_format::kDefaultSegmentSize;
  // The first segment is decrypted before the response starts, so content
  // that fails authentication there (or cannot be read) is answered in this
  // API's error shape, with a generic message; later failures can only cut
  // the body short (and are logged by the server with the request id).
  if (state->next < state->end) {
    const uint64_t n =
        std::min(state->end, (state->next / kSegment + 1) * kSegment) -
        state->next;
    Status read = d->Read(state->next, n, [&](ByteView p) {
      state->pending.insert(state->pending.end(), p.begin(), p.end());
      return Status::Ok();
    });
    if (!read.ok()) return FromStatus(read);
    state->next += n;
  }
  http::BodyProducer producer = [d,
                                 state](MutableByteView out) -> Result<size_t> {
    if (state->taken == state->pending.size()) {
      state->pending.clear();
      state->taken = 0;
      if (state->next >= state->end) return size_t{0};
      uint64_t n = std::min<uint64_t>(out.size(), state->end - state->next);
      if (state->next + n < state->end) {
        n = (state->next + n) / kSegment * kSegment;
        n = n > state->next ? n - state->next : 0;
      }
      if (n > 0) {
        size_t filled = 0;
        RETURN_IF_ERROR(d->Read(state->next, n, [&](ByteView p) {
          if (p.size() > n - filled) return InternalError("window overrun");
          std::copy_n(p.data(), p.size(), out.data() + filled);
          filled += p.size();
          return Status::Ok();
        }));
        if (filled != n) return InternalError("window underrun");
        state->next += n;
        return filled;
      }
      n = std::min(kWindow, state->end - state->next);
      RETURN_IF_ERROR(d->Read(state->next, n, [&](ByteView p) {
        state->pending.insert(state->pending.end(), p.begin(), p.end());
        return Status::Ok();
      }));
      state->next += n;
    }
    const size_t n = std::min(out.size(), state->pending.size() - state->taken);
    std::copy_n(state->pending.data() + state->taken, n, out.data());
    state->taken += n;
    return n;
  };
  http::Response res =
      http::Response::Stream(status, std::move(producer), end - first);
  res.headers.Set("Accept-Ranges", "bytes");
  if (!content_range.empty()) res.headers.Set("Content-Range", content_range);
  return res;
}

// ---- Fine-tuning jobs (reference §1.5) ----

Result<json> JsonRequestBody(const http::Request& r) {
  Result<json> body = ParseJsonObject(r.body, kRequestJsonLimits);
  if (!body.ok()) {
    return Status(StatusCode::kInvalidArgument,
                  "The request body must be a JSON object (" +
                      body.status().message() + ").",
                  "invalidPayload");
  }
  return body;
}

http::Response PageResponse(const finetune::Page& page) {
  json out = {
      {"object", "list"}, {"data", page.data}, {"has_more", page.has_more}};
  return http::Response::Json(200, DumpJson(out));
}

bool IsV1(const http::Request& r) {
  return r.path.substr(0, 11) == "/openai/v1/";
}

http::Response CreateJob(http::Request& r, Services& s,
                         const store::Account& account) {
  Result<json> body = JsonRequestBody(r);
  if (!body.ok()) return FromStatus(body.status());
  Result<finetune::JobRequest> request = finetune::JobRequest::FromJson(*body);
  if (!request.ok()) return FromStatus(request.status());
  Result<json> job = s.fine_tuning->Create(account, *request);
  if (!job.ok()) return FromStatus(job.status());
  const std::string id = (*job)["id"].get<std::string>();
  http::Response res =
      http::Response::Json(IsV1(r) ? 200 : 201, DumpJson(*job));
  res.headers.Set("Location",
                  std::string(r.path) + (r.path.back() == '/' ? "" : "/") + id);
  return res;
}

http::Response ListJobs(http::Request& r, Services& s,
                        const store::Account& account) {
  Result<size_t> limit = LimitOf(r, 20, 100);
  if (!limit.ok()) return FromStatus(limit.status());
  Result<finetune::Page> page = s.fine_tuning->List(
      account, std::string(r.Query("after").value_or("")), *limit);
  if (!page.ok()) return FromStatus(page.status());
  return PageResponse(*page);
}

http::Response GetJob(http::Request& r, Services& s,
                      const store::Account& account) {
  Result<json> job =
      s.fine_tuning->Get(account, std::string(r.PathParam("id")));
  if (!job.ok()) return FromStatus(job.status());
  return http::Response::Json(200, DumpJson(*job));
}

http::Response CancelJob(http::Request& r, Services& s,
                         const store::Account& account) {
  Result<json> job =
      s.fine_tuning->Cancel(account, std::string(r.PathParam("id")));
  if (!job.ok()) return FromStatus(job.status());
  return http::Response::Json(200, DumpJson(*job));
}

http::Response DeleteJob(http::Request& r, Services& s,
                         const store::Account& account) {
  Status st = s.fine_tuning->Delete(
      account, std::string(r.PathParam("id")),
      [&](const std::string& name) -> Result<bool> {
        ASSIGN_OR_RETURN(std::vector<std::string> using_it,
                         s.deployments->UsingModel(account, name, true));
        return !using_it.empty();
      });
  if (!st.ok()) return FromStatus(st);
  return http::Response::Text(204, "");
}

http::Response JobEvents(http::Request& r, Services& s,
                         const store::Account& account) {
  Result<size_t> limit = LimitOf(r, 20, 1000);
  if (!limit.ok()) return FromStatus(limit.status());
  Result<finetune::Page> page =
      s.fine_tuning->Events(account, std::string(r.PathParam("id")),
                            std::string(r.Query("after").value_or("")), *limit);
  if (!page.ok()) return FromStatus(page.status());
  return PageResponse(*page);
}

http::Response JobCheckpoints(http::Request& r, Services& s,
                              const store::Account& account) {
  Result<size_t> limit = LimitOf(r, 10, 100);
  if (!limit.ok()) return FromStatus(limit.status());
  Result<finetune::Page> page = s.fine_tuning->Checkpoints(
      account, std::string(r.PathParam("id")),
      std::string(r.Query("after").value_or("")), *limit);
  if (!page.ok()) return FromStatus(page.status());
  return PageResponse(*page);
}

// ---- Models (reference §1.6) ----

http::Response ListModels(http::Request&, Services& s,
                          const store::Account& account) {
  Result<finetune::Page> page = s.fine_tuning->ListModels(account);
  if (!page.ok()) return FromStatus(page.status());
  return http::Response::Json(
      200, DumpJson(json{{"object", "list"}, {"data", page->data}}));
}

http::Response GetModel(http::Request& r, Services& s,
                        const store::Account& account) {
  Result<json> model =
      s.fine_tuning->GetModel(account, std::string(r.PathParam("id")));
  if (!model.ok()) return FromStatus(model.status());
  return http::Response::Json(200, DumpJson(*model));
}

// "You can't delete a customized model if it has an existing deployment".
http::Response DeleteModel(http::Request& r, Services& s,
                           const store::Account& account) {
  const std::string id(r.PathParam("id"));
  Result<std::vector<std::string>> using_it =
      s.deployments->UsingModel(account, id);
  if (!using_it.ok()) return FromStatus(using_it.status());
  if (!using_it->empty()) {
    return OpenAiError(409, "conflict",
                       "The model " + id + " is deployed (deployment '" +
                           using_it->front() +
                           "'); delete its deployments first.");
  }
  Status st = s.fine_tuning->DeleteModel(account, id);
  if (!st.ok()) return FromStatus(st);
  return http::Response::Json(
      200, DumpJson(json{{"id", id}, {"object", "model"}, {"deleted", true}}));
}

// ---- Chat completions through a deployment (reference §1.7) ----

Result<training::Conversation> ParseMessages(const json& body) {
  auto bad = [](std::string m) {
    return Status(StatusCode::kInvalidArgument, std::move(m),
                  "invalid_request_error");
  };
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return bad("messages must be a non-empty array.");
  }
  training::Conversation out;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad(where + " must be an object.");
    training::ChatMessage msg;
    msg.role = JsonString(m, "role");
    static constexpr std::string_view kRoles[] = {
        "system", "developer", "user", "assistant", "tool", "function"};
    if (std::find(std::begin(kRoles), std::end(kRoles), msg.role) ==
        std::end(kRoles)) {
      return bad(where + ".role must be system, user, assistant or tool.");
    }
    if (msg.role == "developer") msg.role = "system";
    auto c = m.find("content");
    if (c != m.end() && c->is_string()) {
      msg.content = c->get<std::string>();
    } else if (c != m.end() && c->is_array()) {
      for (const json& part : *c) {
        if (JsonString(part, "type") == "text") {
          msg.content += JsonString(part, "text");
        }
      }
    } else if (c != m.end() && !c->is_null()) {
      return bad(where + ".content must be a string or an array of parts.");
    }
    out.push_back(std::move(msg));
  }
  return out;
}

Result<training::GenerateOptions> ParseGenerate(const json& body) {
  auto bad = [](std::string m) {
    return Status(StatusCode::kInvalidArgument, std::move(m),
                  "invalid_request_error");
  };
  training::GenerateOptions o;
  auto number = [&](const char* name, double lo, double hi,
                    double* out) -> Status {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return Status::Ok();
    if (!it->is_number() || it->get<double>() < lo || it->get<double>() > hi) {
      return bad(std::string(name) + " must be a number from " +
                 std::to_string(static_cast<int>(lo)) + " to " +
                 std::to_string(static_cast<int>(hi)) + ".");
    }
    *out = it->get<double>();
    return Status::Ok();
  };
  RETURN_IF_ERROR(number("temperature", 0, 2, &o.temperature));
  RETURN_IF_ERROR(number("top_p", 0, 1, &o.top_p));
  double max_tokens = static_cast<double>(o.max_tokens);
  RETURN_IF_ERROR(number("max_tokens", 1, 4096, &max_tokens));
  RETURN_IF_ERROR(number("max_completion_tokens", 1, 4096, &max_tokens));
  o.max_tokens = static_cast<int64_t>(max_tokens);
  double n = 1;
  RETURN_IF_ERROR(number("n", 1, 1, &n));
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer()) return bad("seed must be an integer.");
    o.seed = static_cast<uint64_t>(it->get<int64_t>());
  }
  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      o.stop.push_back(it->get<std::string>());
    } else if (it->is_array() && it->size() <= 4) {
      for (const json& s : *it) {
        if (!s.is_string()) return bad("stop must hold strings.");
        o.stop.push_back(s.get<std::string>());
      }
    } else {
      return bad("stop must be a string or an array of up to 4 strings.");
    }
  }
  return o;
}

std::string Sse(const json& j) { return "data: " + DumpJson(j) + "\n\n"; }

http::Response Complete(Services& s, const store::Account& account,
                        const Result<json>& body,
                        const std::string& deployment) {
  if (!body.ok()) return FromStatus(body.status());
  if (deployment.empty()) {
    return OpenAiError(400, "invalid_request_error",
                       "model must name a deployment of this resource.");
  }
  Result<training::Conversation> messages = ParseMessages(*body);
  if (!messages.ok()) return FromStatus(messages.status());
  Result<training::GenerateOptions> options = ParseGenerate(*body);
  if (!options.ok()) return FromStatus(options.status());
  Result<std::shared_ptr<const training::LanguageModel>> model =
      s.deployments->Model(account, deployment);
  if (!model.ok()) {
    if (model.status().reason() == "DeploymentNotFound") {
      return OpenAiError(404, "DeploymentNotFound",
                         "The API deployment for this resource does not "
                         "exist. If you created the deployment within the "
                         "last 5 minutes, please wait a moment and try again.");
    }
    return FromStatus(model.status());
  }
  std::string model_name = deployment;
  if (Result<json> d = s.deployments->Get(account, deployment); d.ok()) {
    model_name = JsonString((*d)["properties"]["model"], "name", deployment);
  }
  const std::string id = files::NewId("chatcmpl-");
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const json* stream = body->contains("stream") ? &(*body)["stream"] : nullptr;
  if (stream != nullptr && stream->is_boolean() && stream->get<bool>()) {
    json chunk = {{"id", id},
                  {"object", "chat.completion.chunk"},
                  {"created", created},
                  {"model", model_name},
                  {"system_fingerprint", "atrest"}};
    std::string out;
    auto emit = [&](json delta, json finish) {
      json c = chunk;
      c["choices"] = json::array({{{"index", 0},
                                   {"delta", std::move(delta)},
                                   {"logprobs", nullptr},
                                   {"finish_reason", std::move(finish)}}});
      out += Sse(c);
    };
    emit({{"role", "assistant"}, {"content", ""}}, nullptr);
    Result<training::Generation> g =
        (*model)->Complete(*messages, *options, [&](std::string_view piece) {
          emit({{"content", piece}}, nullptr);
          return Status::Ok();
        });
    if (!g.ok()) return FromStatus(g.status());
    emit(json::object(), g->finish_reason);
    const json* so =
        body->contains("stream_options") ? &(*body)["stream_options"] : nullptr;
    if (so != nullptr && so->is_object() && so->contains("include_usage") &&
        (*so)["include_usage"].is_boolean() &&
        (*so)["include_usage"].get<bool>()) {
      json c = chunk;
      c["choices"] = json::array();
      c["usage"] = {{"prompt_tokens", g->prompt_tokens},
                    {"completion_tokens", g->completion_tokens},
                    {"total_tokens", g->prompt_tokens + g->completion_tokens}};
      out += Sse(c);
    }
    out += "data: [DONE]\n\n";
    http::Response res = http::Response::Text(200, out, "text/event-stream");
    res.headers.Set("Cache-Control", "no-cache");
    return res;
  }
  Result<training::Generation> g =
      (*model)->Complete(*messages, *options, nullptr);
  if (!g.ok()) return FromStatus(g.status());
  json out = {{"id", id},
              {"object", "chat.completion"},
              {"created", created},
              {"model", model_name},
              {"system_fingerprint", "atrest"},
              {"choices", json::array({{{"index", 0},
                                        {"finish_reason", g->finish_reason},
                                        {"logprobs", nullptr},
                                        {"message",
                                         {{"role", "assistant"},
                                          {"content", g->text},
                                          {"refusal", nullptr}}}}})},
              {"usage",
               {{"prompt_tokens", g->prompt_tokens},
                {"completion_tokens", g->completion_tokens},
                {"total_tokens", g->prompt_tokens + g->completion_tokens}}},
              {"prompt_filter_results", json::array()}};
  return http::Response::Json(200, DumpJson(out));
}

// POST /openai/deployments/{deployment}/chat/completions: the deployment is
// in the path and `model` in the body is ignored.
http::Response DeploymentChat(http::Request& r, Services& s,
                              const store::Account& account) {
  return Complete(s, account, JsonRequestBody(r),
                  std::string(r.PathParam("deployment")));
}

// POST /openai/v1/chat/completions: `model` names the deployment.
http::Response V1Chat(http::Request& r, Services& s,
                      const store::Account& account) {
  Result<json> body = JsonRequestBody(r);
  return Complete(s, account, body,
                  body.ok() ? JsonString(*body, "model") : std::string());
}

}  // namespace

Status RegisterOpenAiRoutes(http::Router& router, Services& services) {
  if (services.accounts == nullptr || services.files == nullptr) {
    return FailedPreconditionError("no account or file service");
  }
  const std::string host = "*.openai." + services.domain;
  RETURN_IF_ERROR(router.SetSurface(host, http::Surface::kOpenAi));
  const http::RouteLimits small{.max_header_bytes = 32 * 1024,
                                .max_body_bytes = 64 * 1024};
  const http::RouteLimits chat{.max_header_bytes = 32 * 1024,
                               .max_body_bytes = 4 << 20};
  const http::RouteLimits upload{
      .max_header_bytes = 32 * 1024,
      // The file plus the form around it.
      .max_body_bytes = services.files->options().max_file_bytes + (1 << 20),
      .streaming_body = true};
  for (const auto& [prefix, dated] :
       {std::pair<std::string, bool>{"/openai", true},
        std::pair<std::string, bool>{"/openai/v1", false}}) {
    const std::string files = prefix + "/files";
    RETURN_IF_ERROR(router.Add(host, "GET", files, small,
                               Route(&ListFiles, services, dated)));
    RETURN_IF_ERROR(router.Add(host, "POST", files, upload,
                               Route(&UploadFile, services, dated)));
    RETURN_IF_ERROR(router.Add(host, "GET", files + "/{id}", small,
                               Route(&GetFile, services, dated)));
    RETURN_IF_ERROR(router.Add(host, "DELETE", files + "/{id}", small,
                               Route(&DeleteFile, services, dated)));
    RETURN_IF_ERROR(router.Add(host, "GET", files + "/{id}/content", small,
                               Route(&FileContent, services, dated)));
    if (services.fine_tuning == nullptr || services.deployments == nullptr) {
      continue;
    }
    const std::string jobs = prefix + "/fine_tuning/jobs";
    const std::string job = jobs + "/{id}";
    const std::string models = prefix + "/models";
    for (const auto& [method, path, fn] : std::initializer_list<
             std::tuple<const char*, std::string, FileHandler>>{
             {"POST", jobs, &CreateJob},
             {"GET", jobs, &ListJobs},
             {"GET", job, &GetJob},
             {"DELETE", job, &DeleteJob},
             {"POST", job + "/cancel", &CancelJob},
             {"GET", job + "/events", &JobEvents},
             {"GET", job + "/checkpoints", &JobCheckpoints},
             {"GET", models, &ListModels},
             {"GET", models + "/{id}", &GetModel},
             {"DELETE", models + "/{id}", &DeleteModel}}) {
      RETURN_IF_ERROR(
          router.Add(host, method, path, small, Route(fn, services, dated)));
    }
    RETURN_IF_ERROR(router.Add(
        host, "POST",
        dated ? prefix + "/deployments/{deployment}/chat/completions"
              : prefix + "/chat/completions",
        chat, Route(dated ? &DeploymentChat : &V1Chat, services, dated)));
  }
  return Status::Ok();
}

}  // namespace atrest::api
