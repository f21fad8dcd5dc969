#include "plan.h"

#include <stdint.h>
#include <stdlib.h>

static int by_size_desc(const void *a, const void *b, void *ctx)
{
    const struct ir_plan_buf *bufs = ctx;
    int ia = *(const int *)a, ib = *(const int *)b;
    if (bufs[ia].size != bufs[ib].size) return bufs[ia].size < bufs[ib].size ? 1 : -1;
    return ia - ib; /* stable: keeps plans reproducible */
}

static int by_offset(const void *a, const void *b, void *ctx)
{
    const struct ir_plan_buf *bufs = ctx;
    int ia = *(const int *)a, ib = *(const int *)b;
    if (bufs[ia].offset != bufs[ib].offset) return bufs[ia].offset < bufs[ib].offset ? -1 : 1;
    return ia - ib;
}

size_t ir_plan_arena(struct ir_plan_buf *bufs, int n, size_t align)
{
    if (n <= 0) return 0;
    int *order = malloc(sizeof(int) * (size_t)n);
    int *placed = malloc(sizeof(int) * (size_t)n); /* placed buffers, sorted by offset */
    int *live = malloc(sizeof(int) * (size_t)n);
    if (!order || !placed || !live) {
        free(order);
        free(placed);
        free(live);
        return (size_t)-1;
    }
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof(int), by_size_desc, bufs);

    size_t arena = 0;
    int nplaced = 0;
    for (int oi = 0; oi < n; oi++) {
        struct ir_plan_buf *b = &bufs[order[oi]];
        size_t need = (b->size + align - 1) & ~(align - 1);
        /* Buffers already placed that are alive while b is, by offset. */
        int nlive = 0;
        for (int p = 0; p < nplaced; p++) {
            const struct ir_plan_buf *o = &bufs[placed[p]];
            if (o->first <= b->last && b->first <= o->last) live[nlive++] = placed[p];
        }
        size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
        for (int p = 0; p < nlive; p++) {
            const struct ir_plan_buf *o = &bufs[live[p]];
            if (o->offset >= cursor) {
                size_t gap = o->offset - cursor;
                if (gap >= need && gap < best_gap) {
                    best = cursor;
                    best_gap = gap;
                }
            }
            size_t end = o->offset + ((o->size + align - 1) & ~(align - 1));
            if (end > cursor) cursor = end;
        }
        b->offset = best != SIZE_MAX ? best : cursor;
        if (b->offset + need > arena) arena = b->offset + need;
        /* Insert into placed, keeping it sorted by offset. */
        placed[nplaced++] = order[oi];
        qsort_r(placed, (size_t)nplaced, sizeof(int), by_offset, bufs);
    }
    free(order);
    free(placed);
    free(live);
    return arena;
}
