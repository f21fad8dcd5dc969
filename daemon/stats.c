#include "stats.h"

#include <math.h>
#include <time.h>

/* Bucket b holds values in (edge(b-1), edge(b)], edge(b) = 1.04^b us. */
static int bucket_of(uint64_t us)
{
    if (us <= 1) return 0;
    int b = (int)ceil(log((double)us) / log(1.04));
    if (b < 0) b = 0;
    if (b >= INFERD_HIST_BUCKETS) b = INFERD_HIST_BUCKETS - 1;
    return b;
}

void inferd_hist_add(struct inferd_hist *h, uint64_t us)
{
    __atomic_fetch_add(&h->buckets[bucket_of(us)], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

uint64_t inferd_hist_quantile(const struct inferd_hist *h, double q)
{
    uint64_t total = 0;
    for (int b = 0; b < INFERD_HIST_BUCKETS; b++)
        total += __atomic_load_n(&h->buckets[b], __ATOMIC_RELAXED);
    if (total == 0) return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)total);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < INFERD_HIST_BUCKETS; b++) {
        seen += __atomic_load_n(&h->buckets[b], __ATOMIC_RELAXED);
        if (seen >= rank) return (uint64_t)llround(pow(1.04, b));
    }
    return (uint64_t)llround(pow(1.04, INFERD_HIST_BUCKETS - 1));
}

uint64_t inferd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
