#include "env/full_disk.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "env/testing.h"

namespace atrest::env {
namespace {

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<ScopedTempDir>(std::move(*dir));
    switch_ = std::make_unique<FullDiskSwitch>(dir_->Join("disk-full"));
    fs_ = std::make_unique<FullDiskFileSystem>(Env::Default().fs(), *switch_);
  }
  void SetFull(bool full) {
    if (full) {
      ASSERT_EQ(WriteFileAtomically(Env::Default().fs(), switch_->flag_path(),
                                    AsBytes("")),
                Status::Ok());
    } else {
      ASSERT_EQ(Env::Default().fs().Remove(switch_->flag_path()), Status::Ok());
    }
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FullDiskSwitch> switch_;
  std::unique_ptr<FullDiskFileSystem> fs_;
};

TEST_F(FullDiskTest, OffUntilTheFlagFileExists) {
  EXPECT_FALSE(switch_->full());
  EXPECT_FALSE(FullDiskSwitch("").full());
  SetFull(true);
  EXPECT_TRUE(switch_->full());
  SetFull(false);
  EXPECT_FALSE(switch_->full());
}

TEST_F(FullDiskTest, RefusesWhatTakesSpaceWhileFull) {
  auto file = fs_->NewWritableFile(dir_->Join("a"));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ((*file)->Append(AsBytes("12")), Status::Ok());
  SetFull(true);
  Status s = (*file)->Append(AsBytes("34"));
  EXPECT_EQ(s.code(), StatusCode::kInsufficientStorage);
  EXPECT_EQ(s.message(), "write: out of disk space");
  EXPECT_EQ((*file)->Sync(), Status::Ok());
  EXPECT_EQ((*file)->Close(), Status::Ok());
  EXPECT_EQ(fs_->CreateDirs(dir_->Join("new/dir")).code(),
            StatusCode::kInsufficientStorage);
  EXPECT_EQ(fs_->CreateDirs(dir_->path()), Status::Ok());  // Exists.
  Result<uint64_t> available = fs_->AvailableBytes(dir_->path());
  ASSERT_TRUE(available.ok());
  EXPECT_EQ(*available, 0u);
  // What frees or reads space still works.
  Result<Bytes> read = ReadFile(*fs_, dir_->Join("a"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(AsString(*read), "12");
  EXPECT_EQ(fs_->Rename(dir_->Join("a"), dir_->Join("b")), Status::Ok());
  EXPECT_EQ(fs_->Remove(dir_->Join("b")), Status::Ok());
  EXPECT_EQ(WriteFileAtomically(*fs_, dir_->Join("c"), AsBytes("x")).code(),
            StatusCode::kInsufficientStorage);
  EXPECT_FALSE(fs_->Exists(dir_->Join("c")));
  SetFull(false);
  EXPECT_EQ(WriteFileAtomically(*fs_, dir_->Join("c"), AsBytes("x")),
            Status::Ok());
  available = fs_->AvailableBytes(dir_->path());
  ASSERT_TRUE(available.ok());
  EXPECT_GT(*available, 0u);
}

}  // namespace
}  // namespace atrest::env
