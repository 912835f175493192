// The frame header's one writer and reader (frame.hpp).
#include "core/formats/frame.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/formats/bytes.hpp"

namespace splitsim {

const char* frame_type_name(FrameType t) {
  switch (t) {
    case FrameType::hello: return "hello";
    case FrameType::hello_ack: return "hello_ack";
    case FrameType::hidden: return "hidden";
    case FrameType::token: return "token";
    case FrameType::end: return "end";
    case FrameType::stats: return "stats";
    case FrameType::error: return "error";
    case FrameType::kv_move: return "kv_move";
  }
  return "?";
}

void write_frame_header(const FrameHeader& h, uint8_t out[kFrameHeaderBytes]) {
  le::put_u32(out + frame_offsets::kMagic, kFrameMagic);
  out[frame_offsets::kVersion] = kFrameVersion;
  out[frame_offsets::kType] = static_cast<uint8_t>(h.type);
  le::put_u16(out + frame_offsets::kReserved, 0);
  le::put_u32(out + frame_offsets::kSession, h.session);
  le::put_u32(out + frame_offsets::kLength, h.length);
}

FrameHeader parse_frame_header(const uint8_t in[kFrameHeaderBytes]) {
  const uint32_t magic = le::get_u32(in + frame_offsets::kMagic);
  if (magic != kFrameMagic)
    throw InputError(fmt::format("frame: expected magic \"SSF1\" (0x{:08x}), got 0x{:08x}", kFrameMagic, magic));
  if (in[frame_offsets::kVersion] != kFrameVersion)
    throw InputError(fmt::format("frame: expected version {}, got {}", kFrameVersion, in[frame_offsets::kVersion]));
  const uint8_t type = in[frame_offsets::kType];
  if (type < 1 || type > kLastFrameType)
    throw InputError(fmt::format("frame: expected a type in 1..{}, got {}", kLastFrameType, type));
  FrameHeader h;
  h.type = static_cast<FrameType>(type);
  h.session = le::get_u32(in + frame_offsets::kSession);
  h.length = le::get_u32(in + frame_offsets::kLength);
  if (h.length > kMaxFramePayload)
    throw InputError(fmt::format("frame: expected a payload of at most {} B, got {} B", kMaxFramePayload, h.length));
  return h;
}

}  // namespace splitsim
