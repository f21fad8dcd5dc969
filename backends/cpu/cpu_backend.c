/* The CPU backend plugin: compile (slots, aliasing, arena plan, kernel choice)
 * and run. */
#include "cpu.h"
#include "cpu_conv_pool.h"
#include "cpu_mbconv.h"

#include "inferd_error.h"
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CPU_MAX_THREADS 256

/* --- open / close ------------------------------------------------------- */

static int option_int(const char *key, const char *s, int lo, int hi, int *out, char *err,
                      size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        snprintf(err, errlen, "cpu: option %s=%s: expected an integer from %d to %d", key, s, lo,
                 hi);
        return INFERD_E_BAD_CONFIG;
    }
    *out = (int)v;
    return 0;
}

/* enum cpu_wino_mode from its name, or -1. */
static int wino_mode_parse(const char *s)
{
    static const char *const modes[] = { "auto", "off", "on" };
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, modes[i]) == 0) return i;
    return -1;
}

static int cpu_open(const struct inferd_kv *opts, struct inferd_backend **out, char *err,
                    size_t errlen)
{
    struct cpu_backend *be = calloc(1, sizeof(*be));
    if (!be) return -ENOMEM;
    be->threads = 1;
    be->isa = cpu_isa_default();
    /* like INFERD_CPU_ISA, so the zoo tests can run each variant */
    const char *wm = getenv("INFERD_CPU_WINOGRAD");
    be->winograd = wm && wino_mode_parse(wm) >= 0 ? wino_mode_parse(wm) : CPU_WINO_AUTO;
    for (const struct inferd_kv *kv = opts; kv && kv->key; kv++) {
        int rc = 0;
        if (strcmp(kv->key, "threads") == 0) {
            rc = option_int(kv->key, kv->value, 1, CPU_MAX_THREADS, &be->threads, err, errlen);
        } else if (strcmp(kv->key, "isa") == 0) {
            int isa = cpu_isa_parse(kv->value);
            if (isa < 0) {
                snprintf(err, errlen, "cpu: option isa=%s: expected generic, avx2 or avx512",
                         kv->value);
                rc = INFERD_E_BAD_CONFIG;
            } else if (isa > cpu_isa_detect()) {
                snprintf(err, errlen, "cpu: option isa=%s: this CPU supports up to %s", kv->value,
                         cpu_isa_name(cpu_isa_detect()));
                rc = INFERD_E_BAD_CONFIG;
            } else {
                be->isa = isa;
            }
        } else if (strcmp(kv->key, "winograd") == 0) {
            be->winograd = wino_mode_parse(kv->value);
            if (be->winograd < 0) {
                snprintf(err, errlen, "cpu: option winograd=%s: expected auto, off or on",
                         kv->value);
                rc = INFERD_E_BAD_CONFIG;
            }
        } else {
            snprintf(err, errlen, "cpu: unknown option '%s' (known: threads, isa, winograd)",
                     kv->key);
            rc = INFERD_E_BAD_CONFIG;
        }
        if (rc < 0) {
            free(be);
            return rc;
        }
    }
    *out = (struct inferd_backend *)be;
    return 0;
}

static void cpu_close(struct inferd_backend *b)
{
    free(b);
}

/* --- release ------------------------------------------------------------ */

static void cpu_release(struct inferd_model *mm)
{
    struct cpu_model *m = (struct cpu_model *)mm;
    if (!m) return;
    for (int i = 0; i < m->nsteps; i++) {
        struct cpu_step *s = &m->steps[i];
        free(s->name);
        free(s->op_type);
        free(s->params);
        free(s->in);
        free(s->out);
        if (s->kdata_free) s->kdata_free(s->kdata);
    }
    free(m->steps);
    if (m->slots)
        for (int i = 0; i < m->nslots; i++) ir_free(m->slots[i].data);
    free(m->slots);
    if (m->inst)
        for (int i = 0; i < m->ninstances; i++) {
            ir_free(m->inst[i].arena);
            ir_free(m->inst[i].scratch);
            cpu_pool_destroy(m->inst[i].pool);
            free(m->inst[i].ptr);
            free(m->inst[i].tin);
            free(m->inst[i].tout);
        }
    free(m->inst);
    free(m->inputs);
    free(m->outputs);
    free(m);
}

/* --- compile ------------------------------------------------------------ */

void cpu_step_tensors(const struct cpu_model *m, const struct cpu_step *s, void *const *ptr,
                      struct ir_tensor *tin, struct ir_tensor *tout)
{
    for (int k = 0; k < s->nin; k++) {
        struct ir_tensor *t = &tin[k];
        if (s->in[k] < 0) {
            memset(t, 0, sizeof(*t));
            continue;
        }
        const struct cpu_slot *sl = &m->slots[s->in[k]];
        t->dtype = sl->dtype;
        t->ndim = sl->ndim;
        memcpy(t->dims, sl->dims, sizeof(t->dims));
        t->nbytes = sl->nbytes;
        t->data = ptr[s->in[k]];
    }
    for (int k = 0; k < s->nout; k++) {
        struct ir_tensor *t = &tout[k];
        if (s->out[k] < 0) {
            memset(t, 0, sizeof(*t));
            continue;
        }
        const struct cpu_slot *sl = &m->slots[s->out[k]];
        t->dtype = sl->dtype;
        t->ndim = sl->ndim;
        memcpy(t->dims, sl->dims, sizeof(t->dims));
        t->nbytes = sl->nbytes;
        t->data = ptr[s->out[k]];
    }
}

/* Runs the op's reference kernel, then the fused activation. */
static int step_run_reference(const struct cpu_model *m, const struct cpu_step *s,
                              struct cpu_exec *x)
{
    cpu_step_tensors(m, s, x->ptr, x->tin, x->tout);
    int rc = s->op->eval(s->params, x->tin, s->nin, x->tout, s->nout);
    if (rc < 0) return rc;
    if ((s->act.kind != IR_ACT_NONE || s->act.sum > 0) && x->tout[0].dtype == IR_DT_F32)
        ir_act_apply_sum(&s->act, x->tout[0].data,
                         s->act.sum > 0 && s->act.sum < s->nin ? x->tin[s->act.sum].data : NULL,
                         x->tout[0].nbytes / sizeof(float));
    return 0;
}

/* Slots: one per IR value; constants taken over from the graph. */
static int slots_build(struct cpu_model *m, struct ir_graph *g)
{
    m->nslots = g->nvalues;
    m->slots = calloc((size_t)g->nvalues + 1, sizeof(*m->slots));
    if (!m->slots) return -ENOMEM;
    for (int v = 0; v < g->nvalues; v++) {
        struct ir_value *val = &g->values[v];
        struct cpu_slot *sl = &m->slots[v];
        sl->dtype = val->dtype;
        sl->ndim = val->shape.ndim;
        memcpy(sl->dims, val->shape.dims, sizeof(sl->dims));
        int64_t numel = ir_shape_numel(&val->shape);
        sl->nbytes = numel > 0 ? (size_t)numel * ir_dtype_size(val->dtype) : 0;
        sl->root = v;
        sl->input_index = -1;
        if (val->flags & IR_VALUE_CONST) {
            sl->kind = CPU_SLOT_CONST;
            sl->data = ir_value_data_take(g, v);
            if (!sl->data && sl->nbytes) return INFERD_E_INTERNAL;
        } else if (val->flags & IR_VALUE_INPUT) {
            sl->kind = CPU_SLOT_INPUT;
        } else {
            sl->kind = CPU_SLOT_ARENA;
        }
    }
    for (int i = 0; i < g->ninputs; i++)
        if (m->slots[g->inputs[i]].kind == CPU_SLOT_INPUT) m->slots[g->inputs[i]].input_index = i;
    return 0;
}

/* A Concat along an axis with nothing but size-1 dims before it (channels,
 * at batch 1) lays its inputs end to end: each input becomes a slice of the
 * output, which its producer writes straight into, and the Concat does
 * nothing at run time (googlenet's inception blocks, squeezenet's fire
 * modules, shufflenet's units copied every branch output once more). Only
 * when every input is an activation of its own (not an alias, an input or a
 * constant), written by a kernel, used once by this Concat, and each slice
 * starts on a 64-byte boundary; else the Concat copies as before. Runs
 * before the in-place aliasing, which then keeps away from the slices. */
static void concat_elide(struct cpu_model *m, const struct ir_graph *g, const int *producer,
                         int *root_last)
{
    for (int i = 0; i < g->nnodes; i++) {
        const struct ir_node *nd = &g->nodes[i];
        struct cpu_step *st = &m->steps[i];
        if (strcmp(nd->op_type, "Concat") != 0 || !st->run || nd->nout < 1 || nd->nin < 1) continue;
        const int o = nd->out[0];
        if (o < 0 || m->slots[o].kind != CPU_SLOT_ARENA || m->slots[o].root != o) continue;
        const struct cpu_slot *os = &m->slots[o];
        /* the axis: the first dim where input 0 falls short of the output */
        const int v0 = nd->in[0];
        if (v0 < 0 || m->slots[v0].ndim != os->ndim) continue;
        int axis = 0;
        while (axis < os->ndim && m->slots[v0].dims[axis] == os->dims[axis]) axis++;
        if (axis == os->ndim) axis = 0;
        int64_t outer = 1;
        for (int d = 0; d < axis; d++) outer *= os->dims[d];
        if (outer != 1) continue;
        bool ok = true;
        size_t at = 0;
        for (int k = 0; k < nd->nin && ok; k++) {
            const int v = nd->in[k];
            const struct cpu_slot *vs = v >= 0 ? &m->slots[v] : NULL;
            ok = vs && vs->kind == CPU_SLOT_ARENA && vs->root == v && !vs->slice &&
                 vs->dtype == os->dtype && vs->nbytes > 0 && at % 64 == 0 && producer[v] >= 0 &&
                 producer[v] < i && m->steps[producer[v]].run;
            for (int j = 0; j < k && ok; j++)
                if (nd->in[j] == v) ok = false;
            at += vs ? vs->nbytes : 0;
        }
        if (!ok || at != os->nbytes) continue;
        at = 0;
        for (int k = 0; k < nd->nin; k++) {
            struct cpu_slot *vs = &m->slots[nd->in[k]];
            vs->kind = CPU_SLOT_ALIAS;
            vs->root = o;
            vs->offset = at;
            vs->slice = true;
            at += vs->nbytes;
            if (root_last[nd->in[k]] > root_last[o]) root_last[o] = root_last[nd->in[k]];
        }
        st->run = NULL;
        st->elided = true;
        st->kernel = "concat_in_place";
    }
}

/* Decides which outputs share storage with an input (Reshape-like ops and
 * in-place element-wise ops), then plans the arena for the remaining roots. */
static int storage_plan(struct cpu_model *m, const struct ir_graph *g, char *err, size_t errlen)
{
    int rc = 0;
    int n = g->nnodes;
    int *last_read = malloc(sizeof(int) * ((size_t)m->nslots + 1));
    int *root_last = malloc(sizeof(int) * ((size_t)m->nslots + 1));
    int *first_write = malloc(sizeof(int) * ((size_t)m->nslots + 1));
    struct ir_plan_buf *bufs = malloc(sizeof(*bufs) * ((size_t)m->nslots + 1));
    int *buf_slot = malloc(sizeof(int) * ((size_t)m->nslots + 1));
    if (!last_read || !root_last || !first_write || !bufs || !buf_slot) {
        rc = -ENOMEM;
        goto out;
    }
    for (int s = 0; s < m->nslots; s++) {
        last_read[s] = -1;
        first_write[s] = -1;
    }
    for (int i = 0; i < n; i++) {
        const struct ir_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->nin; k++)
            if (nd->in[k] >= 0) last_read[nd->in[k]] = i;
    }
    for (int i = 0; i < g->noutputs; i++) last_read[g->outputs[i]] = n; /* read after the run */
    for (int s = 0; s < m->nslots; s++) root_last[s] = last_read[s];
    for (int s = 0; s < m->nslots; s++) first_write[s] = -1; /* the producers, for a moment */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].nout; k++)
            if (g->nodes[i].out[k] >= 0 && first_write[g->nodes[i].out[k]] < 0)
                first_write[g->nodes[i].out[k]] = i;
    concat_elide(m, g, first_write, root_last);
    for (int s = 0; s < m->nslots; s++) first_write[s] = -1;

    for (int i = 0; i < n; i++) {
        const struct ir_node *nd = &g->nodes[i];
        const struct cpu_step *st = &m->steps[i];
        if (nd->nout < 1 || nd->out[0] < 0 || nd->nin < 1 || st->in[0] < 0) continue;
        /* st->in[0]: a kernel may have swapped the inputs of a commutative op. */
        int out = nd->out[0], r = m->slots[st->in[0]].root;
        if (st->elided || m->slots[out].slice) continue;
        bool alias = st->run == NULL; /* alias steps have no kernel */
        bool inplace = false;
        if (!alias && m->slots[r].kind == CPU_SLOT_ARENA && root_last[r] <= i &&
            m->slots[r].nbytes == m->slots[out].nbytes &&
            m->slots[r].dtype == m->slots[out].dtype &&
            (st->inplace || ((nd->op->flags & IR_OP_INPLACE) && st->run == step_run_reference)))
            inplace = true;
        if (!alias && !inplace) continue;
        m->slots[out].kind = CPU_SLOT_ALIAS;
        m->slots[out].root = r;
        if (root_last[out] > root_last[r]) root_last[r] = root_last[out];
    }
    /* An alias read later keeps its root alive. */
    for (int s = 0; s < m->nslots; s++) {
        int r = m->slots[s].root;
        if (last_read[s] > root_last[r]) root_last[r] = last_read[s];
    }
    for (int i = 0; i < n; i++) {
        const struct ir_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->nout; k++) {
            int s = nd->out[k];
            if (s < 0) continue;
            int r = m->slots[s].root;
            if (first_write[r] < 0) first_write[r] = i;
        }
    }
    int nbufs = 0;
    for (int s = 0; s < m->nslots; s++) {
        if (m->slots[s].kind != CPU_SLOT_ARENA) continue;
        if (first_write[s] < 0) continue; /* never written: unused value */
        bufs[nbufs].size = m->slots[s].nbytes;
        bufs[nbufs].first = first_write[s];
        bufs[nbufs].last = root_last[s] < first_write[s] ? first_write[s] : root_last[s];
        buf_slot[nbufs++] = s;
    }
    size_t arena = ir_plan_arena(bufs, nbufs, 64);
    if (arena == (size_t)-1) {
        rc = -ENOMEM;
        goto out;
    }
    for (int b = 0; b < nbufs; b++) m->slots[buf_slot[b]].offset = bufs[b].offset;
    m->arena_size = arena;
out:
    free(last_read);
    free(root_last);
    free(first_write);
    free(bufs);
    free(buf_slot);
    if (rc == -ENOMEM) snprintf(err, errlen, "%s: out of memory planning activations", g->path);
    return rc;
}

/* Node i's producer of input 0, or -1. */
static int producer_of(const struct ir_graph *g, int i)
{
    const int v = g->nodes[i].nin > 0 ? g->nodes[i].in[0] : -1;
    if (v < 0) return -1;
    for (int j = 0; j < i; j++)
        if (!g->nodes[j].dead && g->nodes[j].nout > 0 && g->nodes[j].out[0] == v) return j;
    return -1;
}

/* fused[j] = i where node j runs inside step i: an expansion inside the
 * depthwise layer reading it (cpu_mbconv_small.c, cpu_mbconv.c), a first
 * convolution inside the max pooling or depthwise layer reading it
 * (cpu_conv_pool.c); -1 elsewhere. */
static int *fusions_find(const struct cpu_model *m, const struct ir_graph *g)
{
    int *fused = malloc(sizeof(int) * ((size_t)g->nnodes + 1));
    if (!fused) return NULL;
    for (int i = 0; i < g->nnodes; i++) fused[i] = -1;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        const int j = producer_of(g, i);
        /* j must not be a step that runs another node itself: one pair a
         * step */
        bool taken = false;
        for (int k = 0; j >= 0 && k < j && !taken; k++) taken = fused[k] == j;
        if (j >= 0 && fused[j] < 0 && !taken &&
            (cpu_mbconv_small_fits(m, g, &g->nodes[j], &g->nodes[i]) ||
             cpu_mbconv_fits(m, g, &g->nodes[j], &g->nodes[i]) ||
             cpu_conv_pool_fits(m, g, &g->nodes[j], &g->nodes[i])))
            fused[j] = i;
    }
    return fused;
}

static int steps_fill(struct cpu_model *m, struct ir_graph *g, const int *fused, char *err,
                      size_t errlen)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        struct cpu_step *s = &m->steps[i];
        s->name = strdup(n->name);
        s->op_type = strdup(n->op_type);
        s->in = malloc(sizeof(int) * (size_t)(n->nin + 1));
        s->out = malloc(sizeof(int) * (size_t)(n->nout + 1));
        if (!s->name || !s->op_type || !s->in || !s->out) return -ENOMEM;
        memcpy(s->in, n->in, sizeof(int) * (size_t)n->nin);
        memcpy(s->out, n->out, sizeof(int) * (size_t)n->nout);
        s->nin = n->nin;
        s->nout = n->nout;
        s->op = n->op;
        s->act = n->act;
        if (n->nin > m->max_io) m->max_io = n->nin;
        if (n->nout > m->max_io) m->max_io = n->nout;

        if (fused[i] >= 0) {
            /* a node a later step runs: no work, its output never stored */
            s->kernel = "fused";
            s->elided = true;
            continue; /* its params stay with the node for that step's prepare */
        }
        const int a = producer_of(g, i);
        if (a >= 0 && fused[a] == i) {
            struct ir_node *na = &g->nodes[a];
            /* as fusions_find chose, in its order */
            int rc = cpu_mbconv_small_fits(m, g, na, n) ? cpu_mbconv_small_prepare(m, s, g, na, n)
                     : cpu_mbconv_fits(m, g, na, n)     ? cpu_mbconv_prepare(m, s, g, na, n)
                                                        : cpu_conv_pool_prepare(m, s, g, na, n);
            if (rc < 0) return rc;
            /* the step and the arena plan read the expansion's input */
            s->in[0] = n->in[0] = na->in[0];
            m->steps[a].out[0] = na->out[0] = -1;
            continue;
        }
        int rc = cpu_kernel_choose(m, s, g, n, err, errlen);
        if (rc < 0) return rc;
        if (rc == 1) continue;
        s->params = n->params;
        n->params = NULL;
        if ((n->op->flags & IR_OP_ALIAS) && n->act.kind == IR_ACT_NONE && n->nin >= 1 &&
            n->in[0] >= 0 && n->out[0] >= 0) {
            bool extra = false; /* Dropout's mask wanted: run it */
            for (int k = 1; k < n->nout; k++)
                if (n->out[k] >= 0) extra = true;
            if (!extra) {
                s->kernel = "alias";
                continue; /* run stays NULL: no work at run time */
            }
        }
        if (!n->op->eval)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "the cpu backend has no kernel for %s", n->op_type);
        s->run = step_run_reference;
        s->kernel = "reference";
    }
    return 0;
}

static int steps_build(struct cpu_model *m, struct ir_graph *g, char *err, size_t errlen)
{
    m->nsteps = g->nnodes;
    m->steps = calloc((size_t)g->nnodes + 1, sizeof(*m->steps));
    if (!m->steps) return -ENOMEM;
    int *fused = fusions_find(m, g);
    if (!fused) return -ENOMEM;
    int rc = steps_fill(m, g, fused, err, errlen);
    free(fused);
    return rc;
}

static int instances_create(struct cpu_model *m, int ninstances)
{
    m->inst = calloc((size_t)ninstances, sizeof(*m->inst));
    if (!m->inst) return -ENOMEM;
    m->ninstances = ninstances;
    for (int i = 0; i < ninstances; i++) {
        struct cpu_instance *in = &m->inst[i];
        in->arena = ir_alloc(m->arena_size);
        /* the tasks' private slices, then the shared buffer */
        m->task_scratch_size = (m->task_scratch_size + 63) / 64 * 64;
        in->scratch = ir_alloc(m->task_scratch_size * (size_t)m->be->threads + m->scratch_size);
        in->ptr = calloc((size_t)m->nslots + 1, sizeof(void *));
        in->tin = calloc((size_t)m->max_io + 1, sizeof(struct ir_tensor));
        in->tout = calloc((size_t)m->max_io + 1, sizeof(struct ir_tensor));
        if (!in->arena || !in->scratch || !in->ptr || !in->tin || !in->tout) return -ENOMEM;
        if (m->poison) {
            /* NaN everywhere a kernel may read before it writes: the tests
             * catch one that relies on memory being zero, as fresh memory
             * is, or on what an earlier layer left there */
            memset(in->arena, 0xff, m->arena_size);
            memset(in->scratch, 0xff,
                   m->task_scratch_size * (size_t)m->be->threads + m->scratch_size);
        }
        int rc = cpu_pool_create(m->be->threads, &in->pool);
        if (rc < 0) return rc;
        /* Arena and constant pointers never change: fill them once. */
        for (int s = 0; s < m->nslots; s++) {
            const struct cpu_slot *r = &m->slots[m->slots[s].root];
            const size_t into = m->slots[s].kind == CPU_SLOT_ALIAS ? m->slots[s].offset : 0;
            if (r->kind == CPU_SLOT_ARENA) in->ptr[s] = (char *)in->arena + r->offset + into;
            if (r->kind == CPU_SLOT_CONST) in->ptr[s] = r->data;
        }
    }
    return 0;
}

static int cpu_compile(struct inferd_backend *b, struct ir_graph *g, int ninstances,
                       const struct inferd_kv *opts, struct inferd_model **out, char *err,
                       size_t errlen)
{
    struct cpu_model *m = calloc(1, sizeof(*m));
    if (!m) return -ENOMEM;
    m->be = (struct cpu_backend *)b;
    int rc = 0;
    if (ninstances < 1 || ninstances > 1024) {
        snprintf(err, errlen, "cpu: %d instances requested (1 to 1024)", ninstances);
        rc = INFERD_E_BAD_CONFIG;
        goto fail;
    }
    for (const struct inferd_kv *kv = opts; kv && kv->key; kv++) {
        if (strcmp(kv->key, "profile") == 0) {
            m->profile = strcmp(kv->value, "0") != 0;
        } else if (strcmp(kv->key, "poison") == 0) {
            m->poison = strcmp(kv->value, "0") != 0;
        } else {
            snprintf(err, errlen, "cpu: unknown model option '%s' (known: profile, poison)",
                     kv->key);
            rc = INFERD_E_BAD_CONFIG;
            goto fail;
        }
    }
    if ((rc = slots_build(m, g)) < 0) goto fail;
    if ((rc = steps_build(m, g, err, errlen)) < 0) goto fail;
    if ((rc = storage_plan(m, g, err, errlen)) < 0) goto fail;
    m->ninputs = g->ninputs;
    m->noutputs = g->noutputs;
    m->inputs = malloc(sizeof(int) * ((size_t)g->ninputs + 1));
    m->outputs = malloc(sizeof(int) * ((size_t)g->noutputs + 1));
    if (!m->inputs || !m->outputs) {
        rc = -ENOMEM;
        goto fail;
    }
    memcpy(m->inputs, g->inputs, sizeof(int) * (size_t)g->ninputs);
    memcpy(m->outputs, g->outputs, sizeof(int) * (size_t)g->noutputs);
    if ((rc = instances_create(m, ninstances)) < 0) goto fail;
    *out = (struct inferd_model *)m;
    return 0;
fail:
    if (rc == -ENOMEM) snprintf(err, errlen, "%s: out of memory compiling for cpu", g->path);
    cpu_release((struct inferd_model *)m);
    return rc;
}

/* --- run ---------------------------------------------------------------- */

static int tensor_check(const char *what, int k, const struct ir_tensor *t,
                        const struct cpu_slot *sl, char *err, size_t errlen)
{
    bool same = t->dtype == sl->dtype && t->ndim == sl->ndim;
    for (int d = 0; same && d < sl->ndim; d++) same = t->dims[d] == sl->dims[d];
    if (!same) {
        char want[160], got[160];
        struct ir_shape ws = { .ndim = sl->ndim }, gs = { .ndim = t->ndim };
        memcpy(ws.dims, sl->dims, sizeof(ws.dims));
        if (t->ndim >= 0 && t->ndim <= IR_MAX_DIMS)
            memcpy(gs.dims, t->dims, sizeof(gs.dims));
        else
            gs.ndim = 0;
        snprintf(err, errlen, "%s %d: got %s %s, the model was compiled for %s %s", what, k,
                 ir_dtype_name(t->dtype), ir_shape_str(&gs, got, sizeof(got)),
                 ir_dtype_name(sl->dtype), ir_shape_str(&ws, want, sizeof(want)));
        return INFERD_E_BAD_INPUT;
    }
    if (!t->data || t->nbytes < sl->nbytes) {
        snprintf(err, errlen, "%s %d: buffer of %zu bytes, %zu needed", what, k, t->nbytes,
                 sl->nbytes);
        return INFERD_E_BAD_INPUT;
    }
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cpu_run(struct inferd_model *mm, int instance, const struct ir_tensor *in, size_t nin,
                   struct ir_tensor *out, size_t nout, char *err, size_t errlen)
{
    struct cpu_model *m = (struct cpu_model *)mm;
    if (instance < 0 || instance >= m->ninstances) {
        snprintf(err, errlen, "instance %d out of range (model has %d)", instance, m->ninstances);
        return -EINVAL;
    }
    if (nin != (size_t)m->ninputs || nout != (size_t)m->noutputs) {
        snprintf(err, errlen, "got %zu inputs and %zu outputs, the model has %d and %d", nin, nout,
                 m->ninputs, m->noutputs);
        return INFERD_E_BAD_INPUT;
    }
    struct cpu_instance *ins = &m->inst[instance];
    int rc;
    for (int k = 0; k < m->ninputs; k++)
        if ((rc = tensor_check("input", k, &in[k], &m->slots[m->inputs[k]], err, errlen)) < 0)
            return rc;
    for (int k = 0; k < m->noutputs; k++)
        if ((rc = tensor_check("output", k, &out[k], &m->slots[m->outputs[k]], err, errlen)) < 0)
            return rc;
    for (int s = 0; s < m->nslots; s++) {
        const struct cpu_slot *r = &m->slots[m->slots[s].root];
        if (r->kind == CPU_SLOT_INPUT && r->input_index >= 0) ins->ptr[s] = in[r->input_index].data;
    }
    struct cpu_exec x = {
        .ptr = ins->ptr,
        .tin = ins->tin,
        .tout = ins->tout,
        .scratch = (char *)ins->scratch + m->task_scratch_size * (size_t)m->be->threads,
        .pool = ins->pool,
        .task_scratch = ins->scratch,
        .task_stride = m->task_scratch_size,
    };
    cpu_pool_begin(ins->pool);
    for (int i = 0; i < m->nsteps; i++) {
        struct cpu_step *s = &m->steps[i];
        if (!s->run) continue;
        uint64_t t0 = m->profile ? now_ns() : 0;
        rc = s->run(m, s, &x);
        if (rc < 0) {
            cpu_pool_end(ins->pool);
            snprintf(err, errlen, "node '%s' (%s): kernel %s failed: %s", s->name, s->op_type,
                     s->kernel, inferd_strerror(rc));
            return INFERD_E_BACKEND_FAILED;
        }
        if (m->profile) {
            __atomic_fetch_add(&s->prof_ns, now_ns() - t0, __ATOMIC_RELAXED);
            __atomic_fetch_add(&s->prof_calls, 1, __ATOMIC_RELAXED);
        }
    }
    cpu_pool_end(ins->pool);
    for (int k = 0; k < m->noutputs; k++) {
        const struct cpu_slot *sl = &m->slots[m->outputs[k]];
        memcpy(out[k].data, ins->ptr[m->outputs[k]], sl->nbytes);
    }
    return 0;
}

static int cpu_profile_get(struct inferd_model *mm, struct inferd_profile_row *rows, size_t max)
{
    struct cpu_model *m = (struct cpu_model *)mm;
    size_t n = 0;
    for (int i = 0; i < m->nsteps && n < max; i++) {
        const struct cpu_step *s = &m->steps[i];
        if (!s->run) continue;
        rows[n].node = s->name;
        rows[n].op_type = s->op_type;
        rows[n].kernel = s->kernel;
        rows[n].total_us = (double)__atomic_load_n(&s->prof_ns, __ATOMIC_RELAXED) / 1000.0;
        rows[n].calls = __atomic_load_n(&s->prof_calls, __ATOMIC_RELAXED);
        n++;
    }
    return (int)n;
}

static const struct inferd_backend_api cpu_api = {
    .abi = INFERD_BACKEND_ABI,
    .size = sizeof(struct inferd_backend_api),
    .name = "cpu",
    .description = "CPU: packed SGEMM, Winograd and SIMD kernels (generic, AVX2, AVX-512)",
    .open = cpu_open,
    .compile = cpu_compile,
    .run = cpu_run,
    .release = cpu_release,
    .close = cpu_close,
    .profile_get = cpu_profile_get,
};

__attribute__((visibility("default"))) const struct inferd_backend_api *inferd_backend_v1(void);

const struct inferd_backend_api *inferd_backend_v1(void)
{
    return &cpu_api;
}
