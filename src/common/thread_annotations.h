// Clang thread-safety annotations (no-ops on other compilers), as leveldb's port header.
#ifndef RINGKV_COMMON_THREAD_ANNOTATIONS_H_
#define RINGKV_COMMON_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define RINGKV_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define RINGKV_THREAD_ANNOTATION_(x)
#endif

#define GUARDED_BY(x) RINGKV_THREAD_ANNOTATION_(guarded_by(x))
#define PT_GUARDED_BY(x) RINGKV_THREAD_ANNOTATION_(pt_guarded_by(x))
#define REQUIRES(...) RINGKV_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) RINGKV_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) RINGKV_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define RELEASE(...) RINGKV_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define CAPABILITY(x) RINGKV_THREAD_ANNOTATION_(capability(x))
#define NO_THREAD_SAFETY_ANALYSIS RINGKV_THREAD_ANNOTATION_(no_thread_safety_analysis)

#endif  // RINGKV_COMMON_THREAD_ANNOTATIONS_H_
