/* CPU backend internals: a compiled model is a list of steps over slots.
 *
 * Every IR value becomes a slot. A slot's bytes live in the instance's arena
 * (planned from lifetimes), in a constant block the model owns, in the
 * caller's input buffer, or in another slot's storage (aliases: Reshape-like
 * ops and in-place element-wise ops). Steps read and write slots through a
 * per-run pointer table, so the same compiled steps serve every instance. */
#ifndef INFERD_CPU_H
#define INFERD_CPU_H

#include "inferd_backend.h"
#include "cpu_isa.h"
#include "cpu_pool.h"
#include "ops.h"

#include <stdbool.h>
#include <stdint.h>

enum cpu_slot_kind {
    CPU_SLOT_ARENA = 0,
    CPU_SLOT_CONST,
    CPU_SLOT_INPUT,
    CPU_SLOT_ALIAS,
};

struct cpu_slot {
    int kind; /* enum cpu_slot_kind */
    int dtype;
    int ndim;
    int64_t dims[IR_MAX_DIMS];
    size_t nbytes;
    void *data;      /* CONST: ir_alloc'd, owned by the model */
    int input_index; /* INPUT: position in run()'s in[] */
    int root;        /* ALIAS: the slot whose storage this one uses; others: itself */
    size_t offset;   /* ARENA: offset in the instance arena; ALIAS: bytes into the root */
    bool slice;      /* ALIAS: a part of a Concat's output, written there by its producer */
};

struct cpu_step;
struct cpu_model;

/* What one instance hands a kernel: ptr[s] is slot s's storage for this run;
 * tin/tout hold at least max nin/nout entries; scratch is the instance's work
 * buffer of at least the model's scratch_size bytes, shared by the threads.
 * task_scratch + t * task_stride is task t's own (cpu_exec_task_scratch). */
struct cpu_exec {
    void *const *ptr;
    struct ir_tensor *tin, *tout;
    void *scratch;
    struct cpu_pool *pool; /* the instance's threads (cpu_pool.h) */
    char *task_scratch;
    size_t task_stride;
};

/* Task t's private work buffer, of the model's task_scratch_size bytes: the
 * same bytes for task t in every step, so that what one thread writes there
 * is never in the other core's cache when it writes again. A buffer whose
 * place moved with each step's own layout (task t at t times that step's
 * size) made a thread's writes fetch lines the other core had written in
 * the step before (a Winograd band in squeezenet: 200-250 us on the helper
 * against 135 on the caller). Tasks of a job are at most the pool's
 * threads. */
static inline void *cpu_exec_task_scratch(const struct cpu_exec *x, int task)
{
    return x->task_scratch + (size_t)task * x->task_stride;
}

typedef int (*cpu_kernel_fn)(const struct cpu_model *m, const struct cpu_step *s,
                             struct cpu_exec *x);

struct cpu_step {
    char *name;
    char *op_type;
    const char *kernel; /* static string naming the kernel chosen */
    const struct ir_op *op;
    void *params; /* the op's params, taken over from the node */
    struct ir_act act;
    int nin, nout;
    int *in, *out; /* slot indices; -1 = absent */
    cpu_kernel_fn run;
    /* Set by a kernel's prepare when it adds act.sum (a residual fused into a
     * Conv) itself; otherwise cpu_kernel_choose makes `run` a wrapper that
     * calls `inner` without the activation, then applies sum and activation. */
    bool fuses_sum;
    cpu_kernel_fn inner;
    /* Set by a kernel's prepare when it may write output 0 over input 0
     * (element by element, reading each input element before writing it):
     * the arena planner then lets them share storage, as for the reference
     * kernels of IR_OP_INPLACE ops. */
    bool inplace;
    /* A Concat whose inputs are written into its output by their producers
     * (cpu_backend.c, concat_elide): run is NULL, and it is no alias. */
    bool elided;
    void *kdata; /* kernel-prepared data (packed weights...) */
    void (*kdata_free)(void *);
    /* profile counters, summed over instances (atomics: instances run concurrently) */
    uint64_t prof_ns;
    uint64_t prof_calls;
};

/* Which 3x3 stride-1 convolutions run as Winograd (option winograd=). */
enum cpu_wino_mode {
    CPU_WINO_AUTO, /* where the cost model expects a clear gain */
    CPU_WINO_OFF,  /* never: the direct product's rounding, no transformed weights */
    CPU_WINO_ON,   /* wherever it fits (tests, tuning) */
};

struct cpu_backend {
    int threads;
    int isa;      /* enum cpu_isa: the kernel variants compile() chooses */
    int winograd; /* enum cpu_wino_mode */
};

struct cpu_instance {
    void *arena;
    void *scratch;
    struct cpu_pool *pool;
    void **ptr;
    struct ir_tensor *tin, *tout;
};

struct cpu_model {
    struct cpu_backend *be;
    struct cpu_slot *slots;
    int nslots;
    struct cpu_step *steps;
    int nsteps;
    int *inputs; /* slot of each runtime graph input */
    int ninputs;
    int *outputs; /* slot of each graph output */
    int noutputs;
    size_t arena_size;
    size_t scratch_size;      /* largest shared work buffer a kernel asked for */
    size_t task_scratch_size; /* largest private work buffer per task (64-byte multiple) */
    int max_io;               /* largest nin/nout over steps */
    bool profile;
    bool poison; /* option poison=1: arena and scratch filled with NaN (tests) */
    int ninstances;
    struct cpu_instance *inst;
};

/* Fills tensor views of a step's inputs and outputs from the pointer table. */
void cpu_step_tensors(const struct cpu_model *m, const struct cpu_step *s, void *const *ptr,
                      struct ir_tensor *tin, struct ir_tensor *tout);

/* Kernels (cpu_conv.c, cpu_gemm.c): prepare functions for cpu_kernel_choose. */
int cpu_conv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen);
int cpu_gemm_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen);
int cpu_matmul_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen);

/* Depthwise convolution, pooling, element-wise and data-movement kernels
 * (cpu_depthwise.c, cpu_depthwise_grouped.c, cpu_pool_ops.c, cpu_eltwise.c,
 * cpu_eltwise_layout.c). */
int cpu_depthwise_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                          const struct ir_node *n, char *err, size_t errlen);
int cpu_grouped_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                        const struct ir_node *n, char *err, size_t errlen);
/* A grouped convolution's weights [m][cg][taps] and bias (or NULL) in the
 * layout of cpu_vec.gconv: [group][block][cg][taps][ob] and [group][block][ob]
 * for blocks of ob output channels, zero past a group's last (ir_free both). */
int cpu_grouped_pack(int64_t m, int64_t group, int64_t cg, int64_t taps, int ob, const float *w,
                     const float *bias, float **wp, float **bp);
int cpu_gemv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen);
int cpu_pool_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen);
int cpu_reduce_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen);
int cpu_binary_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen);
int cpu_transpose_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                          const struct ir_node *n, char *err, size_t errlen);
int cpu_unary_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                      const struct ir_node *n, char *err, size_t errlen);

/* The fused epilogue for convolution kernels (cpu_eltwise.c), in the
 * instruction set `isa`: for each of `rows` rows of `len` floats (row r at
 * y + r * len, bias[r] when bias is not NULL),
 *     y[i] = act(y[i] + bias[r] + sum[i])
 * with sum (same layout as y, may be NULL) the residual input act->sum names.
 * y may be sum itself. Matches ir_act_apply_sum. */
void cpu_epilogue(int isa, float *y, const float *sum, const float *bias, int64_t rows, int64_t len,
                  const struct ir_act *act);

/* Kernel selection: gives a specialised kernel the chance to take a step.
 * Returns 1 when it did (s->run, s->kernel, s->kdata set), 0 to fall back to
 * the reference kernel, <0 on error. */
int cpu_kernel_choose(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                      const struct ir_node *n, char *err, size_t errlen);

#endif
