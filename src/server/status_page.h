// The status page served at the admin port's "/": one self-contained HTML document (inline CSS,
// inline SVG drawn by inline JavaScript, no external assets, no build step) that fetches
// /status and /readyz?verbose every 2 s and draws the ring (one arc per shard's token range,
// coloured by its leader's node), the nodes with their gossip state, the shard table and the
// readiness checks. It works without quorum: /status answers from whatever nodes answer.
//
// Thread-safety: returns a constant.
#ifndef RINGKV_SERVER_STATUS_PAGE_H_
#define RINGKV_SERVER_STATUS_PAGE_H_

namespace ringkv::server {

const char* StatusPageHtml();

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_STATUS_PAGE_H_
