#include "ringkv/version.h"

namespace ringkv::client {

const char* LibraryVersion() { return RINGKV_VERSION_STRING; }

}  // namespace ringkv::client
