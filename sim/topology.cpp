// Network planning: turns the fleet (groups, cells, access links, backbone) into hosts, links and star routes,
// and decides per device whether its transfers are closed form or SimGrid comms (see topology.hpp for why
// each shortcut is exact).
#include "sim/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "hwprofiles/measured_tables.hpp"
#include "sim/workload.hpp"

namespace splitsim {
namespace {

int32_t add_link(Topology& t, std::string name, double bw, double lat, bool fatpipe = false) {
  t.links.push_back({std::move(name), bw, lat, fatpipe});
  return static_cast<int32_t>(t.links.size() - 1);
}

int32_t add_host(Topology& t, std::string name, std::vector<int32_t> up, std::vector<int32_t> down) {
  t.hosts.push_back({std::move(name), std::move(up), std::move(down)});
  return static_cast<int32_t>(t.hosts.size() - 1);
}

int64_t cells_of(const DeviceGroup& g) { return g.cell_size > 0 ? (g.count + g.cell_size - 1) / g.cell_size : 0; }

}  // namespace

size_t Topology::group_of(int64_t device) const {
  auto it = std::upper_bound(group_begin.begin(), group_begin.end(), device);
  return static_cast<size_t>(it - group_begin.begin()) - 1;
}

// Long on purpose: one decision (which links are closed form, which are shared, whether the backbone binds)
// read top to bottom with the hosts and links it produces; each step uses the previous one's hosts.
double trace_phase(const System& sys, size_t g, int64_t key) {
  const auto& trace = sys.fleet[g].link.trace;
  if (!trace || sys.fleet[g].group.trace_phase == "aligned") return 0;
  Rng rng(device_seed(sys.scenario.seed ^ 0x6c696e6b5f747263ull, key));  // "link_trc": apart from the workload's
  return rng.uniform() * trace->period;
}

Topology plan_topology(const System& sys, const CostModel& cost, bool full) {
  Topology t;
  t.group_begin.push_back(0);
  for (const auto& fg : sys.fleet) t.group_begin.push_back(t.group_begin.back() + fg.group.count);
  t.device_host.assign(static_cast<size_t>(t.devices()), -1);
  const Plan& plan = sys.plan;
  const bool network = plan.wire != WireFormat::none;

  // Could the backbone ever limit a flow? Only if every flow that can cross it at once may exceed it.
  double up_sum = 0, down_sum = 0;
  for (const auto& fg : sys.fleet) {
    const auto& g = fg.group;
    double n = static_cast<double>(g.cell_size > 0 ? cells_of(g) : g.count);
    up_sum += n * fg.link.uplink.value;
    down_sum += n * fg.link.downlink.value;
    t.uplink_capacity += n * fg.link.uplink.value;
  }
  t.backbone_may_bind = up_sum > sys.backbone.uplink.value || down_sum > sys.backbone.downlink.value;
  const bool backbone_may_bind = t.backbone_may_bind;

  // A cloud-only stream sends one token per server iteration. On a private link the tokens never overlap
  // when the shortest possible iteration outlasts a token's transfer; then each is a closed-form transfer.
  if (!full && network && plan.wire == WireFormat::token_ids) {
    const auto& pd = sys.scenario.workload.prompt_tokens;
    int64_t min_prompt = pd.kind == "fixed" ? pd.value : pd.min;
    double min_iteration = cost.server_step(1, static_cast<double>(min_prompt + 1));
    for (size_t g = 0; g < sys.fleet.size(); ++g) {
      if (sys.fleet[g].group.cell_size > 0) continue;
      double token = cost.transfer_down(g, cost.downlink_bytes()) - sys.fleet[g].link.latency.value -
                     sys.backbone.latency.value;
      if (backbone_may_bind || token > min_iteration) {
        full = true;
        t.mode_reason = fmt::format(
            "full: cloud-only tokens of group {} may overlap on its private link (backbone may bind: {}), so "
            "closed-form transfers are not provably exact",
            sys.fleet[g].group.name, backbone_may_bind);
        break;
      }
    }
  }
  // Devices computing on the server's shared cores (server.shared_cores) contend for them: every edge step is
  // a SimGrid exec on the server's multi-core host, which needs an actor per device (full mode).
  // Private links that fade independently cannot share the one FATPIPE link per group that fast mode puts in
  // front of a simulated backbone: each needs its own rate.
  for (const auto& fg : sys.fleet)
    if (!full && network && backbone_may_bind && fg.group.cell_size == 0 && fg.link.trace &&
        fg.group.trace_phase != "aligned") {
      full = true;
      t.mode_reason = fmt::format("full: group {}'s private links follow their trace at their own phases in front of a "
                                  "backbone that may bind (fast mode shares one access link per group there)",
                                  fg.group.name);
    }
  t.server_cores = std::max<int64_t>(1, sys.scenario.server.shared_cores);
  if (sys.scenario.server.shared_cores > 0 && !full) {
    full = true;
    t.mode_reason = fmt::format("full: the devices compute on the server's {} shared core(s) (server.shared_cores)",
                                t.server_cores);
  }
  t.full = full;
  // SimGrid 3.32 bounds a transfer's rate when it starts: one begun during an outage would never finish.
  if (full)
    for (const auto& fg : sys.fleet)
      if (fg.link.trace && fg.link.trace->goes_down())
        throw InputError(fmt::format(
            "{}: edge link {}: expected a link that stays up in full mode ({}), got one that goes down (its trace {} "
            "has zero rates); fast mode carries transfers across outages",
            sys.scenario.origin, fg.link.name, t.mode_reason.empty() ? "--full-simgrid" : t.mode_reason,
            std::filesystem::path(fg.link.trace->path).filename().string()));

  int32_t bb_up = -1, bb_down = -1;
  t.backbone_simulated = network && (full || backbone_may_bind);
  if (t.backbone_simulated) {
    bb_up = add_link(t, "backbone-up", sys.backbone.uplink.value, sys.backbone.latency.value);
    bb_down = add_link(t, "backbone-down", sys.backbone.downlink.value, sys.backbone.latency.value);
    add_host(t, "server", {bb_down}, {bb_up});
  } else {
    add_host(t, "server", {}, {});
  }
  if (t.mode_reason.empty())
    t.mode_reason = fmt::format("{}: backbone {}", full ? "full" : "fast",
                                !network ? "unused (no network traffic)"
                                : t.backbone_simulated
                                    ? (backbone_may_bind ? "simulated (the access links together can exceed it)"
                                                         : "simulated (full mode)")
                                    : "in closed form (the access links together never exceed it)");
  if (sys.scenario.server.shared_cores > 0 && sys.server.measured && sys.server.measured->memory.read_all > 0) {
    const auto& mem = sys.server.measured->memory;
    // A latency far below any step (CM02 weighs flows by their route latency, which must not be zero).
    // One stream is capped at one thread's bandwidth by a FATPIPE link (every flow gets all of it); together
    // they share the bus.
    const int32_t cap = add_link(t, "memory-stream", mem.read_single, 1e-12, true);
    const int32_t bus = add_link(t, "memory-bus", mem.read_all, 1e-12);
    t.memory_src = add_host(t, "memory-src", {cap, bus}, {});
    t.memory_dst = add_host(t, "memory-dst", {}, {});
    t.memory_single = mem.read_single;
  }
  // The backbone's latency rides on the access hop when the backbone itself is not a link.
  const double fold = t.backbone_simulated ? 0.0 : sys.backbone.latency.value;

  int64_t cells_before = 0;  // fleet-wide index of the group's first cell
  for (size_t gi = 0; gi < sys.fleet.size(); cells_before += cells_of(sys.fleet[gi].group), ++gi) {
    const auto& fg = sys.fleet[gi];
    const auto& g = fg.group;
    const double up_bw = fg.link.uplink.value, down_bw = fg.link.downlink.value, lat = fg.link.latency.value;
    const int64_t first = t.group_begin[gi];
    // The group's access links follow its link's trace, each at its own phase (key: as trace_phase).
    auto traced = [&](int32_t up_link, int32_t down_link, int64_t key) {
      const double phase = trace_phase(sys, gi, key);
      for (auto [id, up] : {std::pair{up_link, true}, std::pair{down_link, false}}) {
        t.links[static_cast<size_t>(id)].trace = fg.link.trace.get();
        t.links[static_cast<size_t>(id)].uplink = up;
        t.links[static_cast<size_t>(id)].phase = phase;
      }
    };
    // Star routes: a device's links to the centre, then the server's (the backbone, when simulated).
    auto route = [](std::vector<int32_t> up, std::vector<int32_t> down) { return std::make_pair(up, down); };
    if (g.cell_size > 0) {
      for (int64_t c = 0; c < cells_of(g); ++c) {
        std::string base = fmt::format("{}-cell{}", g.name, c);
        int32_t lu = add_link(t, base + "-up", up_bw, lat + fold), ld = add_link(t, base + "-down", down_bw, lat + fold);
        traced(lu, ld, -1 - (cells_before + c));
        auto [up, down] = route({lu}, {ld});
        int64_t lo = first + c * g.cell_size, hi = std::min(first + g.count, lo + g.cell_size);
        if (full) {
          for (int64_t d = lo; d < hi; ++d)
            t.device_host[static_cast<size_t>(d)] = add_host(t, fmt::format("dev{}", d), up, down);
        } else {
          int32_t h = add_host(t, base, up, down);
          for (int64_t d = lo; d < hi; ++d) t.device_host[static_cast<size_t>(d)] = h;
        }
      }
    } else if (full) {
      for (int64_t d = first; d < first + g.count; ++d) {
        int32_t lu = add_link(t, fmt::format("dev{}-up", d), up_bw, lat);
        int32_t ld = add_link(t, fmt::format("dev{}-down", d), down_bw, lat);
        traced(lu, ld, d);
        auto [up, down] = route({lu}, {ld});
        t.device_host[static_cast<size_t>(d)] = add_host(t, fmt::format("dev{}", d), up, down);
      }
    } else if (t.backbone_simulated) {
      int32_t lu = add_link(t, g.name + "-access-up", up_bw, lat, true);
      int32_t ld = add_link(t, g.name + "-access-down", down_bw, lat, true);
      traced(lu, ld, 0);  // aligned (random phases take full mode above)
      auto [up, down] = route({lu}, {ld});
      int32_t h = add_host(t, g.name + "-gateway", up, down);
      for (int64_t d = first; d < first + g.count; ++d) t.device_host[static_cast<size_t>(d)] = h;
    }
    // else: private links, backbone never binds -> closed form (device_host stays -1)
  }
  return t;
}

std::string Topology::to_xml(const std::string& title) const {
  std::string x = "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                  "<platform version=\"4.1\">\n";
  x += fmt::format("  <!-- {} -->\n  <!-- {}; compute hosts run at 1 flop/s so that an exec of x flops lasts x s;"
                   " devices not listed transfer in closed form -->\n",
                   title, mode_reason);
  x += "  <zone id=\"splitsim\" routing=\"Full\">\n";
  for (size_t i = 0; i < hosts.size(); ++i)
    x += fmt::format("    <host id=\"{}\" speed=\"1f\"{}/>\n", hosts[i].name,
                     i == 0 && server_cores > 1 ? fmt::format(" core=\"{}\"", server_cores) : "");
  for (const auto& l : links)
    x += fmt::format("    <link id=\"{}\" bandwidth=\"{:.17g}Bps\" latency=\"{:.17g}s\" sharing_policy=\"{}\"/>\n",
                     l.name, l.bandwidth, l.latency, l.fatpipe ? "FATPIPE" : "SHARED");
  const auto& srv = hosts.front();
  for (size_t i = 1; i < hosts.size(); ++i) {
    const auto& h = hosts[i];
    if (static_cast<int32_t>(i) == memory_dst) continue;
    if (static_cast<int32_t>(i) == memory_src) {  // the memory bus: between its own two hosts only
      x += fmt::format("    <route src=\"{}\" dst=\"{}\" symmetrical=\"NO\">", h.name, hosts[static_cast<size_t>(memory_dst)].name);
      for (auto l : h.to_center) x += fmt::format("<link_ctn id=\"{}\"/>", links[static_cast<size_t>(l)].name);
      x += "</route>\n";
      continue;
    }
    auto emit = [&](const std::string& src, const std::string& dst, const std::vector<int32_t>& a,
                    const std::vector<int32_t>& b) {
      x += fmt::format("    <route src=\"{}\" dst=\"{}\" symmetrical=\"NO\">", src, dst);
      for (auto l : a) x += fmt::format("<link_ctn id=\"{}\"/>", links[static_cast<size_t>(l)].name);
      for (auto l : b) x += fmt::format("<link_ctn id=\"{}\"/>", links[static_cast<size_t>(l)].name);
      x += "</route>\n";
    };
    emit(h.name, srv.name, h.to_center, srv.from_center);
    emit(srv.name, h.name, srv.to_center, h.from_center);
  }
  x += "  </zone>\n</platform>\n";
  return x;
}

}  // namespace splitsim
