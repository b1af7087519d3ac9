#include "keys/root_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "env/testing.h"

namespace atrest::keys {
namespace {

class RootKeyTest : public ::testing::Test {
 protected:
  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
  env::FileSystem& fs_ = env::Env::Default().fs();
  std::string path_ = dir_.Join("root.key");
};

TEST_F(RootKeyTest, CreatedOnceWithMode0600ThenReloaded) {
  Result<RootKey> first = RootKey::LoadOrCreate(fs_, path_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created());
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Result<RootKey> again = RootKey::LoadOrCreate(fs_, path_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created());
  // The same key: what one seals the other opens.
  auto a = first->DeriveAead("p");
  auto b = again->DeriveAead("p");
  ASSERT_TRUE(a.ok() && b.ok());
  Bytes sealed = *(*a)->Encrypt(AsBytes("x"), {});
  EXPECT_TRUE((*b)->Decrypt(sealed, {}).ok());
}

TEST_F(RootKeyTest, PurposesGetDifferentKeys) {
  RootKey key = *RootKey::LoadOrCreate(fs_, path_);
  Bytes sealed = *(*key.DeriveAead("identity"))->Encrypt(AsBytes("x"), {});
  EXPECT_FALSE((*key.DeriveAead("vault"))->Decrypt(sealed, {}).ok());
}

TEST_F(RootKeyTest, DamagedFileIsDataLoss) {
  ASSERT_TRUE(env::WriteFileAtomically(fs_, path_, AsBytes("short")).ok());
  Result<RootKey> r = RootKey::LoadOrCreate(fs_, path_);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

TEST_F(RootKeyTest, FailedWriteLeavesNoKeyBehind) {
  env::FaultInjectionFileSystem faulty(fs_);
  faulty.FailNext(env::FaultInjectionFileSystem::Op::kSync,
                  InternalError("fsync failed"));
  EXPECT_FALSE(RootKey::LoadOrCreate(faulty, path_).ok());
  EXPECT_FALSE(fs_.Exists(path_));
}

}  // namespace
}  // namespace atrest::keys
