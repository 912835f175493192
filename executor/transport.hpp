// Framed TCP between edge and server, and link shaping so that Wi-Fi/LTE-like links can be reproduced on
// loopback. Every message is one frame: the 16-byte header of core/formats/frame.hpp, then the payload.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/formats/frame.hpp"
#include "core/formats/link_trace.hpp"

namespace splitsim {

struct Frame {
  FrameType type = FrameType::error;
  uint32_t session = 0;
  std::vector<uint8_t> payload;
  int64_t wire_bytes() const { return kFrameHeaderBytes + static_cast<int64_t>(payload.size()); }
};

// Monotonic seconds, comparable between processes on one host (CLOCK_MONOTONIC).
double now_s();
void sleep_until_s(double t);

// A read that waited longer than the socket's receive timeout; `bytes_read` of the requested ones had come.
struct SocketTimeout : std::runtime_error {
  SocketTimeout(const char* what, size_t bytes_read) : std::runtime_error(what), bytes_read(bytes_read) {}
  size_t bytes_read;
};

// A connected TCP socket. Reads and writes whole buffers; errors are std::runtime_error, end of stream
// returns false from read_exact.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  ~Socket();
  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void write_all(const uint8_t* data, size_t n);
  bool read_exact(uint8_t* data, size_t n);  // false on a clean end of stream before the first byte
  // A read or write that waits longer than this fails with "timed out" (0: wait for ever). The server sets
  // them so that a client that stops sending, or stops reading, cannot hold a thread for ever.
  void set_timeouts(double recv_s, double send_s);
  void shutdown();                           // unblocks a reader in another thread
  void close();

 private:
  int fd_ = -1;
};

Socket connect_tcp(const std::string& host, int port);  // InputError when nobody listens there

class Listener {
 public:
  Listener(const std::string& host, int port);  // port 0: an ephemeral port
  ~Listener();
  int port() const { return port_; }
  // Waits up to timeout_s for a connection; an invalid Socket when none came.
  Socket accept(double timeout_s);
  void close();

 private:
  int fd_ = -1, port_ = 0;
};

// Reads one frame; false on end of stream at a frame boundary. Throws InputError on a malformed header,
// std::runtime_error on an I/O error or a stream cut inside a frame. The payload buffer grows as its bytes
// arrive (read_payload), so a header that declares a large payload reserves nothing by itself.
bool read_frame(Socket& s, Frame& f);
// Reads `length` payload bytes into `out`, growing it as they arrive: first kPayloadChunk bytes, then as
// much again as has come, so memory held is at most about twice what the peer really sent. `grow(n)` is
// called before each growth by n bytes and may throw to refuse it (the server's in-flight budget).
constexpr size_t kPayloadChunk = 64 << 10;
void read_payload(Socket& s, size_t length, std::vector<uint8_t>& out, const std::function<void(size_t)>& grow = {});
void write_frame(Socket& s, const Frame& f);

// A link: rate (B/s, 0 = unlimited) and one-way propagation delay (s) per direction. With a trace
// (core/formats/link_trace.hpp) the rates are peaks and a frame is carried along the trace's fractions, as the
// simulator carries a transfer (CostModel::transfer): its bytes start after the delay, at trace time
// (start + delay - origin + phase); origin is the monotonic time of the run's start (now_s()).
struct LinkShape {
  double uplink_rate = 0, downlink_rate = 0;
  double delay = 0;  // one way
  std::shared_ptr<const LinkTrace> trace;
  double phase = 0, origin = 0;
  bool shaped() const { return uplink_rate > 0 || downlink_rate > 0 || delay > 0; }
  // Seconds a frame of `bytes` leaving at `start` spends on the wire before its delay ends: bytes / rate, or
  // along the trace.
  double serialization(bool up, double start, double bytes) const;
};

// The sending side of a shaped link. A frame is serialized at `rate` behind the frames before it (a FIFO
// transmit queue: departure = max(now, previous departure) + bytes/rate), then propagates for `delay`; a
// delivery thread writes it to the socket at that moment, so the sender is never blocked by propagation and
// back-to-back frames see the full rate.
class ShapedSender {
 public:
  ShapedSender(Socket& s, double rate, double delay);
  // The uplink of `link` (its rate, delay and trace).
  ShapedSender(Socket& s, const LinkShape& link);
  ~ShapedSender();
  // Queues the frame; returns the time it is due at the receiver.
  double send(const Frame& f);
  // Time the most recently sent frame was actually written out (after its scheduled delivery); waits for it.
  double wait_delivered();
  // Seconds the link has spent carrying the frames sent so far (their serialization; no queueing, no delay): what
  // a device observes of its uplink's rate (SplitTracker::observe).
  double serialized() const;

 private:
  void run();
  struct Pending {
    double due;
    std::vector<uint8_t> bytes;
  };
  Socket& socket_;
  double rate_, delay_;
  LinkShape link_;      // for its trace (rate_ and delay_ are the direction's)
  double free_at_ = 0;  // the transmit queue is busy until then
  double serialized_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  uint64_t queued_ = 0, written_ = 0;
  double last_written_at_ = 0;
  bool stop_ = false;
  std::string error_;
  std::thread thread_;
};

// The receiving side of a shaped link: a reader thread takes frames off the socket as they arrive over
// loopback (time a) and hands each over at max(a, previous hand-over - delay) + bytes/rate + delay, as if it
// had crossed the link; frames queue behind each other at the link rate, never behind each other's delay.
class ShapedReceiver {
 public:
  ShapedReceiver(Socket& s, double rate, double delay);
  // The downlink of `link` (its rate, delay and trace).
  ShapedReceiver(Socket& s, const LinkShape& link);
  ~ShapedReceiver();  // shuts the socket down to stop the reader
  // false on end of stream. arrived / delivered: monotonic times of the loopback arrival and the hand-over.
  // Rethrows what the reader met (InputError for a malformed frame, runtime_error for I/O).
  bool receive(Frame& f, double* arrived = nullptr, double* delivered = nullptr);

 private:
  void run();
  struct Arrival {
    Frame frame;
    double arrived, due;
  };
  Socket& socket_;
  double rate_, delay_;
  LinkShape link_;
  double free_at_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Arrival> queue_;
  bool ended_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace splitsim
