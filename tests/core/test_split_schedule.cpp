// Split schedules (core/split_schedule.hpp) and the kv_move payload header (core/formats/kv_move.hpp).
#include <catch2/catch.hpp>

#include <cmath>

#include "core/error.hpp"
#include "core/formats/kv_move.hpp"
#include "core/split_schedule.hpp"

using namespace splitsim;

TEST_CASE("split schedule: bands give the split of each context, and round-trip as text", "[schedule]") {
  const SplitSchedule s = SplitSchedule::parse("0:4,40:2,80:1", 5, "--split-schedule");
  CHECK(s.first() == 4);
  CHECK(s.lowest() == 1);
  CHECK(s.moves());
  CHECK(s.at(0) == 4);
  CHECK(s.at(39) == 4);
  CHECK(s.at(40) == 2);
  CHECK(s.at(79) == 2);
  CHECK(s.at(80) == 1);
  CHECK(s.at(1'000'000) == 1);
  CHECK(s.to_string() == "0:4,40:2,80:1");
  CHECK(SplitSchedule::parse(s.to_string(), 5, "x") == s);
  const SplitSchedule f = SplitSchedule::fixed(3);
  CHECK_FALSE(f.moves());
  CHECK(f.at(12345) == 3);
  CHECK(f.to_string() == "0:3");
}

TEST_CASE("split schedule: a malformed or non-moving schedule is refused with one line naming the input",
          "[schedule]") {
  auto err = [](const std::string& text) {
    try {
      SplitSchedule::parse(text, 5, "--split-schedule");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(err("").find("--split-schedule: expected CONTEXT:SPLIT pairs") == 0);
  CHECK(err("4").find("expected CONTEXT:SPLIT pairs") != std::string::npos);
  CHECK(err("0:4,").find("expected CONTEXT:SPLIT pairs") != std::string::npos);
  CHECK(err("0:4;40:2").find("expected CONTEXT:SPLIT pairs") != std::string::npos);
  CHECK(err("-1:4").find("expected CONTEXT:SPLIT pairs") != std::string::npos);
  CHECK(err("0:x").find("expected CONTEXT:SPLIT pairs") != std::string::npos);
  CHECK(err("10:4") == "--split-schedule: expected the first band to start at context 0, got 10");
  CHECK(err("0:6") == "--split-schedule: band 1: expected a split in 0..5, got 6");
  CHECK(err("0:4,40:4").find("band 2: expected a split below the previous band's 4") != std::string::npos);
  CHECK(err("0:2,40:3").find("band 2: expected a split below") != std::string::npos);
  CHECK(err("0:4,40:2,40:1") == "--split-schedule: band 3: expected a context above the previous band's 40, got 40");
  CHECK(err("0:4,99999999999999999999:2").find("expected CONTEXT:SPLIT pairs") != std::string::npos);
}

TEST_CASE("split schedule: a band with a window keeps its context as the deadline, and round-trips", "[schedule]") {
  const SplitSchedule s = SplitSchedule::parse("0:4,20-40:2,60-80:1", 5, "x");
  CHECK(s.reacts());
  CHECK(s.bands()[1] == SplitBand{40, 2, 20});
  CHECK(s.bands()[1].from() == 20);
  CHECK(s.at(39) == 4);  // every static use reads the deadline
  CHECK(s.at(40) == 2);
  CHECK(s.at(80) == 1);
  CHECK(s.to_string() == "0:4,20-40:2,60-80:1");
  CHECK(SplitSchedule::parse(s.to_string(), 5, "x") == s);
  // A window of nothing is a fixed band.
  const SplitSchedule f = SplitSchedule::parse("0:4,40-40:2", 5, "x");
  CHECK_FALSE(f.reacts());
  CHECK(f == SplitSchedule::parse("0:4,40:2", 5, "x"));
  CHECK_FALSE(SplitSchedule::parse("0:4,40:2", 5, "x").reacts());

  auto err = [](const std::string& text) {
    try {
      SplitSchedule::parse(text, 5, "s");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(err("0:4,50-40:2") == "s: band 2: expected its earliest context 50 below its context 40 (and no window on the "
                              "first band)");
  CHECK(err("0:4,10-40:2,5-80:1") == "s: band 3: expected an earliest context above the previous band's 10, got 5");
  CHECK(err("0:4,0-40:2") == "s: band 2: expected an earliest context above the previous band's 0, got 0");
  CHECK(err("0:4,x-40:2").find("s: expected CONTEXT:SPLIT pairs") == 0);
  CHECK(err("0:4,-40:2").find("s: expected CONTEXT:SPLIT pairs") == 0);
}

TEST_CASE("split tracker: deadlines always move, windows move early only on a link observed good enough",
          "[schedule]") {
  const SplitSchedule s = SplitSchedule::parse("0:4,20-40:2,60-80:1", 5, "x");
  SplitTracker t(&s, SplitReaction{1000.0, 2});
  t.start_request(9);  // a 10-token prompt
  CHECK(t.split() == 4);
  CHECK_FALSE(t.observed_rate());
  CHECK(t.advance(25) == 0);  // in the window, nothing observed yet: waits
  t.observe(500, 1.0);
  CHECK_FALSE(t.observed_rate());  // one of two uploads
  t.observe(1500, 1.0);
  CHECK(*t.observed_rate() == Approx(1000.0));  // (500 + 1500) / 2 s
  CHECK(t.advance(26) == 2);  // good enough: moves from 4 to 2
  CHECK(t.split() == 2);
  t.observe(100, 1.0);
  CHECK(*t.observed_rate() == Approx(800.0));  // the last two: (1500 + 100) / 2 s
  CHECK(t.advance(70) == 0);   // poor link: band 3 waits in its window
  CHECK(t.advance(80) == 1);   // its deadline
  CHECK(t.split() == 1);

  // A new request starts over from the band its prompt's deadline gives; the observations are the link's and stay.
  t.start_request(45);
  CHECK(t.split() == 2);
  t.start_request(3);
  CHECK(t.split() == 4);
  CHECK(t.advance(19) == 0);   // before the window: never early
  t.observe(1e6, 0.0), t.observe(1e6, 0.0);  // an unshaped link: infinitely fast
  CHECK(std::isinf(*t.observed_rate()));
  CHECK(t.advance(20) == 2);
  CHECK(t.advance(60) == 1);   // the next window opens on the same good link
  // Several deadlines at once: a long step past both.
  t.start_request(0);
  t.observe(1, 1.0), t.observe(1, 1.0);
  CHECK(t.advance(100) == 3);

  // Without a window a schedule moves exactly at its contexts, as at() says.
  const SplitSchedule fixed = SplitSchedule::parse("0:4,40:2,80:1", 5, "x");
  SplitTracker u(&fixed, SplitReaction{1e12, 1});
  u.start_request(0);
  for (int64_t p = 1; p < 120; ++p) {
    u.observe(1e9, 1e-9);
    const int64_t before = u.split();
    CHECK(u.advance(p) == before - fixed.at(p));
    CHECK(u.split() == fixed.at(p));
  }
}

TEST_CASE("formats: the kv_move header byte for byte, its rows' order, and a bad one refused", "[formats]") {
  const KvMoveHeader h{2, 3, 0x0102};
  uint8_t b[kKvMoveHeaderBytes] = {};
  write_kv_move_header(h, b);
  const std::vector<uint8_t> want = {'S', 'S', 'K', '1', 1, 0, 2, 0, 3, 0, 0, 0, 0x02, 0x01, 0, 0};
  CHECK(std::vector<uint8_t>(b, b + kKvMoveHeaderBytes) == want);
  const KvMoveHeader r = read_kv_move_header({b, sizeof(b)});
  CHECK(r.layer_begin == 2);
  CHECK(r.layer_end == 3);
  CHECK(r.positions == 0x0102);
  CHECK(r.rows() == 2 * 0x0102);
  // layer, then keys before values, then position
  const KvMoveHeader two{1, 3, 10};
  CHECK(kv_move_row(two, 1, false, 0) == 0);
  CHECK(kv_move_row(two, 1, true, 0) == 10);
  CHECK(kv_move_row(two, 2, false, 9) == 29);
  CHECK(kv_move_row(two, 2, true, 9) == 39);
  CHECK(two.rows() == 40);

  CHECK_THROWS_WITH(read_kv_move_header({b, 15}), "kv move: expected a 16-byte header, got 15 B");
  b[8] = 2;  // layer_end == layer_begin
  CHECK_THROWS_WITH(read_kv_move_header({b, sizeof(b)}),
                    "kv move: expected layers [begin, end) with begin < end, got [2, 2)");
  b[8] = 3;
  b[4] = 2;
  CHECK_THROWS_WITH(read_kv_move_header({b, sizeof(b)}), "kv move: expected version 1, got 2");
  b[4] = 1;
  b[0] = 'X';
  CHECK_THROWS_WITH(read_kv_move_header({b, sizeof(b)}), Catch::Contains("kv move: expected magic \"SSK1\""));
}
