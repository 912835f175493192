// The byte formats of core/formats/: each write/read pair against bytes written out by hand from the layout
// comments, so the one definition every module uses is itself pinned.
#include <catch2/catch.hpp>

#include <vector>

#include "core/error.hpp"
#include "core/formats/frame.hpp"
#include "core/formats/wire_block.hpp"

using namespace splitsim;

TEST_CASE("formats: the wire block header, token headers and outlier entries byte for byte", "[formats]") {
  WireBlockHeader h;
  h.codec = static_cast<uint8_t>(WireCodec::ts_tabq);
  h.T = 0x01020304u;
  h.d = 4096;
  uint8_t b[kWireHeaderBytes] = {};
  write_block_header(b, h);
  const std::vector<uint8_t> want = {'S', 'S', 'W', '1', 1, 3, 0, 0, 0x04, 0x03, 0x02, 0x01, 0x00, 0x10, 0, 0};
  CHECK(std::vector<uint8_t>(b, b + kWireHeaderBytes) == want);
  const WireBlockHeader r = read_block_header(b);
  CHECK(r.magic == kWireMagic);
  CHECK(r.version == kWireVersion);
  CHECK(r.codec == 3);
  CHECK(r.flags == 0);
  CHECK(r.T == h.T);
  CHECK(r.d == 4096);

  uint8_t t[kTabqTokenHeaderBytes] = {};
  write_token_header(t, TokenHeader{6, 0xBC00, 0x2E66, 3}, true);
  CHECK(std::vector<uint8_t>(t, t + 7) == std::vector<uint8_t>{6, 0x00, 0xBC, 0x66, 0x2E, 3, 0});
  const TokenHeader th = read_token_header(t, true);
  CHECK(th.bits == 6);
  CHECK(th.min_h == 0xBC00);
  CHECK(th.delta_h == 0x2E66);
  CHECK(th.n_out == 3);
  CHECK(read_token_header(t, false).n_out == 0);  // the uniform codec's 5-byte header has no count
  CHECK(token_header_bytes(WireCodec::uniform) == 5);
  CHECK(token_header_bytes(WireCodec::ts_tabq) == 7);

  uint8_t o[kOutlierBytes] = {};
  write_outlier(o, OutlierEntry{0x0123, 0x7BFF});
  CHECK(std::vector<uint8_t>(o, o + 4) == std::vector<uint8_t>{0x23, 0x01, 0xFF, 0x7B});
  CHECK(outlier_word(OutlierEntry{0x0123, 0x7BFF}) == 0x7BFF0123u);
  CHECK(read_outlier(o).column == 0x0123);
  CHECK(read_outlier(o).value_h == 0x7BFF);
}

TEST_CASE("formats: the frame header byte for byte, and a bad one refused with one line", "[formats]") {
  uint8_t b[kFrameHeaderBytes] = {};
  write_frame_header(FrameHeader{FrameType::hidden, 7, 0x00ABCDEFu}, b);
  const std::vector<uint8_t> want = {'S', 'S', 'F', '1', 1, 3, 0, 0, 7, 0, 0, 0, 0xEF, 0xCD, 0xAB, 0};
  CHECK(std::vector<uint8_t>(b, b + kFrameHeaderBytes) == want);
  const FrameHeader h = parse_frame_header(b);
  CHECK(h.type == FrameType::hidden);
  CHECK(h.session == 7);
  CHECK(h.length == 0x00ABCDEFu);
  CHECK(std::string(frame_type_name(h.type)) == "hidden");
  b[5] = 9;
  CHECK_THROWS_WITH(parse_frame_header(b), Catch::Contains("frame: expected a type in 1..8, got 9"));
  b[5] = 3;
  b[0] = 'X';
  CHECK_THROWS_AS(parse_frame_header(b), InputError);
  b[0] = 'S';
  b[15] = 0xFF;  // 4 GiB - ...: beyond the payload limit
  CHECK_THROWS_WITH(parse_frame_header(b), Catch::Contains("payload of at most"));
}
