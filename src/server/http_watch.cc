// GET /v1/watch/<key>[?prefix][&from_version=N] (server/http_api.h): a watch of the client
// library (it follows the shards' leaders and resumes by itself after a leader change or a
// restart, without a gap or a repeat) whose updates go out as Server-Sent Events:
//   event: created   data: {"shard", "start_version"}            one per shard
//   event: put|delete id: <shard>:<version>  data: the event (http_json.h EventJson)
//   event: progress  data: {"shard", "version"}                   idle shards, every second
//   event: error     data: {"code", "message", "shard", "resume_version"}   then the end
// Events of keys the principal may not read are dropped, as the client port drops them. A
// client that does not read its stream is cut off once the HTTP server holds
// max_stream_buffer_bytes for it (an EventSource reconnects: a one-key watch resumes after
// its Last-Event-ID). The stream holds no admission ticket once it is open.
#include <charconv>

#include "http/stream_writer.h"
#include "server/http_api_core.h"
#include "server/http_json.h"

namespace ringkv::server {

using nlohmann::json;

namespace {

std::optional<uint64_t> ParseVersion(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// One Server-Sent Event.
std::string Sse(const std::string& event, const json& data, const std::string& id = "") {
  std::string out;
  if (!id.empty()) out += "id: " + id + "\n";
  out += "event: " + event + "\ndata: " + data.dump() + "\n\n";
  return out;
}

std::string ErrorEvent(const Status& st, uint32_t shard, uint64_t resume_version) {
  return Sse("error", json{{"code", std::string(StatusCodeName(st.code()))},
                           {"message", std::string(st.message())},
                           {"shard", shard},
                           {"resume_version", resume_version}});
}

}  // namespace

void HandleWatch(const HttpCorePtr& core, const http::HttpRequest& req, http::Responder done) {
  const std::string key = req.path.substr(sizeof(kWatchPrefix) - 1);
  client::WatchOptions wo;
  wo.prefix = req.HasParam("prefix");
  if (key.empty()) {
    return done(ErrorResponse(
        core, Status::InvalidArgument("GET /v1/watch/<key> needs a key (or a non-empty prefix)")));
  }
  if (req.HasParam("from_version")) {
    std::optional<uint64_t> v = ParseVersion(req.Param("from_version"));
    if (!v) return done(ErrorResponse(core, Status::InvalidArgument("?from_version must be a number")));
    wo.from_version = *v;
  }
  // A reconnecting EventSource of a one-key watch resumes after the last event it saw (one key
  // lives on one shard, so its version alone is a position).
  if (auto last = req.headers.find("last-event-id"); last != req.headers.end() && !wo.prefix) {
    const size_t colon = last->second.find(':');
    std::optional<uint64_t> v =
        ParseVersion(colon == std::string::npos ? last->second : last->second.substr(colon + 1));
    if (v) wo.from_version = *v + 1;
  }
  kvpb::Request as;
  as.mutable_watch()->set_key(key);
  if (wo.prefix) {
    // A prefix of only 0xff bytes has no end: every key from it on.
    const std::string end = PrefixEnd(key);
    as.mutable_watch()->set_range_end(end.empty() ? std::string(1, '\0') : end);
  }
  as.mutable_watch()->set_start_version(wo.from_version);
  std::optional<AdmittedRequest> a = Admit(core, req, as, std::move(done));
  if (!a) return;
  client::Client* c = a->client;
  // The stream holds no ticket: answering (with the stream's head) returns it.
  a->done(http::HttpResponse::Stream(
      "text/event-stream",
      [core, c, key, wo, p = a->principal](std::shared_ptr<http::StreamWriter> writer) {
        writer->Write("retry: 1000\n\n");
        auto handle = c->Watch(
            key, wo,
            [core, writer, p](const client::WatchUpdate& u) {
              std::string out;
              if (u.created) {
                out += Sse("created", json{{"shard", u.shard}, {"start_version", u.start_version}});
              }
              for (const client::WatchEvent& e : u.events) {
                if (!MayRead(core, p, e.key)) continue;
                out += Sse(e.type == client::WatchEvent::Type::kPut ? "put" : "delete",
                           EventJson(e), std::to_string(e.shard) + ":" + std::to_string(e.version));
              }
              if (u.events.empty() && u.progress_version != 0) {
                out += Sse("progress", json{{"shard", u.shard}, {"version", u.progress_version}});
              }
              // The client does not read: the server's buffer for it is full. End the stream;
              // it reconnects (EventSource does) from its last event id.
              if (!out.empty() && !writer->Write(std::move(out))) writer->Close();
            },
            [writer](const client::WatchEnd& end) {
              writer->Write(ErrorEvent(end.status, end.shard, end.resume_version));
              writer->Close();
            });
        if (!handle.ok()) {
          writer->Write(ErrorEvent(handle.status(), 0, 0));
          writer->Close();
          return;
        }
        std::shared_ptr<client::WatchHandle> h = std::move(*handle);
        {
          std::lock_guard<std::mutex> l(core->mu);
          core->watches.insert(h);
        }
        std::weak_ptr<HttpApi::Core> weak = core;
        writer->OnClose([weak, h] {
          h->Cancel();
          if (auto core = weak.lock()) {
            std::lock_guard<std::mutex> l(core->mu);
            core->watches.erase(h);
          }
        });
      }));
}

}  // namespace ringkv::server
