/* Latency histograms and counters for health and stats. A histogram has
 * log-spaced buckets (about 4% apart) from 1 us to ~70 min, so percentiles
 * come out within a few percent in constant memory, updated from any thread
 * with relaxed atomics (one writer per bucket increment, readers tolerate a
 * torn snapshot across buckets). */
#ifndef INFERD_STATS_H
#define INFERD_STATS_H

#include <stdint.h>

#define INFERD_HIST_BUCKETS 576

struct inferd_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[INFERD_HIST_BUCKETS];
};

void inferd_hist_add(struct inferd_hist *h, uint64_t us);
/* Value (us) at quantile q in [0, 1]: the upper edge of its bucket, 0 when empty. */
uint64_t inferd_hist_quantile(const struct inferd_hist *h, double q);

/* Monotonic microseconds. */
uint64_t inferd_now_us(void);

#endif
