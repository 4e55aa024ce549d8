// Status lives in the public header <ringkv/status.h> (common/include/ringkv/status.h): the
// client library's API returns it, so it is installed with the library. This header keeps the
// include path every module uses.
#ifndef RINGKV_COMMON_STATUS_H_
#define RINGKV_COMMON_STATUS_H_

#include "ringkv/status.h"  // IWYU pragma: export

#endif  // RINGKV_COMMON_STATUS_H_
