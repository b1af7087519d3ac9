// Lexical path helpers shared by the env implementations and test doubles.
//
// Internal to the env module: other modules pass whole paths to FileSystem
// and never need these. Nothing here touches the filesystem; "a/../b" is not
// simplified and symlinks are not resolved.
#ifndef ATREST_ENV_PATH_H_
#define ATREST_ENV_PATH_H_

#include <string>
#include <string_view>

namespace atrest::env {

// `dir` without trailing slashes: "a/b/" -> "a/b", "/" stays "/", "" -> ".".
std::string NormalizeDir(std::string_view dir);

// The directory that holds `path`: "a/b" -> "a", "/a" -> "/", "a" -> ".".
// Trailing slashes on `path` are ignored ("a/b/" -> "a").
std::string ParentDir(std::string_view path);

}  // namespace atrest::env

#endif  // ATREST_ENV_PATH_H_
