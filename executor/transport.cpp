// Transport: POSIX TCP sockets carrying frames, and the link shaper. Shaping is done by the edge for both
// directions of its own link (sender-side for the uplink, receiver-side for the downlink): each edge client
// has its own link, and the server needs no knowledge of it. On loopback the real transfer takes
// microseconds, so the shaped times are what a frame experiences.
#include "executor/transport.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "core/error.hpp"

namespace splitsim {
void sleep_coarse_until_s(double t);
}

namespace splitsim {

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Sleeps to 200 us before t, then spins: wake-up latency of a sleeping thread is tens to hundreds of
// microseconds on a busy host, which would add to every shaped delay.
void sleep_until_s(double t) {
  constexpr double kSpin = 200e-6;
  if (t - now_s() > kSpin) sleep_coarse_until_s(t - kSpin);
  while (now_s() < t) {
  }
}

void sleep_coarse_until_s(double t) {
  const double left = t - now_s();
  if (left <= 0) return;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t);
  ts.tv_nsec = static_cast<long>((t - static_cast<double>(ts.tv_sec)) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// ---------------------------------------------------------------------------------------------- sockets

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::write_all(const uint8_t* data, size_t n) {
  while (n > 0) {
    ssize_t k = ::send(fd_, data, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        throw std::runtime_error("socket write: timed out (the peer does not read)");
      throw std::runtime_error(fmt::format("socket write: {}", std::strerror(errno)));
    }
    data += k;
    n -= static_cast<size_t>(k);
  }
}

bool Socket::read_exact(uint8_t* data, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = ::recv(fd_, data + got, n - got, 0);
    if (k == 0) {
      if (got == 0) return false;
      throw std::runtime_error(fmt::format("socket read: stream ended inside a frame ({} of {} B)", got, n));
    }
    if (k < 0) {
      if (errno == EINTR) continue;
      // A peer that closes with our data unread resets the connection; between frames that is the same as an
      // orderly end of stream (the session's owner reports it as a lost client either way).
      if (errno == ECONNRESET && got == 0) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        throw SocketTimeout(got == 0 ? "socket read: timed out (the peer sent nothing)"
                                     : "socket read: timed out inside a frame (the peer stopped sending)",
                            got);
      throw std::runtime_error(fmt::format("socket read: {}", std::strerror(errno)));
    }
    got += static_cast<size_t>(k);
  }
  return true;
}

void Socket::set_timeouts(double recv_s, double send_s) {
  auto tv = [](double s) {
    timeval t{};
    if (s > 0) {
      t.tv_sec = static_cast<time_t>(s);
      t.tv_usec = static_cast<suseconds_t>((s - static_cast<double>(t.tv_sec)) * 1e6);
      if (t.tv_sec == 0 && t.tv_usec == 0) t.tv_usec = 1;  // 0 would mean no timeout
    }
    return t;
  };
  const timeval r = tv(recv_s), w = tv(send_s);
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof(w));
}

void Socket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {
void tune(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // one small frame per token: no Nagle delay
}
}  // namespace

Socket connect_tcp(const std::string& host, int port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    throw InputError(fmt::format("--connect: cannot resolve host \"{}\"", host));
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) throw InputError(fmt::format("--connect: no server listening at {}:{}", host, port));
  tune(fd);
  return Socket(fd);
}

Listener::Listener(const std::string& host, int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw InputError(fmt::format("--host: expected an IPv4 address like 127.0.0.1, got \"{}\"", host));
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd_, 64) != 0)
    throw InputError(fmt::format("--port: cannot listen on {}:{} ({})", host, port, std::strerror(errno)));
  socklen_t len = sizeof(addr);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

Listener::~Listener() { close(); }

void Listener::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Socket Listener::accept(double timeout_s) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout_s * 1000)) <= 0) return Socket();
  int fd = ::accept(fd_, nullptr, nullptr);
  if (fd < 0) {
    // Out of descriptors or memory: the connection stays pending and poll() would report it at once again;
    // pause instead of spinning until something is released.
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) sleep_coarse_until_s(now_s() + 0.01);
    return Socket();
  }
  tune(fd);
  return Socket(fd);
}

// ---------------------------------------------------------------------------------------------- frames

void read_payload(Socket& s, size_t length, std::vector<uint8_t>& out, const std::function<void(size_t)>& grow) {
  out.clear();
  size_t got = 0;
  while (got < length) {
    const size_t more = std::min(length - got, std::max(kPayloadChunk, got));
    if (grow) grow(more);
    out.resize(got + more);
    if (!s.read_exact(out.data() + got, more))
      throw std::runtime_error("socket read: stream ended after a frame header");
    got += more;
  }
}

bool read_frame(Socket& s, Frame& f) {
  uint8_t h[kFrameHeaderBytes];
  if (!s.read_exact(h, sizeof(h))) return false;
  FrameHeader hdr = parse_frame_header(h);
  f.type = hdr.type;
  f.session = hdr.session;
  read_payload(s, hdr.length, f.payload);
  return true;
}

namespace {
std::vector<uint8_t> frame_bytes(const Frame& f) {
  std::vector<uint8_t> b(static_cast<size_t>(f.wire_bytes()));
  write_frame_header({f.type, f.session, static_cast<uint32_t>(f.payload.size())}, b.data());
  std::copy(f.payload.begin(), f.payload.end(), b.begin() + kFrameHeaderBytes);
  return b;
}
}  // namespace

void write_frame(Socket& s, const Frame& f) {
  auto b = frame_bytes(f);
  s.write_all(b.data(), b.size());
}

// ---------------------------------------------------------------------------------------------- shaping

double LinkShape::serialization(bool up, double start, double bytes) const {
  const double rate = up ? uplink_rate : downlink_rate;
  if (rate <= 0) return 0;
  if (!trace) return bytes / rate;
  return trace->transfer_time(up, std::max(0.0, start + delay - origin + phase), bytes, rate,
                              std::numeric_limits<double>::infinity());
}

ShapedSender::ShapedSender(Socket& s, double rate, double delay)
    : socket_(s), rate_(rate), delay_(delay), thread_([this] { run(); }) {
  link_.uplink_rate = rate, link_.delay = delay;
}

ShapedSender::ShapedSender(Socket& s, const LinkShape& link)
    : socket_(s), rate_(link.uplink_rate), delay_(link.delay), link_(link), thread_([this] { run(); }) {}

ShapedSender::~ShapedSender() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

double ShapedSender::send(const Frame& f) {
  auto bytes = frame_bytes(f);
  const double now = now_s();
  std::lock_guard lk(mu_);
  if (!error_.empty()) throw std::runtime_error(error_);
  const double start = std::max(now, free_at_);
  const double carry = link_.serialization(true, start, static_cast<double>(bytes.size()));
  free_at_ = start + carry;
  serialized_ += carry;
  const double due = free_at_ + delay_;
  queue_.push_back({due, std::move(bytes)});
  ++queued_;
  cv_.notify_all();
  return due;
}

double ShapedSender::serialized() const {
  std::lock_guard lk(mu_);
  return serialized_;
}

double ShapedSender::wait_delivered() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return written_ == queued_ || !error_.empty(); });
  if (!error_.empty()) throw std::runtime_error(error_);
  return last_written_at_;
}

void ShapedSender::run() {
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop requested and nothing left to deliver
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    sleep_until_s(p.due);
    std::string err;
    try {
      socket_.write_all(p.bytes.data(), p.bytes.size());
    } catch (const std::exception& e) {
      err = e.what();
    }
    const double t = now_s();
    lk.lock();
    if (!err.empty()) error_ = err;
    ++written_;
    last_written_at_ = t;
    cv_.notify_all();
  }
}

ShapedReceiver::ShapedReceiver(Socket& s, double rate, double delay)
    : socket_(s), rate_(rate), delay_(delay), thread_([this] { run(); }) {
  link_.downlink_rate = rate, link_.delay = delay;
}

ShapedReceiver::ShapedReceiver(Socket& s, const LinkShape& link)
    : socket_(s), rate_(link.downlink_rate), delay_(link.delay), link_(link), thread_([this] { run(); }) {}

ShapedReceiver::~ShapedReceiver() {
  socket_.shutdown();
  thread_.join();
}

void ShapedReceiver::run() {
  try {
    while (true) {
      Frame f;
      if (!read_frame(socket_, f)) break;
      const double a = now_s();
      const double start = std::max(a, free_at_);
      free_at_ = start + link_.serialization(false, start, static_cast<double>(f.wire_bytes()));
      std::lock_guard lk(mu_);
      queue_.push_back({std::move(f), a, free_at_ + delay_});
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard lk(mu_);
    error_ = std::current_exception();
  }
  std::lock_guard lk(mu_);
  ended_ = true;
  cv_.notify_all();
}

bool ShapedReceiver::receive(Frame& f, double* arrived, double* delivered) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return !queue_.empty() || ended_; });
  if (queue_.empty()) {
    if (error_) std::rethrow_exception(error_);
    return false;
  }
  Arrival a = std::move(queue_.front());
  queue_.pop_front();
  lk.unlock();
  sleep_until_s(a.due);
  f = std::move(a.frame);
  if (arrived) *arrived = a.arrived;
  if (delivered) *delivered = now_s();
  return true;
}

}  // namespace splitsim
