// The Azure OpenAI data plane of AI accounts on <account>.openai.<domain>
// (reference/azure-openai-api.md §1): the Files API, under both the dated
// API ("/openai/files?api-version=...", what AzureOpenAI calls) and the v1
// API ("/openai/v1/files", what the plain OpenAI client calls).
//
//   GET|POST /openai[/v1]/files              list, upload (multipart)
//   GET|DELETE /openai[/v1]/files/{id}       retrieve, delete
//   GET /openai[/v1]/files/{id}/content      download (HTTP Range)
//
// Authentication: "api-key: <key>", "Authorization: Bearer <key>", or
// "Authorization: Bearer <Entra token>" of a principal holding a data role
// (Cognitive Services OpenAI User/Contributor) on the account. A key opens
// only its own account. Errors use the OpenAI shape {"error": {"code",
// "message", "param", "type"}}; a refused key is 401 code "401" as Azure
// answers; an inaccessible customer-managed key is 403
// "CustomerManagedKeyInaccessible" for content and uploads only.
#ifndef ATREST_API_OPENAI_API_H_
#define ATREST_API_OPENAI_API_H_

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

// FailedPrecondition when `services.accounts` or `services.files` is null.
Status RegisterOpenAiRoutes(http::Router& router, Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_OPENAI_API_H_
