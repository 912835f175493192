// Application framing between edge and server (executor transport), counted in the simulator's bytes so the
// two agree byte for byte. Every message is one frame: a fixed header, then the payload.
//   header (16 B): magic u32 "SSF1", version u8, type u8, reserved u16, session u32, payload length u32
// A generated token travels downlink as a frame with a 4-byte token id payload.
#pragma once
#include <cstdint>
#include <string_view>

namespace splitsim {

constexpr uint32_t kFrameMagic = 0x31465353u;  // "SSF1"
constexpr uint8_t kFrameVersion = 1;
constexpr int64_t kFrameHeaderBytes = 16;
constexpr int64_t kTokenPayloadBytes = 4;  // int32 token id
constexpr uint32_t kMaxFramePayload = 256u << 20;  // a hidden block of a long prompt at large d fits easily
// The error frame that closes a silent session (server.session_timeout; the executor server's idle timeout). Its
// text begins with kSessionTimedOut: the edge takes it as the request's failure (an outcome of the link), any other
// error frame as a refusal (bad input, a step that cannot run). The simulator counts it as the header and about
// 100 B of text (the executor's runs 100-110 B).
inline constexpr std::string_view kSessionTimedOut = "session timed out";
constexpr int64_t kSessionClosedBytes = kFrameHeaderBytes + 100;

enum class FrameType : uint8_t {
  hello = 1,      // edge -> server, JSON: model fingerprint, split, context, sampling
  hello_ack = 2,  // server -> edge, JSON: session id
  hidden = 3,     // edge -> server, a wire block (core/formats/wire_block.hpp): T x d hidden state
  token = 4,      // server -> edge, int32 token id
  end = 5,        // edge -> server, no payload: the request is complete
  stats = 6,      // server -> edge, JSON: the server's per-step timings of this session
  error = 7,      // either way, UTF-8 message; the sender closes the session
  kv_move = 8,    // edge -> server, core/formats/kv_move.hpp: the KV of layers handed over by a split schedule
};
constexpr uint8_t kLastFrameType = 8;
const char* frame_type_name(FrameType t);

struct FrameHeader {
  FrameType type = FrameType::error;
  uint32_t session = 0;
  uint32_t length = 0;  // payload bytes
};
namespace frame_offsets {
constexpr int kMagic = 0, kVersion = 4, kType = 5, kReserved = 6, kSession = 8, kLength = 12;
static_assert(kLength + 4 == kFrameHeaderBytes, "the header ends with the payload length");
}  // namespace frame_offsets

void write_frame_header(const FrameHeader& h, uint8_t out[kFrameHeaderBytes]);
// InputError "frame: ..." on a bad magic, version, type or a payload longer than kMaxFramePayload.
FrameHeader parse_frame_header(const uint8_t in[kFrameHeaderBytes]);

}  // namespace splitsim
