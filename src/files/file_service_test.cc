// Tests of FileService through its public interface, over a real SqliteStore
// and an FsBlobStore in one scratch data directory laid out as the server's
// (metadata.db, root.key, blobs/), accounts made by AccountService with
// service-managed keys, and a FakeClock: all set up by FilesHarness
// (files/testing/files_harness.h). The blob store runs on a
// FaultInjectionFileSystem so that tests can fail its writes and simulate
// power loss; until they do, it passes everything through.
#include "files/file_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "accounts/account_keys.h"
#include "accounts/account_service.h"
#include "base/bytes.h"
#include "base/status_testing.h"
#include "blob/fs_blob_store.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/stream_format.h"
#include "env/testing.h"
#include "files/testing/files_harness.h"
#include "store/sqlite_store.h"

namespace atrest::files {
namespace {

using std::chrono::seconds;
namespace fs = std::filesystem;

constexpr uint64_t kSegment = crypto::stream_format::kDefaultSegmentSize;

using ::atrest::testing::StatusOf;

// Expects the one generic decryption error (crypto/aead.h).
#define EXPECT_DECRYPTION_FAILED(expr)                                        \
  do {                                                                        \
    const auto& failed_result_ = (expr);                                      \
    const Status& failed_status_ = StatusOf(failed_result_);                  \
    EXPECT_EQ(failed_status_.code(), crypto::DecryptionFailed().code())       \
        << #expr << ": " << failed_status_;                                   \
    EXPECT_EQ(failed_status_.message(), crypto::DecryptionFailed().message()) \
        << #expr << ": " << failed_status_;                                   \
  } while (0)

Bytes RandomData(size_t size) {
  Bytes out(size);
  crypto::RandomBytes(out);
  return out;
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open()) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x40);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f.good()) << path;
}

void WriteWholeFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A chat fine-tuning example.
std::string Example(int i) {
  return R"({"messages":[{"role":"user","content":"question )" +
         std::to_string(i) + R"("},{"role":"assistant","content":"answer"}]})";
}

std::string Examples(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += Example(i) + "\n";
  return out;
}

// Sizes of Write calls: small, odd, empty and segment-crossing ones.
constexpr size_t kChunks[] = {0,     1, 7, 0,   4096,   65535, 1, 0,
                              65537, 3, 0, 100, 131072, 13,    0, 9999};

// ---- The fixture ----

class FileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(h_, FilesHarness::Create({.blob_fs = &fault_fs_}));
    store_ = &h_->store();
    keys_ = &h_->keys();
    accounts_ = &h_->accounts();
    blobs_ = &h_->blobs();
    files_ = &h_->files();
    ASSERT_OK_AND_ASSIGN(account_, h_->MakeAccount("acct1"));
    ASSERT_OK_AND_ASSIGN(other_, h_->MakeAccount("acct2"));
  }

  std::string BlobDir() const { return h_->BlobDir(); }
  std::string BlobPath(const store::StoredObject& o) const {
    return h_->BlobPath(o);
  }
  accounts::AccountRef Ref(const std::string& name) const {
    return {h_->subscription_id(), FilesHarness::kGroup, name};
  }

  // Uploads `data` in the chunk sizes of kChunks (cycled), then the rest.
  Result<store::StoredObject> Upload(const store::Account& account,
                                     const std::string& filename, ByteView data,
                                     const std::string& purpose,
                                     FileService* service = nullptr) {
    if (service == nullptr) service = files_;
    ASSIGN_OR_RETURN(std::unique_ptr<files::Upload> up,
                     service->BeginUpload(account, filename));
    size_t at = 0;
    for (size_t i = 0; at < data.size(); ++i) {
      const size_t n =
          std::min(kChunks[i % std::size(kChunks)], data.size() - at);
      RETURN_IF_ERROR(up->Write(data.subspan(at, n)));
      at += n;
    }
    return up->Finish(purpose);
  }
  Result<store::StoredObject> Upload(const std::string& filename,
                                     std::string_view text,
                                     const std::string& purpose) {
    return Upload(account_, filename, AsBytes(text), purpose);
  }

  static Result<Bytes> ReadRange(const Download& d, uint64_t offset,
                                 uint64_t length) {
    Bytes out;
    RETURN_IF_ERROR(d.Read(offset, length, [&](ByteView b) {
      out.insert(out.end(), b.begin(), b.end());
      return Status::Ok();
    }));
    return out;
  }

  Result<Bytes> ReadAll(const store::Account& account, const std::string& id) {
    ASSIGN_OR_RETURN(std::unique_ptr<Download> d, files_->Open(account, id));
    return ReadRange(*d, 0, d->size());
  }

  std::vector<std::string> Ids(const FileService::Page& page) {
    std::vector<std::string> out;
    for (const store::StoredObject& o : page.items) out.push_back(o.id);
    return out;
  }

  Result<FileService::Page> List(const store::Account& account,
                                 FileService::ListQuery q) {
    return files_->List(account, q);
  }

  // Nothing of any upload is stored: no rows, no blobs, no temporary files.
  void ExpectNothingStored(const store::Account& account) {
    Result<FileService::Page> page = List(account, {});
    ASSERT_OK(page);
    EXPECT_TRUE(page->items.empty());
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
    EXPECT_TRUE(blobs.empty());
    EXPECT_EQ(FilesUnder(BlobDir()), std::vector<std::string>{});
  }

  int64_t Now() const {
    return std::chrono::duration_cast<seconds>(
               h_->clock().Now().time_since_epoch())
        .count();
  }

  // The blob store's filesystem: passes everything through until a test
  // injects a fault. It outlives the harness.
  env::FaultInjectionFileSystem fault_fs_{env::Env::Default().fs()};
  std::unique_ptr<FilesHarness> h_;
  // The harness's services, for brevity.
  store::SqliteStore* store_ = nullptr;
  accounts::AccountKeys* keys_ = nullptr;
  accounts::AccountService* accounts_ = nullptr;
  blob::FsBlobStore* blobs_ = nullptr;
  FileService* files_ = nullptr;
  store::Account account_, other_;
};

// ======================= Upload and read =======================

// A filename is stored and echoed by every listing: one that is not UTF-8
// is refused before anything is stored.
TEST_F(FileServiceTest, FilenamesThatAreNotUtf8AreRefused) {
  for (const char* name : {"notes\xff.txt", "\xc3.jsonl", "a\xed\xa0\x80"}) {
    EXPECT_REFUSED(Upload(name, "hello", "assistants"),
                   StatusCode::kInvalidArgument, "invalidPayload");
  }
  ExpectNothingStored(account_);
  EXPECT_OK(Upload("caf\xc3\xa9.txt", "hello", "assistants"));
}

TEST_F(FileServiceTest, UploadInSmallWritesThenReadAnyRange) {
  const Bytes data = RandomData(3 * kSegment + 3392);
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload(account_, "notes.bin", data, "assistants"));
  EXPECT_EQ(row.account_uid, account_.uid);
  EXPECT_EQ(row.kind, "file");
  EXPECT_EQ(row.purpose, "assistants");
  EXPECT_EQ(row.filename, "notes.bin");
  EXPECT_EQ(row.bytes, static_cast<int64_t>(data.size()));
  EXPECT_EQ(row.status, "processed");
  EXPECT_TRUE(row.status_details.empty());
  EXPECT_EQ(row.created_at, Now());
  EXPECT_GT(row.seq, 0);
  ASSERT_EQ(row.id.size(), 5u + 32u);
  EXPECT_EQ(row.id.substr(0, 5), "file-");
  EXPECT_EQ(row.blob, account_.uid + "/" + row.id);
  EXPECT_FALSE(row.wrapped_dek.empty());

  ASSERT_OK_AND_ASSIGN(store::StoredObject got, files_->Get(account_, row.id));
  EXPECT_EQ(got, row);

  // The blob is ciphertext of the documented size.
  EXPECT_EQ(fs::file_size(BlobPath(row)),
            crypto::StreamEncrypter::CiphertextSize(data.size(), kSegment));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Download> d,
                       files_->Open(account_, row.id));
  ASSERT_EQ(d->size(), data.size());
  ASSERT_OK_AND_ASSIGN(Bytes all, ReadRange(*d, 0, data.size()));
  EXPECT_TRUE(all == data);

  const uint64_t n = data.size();
  std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, 0},
      {0, 1},
      {n - 1, 1},
      {n, 0},
      {kSegment - 1, 2},
      {kSegment, kSegment},
      {1, n - 1},
      {2 * kSegment + 5, 60000}};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 50; ++i) {
    const uint64_t off = rng() % n;
    ranges.emplace_back(off, rng() % (n - off + 1));
  }
  for (const auto& [off, len] : ranges) {
    SCOPED_TRACE(std::to_string(off) + "+" + std::to_string(len));
    ASSERT_OK_AND_ASSIGN(Bytes part, ReadRange(*d, off, len));
    EXPECT_TRUE(
        std::equal(part.begin(), part.end(),
                   data.begin() + static_cast<std::ptrdiff_t>(off),
                   data.begin() + static_cast<std::ptrdiff_t>(off + len)));
    EXPECT_EQ(part.size(), len);
  }
  EXPECT_EQ(ReadRange(*d, n, 1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ReadRange(*d, 0, n + 1).status().code(), StatusCode::kOutOfRange);
}

TEST_F(FileServiceTest, EmptyFile) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> up,
                       files_->BeginUpload(account_, "empty.txt"));
  ASSERT_OK(up->Write({}));
  ASSERT_OK_AND_ASSIGN(store::StoredObject row, up->Finish("user_data"));
  EXPECT_EQ(row.bytes, 0);
  EXPECT_EQ(row.status, "processed");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Download> d,
                       files_->Open(account_, row.id));
  EXPECT_EQ(d->size(), 0u);
  ASSERT_OK_AND_ASSIGN(Bytes all, ReadRange(*d, 0, 0));
  EXPECT_TRUE(all.empty());
}

TEST_F(FileServiceTest, BadFilenameIsRefused) {
  EXPECT_REFUSED(files_->BeginUpload(account_, ""),
                 StatusCode::kInvalidArgument, "invalidPayload");
  EXPECT_REFUSED(files_->BeginUpload(account_, std::string(513, 'a')),
                 StatusCode::kInvalidArgument, "invalidPayload");
  ExpectNothingStored(account_);
}

// ======================= List =======================

TEST_F(FileServiceTest, ListFiltersPagesAndOrders) {
  const char* purposes[] = {"assistants", "batch", "assistants", "user_data",
                            "assistants"};
  std::vector<std::string> ids;  // Oldest first.
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(
        store::StoredObject row,
        Upload("f" + std::to_string(i) + ".txt", "data", purposes[i]));
    ids.push_back(row.id);
    h_->clock().Advance(seconds(1));
  }
  ASSERT_OK(Upload(other_, "theirs.txt", AsBytes("x"), "assistants"));
  using V = std::vector<std::string>;

  ASSERT_OK_AND_ASSIGN(FileService::Page all, List(account_, {}));
  EXPECT_EQ(Ids(all), (V{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_FALSE(all.has_more);

  ASSERT_OK_AND_ASSIGN(FileService::Page asc,
                       List(account_, {.ascending = true}));
  EXPECT_EQ(Ids(asc), ids);

  ASSERT_OK_AND_ASSIGN(FileService::Page assistants,
                       List(account_, {.purpose = "assistants"}));
  EXPECT_EQ(Ids(assistants), (V{ids[4], ids[2], ids[0]}));
  ASSERT_OK_AND_ASSIGN(FileService::Page none,
                       List(account_, {.purpose = "fine-tune"}));
  EXPECT_TRUE(none.items.empty());

  // Pages of two, newest first.
  ASSERT_OK_AND_ASSIGN(FileService::Page p1, List(account_, {.limit = 2}));
  EXPECT_EQ(Ids(p1), (V{ids[4], ids[3]}));
  EXPECT_TRUE(p1.has_more);
  ASSERT_OK_AND_ASSIGN(FileService::Page p2,
                       List(account_, {.after = ids[3], .limit = 2}));
  EXPECT_EQ(Ids(p2), (V{ids[2], ids[1]}));
  EXPECT_TRUE(p2.has_more);
  ASSERT_OK_AND_ASSIGN(FileService::Page p3,
                       List(account_, {.after = ids[1], .limit = 2}));
  EXPECT_EQ(Ids(p3), (V{ids[0]}));
  EXPECT_FALSE(p3.has_more);
  // A page that ends exactly at the last file has no more.
  ASSERT_OK_AND_ASSIGN(FileService::Page exact,
                       List(account_, {.after = ids[2], .limit = 2}));
  EXPECT_EQ(Ids(exact), (V{ids[1], ids[0]}));
  EXPECT_FALSE(exact.has_more);

  // Oldest first, after an id.
  ASSERT_OK_AND_ASSIGN(
      FileService::Page up,
      List(account_, {.after = ids[1], .limit = 2, .ascending = true}));
  EXPECT_EQ(Ids(up), (V{ids[2], ids[3]}));
  EXPECT_TRUE(up.has_more);
  ASSERT_OK_AND_ASSIGN(
      FileService::Page filtered,
      List(account_,
           {.purpose = "assistants", .after = ids[0], .ascending = true}));
  EXPECT_EQ(Ids(filtered), (V{ids[2], ids[4]}));

  // `after` must be a file of this account.
  EXPECT_REFUSED(List(account_, {.after = "file-nosuch"}),
                 StatusCode::kNotFound, "notFound");
  ASSERT_OK_AND_ASSIGN(FileService::Page theirs, List(other_, {}));
  ASSERT_EQ(theirs.items.size(), 1u);
  EXPECT_REFUSED(List(account_, {.after = theirs.items[0].id}),
                 StatusCode::kNotFound, "notFound");
}

// ======================= Delete and isolation =======================

TEST_F(FileServiceTest, DeleteRemovesRowThenBlob) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject keep,
                       Upload("keep.txt", "keep me", "assistants"));
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload("gone.txt", "delete me", "assistants"));
  ASSERT_TRUE(fs::exists(BlobPath(row)));
  ASSERT_OK(files_->Delete(account_, row.id));
  EXPECT_FALSE(fs::exists(BlobPath(row)));
  EXPECT_REFUSED(files_->Get(account_, row.id), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(files_->Open(account_, row.id), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(files_->Delete(account_, row.id), StatusCode::kNotFound,
                 "notFound");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
  EXPECT_EQ(blobs, std::vector<std::string>{keep.blob});
  ASSERT_OK_AND_ASSIGN(Bytes kept, ReadAll(account_, keep.id));
  EXPECT_EQ(AsString(kept), "keep me");
}

// The row goes first: when the blob cannot be removed the file is gone all
// the same (its data key with it), and the orphan sweep removes the blob.
TEST_F(FileServiceTest, DeleteWhoseBlobStaysIsSweptLater) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload("gone.txt", "delete me", "assistants"));
  fault_fs_.FailNext(env::FaultInjectionFileSystem::Op::kRemove,
                     Status(StatusCode::kInternal, "injected remove failure"));
  ASSERT_OK(files_->Delete(account_, row.id));
  EXPECT_REFUSED(files_->Get(account_, row.id), StatusCode::kNotFound,
                 "notFound");
  EXPECT_TRUE(fs::exists(BlobPath(row)));
  ASSERT_OK_AND_ASSIGN(int swept, files_->SweepOrphans());
  EXPECT_EQ(swept, 1);
  EXPECT_FALSE(fs::exists(BlobPath(row)));
}

TEST_F(FileServiceTest, AnotherAccountsFileIsNotFound) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload("mine.txt", "mine", "assistants"));
  EXPECT_REFUSED(files_->Get(other_, row.id), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(files_->Open(other_, row.id), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(files_->Delete(other_, row.id), StatusCode::kNotFound,
                 "notFound");
  ASSERT_OK_AND_ASSIGN(Bytes still, ReadAll(account_, row.id));
  EXPECT_EQ(AsString(still), "mine");
}

TEST_F(FileServiceTest, DeletingTheAccountRemovesItsBlobs) {
  ASSERT_OK(Upload("a.txt", "a", "assistants"));
  ASSERT_OK(Upload("b.txt", "b", "batch"));
  ASSERT_OK_AND_ASSIGN(store::StoredObject theirs,
                       Upload(other_, "c.txt", AsBytes("c"), "assistants"));
  ASSERT_OK(accounts_->DeleteAccount(h_->owner(), Ref("acct1")));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
  EXPECT_EQ(blobs, std::vector<std::string>{theirs.blob});
  ASSERT_OK_AND_ASSIGN(Bytes c, ReadAll(other_, theirs.id));
  EXPECT_EQ(AsString(c), "c");
}

// ---- Shredding (docs/storage.md) ----

// How many files under the data dir hold `bytes`.
size_t FilesHolding(const std::string& dir, const Bytes& bytes) {
  size_t n = 0;
  for (const std::string& path : FilesUnder(dir)) {
    n += ReadWholeFile(path).find(AsString(bytes)) != std::string::npos;
  }
  return n;
}

TEST_F(FileServiceTest, DeletedObjectsLeaveNoWrappedKeyOnDisk) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject file,
                       Upload("gone.txt", "delete me", "assistants"));
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ObjectWriter> w,
      files_->BeginObject(
          account_, {.kind = "checkpoint", .purpose = "p", .filename = "c"}));
  ASSERT_OK(w->Write(AsBytes("weights")));
  ASSERT_OK_AND_ASSIGN(store::StoredObject checkpoint, w->Commit());
  // The wrapped keys as the store holds them; the scan finds them now.
  auto wrapped = [&](const std::string& id) {
    Result<store::StoredObject> row =
        store_->ReadResult([&](store::Transaction& tx) {
          return tx.objects().Get(account_.uid, id);
        });
    EXPECT_OK(row);
    return row.ok() ? row->wrapped_dek : Bytes();
  };
  const Bytes file_dek = wrapped(file.id), ckpt_dek = wrapped(checkpoint.id);
  ASSERT_GE(FilesHolding(h_->dir().path(), file_dek), 1u);
  ASSERT_GE(FilesHolding(h_->dir().path(), ckpt_dek), 1u);

  ASSERT_OK(files_->Delete(account_, file.id));
  EXPECT_EQ(FilesHolding(h_->dir().path(), file_dek), 0u);
  ASSERT_OK(files_->DeleteObject(account_, "checkpoint", checkpoint.id));
  EXPECT_EQ(FilesHolding(h_->dir().path(), ckpt_dek), 0u);
}

TEST_F(FileServiceTest, ADeletedAccountLeavesNoWrappedKeyOnDisk) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject a,
                       Upload("a.txt", "a", "assistants"));
  ASSERT_OK_AND_ASSIGN(store::StoredObject b, Upload("b.txt", "b", "batch"));
  std::vector<Bytes> keys;
  ASSERT_OK(store_->Read([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Account acct, tx.accounts().GetByUid(account_.uid));
    keys.push_back(acct.wrapped_aek);
    for (const std::string& id : {a.id, b.id}) {
      ASSIGN_OR_RETURN(store::StoredObject o,
                       tx.objects().Get(account_.uid, id));
      keys.push_back(o.wrapped_dek);
    }
    return Status::Ok();
  }));
  for (const Bytes& k : keys) ASSERT_GE(FilesHolding(h_->dir().path(), k), 1u);
  ASSERT_OK(accounts_->DeleteAccount(h_->owner(), Ref("acct1")));
  for (const Bytes& k : keys) EXPECT_EQ(FilesHolding(h_->dir().path(), k), 0u);
}

// ---- Content the service lost ----

// A row whose blob is gone: the service lost the content, which is neither
// the caller's doing (not a 404) nor something to describe to them.
TEST_F(FileServiceTest, AMissingBlobIsDataLossNamingNothingInternal) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload("lost.txt", "lost content", "assistants"));
  ASSERT_TRUE(fs::remove(BlobPath(row)));
  EXPECT_OK(files_->Get(account_, row.id));  // The metadata is there.
  Result<std::unique_ptr<Download>> opened = files_->Open(account_, row.id);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(opened.status().reason(), "internalFailure");
  const std::string& m = opened.status().message();
  EXPECT_EQ(m.find(account_.uid), std::string::npos) << m;
  EXPECT_EQ(m.find(row.id), std::string::npos) << m;
  EXPECT_EQ(m.find(BlobDir()), std::string::npos) << m;
}

// ======================= Validation =======================

TEST_F(FileServiceTest, FineTuneNeedsJsonlSuffix) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> up,
                         files_->BeginUpload(account_, "train.txt"));
    ASSERT_OK(up->Write(AsBytes(Examples(10))));
    Result<store::StoredObject> r = up->Finish("fine-tune");
    EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "invalidPayload");
    EXPECT_NE(r.status().message().find("wrong suffix"), std::string::npos)
        << r.status();
  }
  ExpectNothingStored(account_);
  ASSERT_OK_AND_ASSIGN(int swept, files_->SweepOrphans());
  EXPECT_EQ(swept, 0);

  // The suffix ignores case.
  ASSERT_OK_AND_ASSIGN(store::StoredObject upper,
                       Upload("TRAIN.JSONL", Examples(10), "fine-tune"));
  EXPECT_EQ(upper.status, "processed");
}

TEST_F(FileServiceTest, FineTuneFilesAreValidated) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject nine,
                       Upload("nine.jsonl", Examples(9), "fine-tune"));
  EXPECT_EQ(nine.status, "error");
  EXPECT_NE(nine.status_details.find("at least 10"), std::string::npos)
      << nine.status_details;
  // Kept, with its verdict, as Azure does.
  ASSERT_OK_AND_ASSIGN(store::StoredObject got, files_->Get(account_, nine.id));
  EXPECT_EQ(got.status, "error");
  EXPECT_EQ(got.status_details, nine.status_details);

  ASSERT_OK_AND_ASSIGN(store::StoredObject ten,
                       Upload("ten.jsonl", Examples(10), "fine-tune"));
  EXPECT_EQ(ten.status, "processed");
  EXPECT_TRUE(ten.status_details.empty());
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadAll(account_, ten.id));
  EXPECT_EQ(AsString(back), Examples(10));

  std::string bad = Examples(10) + "{\"messages\": 5}\n";
  ASSERT_OK_AND_ASSIGN(store::StoredObject broken,
                       Upload("bad.jsonl", bad, "fine-tune"));
  EXPECT_EQ(broken.status, "error");
  EXPECT_NE(broken.status_details.find("Line 11"), std::string::npos)
      << broken.status_details;

  // Other purposes are not validated as training data.
  ASSERT_OK_AND_ASSIGN(store::StoredObject other,
                       Upload("notes.jsonl", "not json", "assistants"));
  EXPECT_EQ(other.status, "processed");
}

TEST_F(FileServiceTest, UnknownPurposeStoresNothing) {
  for (const char* purpose :
       {"", "Assistants", "fine-tune-results", "assistants_output", "x"}) {
    SCOPED_TRACE(purpose);
    Result<store::StoredObject> r = Upload("a.txt", "data", purpose);
    EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "invalidPayload");
  }
  ExpectNothingStored(account_);
  for (const char* purpose :
       {"assistants", "batch", "vision", "user_data", "evals"}) {
    EXPECT_TRUE(UploadablePurpose(purpose)) << purpose;
  }
  EXPECT_FALSE(UploadablePurpose("fine-tune-results"));
}

TEST_F(FileServiceTest, MaxFileBytes) {
  FileService small(*store_, h_->env(), *blobs_, *keys_,
                    {.max_file_bytes = 1000});
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> up,
                         small.BeginUpload(account_, "big.txt"));
    ASSERT_OK(up->Write(RandomData(600)));
    Status s = up->Write(RandomData(401));
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
    EXPECT_EQ(up->Write(RandomData(1)).code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(up->Finish("assistants").status().code(),
              StatusCode::kResourceExhausted);
  }
  ExpectNothingStored(account_);
  {
    // A fine-tune upload too.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> up,
                         small.BeginUpload(account_, "big.jsonl"));
    EXPECT_EQ(up->Write(AsBytes(Examples(20))).code(),
              StatusCode::kResourceExhausted);
    EXPECT_EQ(up->Finish("fine-tune").status().code(),
              StatusCode::kResourceExhausted);
  }
  ExpectNothingStored(account_);
  // Exactly at the limit is fine.
  const Bytes data = RandomData(1000);
  ASSERT_OK_AND_ASSIGN(
      store::StoredObject row,
      Upload(account_, "limit.bin", data, "assistants", &small));
  EXPECT_EQ(row.bytes, 1000);
}

TEST_F(FileServiceTest, UploadDestroyedWithoutFinishLeavesNothing) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> up,
                         files_->BeginUpload(account_, "half.bin"));
    // More than the blob writer buffers, so the temporary file has data.
    ASSERT_OK(up->Write(RandomData(blob::FsBlobStore::kWriteBufferSize + 5)));
    EXPECT_FALSE(FilesUnder(BlobDir()).empty());
  }
  ExpectNothingStored(account_);
}

// An account deleted while a file uploads: the blob commits, the row cannot
// (its account is gone), and the blob is removed again.
TEST_F(FileServiceTest, RowThatCannotCommitLeavesNoBlob) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> up,
                       files_->BeginUpload(account_, "late.txt"));
  ASSERT_OK(up->Write(AsBytes("data")));
  ASSERT_OK(store_->Transact(
      [&](store::Transaction& tx) { return tx.accounts().Delete("acct1"); }));
  EXPECT_FALSE(up->Finish("assistants").ok());
  up.reset();
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
  EXPECT_TRUE(blobs.empty());
  EXPECT_EQ(FilesUnder(BlobDir()), std::vector<std::string>{});
}

// ======================= Keys =======================

TEST_F(FileServiceTest, InaccessibleKeyRefusesDataButNotMetadata) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload("a.txt", "secret", "assistants"));
  // Break the account's wrapped AEK and recheck it.
  ASSERT_OK(h_->BreakKey(account_));
  EXPECT_EQ(keys_->StatusOf(account_).state, "inaccessible");

  const StatusCode denied = StatusCode::kPermissionDenied;
  EXPECT_REFUSED(files_->BeginUpload(account_, "b.txt"), denied,
                 "CustomerManagedKeyInaccessible");
  EXPECT_REFUSED(files_->Open(account_, row.id), denied,
                 "CustomerManagedKeyInaccessible");
  EXPECT_OK(files_->Get(account_, row.id));
  ASSERT_OK_AND_ASSIGN(FileService::Page page, List(account_, {}));
  EXPECT_EQ(page.items.size(), 1u);

  // Restored: readable again.
  ASSERT_OK(h_->RestoreKey(account_));
  EXPECT_EQ(keys_->StatusOf(account_).state, "active");
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadAll(account_, row.id));
  EXPECT_EQ(AsString(back), "secret");
}

// ======================= At rest (DESIGN.md §7) =======================

// No 16-byte window of an uploaded plaintext, and not the root key, is in
// any file of the data directory but the root key file.
TEST_F(FileServiceTest, NoPlaintextOrRootKeyOnDisk) {
  const Bytes data = RandomData(size_t{1} << 20);
  constexpr size_t kWindow = 16;
  // Every aligned window is distinct, so a hit could not be a repeat.
  std::unordered_set<std::string_view> windows;
  for (size_t i = 0; i + kWindow <= data.size(); i += kWindow) {
    windows.insert(AsString(ByteView(data).subspan(i, kWindow)));
  }
  ASSERT_EQ(windows.size(), data.size() / kWindow);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const size_t at = rng() % (data.size() - kWindow);
    windows.insert(AsString(ByteView(data).subspan(at, kWindow)));
  }
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload(account_, "data.bin", data, "assistants"));
  ASSERT_OK_AND_ASSIGN(store::StoredObject ft,
                       Upload("t.jsonl", Examples(12), "fine-tune"));
  ASSERT_OK_AND_ASSIGN(accounts::ApiKeys api_keys,
                       accounts_->ListKeys(h_->owner(), Ref("acct1")));

  auto hits = [&](std::string_view content) {
    size_t n = 0;
    for (size_t i = 0; i + kWindow <= content.size(); ++i) {
      n += windows.count(content.substr(i, kWindow));
    }
    return n;
  };
  // The scan itself finds a window at any offset.
  const std::string canary =
      "xyz" + std::string(AsString(ByteView(data).subspan(1000, 40)));
  ASSERT_GE(hits(canary), 1u);

  const std::vector<std::string> files = FilesUnder(h_->dir().path());
  ASSERT_GE(files.size(), 4u);  // metadata.db (+ WAL), root.key, 2 blobs.
  bool saw_blob = false, saw_db = false;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const std::string content = ReadWholeFile(path);
    saw_blob |= path == BlobPath(row);
    saw_db |= fs::path(path).filename() == store::SqliteStore::kFileName;
    EXPECT_EQ(hits(content), 0u);
    EXPECT_EQ(content.find(AsString(h_->root_key_bytes())) != std::string::npos,
              path == h_->dir().Join("root.key"));
    EXPECT_EQ(content.find(Example(3)), std::string::npos);
    EXPECT_EQ(content.find("question 7"), std::string::npos);
    EXPECT_EQ(content.find(api_keys.key1), std::string::npos);
    EXPECT_EQ(content.find(api_keys.key2), std::string::npos);
  }
  EXPECT_TRUE(saw_blob);
  EXPECT_TRUE(saw_db);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadAll(account_, row.id));
  EXPECT_TRUE(back == data);
  EXPECT_EQ(ft.status, "processed");
}

// The status details of a rejected training file are stored in the clear
// in its metadata row; they must not carry the file's content.
TEST_F(FileServiceTest, StatusDetailsDoNotQuoteTrainingData) {
  const std::string secret = "ssn-078-05-1120";
  const std::string line =
      R"({"messages":[{"role":")" + secret +
      R"(","content":"hi"},{"role":"assistant","content":"a"}],")" + secret +
      R"(":1})";
  ASSERT_OK_AND_ASSIGN(
      store::StoredObject row,
      Upload("t.jsonl", Examples(10) + line + "\n", "fine-tune"));
  EXPECT_EQ(row.status, "error");
  EXPECT_EQ(row.status_details.find(secret), std::string::npos)
      << row.status_details;
  for (const std::string& path : FilesUnder(h_->dir().path())) {
    EXPECT_EQ(ReadWholeFile(path).find(secret), std::string::npos) << path;
  }
}

TEST_F(FileServiceTest, TamperedBlobFailsWithTheGenericError) {
  const Bytes data = RandomData(3 * kSegment + 3392);  // 4 segments.
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload(account_, "data.bin", data, "assistants"));
  const std::string path = BlobPath(row);
  const std::string original = ReadWholeFile(path);
  const uint64_t header = crypto::stream_format::kHeaderSize;
  const uint64_t stride = kSegment + crypto::stream_format::kTagSize;

  // A byte of segment 1: Open succeeds (it checks the header and the final
  // segment); reads of segment 1 fail and deliver nothing; the others read.
  FlipByte(path, header + stride + 100);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Download> d,
                         files_->Open(account_, row.id));
    for (uint64_t off = 0; off < data.size(); off += 4096) {
      const uint64_t len = std::min<uint64_t>(4096, data.size() - off);
      Bytes got;
      Status s = d->Read(off, len, [&](ByteView b) {
        got.insert(got.end(), b.begin(), b.end());
        return Status::Ok();
      });
      if (off / kSegment == 1) {
        EXPECT_DECRYPTION_FAILED(s);
        EXPECT_TRUE(got.empty()) << off;
      } else {
        EXPECT_OK(s);
        EXPECT_TRUE(std::equal(got.begin(), got.end(),
                               data.begin() + static_cast<std::ptrdiff_t>(off)))
            << off;
      }
    }
    // A read across the damage fails; what reached the sink before it is
    // only whole, authentic segments before the damaged one.
    Bytes got;
    Status s = d->Read(0, data.size(), [&](ByteView b) {
      got.insert(got.end(), b.begin(), b.end());
      return Status::Ok();
    });
    EXPECT_DECRYPTION_FAILED(s);
    EXPECT_LE(got.size(), kSegment);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
  }

  // The header, the final segment, a truncation, an extension: Open fails.
  const std::vector<std::pair<std::string, std::string>> damages = {
      {"salt",
       [&] {
         std::string s = original;
         s[crypto::stream_format::kSaltOffset] ^= 1;
         return s;
       }()},
      {"commitment",
       [&] {
         std::string s = original;
         s[crypto::stream_format::kCommitmentOffset + 3] ^= 1;
         return s;
       }()},
      {"final segment",
       [&] {
         std::string s = original;
         s[s.size() - 1] ^= 1;
         return s;
       }()},
      {"truncated", original.substr(0, original.size() - 1)},
      {"cut at a segment", original.substr(0, header + 3 * stride)},
      {"extended", original + std::string(17, 'x')},
  };
  for (const auto& [what, content] : damages) {
    SCOPED_TRACE(what);
    WriteWholeFile(path, content);
    EXPECT_DECRYPTION_FAILED(files_->Open(account_, row.id));
  }

  // Another file's blob in its place (same account, same size).
  ASSERT_OK_AND_ASSIGN(
      store::StoredObject twin,
      Upload(account_, "twin.bin", RandomData(data.size()), "assistants"));
  WriteWholeFile(path, ReadWholeFile(BlobPath(twin)));
  EXPECT_DECRYPTION_FAILED(files_->Open(account_, row.id));

  // The original blob, but a damaged wrapped data key in the row.
  WriteWholeFile(path, original);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadAll(account_, row.id));
  EXPECT_TRUE(back == data);
  store::StoredObject bad_key = row;
  bad_key.wrapped_dek[bad_key.wrapped_dek.size() / 2] ^= 1;
  ASSERT_OK(store_->Transact([&](store::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.objects().Delete(account_.uid, row.id));
    return tx.objects().Create(bad_key).status();
  }));
  EXPECT_DECRYPTION_FAILED(files_->Open(account_, row.id));
}

// ======================= Durability =======================

TEST_F(FileServiceTest, FailedBlobCommitStoresNoRow) {
  using Op = env::FaultInjectionFileSystem::Op;
  // The account's blob directory exists (and is durable) after one upload,
  // so that the injected SyncDir failure hits Commit, not BeginUpload.
  ASSERT_OK_AND_ASSIGN(store::StoredObject first,
                       Upload("first.txt", "first", "assistants"));
  for (Op op : {Op::kSync, Op::kRename, Op::kSyncDir, Op::kAppend}) {
    SCOPED_TRACE(static_cast<int>(op));
    fault_fs_.FailNext(op, Status(StatusCode::kInternal, "injected"));
    EXPECT_FALSE(
        Upload(account_, "x.bin", RandomData(200000), "assistants").ok());
    ASSERT_OK_AND_ASSIGN(FileService::Page page, List(account_, {}));
    ASSERT_EQ(page.items.size(), 1u);
    EXPECT_EQ(page.items[0].id, first.id);
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
    EXPECT_EQ(blobs, std::vector<std::string>{first.blob});
    EXPECT_EQ(FilesUnder(BlobDir()), std::vector<std::string>{BlobPath(first)});
  }
  // A full disk: its own status, whose message names no path or account.
  fault_fs_.SetWriteBudget(100000);
  Result<store::StoredObject> full =
      Upload(account_, "big.bin", RandomData(size_t{2} << 20), "assistants");
  EXPECT_EQ(full.status().code(), StatusCode::kInsufficientStorage)
      << full.status();
  EXPECT_EQ(full.status().message().find(account_.uid), std::string::npos)
      << full.status();
  EXPECT_EQ(full.status().message().find(BlobDir()), std::string::npos)
      << full.status();
  fault_fs_.ClearWriteBudget();
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
  EXPECT_EQ(blobs, std::vector<std::string>{first.blob});
  EXPECT_EQ(FilesUnder(BlobDir()), std::vector<std::string>{BlobPath(first)});
}

// A file whose upload returned survives a power loss right after.
TEST_F(FileServiceTest, CommittedFileSurvivesACrash) {
  const Bytes data = RandomData(300000);
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload(account_, "data.bin", data, "assistants"));
  // And an upload in flight at the time of the crash.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<files::Upload> in_flight,
                       files_->BeginUpload(account_, "half.bin"));
  ASSERT_OK(
      in_flight->Write(RandomData(blob::FsBlobStore::kWriteBufferSize + 1)));
  ASSERT_OK(fault_fs_.SimulateCrash());
  in_flight.reset();
  ASSERT_OK_AND_ASSIGN(int swept, files_->SweepOrphans());
  EXPECT_LE(swept, 1);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadAll(account_, row.id));
  EXPECT_TRUE(back == data);
  EXPECT_EQ(FilesUnder(BlobDir()), std::vector<std::string>{BlobPath(row)});
}

TEST_F(FileServiceTest, SweepOrphansKeepsOnlyBlobsWithRows) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject row,
                       Upload("kept.txt", "kept", "assistants"));
  // A blob no row points at, in this account's directory and another's.
  for (const std::string& name :
       {account_.uid + "/file-orphan", other_.uid + "/file-orphan2"}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<blob::BlobWriter> w,
                         blobs_->Create(name));
    ASSERT_OK(w->Append(AsBytes("ciphertext")));
    ASSERT_OK(w->Commit());
  }
  // A temporary file of a write that never committed.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<blob::BlobWriter> pending,
                       blobs_->Create(account_.uid + "/file-pending"));
  ASSERT_OK(
      pending->Append(RandomData(blob::FsBlobStore::kWriteBufferSize + 1)));
  ASSERT_EQ(FilesUnder(BlobDir()).size(), 4u);

  ASSERT_OK_AND_ASSIGN(int swept, files_->SweepOrphans());
  EXPECT_EQ(swept, 3);
  pending.reset();
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> blobs, blobs_->List());
  EXPECT_EQ(blobs, std::vector<std::string>{row.blob});
  EXPECT_EQ(FilesUnder(BlobDir()), std::vector<std::string>{BlobPath(row)});
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadAll(account_, row.id));
  EXPECT_EQ(AsString(back), "kept");
  ASSERT_OK_AND_ASSIGN(swept, files_->SweepOrphans());
  EXPECT_EQ(swept, 0);
}

// ======================= Concurrency =======================

TEST_F(FileServiceTest, ConcurrentUploadsAndReads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 3;
  std::vector<std::thread> threads;
  std::vector<Status> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const Bytes data =
            RandomData(70000 + static_cast<size_t>(t * 1000 + i));
        Result<store::StoredObject> row =
            Upload(account_, "t.bin", data, "batch");
        if (!row.ok()) {
          errors[t] = row.status();
          return;
        }
        Result<Bytes> back = ReadAll(account_, row->id);
        if (!back.ok()) {
          errors[t] = back.status();
          return;
        }
        if (*back != data) {
          errors[t] = Status(StatusCode::kInternal, "read back differs");
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : errors) EXPECT_OK(s);
  ASSERT_OK_AND_ASSIGN(FileService::Page page, List(account_, {}));
  EXPECT_EQ(page.items.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace atrest::files
