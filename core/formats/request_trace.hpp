// A request trace: when requests arrived and how long their prompts and outputs were, replayed by the simulator
// (workload.arrival = "trace").
//
// Formats (CSV with a header line, one request per line, sorted by time):
//   azure    TIMESTAMP,ContextTokens,GeneratedTokens  — the Azure LLM inference traces (2023): TIMESTAMP as
//            "YYYY-MM-DD hh:mm:ss[.fraction]" (UTC), context = prompt tokens, generated = output tokens
//   generic  arrival_s,prompt_tokens,output_tokens[,device]  — seconds from any origin, and optionally the index
//            of the device that sent the request
// Arrivals are made relative to the first request of the file. A malformed file (wrong header, a missing or
// non-numeric field, a negative or zero count, time going backwards, no requests) is an InputError naming the
// file and line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace splitsim {

struct TraceRequest {
  double arrival = 0;   // s from the trace's first request
  int64_t prompt = 0;   // tokens
  int64_t output = 0;   // tokens
  int64_t device = -1;  // generic format with a device column; -1: not given
};

struct RequestTrace {
  std::string path;
  std::string format;      // azure | generic
  std::string content_hash;  // FNV-1a of the file's bytes
  std::vector<TraceRequest> requests;
  bool has_devices = false;
};

RequestTrace read_request_trace(const std::string& path, const std::string& format);

// The requests a scenario replays: those arriving in [window_start, window_end) of trace time, their arrivals made
// relative to window_start and multiplied by time_scale; requests whose prompt + output exceed max_seq_len are
// clipped (the prompt to at most max_seq_len - 1 tokens, then the output to what is left) or dropped, and counted.
struct TraceSelection {
  std::vector<TraceRequest> requests;
  int64_t in_window = 0, clipped = 0, dropped = 0;
  double span = 0;  // s from the window's start to its last kept arrival (scaled)
};
TraceSelection select_requests(const RequestTrace& t, double window_start, double window_end, double time_scale,
                               const std::string& too_long, int64_t max_seq_len);

// Seconds since 1970-01-01 of "YYYY-MM-DD hh:mm:ss[.fraction]"; false when the text is not such a time.
bool parse_utc_time(std::string_view text, double& seconds);

}  // namespace splitsim
