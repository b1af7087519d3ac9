// Unit tests of ClientSecretGate: remembered secrets, backoff per address
// and per client, the bound on concurrent slow checks, on a FakeClock.
#include "identity/secret_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "env/testing.h"

namespace atrest::identity {
namespace {

using std::chrono::seconds;
using Refusal = ClientSecretGate::Decision::Refusal;

class SecretGateTest : public ::testing::Test {
 protected:
  SecretGateOptions Options() {
    return {.max_concurrent = 2,
            .free_failures = 3,
            .base_delay = seconds(1),
            .max_delay = seconds(8),
            .forget_after = seconds(100),
            .max_tracked = 4,
            .slot_wait = std::chrono::milliseconds(0)};
  }
  // Fails `n` checks of `client` from `peer`, each admitted first.
  void Fail(ClientSecretGate& gate, const std::string& client,
            const std::string& peer, int n) {
    for (int i = 0; i < n; ++i) {
      ClientSecretGate::Decision d = gate.Admit(client, peer);
      ASSERT_TRUE(d.permit.has_value()) << i;
      gate.Failed(client, peer);
    }
  }
  bool Admitted(ClientSecretGate& gate, const std::string& client,
                const std::string& peer) {
    return gate.Admit(client, peer).permit.has_value();
  }

  env::FakeClock clock_;
};

TEST_F(SecretGateTest, RemembersVerifiedSecretsUnderAKeyedHash) {
  ClientSecretGate gate(clock_, Options());
  EXPECT_FALSE(gate.Remembered("t/app", "s3cret"));
  gate.Remember("t/app", "s3cret", "key-1");
  EXPECT_EQ(gate.Remembered("t/app", "s3cret"), "key-1");
  EXPECT_FALSE(gate.Remembered("t/app", "s3cret2"));
  EXPECT_FALSE(gate.Remembered("t/app2", "s3cret"));
  EXPECT_FALSE(gate.Remembered("t/ap", "ps3cret"));
  // Another gate (another process) has another key: nothing carries over.
  ClientSecretGate other(clock_, Options());
  EXPECT_FALSE(other.Remembered("t/app", "s3cret"));
}

TEST_F(SecretGateTest, RememberedSecretsAreBounded) {
  SecretGateOptions o = Options();
  o.max_remembered = 2;
  ClientSecretGate gate(clock_, o);
  gate.Remember("c", "a", "1");
  gate.Remember("c", "b", "2");
  gate.Remember("c", "c", "3");  // Full: the others are forgotten.
  EXPECT_FALSE(gate.Remembered("c", "a"));
  EXPECT_EQ(gate.Remembered("c", "c"), "3");
}

TEST_F(SecretGateTest, AnAddressThatKeepsFailingWaitsLongerEachTime) {
  ClientSecretGate gate(clock_, Options());
  Fail(gate, "t/app", "10.0.0.1", 3);
  ClientSecretGate::Decision d = gate.Admit("t/app", "10.0.0.1");
  ASSERT_FALSE(d.permit);
  EXPECT_EQ(d.refusal, Refusal::kBackoff);
  EXPECT_EQ(d.retry_after, seconds(1));
  EXPECT_EQ(gate.Backoff("t/app", "10.0.0.1"), seconds(1));
  EXPECT_FALSE(gate.Backoff("t/third", "10.0.0.2"));
  // Another client from the same address waits too.
  EXPECT_FALSE(Admitted(gate, "t/other", "10.0.0.1"));
  // Another address for a third client does not.
  EXPECT_TRUE(Admitted(gate, "t/third", "10.0.0.2"));

  clock_.Advance(seconds(1));
  Fail(gate, "t/app", "10.0.0.1", 1);
  d = gate.Admit("t/app", "10.0.0.1");
  EXPECT_EQ(d.retry_after, seconds(2));
  clock_.Advance(seconds(2));
  Fail(gate, "t/app", "10.0.0.1", 1);
  EXPECT_EQ(gate.Admit("t/app", "10.0.0.1").retry_after, seconds(4));
  clock_.Advance(seconds(4));
  Fail(gate, "t/app", "10.0.0.1", 1);
  EXPECT_EQ(gate.Admit("t/app", "10.0.0.1").retry_after, seconds(8));
  clock_.Advance(seconds(8));
  Fail(gate, "t/app", "10.0.0.1", 1);
  EXPECT_EQ(gate.Admit("t/app", "10.0.0.1").retry_after, seconds(8));  // Max.

  // Quiet for forget_after: forgotten.
  clock_.Advance(seconds(100));
  EXPECT_TRUE(Admitted(gate, "t/app", "10.0.0.1"));
}

// Someone who knows a client id and fails from several addresses puts the
// client in backoff for those addresses, not for its owner's.
TEST_F(SecretGateTest, AClientInBackoffStillHearsCleanAddresses) {
  ClientSecretGate gate(clock_, Options());
  Fail(gate, "t/app", "10.0.0.1", 1);
  Fail(gate, "t/app", "10.0.0.2", 1);
  Fail(gate, "t/app", "10.0.0.3", 1);
  ClientSecretGate::Decision d = gate.Admit("t/app", "10.0.0.1");
  ASSERT_FALSE(d.permit);
  EXPECT_EQ(d.refusal, Refusal::kBackoff);
  EXPECT_FALSE(Admitted(gate, "t/app", "10.0.0.3"));
  // Those addresses are not in backoff for other clients (one failure each).
  EXPECT_TRUE(Admitted(gate, "t/other", "10.0.0.1"));
  // The owner, from an address that never failed, is heard.
  EXPECT_TRUE(Admitted(gate, "t/app", "192.0.2.7"));
}

TEST_F(SecretGateTest, AtMostMaxConcurrentSlowChecks) {
  ClientSecretGate gate(clock_, Options());
  ClientSecretGate::Decision a = gate.Admit("t/a", "10.0.0.1");
  ClientSecretGate::Decision b = gate.Admit("t/b", "10.0.0.2");
  ASSERT_TRUE(a.permit && b.permit);
  ClientSecretGate::Decision c = gate.Admit("t/c", "10.0.0.3");
  ASSERT_FALSE(c.permit);
  EXPECT_EQ(c.refusal, Refusal::kBusy);
  EXPECT_EQ(c.retry_after, seconds(1));
  EXPECT_FALSE(gate.Backoff("t/c", "10.0.0.3"));  // Busy is not backoff.
  a.permit.reset();
  EXPECT_TRUE(Admitted(gate, "t/c", "10.0.0.3"));
  // A moved permit is released once.
  std::optional<ClientSecretGate::Permit> moved(std::move(*b.permit));
  b.permit.reset();
  EXPECT_TRUE(Admitted(gate, "t/d", "10.0.0.4"));
  ClientSecretGate::Decision e = gate.Admit("t/e", "10.0.0.5");
  ClientSecretGate::Decision f = gate.Admit("t/f", "10.0.0.6");
  EXPECT_TRUE(e.permit);
  EXPECT_FALSE(f.permit);
}

TEST_F(SecretGateTest, ABusyGateWaitsBrieflyForAPlace) {
  SecretGateOptions o = Options();
  o.max_concurrent = 1;
  o.max_waiters = 1;
  o.slot_wait = std::chrono::seconds(10);
  ClientSecretGate gate(clock_, o);
  ClientSecretGate::Decision held = gate.Admit("t/a", "10.0.0.1");
  ASSERT_TRUE(held.permit);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held.permit.reset();
  });
  ClientSecretGate::Decision waited = gate.Admit("t/b", "10.0.0.2");
  release.join();
  EXPECT_TRUE(waited.permit);  // Got the place when it was freed.

  // With the one waiter's place taken, another is refused at once.
  std::atomic<bool> waiting{false};
  std::thread waiter([&] {
    waiting = true;
    ClientSecretGate::Decision d = gate.Admit("t/c", "10.0.0.3");
    EXPECT_TRUE(d.permit);
  });
  while (!waiting) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ClientSecretGate::Decision refused = gate.Admit("t/d", "10.0.0.4");
  EXPECT_FALSE(refused.permit);
  EXPECT_EQ(refused.refusal, Refusal::kBusy);
  waited.permit.reset();
  waiter.join();
}

// A burst of requests with one client's one secret runs one slow check.
TEST_F(SecretGateTest, IdenticalChecksShareOneRun) {
  SecretGateOptions o = Options();
  o.max_concurrent = 1;
  ClientSecretGate gate(clock_, o);
  constexpr int kThreads = 8;
  std::atomic<int> entered{0};
  std::atomic<int> runs{0};
  auto verify = [&]() -> std::optional<std::string> {
    ++runs;
    while (entered < kThreads) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return "key-1";
  };
  std::vector<ClientSecretGate::Outcome> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++entered;
      outcomes[i] =
          gate.Check("t/app", "s3cret", "10.0.0." + std::to_string(i), verify);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(runs, 1);
  for (const ClientSecretGate::Outcome& out : outcomes) {
    EXPECT_EQ(out.kind, ClientSecretGate::Outcome::Kind::kMatched);
    EXPECT_EQ(out.key_id, "key-1");
  }
  EXPECT_EQ(gate.Remembered("t/app", "s3cret"), "key-1");

  // A shared wrong outcome counts against every address that asked.
  runs = 0;
  entered = 0;
  auto wrong = [&]() -> std::optional<std::string> {
    ++runs;
    while (entered < 3) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return std::nullopt;
  };
  threads.clear();
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      ++entered;
      EXPECT_EQ(gate.Check("t/app", "wrong", "10.0.1.1", wrong).kind,
                ClientSecretGate::Outcome::Kind::kWrong);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(runs, 1);
  ClientSecretGate::Decision d = gate.Admit("t/other", "10.0.1.1");
  EXPECT_EQ(d.refusal, Refusal::kBackoff);  // Three failures: free_failures.
}

TEST_F(SecretGateTest, TablesStayBounded) {
  ClientSecretGate gate(clock_, Options());  // max_tracked 4.
  Fail(gate, "t/app0", "10.0.0.0", 3);
  for (int i = 1; i <= 4; ++i) {
    clock_.Advance(seconds(1));
    Fail(gate, "t/app" + std::to_string(i), "10.0.1." + std::to_string(i), 1);
  }
  // The oldest record made room: 10.0.0.0 is no longer in backoff.
  EXPECT_TRUE(Admitted(gate, "t/x", "10.0.0.0"));
}

TEST_F(SecretGateTest, AddressKeys) {
  EXPECT_EQ(ClientSecretGate::AddressKey("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(ClientSecretGate::AddressKey("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(ClientSecretGate::AddressKey("2001:db8:1:2:3:4:5:6"),
            "2001:db8:1:2::/64");
  EXPECT_EQ(ClientSecretGate::AddressKey("2001:db8:1:2::9"),
            ClientSecretGate::AddressKey("2001:db8:1:2:ffff::1"));
  EXPECT_EQ(ClientSecretGate::AddressKey("::1"), "::/64");
  EXPECT_EQ(ClientSecretGate::AddressKey(""), "");
}

}  // namespace
}  // namespace atrest::identity
