// SdNotify: systemd's readiness protocol (sd_notify(3)) for a Type=notify unit — one datagram
// "READY=1" (or "STOPPING=1", "STATUS=...") to the unix socket named by $NOTIFY_SOCKET. Written
// out here (a dozen lines) rather than linking libsystemd: the protocol is stable and tiny.
//
// Thread-safety: pure function of the environment; safe from any thread.
#ifndef RINGKV_SERVER_SD_NOTIFY_H_
#define RINGKV_SERVER_SD_NOTIFY_H_

#include <string>

namespace ringkv::server {

// Sends `state` (e.g. "READY=1\nSTATUS=serving") when $NOTIFY_SOCKET is set. Returns false when
// it is set but sending failed (the caller logs); true otherwise (also when not under systemd).
bool SdNotify(const std::string& state);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_SD_NOTIFY_H_
