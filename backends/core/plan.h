/* Activation memory planning: one arena per model instance, with offsets
 * chosen so that tensors alive at the same time never overlap. */
#ifndef INFERD_PLAN_H
#define INFERD_PLAN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ir_plan_buf {
    size_t size;   /* bytes */
    int first;     /* step that writes it first */
    int last;      /* last step that reads it (>= first) */
    size_t offset; /* out: offset in the arena */
};

/* Greedy by size (largest first, each at the lowest offset that fits between
 * the buffers already placed whose lifetimes overlap it), the strategy
 * TFLite's arena planner uses. Offsets are multiples of align (a power of two).
 * Returns the arena size in bytes, or (size_t)-1 on allocation failure. */
size_t ir_plan_arena(struct ir_plan_buf *bufs, int n, size_t align);

#ifdef __cplusplus
}
#endif
#endif
