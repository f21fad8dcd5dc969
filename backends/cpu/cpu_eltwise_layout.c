/* Transpose that keeps its trailing axes in place (ShuffleNet's channel
 * shuffle, [1,2,C/2,H,W] -> [1,C/2,2,H,W]): one memcpy per block of those
 * trailing axes instead of an element-by-element strided copy. Any dtype.
 * Permutations that move the last axis stay on the reference kernel. */
#include "cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tr_kernel {
    int nouter;                   /* leading output axes walked */
    int64_t odims[IR_MAX_DIMS];   /* their sizes */
    int64_t istride[IR_MAX_DIMS]; /* input byte stride along each of them */
    size_t block;                 /* bytes of one trailing block */
};

static int tr_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct tr_kernel *k = s->kdata;
    const char *in = x->ptr[s->in[0]];
    char *out = x->ptr[s->out[0]];
    int64_t idx[IR_MAX_DIMS] = { 0 }, off = 0;
    const int64_t nblocks = m->slots[s->out[0]].nbytes / k->block;
    (void)m;
    for (int64_t b = 0; b < nblocks; b++) {
        memcpy(out + (size_t)b * k->block, in + off, k->block);
        for (int d = k->nouter - 1; d >= 0; d--) {
            off += k->istride[d];
            if (++idx[d] < k->odims[d]) break;
            off -= k->istride[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}

int cpu_transpose_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                          const struct ir_node *n, char *err, size_t errlen)
{
    (void)m, (void)err, (void)errlen;
    if (n->nin != 1 || n->in[0] < 0 || n->out[0] < 0 || n->act.kind != IR_ACT_NONE) return 0;
    const struct ir_value *xv = &g->values[n->in[0]];
    const int nd = xv->shape.ndim;
    const size_t esize = ir_dtype_size(xv->dtype);
    if (nd < 1 || esize == 0 || ir_shape_numel(&xv->shape) < 1) return 0;
    int perm[IR_MAX_DIMS];
    const int64_t *attr = NULL;
    int count = ir_node_attr_ints(n, "perm", &attr);
    if (count != 0 && count != nd) return 0;
    for (int i = 0; i < nd; i++) perm[i] = count ? (int)attr[i] : nd - 1 - i;
    int keep = nd; /* trailing axes [keep, nd) stay in place */
    while (keep > 0 && perm[keep - 1] == keep - 1) keep--;
    if (keep == nd) return 0; /* the last axis moves */
    int64_t stride[IR_MAX_DIMS];
    int64_t st = (int64_t)esize;
    for (int i = nd - 1; i >= 0; i--) {
        stride[i] = st;
        st *= xv->shape.dims[i];
    }
    struct tr_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->nouter = keep;
    k->block = esize;
    for (int i = keep; i < nd; i++) k->block *= (size_t)xv->shape.dims[i];
    for (int i = 0; i < keep; i++) {
        if (perm[i] < 0 || perm[i] >= nd) {
            free(k);
            return 0;
        }
        k->odims[i] = xv->shape.dims[perm[i]];
        k->istride[i] = stride[perm[i]];
    }
    s->kernel = "transpose_blocks";
    s->kdata = k;
    s->kdata_free = free;
    s->run = tr_run;
    return 1;
}
