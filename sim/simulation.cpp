// The fleet simulation: the devices (workload sources and split pipelines), one server actor (continuous
// batching) and the network planned in topology.cpp.
//
// A device's request: prefill on the edge, encode, uplink of the prompt block; the server prefills and produces
// the first token; then per generated token: downlink, edge layers, encode, uplink, one server decode step
// (split strategies). Cloud-only sends the prompt's token ids once and the server keeps the sequence in its
// batch, streaming one token per iteration; edge-only never touches the network or the server. Every duration
// is a CostModel call and every byte count a CostModel::uplink_bytes / downlink_bytes call.
//
// Full mode (the reference): one actor per device runs its transfers as SimGrid comms over its own route and
// computes with SimGrid execs on its own host.
// Fast mode: no actor per device. One driver actor starts every request at its time. Devices whose transfers
// are closed form (see topology.hpp) are carried by the server: it computes the device's next arrival (token
// downlink + edge step + encode + uplink, all private and uncontended) and queues it with that future ready
// time. Transfers of devices behind a shared cell or a simulated backbone are flows of a StarNetwork (exact
// max-min sharing on the star, star_network.hpp) that the driver advances; a flow's completion starts the
// device's next stage (a server item, or the edge step and the next uplink flow). Tests check that both
// modes give the same records.
#include "sim/simulation.hpp"

#include <simgrid/s4u.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <memory>

#include "core/error.hpp"
#include "core/formats/frame.hpp"
#include "core/output.hpp"
#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/energy.hpp"
#include "sim/device.hpp"
#include "sim/isolated.hpp"
#include "sim/platform.hpp"
#include "sim/router.hpp"
#include "sim/server.hpp"
#include "sim/star_network.hpp"
#include "sim/topology.hpp"
#include "sim/workload.hpp"

namespace splitsim {

namespace s4u = simgrid::s4u;

// Every server group of the pool is checked: a request routed to a server that can hold none would never end.
std::string config_oom_reason(const System& sys) {
  if (!sys.plan.server_has_head) return "";
  for (size_t g = 0; g < sys.server_groups.size(); ++g) {
    const System gs = sys.for_server_group(g);
    const CostModel cost(gs);
    MemoryBreakdown m = cost.server_memory();
    if (m.weights + m.runtime > m.capacity)
      return fmt::format("server {}: weights {} + runtime {} exceed its memory {}", gs.server.name,
                         format_bytes(m.weights), format_bytes(m.runtime), format_bytes(m.capacity));
    const auto& w = gs.scenario.workload;
    const double need = cost.kv_reservation(w.prompt_tokens.upper_bound(), w.output_tokens.upper_bound());
    if (need > cost.server_kv_capacity())
      return fmt::format("server {}: KV memory {} holds no request of {} tokens ({})", gs.server.name,
                         format_bytes(cost.server_kv_capacity()),
                         w.prompt_tokens.upper_bound() + w.output_tokens.upper_bound(), format_bytes(need));
  }
  return "";
}

namespace {

struct DeviceState {
  size_t group = 0;
  int32_t host = -1;  // topology host carrying its transfers, -1 = closed form
  int64_t rec = -1;   // the request in progress
  RequestInFlight req;
  int64_t produced = 0;  // tokens of the request the server has generated
  size_t server = 0;     // the pool's server the request was routed to
  double kv_need = 0;
  double done_at = 0;
  double phase = 0;         // closed-form device on a traced link: its phase in the trace (trace_phase)
  RadioState radio;         // the device's radio between transfers
  int64_t radio_rec = -1;   // the record of its last transfer (the tail after it is that request's)
  // StarNetwork path: tokens received, the size of the uplink in flight.
  int64_t received = 0;
  double up_bytes = 0;
  size_t next_request = 0;  // fast mode: the request to start next
  double arrival = 0;       // of the current request
  double silent_from = 0;   // when the server last sent the session a token (or the request started)
  // StarNetwork path with server.session_timeout on a link that goes down: blocks the server received for the
  // request (a timeout check compares it), the flows' generation (bumped when a session closes: the closed
  // request's flows still in the network are then ignored), and the closed session's error frame.
  int64_t blocks_in = 0;
  int32_t flow_gen = 0;
  bool up_pending = false;   // the request's next block is in the uplink (or about to start)
  int16_t up_moved = 0;      // that block's step: layers it hands over, and its split (ServerItem)
  int32_t up_split = -1;
  double up_start = 0;       // when that block started
  bool closed = false;       // the server closed the session at closed_at; the device learns of it after
  double closed_at = 0;
};

// Full mode's device actor: what the server wakes it with.
struct DeviceActor {
  s4u::SemaphorePtr wake;           // released by the server: a token is ready / the request is done
  std::deque<s4u::CommPtr> stream;  // cloud-only tokens on their way
  std::deque<double> issued;        // when each left its server (before the router's hop)
};

class Fleet {
 public:
  Fleet(const System& sys, const SimOptions& opt)
      : sys_(sys), opt_(opt), cost_(sys), topo_(plan_topology(sys, cost_, opt.full)) {
    session_timeout_ = sys.scenario.server.session_timeout;
    group_sys_.reserve(sys.server_groups.size());
    for (size_t g = 0; g < sys.server_groups.size(); ++g) group_sys_.push_back(sys.for_server_group(g));
    group_cost_.reserve(group_sys_.size());
    for (const System& gs : group_sys_) group_cost_.emplace_back(gs);
    for (size_t g = 0; g < sys.server_groups.size(); ++g)
      for (int64_t c = 0; c < sys.server_groups[g].config.count; ++c) server_group_.push_back(g);
    if (server_group_.empty()) server_group_.push_back(0);
  }

  SimResult run();

 private:
  void check_memory();
  void launch(int64_t n);
  SimResult result(double cpu0);
  bool stream() const { return sys_.plan.wire == WireFormat::token_ids; }
  void device_actor(int64_t d);
  // now: the start time (fast mode, from the driver); full mode runs in the device's actor at its clock.
  void run_request(DeviceState& ds, RequestRecord& rec, const RequestSpec& s, double now);
  void edge_only(DeviceState& ds, RequestRecord& rec, double now);
  void compute(double seconds);
  // Every transfer a mode times passes here: the radio's energy for it and for the gap before it.
  void radio(DeviceState& ds, double start, double end, double bytes, bool up);
  // The router's hop to a server of the pool (its group's link): the whole message received, then forwarded in
  // latency + bytes / rate (0 without a link). Up: router to server.
  double hop(size_t server, bool up, double bytes) const;
  double router_hop(DeviceState& ds, bool up, double bytes);  // full mode: the device's actor waits it out
  void finish_energy(SimResult& res);
  void shared_step(double seconds, double stream_bytes);
  double transfer(DeviceState& ds, bool up, double bytes);
  double iteration_time(size_t server, std::span<const ServerItem> batch, double idle);
  std::vector<double> decode_wake_;  // per server: each item's share of its current iteration's decode wake-up (on_done)
  void on_done(size_t server, const ServerItem& it, double start, double end);
  Server& server_of(const DeviceState& ds) { return *servers_[ds.server]; }
  // The host of a server of the pool. The first is the network's center (every device's route ends there: the
  // pool sits behind it, and the hop from it to a server costs nothing); the others are hosts of their own, after
  // the topology's in full mode, right after the first in fast mode.
  size_t server_host(size_t server) const { return server == 0 ? 0 : server_host_base_ + server - 1; }
  size_t server_host_base_ = 1;
  // The fleet-wide index of device d's access cell (cells numbered group by group); -1 on a private link.
  int64_t cell_of(int64_t d) const {
    const size_t g = topo_.group_of(d);
    int64_t before = 0;
    for (size_t h = 0; h < g; ++h) {
      const auto& grp = sys_.fleet[h].group;
      if (grp.cell_size > 0) before += (grp.count + grp.cell_size - 1) / grp.cell_size;
    }
    const int64_t k = sys_.fleet[g].group.cell_size;
    return k > 0 ? before + (d - topo_.group_begin[g]) / k : -1;
  }
  const CostModel& server_cost(size_t server) const { return group_cost_[server_group_[server]]; }
  void finish(DeviceState& ds, double at);
  void progress(bool force);
  // StarNetwork path (fast mode, devices with a topology host).
  void build_networks();
  void driver_actor();
  RequestRecord& open_request(int64_t d, size_t r, double arrival);
  // A request's bytes: the prompt block, `steps` decode blocks with the KV they move, `tokens` token frames down.
  void request_bytes(RequestRecord& rec, int64_t prompt, int64_t steps, int64_t tokens) const;
  const RequestSpec& spec(int64_t d, size_t r) const {
    return requests_.at(d, r);
  }
  void schedule_request(int64_t d, double now);
  void start_request(int64_t d, double at);
  void request_done(DeviceState& ds, double at);
  void ring(double at);
  // `issued`: when the message left (before the router's hop, for a token); default: at start.
  void add_flow(bool up, DeviceState& ds, double start, double bytes, double issued = -1);
  void on_flow(const StarNetwork::Done& flow, double at);
  // Access links whose bandwidth follows a trace: per trace, its next change and the links to change then
  // (fast mode: StarNetwork links; full mode: SimGrid links).
  struct TracedLink {
    const LinkTrace* trace = nullptr;
    StarNetwork* net = nullptr;
    int32_t link = -1;
    s4u::Link* sg = nullptr;
    double peak = 0;   // B/s
    bool up = true;
    double phase = 0;  // s (trace_phase)
  };
  std::vector<TracedLink> traced_;
  std::priority_queue<std::pair<double, size_t>, std::vector<std::pair<double, size_t>>, std::greater<>> trace_changes_;
  void add_traced(const TracedLink& l);
  double next_trace_change() const;
  void apply_trace_changes(double t);  // every change due at t
  void trace_actor();                  // full mode
  std::vector<int32_t> net_link_;  // per topology host: its link in up_net_ / down_net_
  std::vector<double> net_latency_up_, net_latency_down_;  // per net link: the route latency
  StarNetwork up_net_, down_net_;
  s4u::SemaphorePtr net_bell_;
  double net_wait_ = StarNetwork::kNever;  // the network actor sleeps until then
  bool net_rung_ = false;
  // Fast mode: no actor per device; the driver actor starts every request at its time.
  std::priority_queue<std::pair<double, int64_t>, std::vector<std::pair<double, int64_t>>, std::greater<>>
      request_starts_;
  int64_t busy_devices_ = 0;  // devices with requests not yet finished
  double last_done_ = 0;
  // server.session_timeout: a session silent for longer is closed at its deadline, when the server frees its KV
  // (private links: found in closed form when the token leaves, then a driver event: time, server, bytes).
  double session_timeout_ = 120;
  std::priority_queue<std::tuple<double, size_t, double>, std::vector<std::tuple<double, size_t, double>>,
                      std::greater<>>
      abandons_;
  int64_t late_sessions_ = 0;  // blocks that arrived after the timeout where that is not modelled (reported)
  // StarNetwork path: (deadline, device, record, blocks_in at the token) of sessions whose link can go down.
  std::priority_queue<std::tuple<double, int64_t, int64_t, int64_t>, std::vector<std::tuple<double, int64_t, int64_t, int64_t>>,
                      std::greater<>>
      session_checks_;
  std::vector<char> host_goes_down_;  // per topology host: its access link follows a trace with outages
  void watch_session(DeviceState& ds, double from);
  void check_session(int64_t d, int64_t rec, int64_t blocks_in, double deadline);
  double error_arrival(const DeviceState& ds, double closed) const;  // StarNetwork path: the error frame's
  // The request fails: the server closed its session at `closed`; the device, which sent its block at `sent`,
  // has the error after its downlink. Ends the request with the tokens it received.
  void fail_request(DeviceState& ds, RequestRecord& rec, double closed, double sent, int64_t received);

  const System& sys_;
  SimOptions opt_;
  CostModel cost_;
  Topology topo_;
  std::vector<s4u::Host*> hosts_;
  std::vector<int64_t> prefill_tokens_;  // iteration_time's scratch
  std::vector<DecodeBand> decode_bands_;  // iteration_time's scratch under a moving split schedule
  // The pool: one Server per server instance, its group, and each group's view of the system and its costs.
  std::vector<std::unique_ptr<Server>> servers_;
  std::vector<size_t> server_group_;
  std::vector<System> group_sys_;
  std::vector<CostModel> group_cost_;
  std::unique_ptr<Router> router_;
  std::vector<DeviceState> dev_;
  // A reacting split schedule (Plan::reaction): each device's split and its link's observed rate; else empty.
  std::vector<SplitTracker> trackers_;
  // An upload of the device's took `seconds` on its link (latency and host overhead left out).
  void observe_upload(DeviceState& ds, double bytes, double seconds) {
    if (ds.req.split) ds.req.split->observe(bytes, seconds);
  }
  static ServerItem step_item(double ready, int64_t d, int64_t context, const DeviceWork& w) {
    return {ready, d, context, 0, false, static_cast<int16_t>(w.moved), static_cast<int32_t>(w.split)};
  }
  std::vector<DeviceActor> actors_;  // full mode only, per device
  DeviceActor& actor(const DeviceState& ds) { return actors_[static_cast<size_t>(&ds - dev_.data())]; }
  std::vector<RequestRecord> records_;
  FleetRequests requests_;  // every device's requests, drawn once
  std::vector<bool> group_oom_;
  std::string oom_reason_;
  bool all_oom_ = false;
  int64_t events_ = 0, tokens_ = 0, finished_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point wall0_, last_progress_;
  bool progress_shown_ = false;
};

// A step on the server's shared cores: an exec there (one core at most, cores shared among the execs running),
// and, with a memory bus, its weight stream over the bus at the same time; the step lasts as long as the longer
// of the two. The stream is capped at what the step alone reads in its measured time, so a step alone lasts
// exactly its cost; only steps streaming at once on a saturated bus are slowed.
void Fleet::shared_step(double seconds, double stream_bytes) {
  s4u::ExecPtr exec = s4u::this_actor::exec_init(seconds)->set_host(hosts_[0]);
  exec->start();
  s4u::CommPtr stream;
  const double bytes = std::min(stream_bytes, seconds * topo_.memory_single);
  if (topo_.memory_src >= 0 && bytes > 0)
    stream = s4u::Comm::sendto_init(hosts_[static_cast<size_t>(topo_.memory_src)], hosts_[static_cast<size_t>(topo_.memory_dst)])
                 ->set_payload_size(sim_payload(bytes))
                 ->start();
  exec->wait();
  if (stream) stream->wait();
}

void Fleet::compute(double seconds) {
  if (seconds <= 0) return;
  if (topo_.full && sys_.scenario.server.shared_cores > 0) {
    shared_step(seconds, cost_.edge_stream_bytes());  // on the server's shared cores
  } else if (topo_.full) {
    s4u::this_actor::execute(seconds);  // on the device's own 1 flop/s host
  } else {
    s4u::this_actor::sleep_for(seconds);
  }
}

void Fleet::radio(DeviceState& ds, double start, double end, double bytes, bool up) {
  const auto& r = sys_.fleet[ds.group].link.radio;
  if (!r) return;
  const RadioCharge c = charge_transfer(*r, ds.radio, start, end, bytes, up);
  records_[static_cast<size_t>(ds.rec)].radio_energy += c.now;
  if (ds.radio_rec >= 0) records_[static_cast<size_t>(ds.radio_rec)].radio_energy += c.before;
  ds.radio_rec = ds.rec;
}

// After the run: each device's last tail, every request's energy, and the fleet's and the pool's over the span.
void Fleet::finish_energy(SimResult& res) {
  auto& recs = res.requests;
  for (const DeviceState& ds : dev_)
    if (ds.radio_rec >= 0) recs[static_cast<size_t>(ds.radio_rec)].radio_energy += final_tail(*sys_.fleet[ds.group].link.radio);
  for (auto& r : recs) {
    const size_t g = topo_.group_of(r.device);
    const auto& power = sys_.fleet[g].device.power;
    if (r.oom || !power) {
      r.edge_energy = r.radio_energy = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    r.edge_energy = device_energy(*power, r.e2e, r.edge_compute + r.encode, r.radio_energy);
  }
  std::vector<double> busy;
  for (const auto& s : servers_) busy.push_back(s->stats().busy);
  const RunEnergy e = run_energy(sys_, res.totals.span, recs, busy);
  res.totals.edge_energy = e.edge;
  res.totals.battery_hours = e.battery_hours;
  res.totals.server_energy = e.server;
}

double Fleet::hop(size_t server, bool up, double bytes) const { return server_cost(server).router_hop(up, bytes); }

double Fleet::router_hop(DeviceState& ds, bool up, double bytes) {
  const double h = hop(ds.server, up, bytes);
  if (h > 0) s4u::this_actor::sleep_for(h);
  return h;
}

double Fleet::transfer(DeviceState& ds, bool up, double bytes) {
  if (bytes <= 0) return 0;
  const double t0 = s4u::Engine::get_clock();
  s4u::Host* dev = hosts_[static_cast<size_t>(ds.host)];
  s4u::Host* srv = hosts_[0];
  s4u::Comm::sendto_init(up ? dev : srv, up ? srv : dev)->set_payload_size(sim_payload(bytes))->start()->wait();
  radio(ds, t0, s4u::Engine::get_clock(), bytes, up);
  if (up && ds.req.split) {  // the comm's time less its route's latency
    double lat = 0;
    for (int32_t l : topo_.hosts[static_cast<size_t>(ds.host)].to_center) lat += topo_.links[static_cast<size_t>(l)].latency;
    observe_upload(ds, bytes, s4u::Engine::get_clock() - t0 - lat);
  }
  ++events_;
  // The host's measured message overhead, which the closed-form transfers of fast mode include too.
  if (const double o = cost_.transport_overhead(ds.group, bytes); o > 0) s4u::this_actor::sleep_for(o);
  return s4u::Engine::get_clock() - t0;
}

double Fleet::iteration_time(size_t server, std::span<const ServerItem> batch, double idle) {
  const CostModel& cost = server_cost(server);
  double t = 0, codec = 0, sum_context = 0, sum_tokens = 0;
  int64_t low_split = std::numeric_limits<int64_t>::max();
  int64_t steps = 0;
  prefill_tokens_.clear();
  const Plan& plan = sys_.plan;
  const bool moving = plan.schedule && plan.schedule->moves();
  if (moving) decode_bands_.clear();
  for (const auto& it : batch) {
    low_split = std::min(low_split, it.split >= 0 ? static_cast<int64_t>(it.split) : plan.split_at(it.tokens - 1));
    sum_tokens += static_cast<double>(it.tokens);
    if (it.prefill) {
      codec += cost.server_decode_codec(it.tokens);
      prefill_tokens_.push_back(it.tokens);
    } else {
      codec += cost.server_decode_codec(1) + cost.server_kv_move_decode(it.moved, it.tokens - 1);
      sum_context += static_cast<double>(it.tokens);
      ++steps;
      if (moving) {  // a step of context c enters at its split (the plan's: that of c - 1 cached tokens)
        const int64_t split = it.split >= 0 ? it.split : plan.split_at(it.tokens - 1);
        auto b = std::find_if(decode_bands_.begin(), decode_bands_.end(), [&](const DecodeBand& x) { return x.split == split; });
        if (b == decode_bands_.end()) b = decode_bands_.insert(decode_bands_.end(), DecodeBand{split, 0, 0});
        b->steps += 1;
        b->sum_context += static_cast<double>(it.tokens);
      }
    }
  }
  t = moving ? cost.server_iteration(prefill_tokens_, decode_bands_)
             : cost.server_iteration(prefill_tokens_, steps, sum_context);
  // After an idle gap the iteration pays the measured cost of waking up, once (nothing without measured curves):
  // its compute at the batch's lowest split and mean context, and one block's decode, shared by its items.
  const CostModel::WakePenalty w =
      batch.empty() ? CostModel::WakePenalty{} : cost.server_wake(idle, low_split, sum_tokens / static_cast<double>(batch.size()));
  decode_wake_[server] = batch.empty() ? 0.0 : w.codec / static_cast<double>(batch.size());
  return codec + t + w.codec + w.compute;
}

void Fleet::finish(DeviceState& ds, double at) {
  end_request(records_[static_cast<size_t>(ds.rec)], at);
  ds.done_at = at;
  ++finished_;
  if (!topo_.full) request_done(ds, at);
}

// Server side of a produced token (runs in the server actor at the end of the iteration).
void Fleet::on_done(size_t server, const ServerItem& it, double start, double end) {
  DeviceState& ds = dev_[static_cast<size_t>(it.device)];
  RequestRecord& rec = records_[static_cast<size_t>(ds.rec)];
  const double codec = (it.prefill ? server_cost(server).server_decode_codec(it.tokens)
                                    : server_cost(server).server_decode_codec(1) +
                                          server_cost(server).server_kv_move_decode(it.moved, it.tokens - 1)) +
                       decode_wake_[server];
  rec.server_queue += start - it.ready;
  rec.server_decode += codec;
  rec.server_compute += (end - start) - codec;
  const int64_t k = ++ds.produced;  // token k of the request exists at the server
  const bool last = k == ds.req.output;
  ++tokens_;
  ++events_;
  router_->served(server, it.prefill ? ds.req.prompt + 1 : 1);
  if (last) {
    servers_[server]->release_kv(ds.kv_need);
    router_->released(server, ds.kv_need);
  }
  if ((tokens_ & 4095) == 0) progress(false);
  const bool closed = ds.host < 0;

  if (stream()) {
    if (!last) server_of(ds).push({end, it.device, ds.req.prompt + k, 0, false});
    const double hd = hop(server, false, cost_.downlink_bytes());
    if (closed) {
      const double down = hd + cost_.transfer(ds.group, false, cost_.downlink_bytes(), end + hd, ds.phase);
      const double at = end + down;
      radio(ds, end + hd, at, cost_.downlink_bytes(), false);
      token_at_device(cost_, ds.req, k, at, down, rec);
      if (last) finish(ds, at);
    } else if (!topo_.full) {
      add_flow(false, ds, end + hd, cost_.downlink_bytes(), end);
    } else {
      // Each token through the router's hop on its own (tokens may overlap there), then its access comm.
      auto send = [this, &ds, end] {
        DeviceActor& a = actor(ds);
        a.stream.push_back(s4u::Comm::sendto_init(hosts_[0], hosts_[static_cast<size_t>(ds.host)])
                               ->set_payload_size(sim_payload(cost_.downlink_bytes())));
        a.stream.back()->start();
        a.issued.push_back(end);
        ++events_;
        a.wake->release();
      };
      if (hd > 0)
        s4u::Actor::create("hop", hosts_[0], [send, hd] { s4u::this_actor::sleep_for(hd); send(); });
      else
        send();
    }
    return;
  }
  const double hd = hop(server, false, cost_.downlink_bytes());
  ds.silent_from = end;
  if (!closed && !topo_.full) {
    if (!last) watch_session(ds, end);
    add_flow(false, ds, end + hd, cost_.downlink_bytes(), end);  // on_flow carries the device on from its completion
    return;
  }
  if (!closed) {
    actor(ds).wake->release();  // the device actor does its own downlink, edge step and uplink
    return;
  }
  const double down = hd + cost_.transfer(ds.group, false, cost_.downlink_bytes(), end + hd, ds.phase);
  const double at = end + down;
  radio(ds, end + hd, at, cost_.downlink_bytes(), false);
  const auto next = token_at_device(cost_, ds.req, k, at, down, rec);
  if (!next) {
    finish(ds, at);
    return;
  }
  const double sent = at + next->edge_compute + next->encode;
  const double access = cost_.transfer(ds.group, true, next->up_bytes, sent, ds.phase);
  const double up = access + hop(server, true, next->up_bytes);
  if (sent + up - end > session_timeout_) {  // the next block is not there in time: the server closes the session
    const double closed = end + session_timeout_;
    abandons_.push({closed, server, ds.kv_need});
    ring(closed);
    rec.uplink += std::max(0.0, std::min(up, closed - sent));
    radio(ds, sent, std::max(sent, std::min(sent + access, closed)), next->up_bytes, true);
    fail_request(ds, rec, closed, sent, k);
    return;
  }
  rec.uplink += up;
  radio(ds, sent, sent + access, next->up_bytes, true);
  observe_upload(ds, next->up_bytes, access - cost_.transfer_latency(ds.group) - cost_.transport_overhead(ds.group, next->up_bytes));
  server_of(ds).push(step_item(sent + up, it.device, ds.req.prompt + k, *next));
}

// A transfer of a device behind a shared cell or a simulated backbone, starting at `start` (its bandwidth phase
// after the route latency, as in SimGrid).
void Fleet::add_flow(bool up, DeviceState& ds, double start, double bytes, double issued) {
  const int32_t link = net_link_[static_cast<size_t>(ds.host)];
  const auto d = static_cast<uint64_t>(&ds - dev_.data());
  const double lat = (up ? net_latency_up_ : net_latency_down_)[static_cast<size_t>(link)];
  if (up) ds.up_bytes = bytes, ds.up_pending = true, ds.up_start = start;
  const uint64_t tag = d * 8 + static_cast<uint64_t>(ds.flow_gen % 4) * 2 + (up ? 1 : 0);
  (up ? up_net_ : down_net_).add_flow(start + lat, link, bytes, tag, issued < 0 ? start : issued);
  ++events_;
  ring(start + lat);
}

void Fleet::ring(double at) {
  if (at < net_wait_ && !net_rung_) {  // the driver actor sleeps past this event: wake it
    net_rung_ = true;
    net_bell_->release();
  }
}

void Fleet::fail_request(DeviceState& ds, RequestRecord& rec, double closed, double sent, int64_t received) {
  // The server's error frame: the router's hop, then the device's private link from the moment the session closed.
  const auto bytes = static_cast<double>(kSessionClosedBytes);
  const double hd = hop(ds.server, false, bytes);
  const double at = ds.host >= 0 ? error_arrival(ds, closed)
                                 : closed + hd + cost_.transfer(ds.group, false, bytes, closed + hd, ds.phase);
  radio(ds, closed + hd, at, bytes, false);
  ++ds.flow_gen;  // what of the request is still in the network is the closed session's
  rec.downlink += at - closed;
  rec.failed = true;
  rec.output_tokens = received;
  request_bytes(rec, ds.req.prompt, received, received);  // the blocks it sent (the last one cut short)
  rec.bytes_down += bytes;
  ++failed_;
  finish(ds, std::max(at, sent));  // the device reads the error once it has sent its block
}

// The error frame of a session closed at `closed` on a device's StarNetwork link: the router's hop, the route
// latency, then the link along its trace (a hundred bytes: the link's other flows are left out).
double Fleet::error_arrival(const DeviceState& ds, double closed) const {
  const auto bytes = static_cast<double>(kSessionClosedBytes);
  const NetLink& l = topo_.links[static_cast<size_t>(topo_.hosts[static_cast<size_t>(ds.host)].from_center.at(0))];
  const double start = closed + hop(ds.server, false, bytes) +
                       net_latency_down_[static_cast<size_t>(net_link_[static_cast<size_t>(ds.host)])];
  const double carry = l.trace ? l.trace->transfer_time(false, start + l.phase, bytes, l.bandwidth, StarNetwork::kNever)
                               : bytes / l.bandwidth;
  return start + carry + cost_.transport_overhead(ds.group, bytes);
}

void Fleet::watch_session(DeviceState& ds, double from) {
  if (topo_.full || ds.host < 0 || !host_goes_down_[static_cast<size_t>(ds.host)]) return;
  const double deadline = from + session_timeout_;
  session_checks_.push({deadline, &ds - dev_.data(), ds.rec, ds.blocks_in});
  ring(deadline);
}

// The deadline of a session on a StarNetwork link: closed, unless its next block arrived (or the request is over).
void Fleet::check_session(int64_t d, int64_t rec, int64_t blocks_in, double deadline) {
  DeviceState& ds = dev_[static_cast<size_t>(d)];
  if (ds.rec != rec || ds.blocks_in != blocks_in || ds.closed || ds.produced >= ds.req.output) return;
  if (ds.produced > 0) {  // admitted: the server frees its KV now
    servers_[ds.server]->abandon(ds.kv_need);
    router_->released(ds.server, ds.kv_need);
  }
  ds.closed = true;
  ds.closed_at = deadline;
  // A device whose block is on its way reads the error as it comes; one still waiting for its token reads it after
  // sending its next block (on_flow).
  if (ds.up_pending) fail_request(ds, records_[static_cast<size_t>(rec)], deadline, ds.up_start, ds.received);
}

// A StarNetwork transfer's bytes arrived at `done` (in the network actor): the device's next stage, after the
// host's measured message overhead (as in the closed form and in full mode).
void Fleet::on_flow(const StarNetwork::Done& flow, double done) {
  const auto d = static_cast<int64_t>(flow.tag / 8);
  DeviceState& ds = dev_[static_cast<size_t>(d)];
  if (static_cast<int32_t>((flow.tag / 2) % 4) != ds.flow_gen % 4) return;  // of a session the server closed
  RequestRecord& rec = records_[static_cast<size_t>(ds.rec)];
  const bool up = flow.tag % 2 == 1;
  const double bytes = up ? ds.up_bytes : cost_.downlink_bytes();
  const double hd = up ? 0.0 : hop(ds.server, false, bytes);  // a token's hop came before its access flow
  radio(ds, flow.issued + hd, done, bytes, up);
  double at = done + cost_.transport_overhead(ds.group, bytes);
  if (up) {  // the prompt block or one decode step reaches the router, then the server
    at += hop(ds.server, true, bytes);
    rec.uplink += at - flow.issued;
    observe_upload(ds, bytes, done - ds.up_start - net_latency_up_[static_cast<size_t>(net_link_[static_cast<size_t>(ds.host)])]);
    ds.up_pending = false;
    ++ds.blocks_in;
    if (!host_goes_down_[static_cast<size_t>(ds.host)] && at - ds.silent_from > session_timeout_) ++late_sessions_;
    if (ds.received == 0)
      server_of(ds).push({at, d, ds.req.prompt, ds.kv_need, true});
    else
      server_of(ds).push({at, d, ds.req.prompt + ds.received, 0, false, ds.up_moved, ds.up_split});
    return;
  }
  const double down = at - flow.issued;
  const int64_t k = ++ds.received;
  const auto next = token_at_device(cost_, ds.req, k, at, down, rec);
  if (k == ds.req.output) {
    finish(ds, at);
    return;
  }
  if (next && ds.closed) {  // the server closed the session while this token was on its way
    fail_request(ds, rec, ds.closed_at, at + next->edge_compute + next->encode, k);
    return;
  }
  if (!next) return;
  ds.up_moved = static_cast<int16_t>(next->moved);
  ds.up_split = static_cast<int32_t>(next->split);
  add_flow(true, ds, at + next->edge_compute + next->encode, next->up_bytes);
}

void Fleet::add_traced(const TracedLink& l) {
  traced_.push_back(l);
  trace_changes_.push({l.trace->next_change(l.phase) - l.phase, traced_.size() - 1});
}

double Fleet::next_trace_change() const {
  return trace_changes_.empty() ? StarNetwork::kNever : trace_changes_.top().first;
}

void Fleet::apply_trace_changes(double t) {
  while (!trace_changes_.empty() && trace_changes_.top().first <= t) {
    const size_t i = trace_changes_.top().second;
    trace_changes_.pop();
    const TracedLink& l = traced_[i];
    const double rate = l.peak * l.trace->factor(l.up, t + l.phase);
    if (l.net) l.net->set_bandwidth(t, l.link, rate);
    if (l.sg) l.sg->set_bandwidth(rate * kSimByteScale);
    // The next change in simulated time; the phase's rounding must not bring back the one just applied.
    double next = l.trace->next_change(t + l.phase) - l.phase;
    if (!(next > t)) next = l.trace->next_change(l.trace->next_change(t + l.phase)) - l.phase;
    trace_changes_.push({next, i});
  }
}

// Full mode: the traced links' rates change at the trace's times (SimGrid re-shares the flows in progress).
void Fleet::trace_actor() {
  while (true) {
    const double t = next_trace_change();
    if (!std::isfinite(t)) return;
    s4u::this_actor::sleep_until(t);
    apply_trace_changes(t);
  }
}

// Fast mode's one actor besides the server: it starts requests at their times and advances the StarNetwork.
// It is not a daemon: the run ends when every device's last request is done (at the latest completion).
void Fleet::driver_actor() {
  std::vector<StarNetwork::Done> done;
  while (busy_devices_ > 0) {
    const double change = next_trace_change();
    double t = std::min({up_net_.next_event(), down_net_.next_event(), change});
    if (!request_starts_.empty()) t = std::min(t, request_starts_.top().first);
    if (!abandons_.empty()) t = std::min(t, std::get<0>(abandons_.top()));
    if (!session_checks_.empty()) t = std::min(t, std::get<0>(session_checks_.top()));
    const double now = s4u::Engine::get_clock();
    if (t > now) {
      net_wait_ = t;
      net_rung_ = false;
      const bool woken = std::isfinite(t) ? !net_bell_->acquire_timeout(t - now) : (net_bell_->acquire(), true);
      net_wait_ = StarNetwork::kNever;
      if (woken) continue;  // something may happen before t
    }
    if (change <= t) {  // a traced link changes rate first: the flows run at the old rate up to it
      apply_trace_changes(change);
      continue;
    }
    for (StarNetwork* net : {&up_net_, &down_net_}) {
      if (!(net->next_event() <= t)) continue;
      done.clear();
      const double at = net->step(done);
      for (const StarNetwork::Done& f : done) on_flow(f, at);
    }
    while (!session_checks_.empty() && std::get<0>(session_checks_.top()) <= t) {
      const auto [at, d, rec, blocks] = session_checks_.top();
      session_checks_.pop();
      check_session(d, rec, blocks, at);
    }
    while (!abandons_.empty() && std::get<0>(abandons_.top()) <= t) {  // sessions the server closes now
      const auto [at, server, kv] = abandons_.top();
      abandons_.pop();
      servers_[server]->abandon(kv);
      router_->released(server, kv);
    }
    while (!request_starts_.empty() && request_starts_.top().first <= t) {
      const auto [at, d] = request_starts_.top();
      request_starts_.pop();
      start_request(d, at);
    }
  }
  if (s4u::Engine::get_clock() < last_done_) s4u::this_actor::sleep_until(last_done_);
}

// The record of device d's request r (its r-th spec), with everything known before it runs.
RequestRecord& Fleet::open_request(int64_t d, size_t r, double arrival) {
  DeviceState& ds = dev_[static_cast<size_t>(d)];
  const RequestSpec& s = spec(d, r);
  RequestRecord& rec = records_[requests_.index(d, r)];
  rec.request = static_cast<int64_t>(requests_.index(d, r));
  rec.device = d;
  rec.group = sys_.fleet[ds.group].group.name;
  rec.arrival = arrival;
  rec.prompt_tokens = s.prompt;
  rec.output_tokens = s.output;
  rec.edge_memory_peak = cost_.edge_memory(ds.group).total();
  rec.radio_energy = sys_.fleet[ds.group].link.radio ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  rec.oom = all_oom_ || group_oom_[ds.group];
  if (sys_.plan.server_has_head) request_bytes(rec, s.prompt, stream() ? 0 : s.output - 1, s.output);
  return rec;
}

void Fleet::request_bytes(RequestRecord& rec, int64_t prompt, int64_t steps, int64_t tokens) const {
  // The kv_move frames are added step by step (token_at_device): a reacting schedule decides them as it runs.
  rec.bytes_up = cost_.uplink_bytes(prompt) + static_cast<double>(steps) * cost_.uplink_bytes(1) + rec.bytes_moved;
  rec.bytes_down = static_cast<double>(tokens) * cost_.downlink_bytes();
}

// Fast mode: queue device d's next request, whose predecessor ended at `now` (as the device actor of full
// mode does: a closed loop waits think_time after the completion, a Poisson request waits for the device).
void Fleet::schedule_request(int64_t d, double now) {
  DeviceState& ds = dev_[static_cast<size_t>(d)];
  const Workload& w = sys_.scenario.workload;
  const size_t r = ds.next_request;
  if (r >= requests_.count(d)) {
    --busy_devices_;
    last_done_ = std::max(last_done_, now);
    ring(now);  // the driver may be waiting for this last completion
    return;
  }
  ds.arrival = request_arrival(w, spec(d, r), r, now);
  const double at = std::max(ds.arrival, now);
  request_starts_.push({at, d});
  ring(at);
}

void Fleet::start_request(int64_t d, double at) {
  DeviceState& ds = dev_[static_cast<size_t>(d)];
  const size_t r = ds.next_request++;
  RequestRecord& rec = open_request(d, r, ds.arrival);
  run_request(ds, rec, spec(d, r), at);
}

void Fleet::request_done(DeviceState& ds, double at) { schedule_request(&ds - dev_.data(), at); }

// One link per cell or gateway host of the topology, in both directions; the backbone, when the topology
// simulates it, is the StarNetwork's shared capacity. Penalties are route latencies, as SimGrid weighs flows.
void Fleet::build_networks() {
  double bb_up = StarNetwork::kNever, bb_down = StarNetwork::kNever, bb_lat = 0;
  if (topo_.backbone_simulated) {
    bb_up = sys_.backbone.uplink.value;
    bb_down = sys_.backbone.downlink.value;
    bb_lat = sys_.backbone.latency.value;
  }
  up_net_ = StarNetwork(bb_up);
  down_net_ = StarNetwork(bb_down);
  net_link_.assign(topo_.hosts.size(), -1);
  host_goes_down_.assign(topo_.hosts.size(), 0);
  for (size_t h = 1; h < topo_.hosts.size(); ++h) {
    const NetLink& lu = topo_.links[static_cast<size_t>(topo_.hosts[h].to_center.at(0))];
    const NetLink& ld = topo_.links[static_cast<size_t>(topo_.hosts[h].from_center.at(0))];
    auto initial = [](const NetLink& l) { return l.trace ? l.bandwidth * l.trace->factor(l.uplink, l.phase) : l.bandwidth; };
    net_link_[h] = up_net_.add_link(initial(lu), lu.latency + bb_lat, lu.fatpipe);
    host_goes_down_[h] = (lu.trace && lu.trace->goes_down()) || (ld.trace && ld.trace->goes_down());
    const int32_t down_link = down_net_.add_link(initial(ld), ld.latency + bb_lat, ld.fatpipe);
    if (lu.trace) add_traced({lu.trace, &up_net_, net_link_[h], nullptr, lu.bandwidth, true, lu.phase});
    if (ld.trace) add_traced({ld.trace, &down_net_, down_link, nullptr, ld.bandwidth, false, ld.phase});
    net_latency_up_.push_back(lu.latency + bb_lat);
    net_latency_down_.push_back(ld.latency + bb_lat);
  }
}

void Fleet::edge_only(DeviceState& ds, RequestRecord& rec, double now) {
  const size_t g = ds.group;
  const int64_t prompt = ds.req.prompt, output = ds.req.output;
  ds.rec = rec.request;
  if (!topo_.full) {
    // Nothing is shared: the request is the closed form of one device alone.
    const Estimate e = cost_.estimate(g, prompt, output);
    rec.ttft = (now - rec.arrival) + e.ttft;
    rec.edge_compute = e.prefill.edge_compute + e.decode_mean.edge_compute * static_cast<double>(output - 1);
    rec.tbt_max = e.tbt_max;
    ++events_;
    finish(ds, now + e.e2e);
    return;
  }
  double t = cost_.edge_prefill(g, prompt);
  rec.edge_compute += t;
  compute(t);
  rec.ttft = s4u::Engine::get_clock() - rec.arrival;
  for (int64_t k = 1; k < output; ++k) {
    t = cost_.edge_step(g, prompt + k);
    rec.edge_compute += t;
    rec.tbt_max = std::max(rec.tbt_max, t);
    compute(t);
    ++events_;
  }
  finish(ds, s4u::Engine::get_clock());
}

void Fleet::run_request(DeviceState& ds, RequestRecord& rec, const RequestSpec& s, double now) {
  const size_t g = ds.group;
  ds.req = {g, s.prompt, s.output, stream(), trackers_.empty() ? nullptr : &trackers_[static_cast<size_t>(rec.device)],
            ds.req.idle_from};
  if (!sys_.plan.server_has_head) return edge_only(ds, rec, now);
  ds.rec = rec.request;
  ds.produced = 0;
  ds.kv_need = cost_.kv_reservation(s.prompt, s.output);
  ds.server = router_->route(rec.device, cell_of(rec.device), s.prompt + s.output, ds.kv_need);
  const int64_t d = rec.device;
  const DeviceWork first = begin_request(cost_, ds.req, rec, now);

  if (!topo_.full) {  // the server and the network carry the request from here to finish()
    const double t0 = now + first.edge_compute + first.encode;
    if (ds.host >= 0) {
      ds.received = 0;
      ds.silent_from = now;
      ds.blocks_in = 0;
      ds.closed = false;
      add_flow(true, ds, t0, first.up_bytes);
      watch_session(ds, now);
      return;
    }
    const double access = cost_.transfer(g, true, first.up_bytes, t0, ds.phase);
    const double up = access + hop(ds.server, true, first.up_bytes);
    if (t0 + up - now > session_timeout_) {  // the prompt is not there in time: no KV was reserved yet
      rec.uplink += std::min(up, now + session_timeout_ - t0);
      radio(ds, t0, std::min(t0 + access, now + session_timeout_), first.up_bytes, true);
      fail_request(ds, rec, now + session_timeout_, t0, 0);
      return;
    }
    rec.uplink += up;
    radio(ds, t0, t0 + access, first.up_bytes, true);
    observe_upload(ds, first.up_bytes, access - cost_.transfer_latency(g) - cost_.transport_overhead(g, first.up_bytes));
    server_of(ds).push({t0 + up, d, s.prompt, ds.kv_need, true});
    return;
  }

  compute(first.edge_compute + first.encode);
  rec.uplink += transfer(ds, true, first.up_bytes) + router_hop(ds, true, first.up_bytes);
  if (s4u::Engine::get_clock() - now > session_timeout_) ++late_sessions_;  // full mode does not close sessions
  server_of(ds).push({s4u::Engine::get_clock(), d, s.prompt, ds.kv_need, true});
  for (int64_t k = 1; k <= s.output; ++k) {
    DeviceActor& a = actor(ds);
    a.wake->acquire();  // token k is ready at the server (streamed: on its way)
    double down = 0, at = 0;
    if (stream()) {
      s4u::CommPtr c = a.stream.front();
      a.stream.pop_front();
      c->wait();
      at = c->get_finish_time() + cost_.transport_overhead(ds.group, cost_.downlink_bytes());
      down = at - a.issued.front();
      a.issued.pop_front();
      radio(ds, c->get_start_time(), c->get_finish_time(), cost_.downlink_bytes(), false);
      if (k == s.output) s4u::this_actor::sleep_until(at);
    } else {
      down = router_hop(ds, false, cost_.downlink_bytes()) + transfer(ds, false, cost_.downlink_bytes());
      at = s4u::Engine::get_clock();
    }
    const auto next = token_at_device(cost_, ds.req, k, at, down, rec);
    if (k == s.output) {
      finish(ds, at);
      return;
    }
    if (!next) continue;  // streamed: the next token is already on its way
    compute(next->edge_compute + next->encode);
    rec.uplink += transfer(ds, true, next->up_bytes) + router_hop(ds, true, next->up_bytes);
    if (s4u::Engine::get_clock() - ds.silent_from > session_timeout_) ++late_sessions_;
    server_of(ds).push(step_item(s4u::Engine::get_clock(), d, s.prompt + k, *next));
  }
}

void Fleet::device_actor(int64_t d) {
  DeviceState& ds = dev_[static_cast<size_t>(d)];
  const Workload& w = sys_.scenario.workload;
  const bool oom = all_oom_ || group_oom_[ds.group];
  double ended = 0;
  for (size_t r = 0; r < requests_.count(d); ++r) {
    const double arrival = request_arrival(w, spec(d, r), r, ended);
    RequestRecord& rec = open_request(d, r, arrival);
    if (oom) {
      ended = arrival;
      continue;
    }
    if (s4u::Engine::get_clock() < arrival) s4u::this_actor::sleep_until(arrival);
    run_request(ds, rec, spec(d, r), s4u::Engine::get_clock());
    ended = s4u::Engine::get_clock();
  }
}

void Fleet::progress(bool force) {
  if (!opt_.progress || (force && !progress_shown_)) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_progress_ < std::chrono::seconds(2)) return;
  progress_shown_ = true;
  last_progress_ = now;
  fmt::print(stderr, "\rsplitsim run: {:.1f} s simulated, {} / {} requests done, {} tokens, {:.1f} s wall   ",
             s4u::Engine::get_clock(), finished_, records_.size(), tokens_,
             std::chrono::duration<double>(now - wall0_).count());
  if (force) fmt::print(stderr, "\n");
}

// Which requests cannot run at all: the whole configuration (server memory) or a fleet group (edge memory).
void Fleet::check_memory() {
  oom_reason_ = config_oom_reason(sys_);
  all_oom_ = !oom_reason_.empty();
  for (size_t g = 0; g < sys_.fleet.size(); ++g) {
    MemoryBreakdown m = cost_.edge_memory(g);
    group_oom_.push_back(m.oom());
    if (m.oom())
      oom_reason_ += fmt::format("{}edge group {} ({}): {} needed, {} available", oom_reason_.empty() ? "" : "; ",
                                 sys_.fleet[g].group.name, sys_.fleet[g].device.name, format_bytes(m.total()),
                                 format_bytes(m.capacity));
  }
}

// The SimGrid engine's platform and actors: the server, then (full mode) one actor per device or (fast mode) the
// driver that starts every request; records for requests that cannot run are written here.
void Fleet::launch(int64_t n) {
  configure_engine(topo_.full ? static_cast<size_t>(n) + 1 : 2, topo_.full);  // fast: server + driver
  if (topo_.full) {
    Topology with_pool = topo_;
    for (size_t s = 1; s < server_group_.size(); ++s) with_pool.hosts.push_back({fmt::format("server{}", s), {}, {}});
    hosts_ = build_platform(with_pool);
    server_host_base_ = topo_.hosts.size();
    for (const NetLink& l : topo_.links)
      if (l.trace) add_traced({l.trace, nullptr, -1, s4u::Link::by_name(l.name), l.bandwidth, l.uplink, l.phase});
    if (!traced_.empty()) s4u::Actor::create("link-traces", hosts_[0], [this] { trace_actor(); })->daemonize();
  } else {  // fast mode: SimGrid runs the actors and the server's execs; the network is a StarNetwork
    Topology server_only;
    server_only.hosts.push_back({"server", {}, {}});
    for (size_t s = 1; s < server_group_.size(); ++s) server_only.hosts.push_back({fmt::format("server{}", s), {}, {}});
    hosts_ = build_platform(server_only);
    build_networks();
  }
  std::vector<double> kv_capacity;
  decode_wake_.assign(server_group_.size(), 0.0);
  for (size_t s = 0; s < server_group_.size(); ++s) {
    const CostModel& cost = server_cost(s);
    kv_capacity.push_back(cost.server_kv_capacity());
    servers_.push_back(std::make_unique<Server>(
        group_sys_[server_group_[s]].scenario.server.max_batch, cost.server_kv_capacity(),
        [this, s](std::span<const ServerItem> b, double idle) { return iteration_time(s, b, idle); },
        [this, s](const ServerItem& it, double start, double end) { on_done(s, it, start, end); },
        topo_.memory_src >= 0 ? Server::Execute([this](double d) { shared_step(d, cost_.server_stream_bytes()); })
                              : Server::Execute()));
  }
  router_ = std::make_unique<Router>(sys_.scenario.server.router, kv_capacity);
  for (size_t i = 0; i < servers_.size(); ++i) {
    servers_[i]->set_batch_window(sys_.scenario.server.batch_window);
    servers_[i]->set_handoff(server_cost(i).server_handoff());
  }
  requests_ = fleet_requests(sys_.scenario.workload, sys_.scenario.seed, n);
  records_.resize(requests_.specs.size());
  dev_.resize(static_cast<size_t>(n));
  if (sys_.plan.reaction) trackers_.assign(static_cast<size_t>(n), SplitTracker(&*sys_.plan.schedule, *sys_.plan.reaction));
  for (size_t s = 0; s < servers_.size(); ++s)
    s4u::Actor::create(fmt::format("server{}", s), hosts_[server_host(s)], [this, s] { servers_[s]->run(); })->daemonize();
  for (int64_t d = 0; d < n; ++d) {
    DeviceState& ds = dev_[static_cast<size_t>(d)];
    ds.group = topo_.group_of(d);
    ds.host = topo_.device_host[static_cast<size_t>(d)];
    if (ds.host < 0) ds.phase = trace_phase(sys_, ds.group, d);  // closed form: a private link of its own
    if (!topo_.full) continue;
    if (actors_.empty()) actors_.resize(static_cast<size_t>(n));
    actors_[static_cast<size_t>(d)].wake = s4u::Semaphore::create(0);
    s4u::Host* where = topo_.full && ds.host >= 0 ? hosts_[static_cast<size_t>(ds.host)] : hosts_[0];
    s4u::Actor::create("dev" + std::to_string(d), where, [this, d] { device_actor(d); });
  }
  if (topo_.full) return;
  net_bell_ = s4u::Semaphore::create(0);
  const Workload& w = sys_.scenario.workload;
  for (int64_t d = 0; d < n; ++d) {
    DeviceState& ds = dev_[static_cast<size_t>(d)];
    if (!(all_oom_ || group_oom_[ds.group])) {
      ++busy_devices_;
      schedule_request(d, 0.0);
      continue;
    }
    // Requests that cannot run are recorded at the arrivals the device actor would give them.
    double arrival = 0;
    for (size_t r = 0; r < requests_.count(d); ++r)
      arrival = open_request(d, r, request_arrival(w, spec(d, r), r, arrival)).arrival;
  }
  s4u::Actor::create("driver", hosts_[0], [this] { driver_actor(); });
}

SimResult Fleet::run() {
  wall0_ = last_progress_ = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  const int64_t n = topo_.devices();
  check_memory();
  if (!opt_.dump_platform.empty())
    write_file_atomic(opt_.dump_platform,
                      topo_.to_xml(fmt::format("splitsim platform for scenario {} ({})", sys_.scenario.name, sys_.hash())));
  s4u::Engine engine("splitsim");
  launch(n);
  engine.run();
  progress(true);
  return result(cpu0);
}

// The records, the run's totals and what the run says about itself.
SimResult Fleet::result(double cpu0) {
  SimResult res;
  res.requests = std::move(records_);
  double first = 0, last = 0;
  bool any = false;
  double up_bytes = 0;
  for (const auto& r : res.requests) {
    if (r.oom) continue;
    first = any ? std::min(first, r.arrival) : r.arrival;
    last = any ? std::max(last, r.arrival + r.e2e) : r.arrival + r.e2e;
    any = true;
    up_bytes += r.bytes_up;
  }
  ServerStats st;  // the pool's: sums, and the largest batch and KV peak of any server
  nlohmann::json servers = nlohmann::json::array();
  for (size_t s = 0; s < servers_.size(); ++s) {
    const ServerStats& x = servers_[s]->stats();
    st.busy += x.busy, st.iterations += x.iterations, st.items += x.items;
    st.largest_batch = std::max(st.largest_batch, x.largest_batch);
    st.kv_peak = std::max(st.kv_peak, x.kv_peak);
    const ServerGroup& g = sys_.server_groups.at(server_group_[s]);
    servers.push_back({{"server", s},
                       {"group", g.config.name},
                       {"profile", g.profile.name},
                       {"requests", router_->routed(s)},
                       {"busy_s", x.busy},
                       {"iterations", x.iterations},
                       {"mean_batch", x.iterations > 0 ? static_cast<double>(x.items) / static_cast<double>(x.iterations) : 0.0},
                       {"largest_batch", x.largest_batch},
                       {"kv_peak_bytes", x.kv_peak},
                       {"kv_capacity_bytes", server_cost(s).server_kv_capacity()}});
  }
  res.totals.span = any ? last - first : 0.0;
  res.totals.server_busy = st.busy;
  res.totals.servers = static_cast<int64_t>(servers_.size());
  res.totals.server_usd_per_hour = sys_.server_usd_per_hour().value_or(std::numeric_limits<double>::quiet_NaN());
  finish_energy(res);
  res.totals.uplink_utilization =
      res.totals.span > 0 && topo_.uplink_capacity > 0 ? up_bytes / (topo_.uplink_capacity * res.totals.span) : 0.0;
  res.totals.events = events_ + st.iterations;
  res.totals.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
  res.info = {
      {"scenario", sys_.scenario.name},
      {"hash", sys_.hash()},
      {"strategy", sys_.plan.strategy},
      {"sim_mode", topo_.full ? "full" : "fast"},
      {"sim_mode_reason", topo_.mode_reason},
      {"backbone_simulated", topo_.backbone_simulated},
      {"simulated_s", s4u::Engine::get_clock()},
      {"server_iterations", st.iterations},
      {"server_mean_batch", st.iterations > 0 ? static_cast<double>(st.items) / static_cast<double>(st.iterations) : 0.0},
      {"server_largest_batch", st.largest_batch},
      {"server_kv_peak_bytes", st.kv_peak},
      {"server_kv_capacity_bytes", cost_.server_kv_capacity()},
      {"decode_steps", tokens_},
      {"oom", !oom_reason_.empty()},
      {"peak_rss_bytes", peak_rss_bytes()},
      {"cpu_s", cpu_seconds() - cpu0},  // user + system time of the run, beside totals.wall
      {"wire_bytes_estimated", sys_.plan.wire == WireFormat::ts_tabq || sys_.plan.wire == WireFormat::uniform},
  };
  if (servers_.size() > 1) {
    res.info["servers"] = servers;
    res.info["router"] = sys_.scenario.server.router;
    for (auto& x : res.info["servers"])
      x["utilization"] = res.totals.span > 0 ? x["busy_s"].get<double>() / res.totals.span : 0.0;
  }
  if (!oom_reason_.empty()) res.info["reason"] = oom_reason_;
  if (failed_ > 0) res.info["sessions_closed"] = failed_;  // requests failed by server.session_timeout
  if (late_sessions_ > 0) {
    res.info["sessions_over_timeout_not_modelled"] = late_sessions_;
    fmt::print(stderr,
               "splitsim run: warning: {} blocks reached the server after more than server.session_timeout ({} s) of "
               "silence; full mode and links that never go down do not model the server closing the session\n",
               late_sessions_, session_timeout_);
  }
  return res;
}

}  // namespace

nlohmann::json SimResult::summary() const {
  nlohmann::json j = summarize(requests, totals);
  for (auto it = info.begin(); it != info.end(); ++it) j[it.key()] = it.value();
  return j;
}

nlohmann::json SimResult::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : requests) rows.push_back(record_to_json(r));
  return {{"requests", rows},
          {"totals",
           {totals.span, totals.server_busy, totals.uplink_utilization, totals.wall, totals.events, totals.servers,
           finite_or_null(totals.server_usd_per_hour), finite_or_null(totals.edge_energy),
           finite_or_null(totals.server_energy), finite_or_null(totals.battery_hours)}},
          {"info", info}};
}

SimResult SimResult::from_json(const nlohmann::json& j) {
  SimResult r;
  for (const auto& row : j.at("requests")) r.requests.push_back(record_from_json(row));
  const auto& t = j.at("totals");
  r.totals = {t[0], t[1], t[2], t[3], t[4], t[5]};
  for (auto [i, v] : {std::pair{6, &r.totals.server_usd_per_hour}, std::pair{7, &r.totals.edge_energy},
                      std::pair{8, &r.totals.server_energy}, std::pair{9, &r.totals.battery_hours}})
    if (!t[static_cast<size_t>(i)].is_null()) *v = t[static_cast<size_t>(i)].get<double>();
  r.info = j.at("info");
  return r;
}

SimResult simulate(const System& sys, const SimOptions& opt) {
  Fleet fleet(sys, opt);
  return fleet.run();
}

SimResult simulate_isolated(const System& sys, const SimOptions& opt) {
  nlohmann::json j = run_isolated([&] { return simulate(sys, opt).to_json(); });
  SimResult r = SimResult::from_json(j);
  r.info["peak_rss_bytes"] = j["child_peak_rss_bytes"];
  return r;
}

}  // namespace splitsim
