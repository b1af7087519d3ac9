// Internal to hsm/: a small pool of logged-in PKCS#11 sessions.
//
// A PKCS#11 session may be used by one thread at a time, but the login state
// belongs to the application: logging in on one session logs in every
// session the process has on that token, until the last of them closes. So
// the pool opens one anchor session, logs in on it and keeps it open (and
// unused) until the pool is destroyed; the sessions it hands out are opened
// on demand, up to `max_sessions`, and inherit that login. A session that
// failed in a way that leaves it unusable is closed instead of reused; the
// anchor keeps the login alive meanwhile. The PIN is used for the one login
// and not kept.
//
// Thread safety: Acquire() may be called from any number of threads; a
// Session belongs to the thread that acquired it.
#ifndef ATREST_HSM_SESSION_POOL_H_
#define ATREST_HSM_SESSION_POOL_H_

#include <p11-kit/pkcs11.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::hsm::internal {

class SessionPool;

// One session, borrowed from a SessionPool and returned when destroyed.
class Session {
 public:
  Session(Session&& other) noexcept;
  Session& operator=(Session&&) = delete;
  Session(const Session&) = delete;
  ~Session();

  CK_SESSION_HANDLE get() const { return handle_; }
  CK_FUNCTION_LIST* fn() const { return fn_; }

  // Passes through the result of a call made on this session, remembering
  // when it leaves the session unusable (closed, device gone, an operation
  // left active by CKR_BUFFER_TOO_SMALL) so that it is closed on return.
  CK_RV Check(CK_RV rv);

  // The objects matching `templ` (C_FindObjectsInit, C_FindObjects up to
  // `max`, C_FindObjectsFinal).
  Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(
      std::vector<CK_ATTRIBUTE> templ, size_t max);
  // A non-secret attribute's value (modulus, public exponent).
  Result<Bytes> GetAttribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);

 private:
  friend class SessionPool;
  Session(SessionPool* pool, CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE handle)
      : pool_(pool), fn_(fn), handle_(handle) {}
  SessionPool* pool_;  // Null when moved from.
  CK_FUNCTION_LIST* fn_;
  CK_SESSION_HANDLE handle_;
  bool broken_ = false;
};

class SessionPool {
 public:
  // Opens the anchor session on `slot` and logs in as the user with `pin`.
  // `fn` is borrowed and must outlive the pool.
  static Result<std::unique_ptr<SessionPool>> Create(CK_FUNCTION_LIST* fn,
                                                     CK_SLOT_ID slot,
                                                     ByteView pin,
                                                     size_t max_sessions);
  // Closes every session, which also logs out. REQUIRES: no Session alive.
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // An idle session, a new one when none is idle and fewer than
  // max_sessions exist, or else the next one returned.
  Result<Session> Acquire();

 private:
  friend class Session;
  SessionPool(CK_FUNCTION_LIST* fn, CK_SLOT_ID slot, size_t max_sessions)
      : fn_(fn), slot_(slot), max_sessions_(max_sessions) {}
  Result<CK_SESSION_HANDLE> Open();
  void Release(CK_SESSION_HANDLE session, bool broken);

  CK_FUNCTION_LIST* const fn_;
  const CK_SLOT_ID slot_;
  const size_t max_sessions_;
  CK_SESSION_HANDLE anchor_ = CK_INVALID_HANDLE;  // Set once by Create().

  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<CK_SESSION_HANDLE> idle_;  // Guarded by mu_.
  size_t open_ = 0;  // Handed-out sessions open or opening; guarded by mu_.
};

}  // namespace atrest::hsm::internal

#endif  // ATREST_HSM_SESSION_POOL_H_
