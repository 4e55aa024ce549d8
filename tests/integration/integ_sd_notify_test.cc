// systemd Type=notify (docs/deploy.md): kvd started with NOTIFY_SOCKET naming a unix datagram
// socket sends READY=1 once it serves, and STOPPING=1 when SIGTERM begins its graceful stop.
// The test plays systemd: it binds the socket and reads what kvd sends.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

// One datagram within `timeout`, or nullopt.
std::optional<std::string> Receive(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

TEST(SdNotifyTest, ReadyWhenServingAndStoppingOnSigterm) {
  TestClusterOptions o;
  o.nodes = 1;
  TestCluster cluster(o);
  const std::string path = cluster.dir() + "/notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);

  // The child inherits the environment at fork.
  ASSERT_EQ(::setenv("NOTIFY_SOCKET", path.c_str(), 1), 0);
  const Status started = cluster.Start(1);
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_OK(started);

  auto ready = Receive(fd, 20s);
  ASSERT_TRUE(ready.has_value()) << "no notification from kvd";
  EXPECT_NE(ready->find("READY=1"), std::string::npos) << *ready;
  // READY means serving: a write goes through at once.
  ASSERT_TRUE(cluster.WaitForLeader(20s).ok());
  ASSERT_OK(cluster.client().Put("k", "v"));

  // SIGTERM: STOPPING=1 before the drain, then a clean exit.
  ::kill(cluster.process(1).pid(), SIGTERM);
  auto stopping = Receive(fd, 10s);
  ASSERT_TRUE(stopping.has_value()) << "no STOPPING notification";
  EXPECT_NE(stopping->find("STOPPING=1"), std::string::npos) << *stopping;
  // (A second SIGTERM would stop it at once, so no Stop() here: wait for the exit.)
  ASSERT_TRUE(WaitUntil([&] { return !cluster.Running(1); }, 15s));
  EXPECT_EQ(cluster.process(1).ExitCode(), 0);
  ::close(fd);
}

}  // namespace
}  // namespace ringkv::integration
