// The numbered schema migrations of the metadata store.
//
// Migration N turns a database at schema version N-1 into version N. The
// list only grows: a released migration is never edited or removed, because
// databases in the field have already run it. Each migration runs in its own
// transaction together with the row that records it in `schema_version`, so
// a crash leaves the database at version N-1 or N, never in between.
//
// The SQL is the common subset of SQLite and PostgreSQL (TEXT, BIGINT,
// composite keys, REFERENCES ... ON DELETE CASCADE, CHECK, NULLIF), with two
// exceptions: binary columns are BLOB, which a PostgreSQL port spells BYTEA,
// and the audit log's "seq INTEGER PRIMARY KEY AUTOINCREMENT", which it
// spells "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY".
// Conventions: case-insensitive ARM names get a lower-case `*_key` column
// that carries the unique constraint; optional unique values are NULL when
// absent (NULLs never collide in either database).
//
// Thread safety: immutable data.
#ifndef ATREST_STORE_MIGRATIONS_H_
#define ATREST_STORE_MIGRATIONS_H_

#include <span>
#include <string_view>

namespace atrest::store {

struct Migration {
  int version;            // 1, 2, 3, ... in order, no gaps.
  std::string_view name;  // Recorded in schema_version.
  std::string_view sql;   // One or more statements.
};

// Every migration this binary knows, oldest first.
std::span<const Migration> Migrations();

// The schema version a fully migrated database has.
int LatestSchemaVersion();

}  // namespace atrest::store

#endif  // ATREST_STORE_MIGRATIONS_H_
