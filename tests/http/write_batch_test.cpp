// Writes batched per event-loop turn: what a peer sees and what each writer is told.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <memory>
#include <string>
#include <vector>

#include "http/write_batch.h"

namespace lingxi::testing {
namespace {

using namespace lingxi::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A connected loopback pair: `local` is written through the batch, `peer` reads.
struct Pair {
  tcp::socket local;
  tcp::socket peer;
};

std::unique_ptr<Pair> Connect(net::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  auto p = std::make_unique<Pair>(Pair{tcp::socket(io), tcp::socket(io)});
  p->local.connect(acceptor.local_endpoint());
  acceptor.accept(p->peer);
  p->local.non_blocking(true);
  return p;
}

std::string ReadAvailable(tcp::socket& s) {
  std::string out(s.available(), '\0');
  if (!out.empty()) net::read(s, net::buffer(out));
  return out;
}

net::awaitable<void> Write(tcp::socket& socket, std::string message, size_t& written) {
  written = co_await BatchedWrite(socket, {net::buffer(message), net::const_buffer()});
}

TEST(WriteBatchTest, WritesOfOneTurnGoOutTogetherAfterTheHandlersQueuedWithThem) {
  net::io_context io(1);
  std::vector<std::unique_ptr<Pair>> pairs;
  for (int i = 0; i < 3; ++i) pairs.push_back(Connect(io));
  std::vector<size_t> written(3, 0);
  for (int i = 0; i < 3; ++i)
    net::co_spawn(io, Write(pairs[i]->local, "message " + std::to_string(i), written[i]), net::detached);
  std::vector<size_t> seen_before;
  net::post(io, [&] {  // queued after the writers: runs before their batch is flushed
    for (auto& p : pairs) seen_before.push_back(p->peer.available());
  });
  io.run();
  EXPECT_EQ(seen_before, std::vector<size_t>(3, 0));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(written[i], 9u);
    EXPECT_EQ(ReadAvailable(pairs[i]->peer), "message " + std::to_string(i));
  }
}

TEST(WriteBatchTest, BothBuffersGoOutInOrder) {
  net::io_context io(1);
  auto p = Connect(io);
  std::string head = "HTTP/1.1 200 OK\r\n\r\n", body = "{}";
  size_t written = 0;
  net::co_spawn(io, [&]() -> net::awaitable<void> {
    written = co_await BatchedWrite(p->local, {net::buffer(head), net::buffer(body)});
  }, net::detached);
  io.run();
  EXPECT_EQ(written, head.size() + body.size());
  EXPECT_EQ(ReadAvailable(p->peer), head + body);
}

TEST(WriteBatchTest, AFullSocketTakesPartOfAMessageAndTheWriterIsToldHowMuch) {
  net::io_context io(1);
  auto p = Connect(io);
  p->local.set_option(net::socket_base::send_buffer_size(16384));
  std::string big(8 << 20, 'x');  // far more than the socket and the peer's window hold
  size_t written = 0;
  net::co_spawn(io, Write(p->local, big, written), net::detached);
  io.run();
  EXPECT_GT(written, 0u);
  EXPECT_LT(written, big.size());
}

TEST(WriteBatchTest, AWriteToAResetConnectionFails) {
  net::io_context io(1);
  auto p = Connect(io);
  p->peer.set_option(net::socket_base::linger(true, 0));  // close with a reset
  p->peer.close();
  // The first send may still be taken before the reset is processed; a later one must fail.
  std::vector<size_t> written(4, 0);
  for (size_t i = 0; i < written.size(); ++i) {
    net::co_spawn(io, Write(p->local, "after the reset", written[i]), net::detached);
    io.run();
    io.restart();
  }
  EXPECT_EQ(written.back(), kWriteFailed);
}

TEST(WriteBatchTest, AnEventLoopDestroyedBeforeTheFlushReleasesTheWritersAndTheThreadBatchesAgain) {
  {
    net::io_context io(1);
    auto p = Connect(io);
    size_t written = 0;
    net::co_spawn(io, Write(p->local, "never sent", written), net::detached);
    io.run_one();  // the writer queues its write; the flush stays queued
    EXPECT_EQ(written, 0u);
  }  // the flush and the waiting writer are destroyed with the loop (ASan: no leak, no use after free)
  net::io_context io(1);
  auto p = Connect(io);
  size_t written = 0;
  net::co_spawn(io, Write(p->local, "sent", written), net::detached);
  io.run();
  EXPECT_EQ(written, 4u);
  EXPECT_EQ(ReadAvailable(p->peer), "sent");
}

}  // namespace
}  // namespace lingxi::testing
