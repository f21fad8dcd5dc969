/* Checks CPU-backend kernels against the reference kernels: a test builds a
 * small graph (runtime inputs, random constants), the harness evaluates it
 * node by node with the ops' eval functions, then optimizes a second copy,
 * compiles it on the CPU plugin at every instruction-set level this machine
 * has (isa=generic, avx2, avx512) and compares the outputs. It also checks
 * which kernels ran (the profile's kernel names) and how many steps the
 * passes left, so a fast path that silently falls back fails the test. */
#ifndef INFERD_CPU_CHECK_H
#define INFERD_CPU_CHECK_H

#include "ir.h"

#include <stdint.h>

/* Deterministic random numbers (a 64-bit LCG). */
struct cc_rng {
    uint64_t s;
};
uint32_t cc_u32(struct cc_rng *r);
/* Integer in [lo, hi]. */
int64_t cc_int(struct cc_rng *r, int64_t lo, int64_t hi);
/* Float in [lo, hi). */
float cc_float(struct cc_rng *r, float lo, float hi);

/* Graph building: values that are neither graph inputs nor outputs unless
 * marked, so the passes may fuse them. Every helper fails the test on error. */
struct ir_graph *cc_graph(void);
int cc_input(struct ir_graph *g, const char *name, int ndim, const int64_t *dims);
/* A float32 constant with values uniform in [lo, hi) from rng. */
int cc_const(struct ir_graph *g, struct cc_rng *rng, int ndim, const int64_t *dims, float lo,
             float hi);
int cc_const_data(struct ir_graph *g, int ndim, const int64_t *dims, const float *data);
/* A node with one output; returns the node index (its output: cc_out). */
int cc_node(struct ir_graph *g, const char *op_type, int nin, const int *in);
int cc_out(const struct ir_graph *g, int node);
void cc_output(struct ir_graph *g, int v);
void cc_attr_int(struct ir_graph *g, int node, const char *name, int64_t v);
void cc_attr_ints(struct ir_graph *g, int node, const char *name, const int64_t *v, int n);
void cc_attr_float(struct ir_graph *g, int node, const char *name, float v);

/* Builds the graph under test; the same seed must build the same graph. */
typedef void cc_build_fn(struct ir_graph *g, struct cc_rng *rng, const void *arg);

struct cc_expect {
    /* A kernel named "<kernel>", or "<kernel>..._<isa>", must run; NULL: not
     * checked. */
    const char *kernel;
    /* With more than one thread, this kernel instead of `kernel` (checked
     * the same way); NULL: `kernel` at every thread count. */
    const char *kernel_mt;
    int steps;       /* steps that run after the passes; 0: not checked */
    double tol;      /* |got - want| <= tol * (1 + |want|); 0: 2e-5 */
    unsigned levels; /* levels (1 << isa: generic 0, avx2 1, avx512 2) the kernel is
                      * expected at; 0: all */
};

/* Runs the check described above; `what` names the case in failures. */
void cc_check(const char *what, cc_build_fn *build, const void *arg, uint64_t seed,
              const struct cc_expect *expect);

/* Instruction-set levels the plugin accepted in the checks so far. */
int cc_levels_run(void);

#endif
