#include "hsm/session_pool.h"

#include <utility>

#include "hsm/pkcs11.h"

namespace atrest::hsm::internal {

Session::Session(Session&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      fn_(other.fn_),
      handle_(other.handle_),
      broken_(other.broken_) {}

Session::~Session() {
  if (pool_ != nullptr) pool_->Release(handle_, broken_);
}

CK_RV Session::Check(CK_RV rv) {
  if (SessionBroken(rv) || rv == CKR_BUFFER_TOO_SMALL) broken_ = true;
  return rv;
}

Result<std::vector<CK_OBJECT_HANDLE>> Session::FindObjects(
    std::vector<CK_ATTRIBUTE> templ, size_t max) {
  CK_RV rv = Check(fn_->C_FindObjectsInit(handle_, templ.data(), templ.size()));
  if (rv != CKR_OK) return CkError("C_FindObjectsInit", rv);
  std::vector<CK_OBJECT_HANDLE> found(max);
  CK_ULONG count = 0;
  rv = Check(fn_->C_FindObjects(handle_, found.data(), found.size(), &count));
  // Always end the search, or the session stays busy with it.
  const CK_RV final_rv = Check(fn_->C_FindObjectsFinal(handle_));
  if (rv == CKR_OK) rv = final_rv;
  if (rv != CKR_OK) return CkError("C_FindObjects", rv);
  found.resize(count);
  return found;
}

Result<Bytes> Session::GetAttribute(CK_OBJECT_HANDLE object,
                                    CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = Check(fn_->C_GetAttributeValue(handle_, object, &attr, 1));
  Bytes value;
  if (rv == CKR_OK) {
    value.resize(attr.ulValueLen);
    attr.pValue = value.data();
    rv = Check(fn_->C_GetAttributeValue(handle_, object, &attr, 1));
  }
  if (rv != CKR_OK) return CkError("C_GetAttributeValue", rv);
  value.resize(attr.ulValueLen);
  return value;
}

Result<std::unique_ptr<SessionPool>> SessionPool::Create(CK_FUNCTION_LIST* fn,
                                                         CK_SLOT_ID slot,
                                                         ByteView pin,
                                                         size_t max_sessions) {
  if (max_sessions == 0) {
    return InvalidArgumentError("max_sessions must be at least 1");
  }
  std::unique_ptr<SessionPool> pool(new SessionPool(fn, slot, max_sessions));
  ASSIGN_OR_RETURN(pool->anchor_, pool->Open());
  // C_Login takes a non-const pointer but does not write the PIN.
  CK_RV rv = fn->C_Login(pool->anchor_, CKU_USER,
                         const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    // The destructor closes the anchor.
    return CkError("C_Login", rv);
  }
  return pool;
}

SessionPool::~SessionPool() {
  // Only our own sessions: C_CloseAllSessions would also close sessions that
  // other code in this process has on the slot. The anchor goes last, and
  // with it the login.
  for (CK_SESSION_HANDLE s : idle_) fn_->C_CloseSession(s);
  if (anchor_ != CK_INVALID_HANDLE) fn_->C_CloseSession(anchor_);
}

Result<CK_SESSION_HANDLE> SessionPool::Open() {
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = fn_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                nullptr, nullptr, &session);
  if (rv != CKR_OK) return CkError("C_OpenSession", rv);
  return session;
}

Result<Session> SessionPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    returned_.wait(lock,
                   [&] { return !idle_.empty() || open_ < max_sessions_; });
    if (!idle_.empty()) {
      CK_SESSION_HANDLE s = idle_.back();
      idle_.pop_back();
      return Session(this, fn_, s);
    }
    ++open_;  // Reserve the place; open the session outside the lock.
  }
  Result<CK_SESSION_HANDLE> session = Open();
  if (!session.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    returned_.notify_one();
    return session.status();
  }
  return Session(this, fn_, *session);
}

void SessionPool::Release(CK_SESSION_HANDLE session, bool broken) {
  if (broken) fn_->C_CloseSession(session);
  std::lock_guard<std::mutex> lock(mu_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(session);
  }
  returned_.notify_one();
}

}  // namespace atrest::hsm::internal
