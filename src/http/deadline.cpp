#include "http/deadline.h"

namespace lingxi::http {

namespace net = boost::asio;

struct Deadline::State {
  explicit State(net::ip::tcp::socket& s) : socket(&s), timer(s.get_executor()) {}
  net::ip::tcp::socket* socket;  // valid while alive
  net::steady_timer timer;
  Clock::time_point at = Clock::time_point::max();        // the deadline
  Clock::time_point armed_for = Clock::time_point::max();  // where the timer waits; max: not waiting
  bool expired = false;
  bool alive = true;

  static void Arm(const std::shared_ptr<State>& s) {
    s->armed_for = s->at;
    s->timer.expires_at(s->at);  // cancels a wait for a later time
    s->timer.async_wait([s](boost::system::error_code ec) {
      if (ec || !s->alive) return;  // re-armed, or the owner is gone
      if (s->at == Clock::time_point::max()) {
        s->armed_for = Clock::time_point::max();
      } else if (Clock::now() >= s->at) {
        s->armed_for = Clock::time_point::max();
        s->expired = true;
        boost::system::error_code ignored;
        s->socket->cancel(ignored);
      } else {
        Arm(s);  // the deadline moved on since the timer was armed
      }
    });
  }
};

Deadline::Deadline(net::ip::tcp::socket& socket) : state_(std::make_shared<State>(socket)) {}

Deadline::~Deadline() {
  state_->alive = false;
  state_->timer.cancel();
}

void Deadline::ExpiresAt(Clock::time_point at) {
  state_->expired = false;
  state_->at = at;
  if (at < state_->armed_for) State::Arm(state_);
}

void Deadline::Never() {
  state_->expired = false;
  state_->at = Clock::time_point::max();
}

bool Deadline::expired() const { return state_->expired; }

}  // namespace lingxi::http
