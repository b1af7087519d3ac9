#include "http/response.h"

#include <utility>

#include "http/json_util.h"

namespace atrest::http {

Response Response::Json(int status, std::string json) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(json);
  return r;
}

Response Response::Text(int status, std::string text,
                        std::string_view content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::string(content_type));
  r.body = std::move(text);
  return r;
}

Response Response::Error(int status, std::string_view code,
                         std::string_view message) {
  std::string json = "{\"error\":{\"code\":";
  AppendJsonString(json, code);
  json += ",\"message\":";
  AppendJsonString(json, message);
  json += "}}";
  return Json(status, std::move(json));
}

Response Response::FromStatus(const Status& status) {
  Response r = Error(HttpStatusFor(status.code()),
                     StatusCodeName(status.code()), status.message());
  r.failure = status;
  return r;
}

Response Response::Consume(std::shared_ptr<BodyConsumer> consumer) {
  Response r;
  r.consumer = std::move(consumer);
  return r;
}

Response Response::Stream(int status, BodyProducer producer,
                          std::optional<uint64_t> content_length,
                          std::string_view content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::string(content_type));
  r.producer = std::move(producer);
  r.content_length = content_length;
  return r;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
    case StatusCode::kInsufficientStorage:
      return 507;
  }
  return 500;
}

}  // namespace atrest::http
