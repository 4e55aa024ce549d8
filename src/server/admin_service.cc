#include "server/admin_service.h"

#include <glog/logging.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <nlohmann/json.hpp>

#include "metrics/metrics.h"
#include "net/io_thread.h"
#include "server/cluster_view.h"
#include "server/health.h"
#include "server/node_metrics.h"
#include "server/peer_metrics.h"
#include "server/remote_status.h"
#include "server/status_page.h"
#include "store/store.h"

namespace ringkv::server {
namespace asio = boost::asio;

using StatusCallback = std::function<void(std::optional<kvpb::NodeStatus>)>;

struct AdminService::Core : std::enable_shared_from_this<AdminService::Core> {
  explicit Core(AdminServiceOptions o) : options(std::move(o)) {}

  // The node's own status from the store's loop, decorated; nullopt when the loop did not
  // answer within `timeout`. `done` runs once, on this service's io thread.
  void LocalStatus(std::chrono::milliseconds timeout, StatusCallback done);
  // The local status plus every other live member's, merged; `done` gets the local status
  // too (nullopt when the loop did not answer).
  void ClusterStatus(std::function<void(std::optional<kvpb::NodeStatus>, ClusterView)> done);

  void Livez(http::Responder respond);
  void Readyz(const http::HttpRequest& req, http::Responder respond, const std::string& what);
  void Metrics(http::Responder respond);
  void Status(const http::HttpRequest& req, http::Responder respond);

  const AdminServiceOptions options;
  net::IoThread io{"ringkv-admin"};
  metrics::CollectorHandle collector;
  std::mutex mu;
  // The status the last /metrics scrape fetched; the collector reads it. Guarded by mu.
  std::optional<kvpb::NodeStatus> scraped;
};

namespace {

// Calls the wrapped function once; later calls are dropped.
template <typename Fn>
struct Once {
  explicit Once(Fn f) : fn(std::move(f)) {}
  template <typename... Args>
  void operator()(Args&&... args) {
    if (!called.exchange(true)) fn(std::forward<Args>(args)...);
  }
  Fn fn;
  std::atomic<bool> called{false};
};

}  // namespace

void AdminService::Core::LocalStatus(std::chrono::milliseconds timeout, StatusCallback done) {
  auto once = std::make_shared<Once<StatusCallback>>(std::move(done));
  auto timer = std::make_shared<asio::steady_timer>(io.io());
  timer->expires_after(timeout);
  timer->async_wait([once, timer](const boost::system::error_code& ec) {
    if (!ec) (*once)(std::nullopt);
  });
  kvpb::Request req;
  req.mutable_status();
  std::weak_ptr<Core> weak = weak_from_this();
  // The reply runs on the store's loop: hop to our thread before doing anything else, so the
  // loop only pays for a post. A reply after this service is gone is dropped.
  options.store->HandleRequest(std::move(req), [weak, once, timer](kvpb::Response resp) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->io.io(), [self, once, timer, resp = std::move(resp)]() mutable {
      timer->cancel();
      if (!resp.has_status()) return (*once)(std::nullopt);
      kvpb::NodeStatus st = std::move(*resp.mutable_status());
      if (self->options.decorate_status) self->options.decorate_status(&st);
      (*once)(std::move(st));
    });
  });
}

void AdminService::Core::ClusterStatus(
    std::function<void(std::optional<kvpb::NodeStatus>, ClusterView)> done) {
  auto self = shared_from_this();
  LocalStatus(options.livez_timeout, [self, done](std::optional<kvpb::NodeStatus> local) {
    // Who else to ask: live members other than this node, by client address.
    std::vector<std::string> others;
    if (local) {
      for (int i = 0; i < local->member_ids_size(); ++i) {
        if (local->member_ids(i) == self->options.self.value()) continue;
        const std::string state = i < local->member_states_size() ? local->member_states(i) : "";
        if (state == "dead" || state == "left") continue;
        if (i < local->member_client_addresses_size() && !local->member_client_addresses(i).empty()) {
          others.push_back(local->member_client_addresses(i));
        }
      }
    }
    struct Gather {
      std::vector<NodeAnswer> answers;
      size_t pending = 0;
    };
    auto g = std::make_shared<Gather>();
    NodeAnswer mine;
    mine.endpoint = local ? local->client_address() : "";
    if (local) mine.status = *local;
    else mine.error = "this node's store loop did not answer";
    g->answers.push_back(mine);
    g->pending = others.size();
    auto finish = [self, g, done, local] { done(local, BuildClusterView(g->answers)); };
    if (others.empty()) return finish();
    for (const auto& addr : others) {
      FetchNodeStatus(self->io.io(), addr, self->options.cluster_id, self->options.remote_timeout,
                      self->options.client_tls ? self->options.client_tls() : nullptr,
                      [g, addr, finish](Result<kvpb::NodeStatus> r) {
                        NodeAnswer a;
                        a.endpoint = addr;
                        if (r.ok()) a.status = std::move(r).value();
                        else a.error = std::string(r.status().message());
                        g->answers.push_back(std::move(a));
                        if (--g->pending == 0) finish();
                      });
    }
  });
}

void AdminService::Core::Livez(http::Responder respond) {
  // Alive = the store's loop turns (it answers a status request). No leader, no quorum or an
  // alarm never fail liveness: restarting the process would not fix them.
  LocalStatus(options.livez_timeout, [respond](std::optional<kvpb::NodeStatus> st) {
    if (st) return respond(http::HttpResponse::Text(200, "ok\n"));
    respond(http::HttpResponse::Text(
        503, "[-]loop failed: the store's event loop did not answer within the deadline\n"
             "livez check failed\n"));
  });
}

void AdminService::Core::Readyz(const http::HttpRequest& req, http::Responder respond,
                                const std::string& what) {
  auto self = shared_from_this();
  const bool verbose = req.HasParam("verbose");
  const std::vector<std::string> exclude = req.ParamList("exclude");
  LocalStatus(options.livez_timeout, [self, respond, verbose, exclude,
                                      what](std::optional<kvpb::NodeStatus> st) {
    ReadinessInputs in;
    in.status_answered = st.has_value();
    if (st) in.status = *st;
    const AdminServiceOptions& o = self->options;
    in.storage_error = o.storage_probe ? o.storage_probe() : "";
    if (o.gossip_joined) {
      std::tie(in.gossip_joined, in.gossip_detail) = o.gossip_joined();
    } else {
      in.gossip_joined = true;
      in.gossip_detail = "no gossip";
    }
    if (o.alarms) in.alarms = o.alarms();
    in.draining = o.draining && o.draining();
    HealthReport r = FormatHealth(RunReadinessChecks(in), verbose, exclude, what);
    respond(http::HttpResponse::Text(r.http_status, r.body));
  });
}

void AdminService::Core::Metrics(http::Responder respond) {
  auto self = shared_from_this();
  LocalStatus(options.livez_timeout, [self, respond](std::optional<kvpb::NodeStatus> st) {
    {
      std::lock_guard<std::mutex> lock(self->mu);
      self->scraped = std::move(st);
    }
    http::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics::Registry::Default().Render();
    respond(std::move(r));
  });
}

void AdminService::Core::Status(const http::HttpRequest& req, http::Responder respond) {
  auto self = shared_from_this();
  const bool local_only = req.HasParam("local");
  const int indent = req.HasParam("pretty") ? 2 : -1;
  auto render = [self, respond, indent](std::optional<kvpb::NodeStatus> local,
                                        std::optional<ClusterView> view) {
    using nlohmann::json;
    json node = {{"node_id", self->options.self.value()},
                 {"version", self->options.version},
                 {"ready_loop", local.has_value()}};
    if (local) {
      node["client_address"] = local->client_address();
      node["admin_address"] = local->admin_address();
      node["uptime_ms"] = local->uptime_ms();
      node["decommissioning"] = local->decommissioning();
      node["alarms"] = std::vector<std::string>(local->alarms().begin(), local->alarms().end());
      node["storage"] = {{"used_bytes", local->storage_used_bytes()},
                         {"quota_bytes", local->storage_quota_bytes()},
                         {"free_bytes", local->storage_free_bytes()}};
      json groups = json::array();
      for (const auto& g : local->groups()) {
        groups.push_back({{"shard_id", g.group_id()}, {"role", g.role()}, {"term", g.term()},
                          {"leader", g.leader()}, {"commit", g.commit()},
                          {"applied", g.applied()}, {"last_index", g.last_index()},
                          {"log_bytes", g.log_bytes()}, {"log_entry_bytes", g.log_entry_bytes()},
                          {"data_bytes", g.data_bytes()},
                          {"pending_proposals", g.pending_proposals()}});
      }
      node["local_shards"] = groups;
    }
    json out = {{"node", node}};
    if (view) {
      json cluster = json::parse(ClusterViewJson(*view));
      for (auto& [k, v] : cluster.items()) out[k] = v;
    }
    respond(http::HttpResponse::Json(200, out.dump(indent) + "\n"));
  };
  if (local_only) {
    return LocalStatus(options.livez_timeout, [render](std::optional<kvpb::NodeStatus> st) {
      render(std::move(st), std::nullopt);
    });
  }
  ClusterStatus([render](std::optional<kvpb::NodeStatus> local, ClusterView view) {
    render(std::move(local), std::move(view));
  });
}

AdminService::AdminService(AdminServiceOptions options)
    : core_(std::make_shared<Core>(std::move(options))) {
  core_->io.Start();
  std::weak_ptr<Core> weak = core_;
  core_->collector = metrics::Registry::Default().AddCollector([weak](metrics::Sink& out) {
    auto self = weak.lock();
    if (!self) return;
    const AdminServiceOptions& o = self->options;
    CollectStaticMetrics(o.version, o.alarms ? o.alarms() : std::vector<std::string>{}, out);
    if (o.peers) CollectPeerMetrics(o.peers(), out);
    std::optional<kvpb::NodeStatus> st;
    {
      std::lock_guard<std::mutex> lock(self->mu);
      st = self->scraped;
    }
    if (st) {
      CollectNodeMetrics(*st, o.members ? o.members() : std::vector<gossip::Member>{},
                         o.extensive_metrics, out);
    }
  });
}

AdminService::~AdminService() {
  core_->collector.Reset();
  core_->io.Stop();
}

void AdminService::Register(http::Router& router) {
  auto core = core_;
  router.Handle("GET", "/livez", [core](const http::HttpRequest&, http::Responder r) {
    core->Livez(std::move(r));
  });
  router.Handle("GET", "/readyz", [core](const http::HttpRequest& req, http::Responder r) {
    core->Readyz(req, std::move(r), "readyz");
  });
  // etcd's and Consul's habit; the same checks.
  router.Handle("GET", "/health", [core](const http::HttpRequest& req, http::Responder r) {
    core->Readyz(req, std::move(r), "health");
  });
  router.Handle("GET", "/metrics", [core](const http::HttpRequest&, http::Responder r) {
    core->Metrics(std::move(r));
  });
  router.Get("/version", [core](const http::HttpRequest&) {
    nlohmann::json v = {{"server_version", core->options.version},
                        {"api_version", kApiVersion},
                        {"node_id", core->options.self.value()},
                        {"cluster_id", core->options.cluster_id}};
    return http::HttpResponse::Json(200, v.dump() + "\n");
  });
  router.Handle("GET", "/status", [core](const http::HttpRequest& req, http::Responder r) {
    core->Status(req, std::move(r));
  });
  router.Get("/", [](const http::HttpRequest&) {
    return http::HttpResponse::Html(200, StatusPageHtml());
  });
}

}  // namespace ringkv::server
