// kpid_prefetch.h - a cache prefetch hint for the pure core's hash tables (Swift has no
// prefetch intrinsic). A hint only: it never faults and changes no result.
#ifndef KPID_PREFETCH_H
#define KPID_PREFETCH_H

/// Asks the CPU to bring the cache line at `p` into its caches for a coming read and write.
static inline void kpid_prefetch(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 1, 3);
#else
    (void)p;
#endif
}

#endif // KPID_PREFETCH_H
