// Application framing between edge and server (executor transport), counted in the simulator's bytes so the
// two agree byte for byte. Every message is one frame: a fixed header, then the payload.
//   header (16 B): magic u32 "SSF1", version u8, type u8, reserved u16, session u32, payload length u32
// A generated token travels downlink as a frame with a 4-byte token id payload.
#pragma once
#include <cstdint>

namespace splitsim {

constexpr uint32_t kFrameMagic = 0x31465353u;  // "SSF1"
constexpr uint8_t kFrameVersion = 1;
constexpr int64_t kFrameHeaderBytes = 16;
constexpr int64_t kTokenPayloadBytes = 4;  // int32 token id

}  // namespace splitsim
