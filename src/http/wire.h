// Internal to http/: how the server puts responses on the wire, lingers and logs.
// Each function runs on the connection's own thread; none keeps state between calls.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

#include "http/deadline.h"
#include "http/message.h"
#include "http/server.h"

namespace lingxi::http::wire {

// Writes `res` (whole, or chunked from its BodyStream; headers only for HEAD) with the
// Server, Date and X-Request-Id headers; each write must finish within `write_timeout`.
// A whole response leaves in one write. Returns (success, bytes written). A failed chunk
// write destroys the stream.
boost::asio::awaitable<std::pair<bool, uint64_t>> WriteResponse(boost::asio::ip::tcp::socket& socket, Deadline& deadline,
                                                                const Request& req, Response& res, bool keep_alive,
                                                                bool head, std::chrono::milliseconds write_timeout);

// Closing a socket with unread input makes the kernel send a reset, which can destroy the
// error response before the client reads it. So after refusing a body, read and drop what
// still arrives for a short while (nginx's "lingering close").
boost::asio::awaitable<void> Linger(boost::asio::ip::tcp::socket& socket, Deadline& deadline);

// The access-log line of one request.
void LogAccess(const Request& req, const RequestRecord& rec);

}  // namespace lingxi::http::wire
