// Result<T> lives in the public header <ringkv/result.h> (common/include/ringkv/result.h): the
// client library's API returns it, so it is installed with the library. This header keeps the
// include path every module uses.
#ifndef RINGKV_COMMON_RESULT_H_
#define RINGKV_COMMON_RESULT_H_

#include "ringkv/result.h"  // IWYU pragma: export

#endif  // RINGKV_COMMON_RESULT_H_
