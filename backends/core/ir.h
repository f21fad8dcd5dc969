/* Model IR: a graph of nodes over tensor values, every shape static after load.
 *
 * Values and nodes live in growable arrays and refer to each other by index
 * (never by pointer), so passes can append without invalidating anything.
 * Constant values (initializers, Constant nodes, folded results) carry their
 * data in one 64-byte-aligned heap block each; a backend's compile() may take
 * such a block over (ir_value_data_take) instead of copying it.
 *
 * The layout of these structs is part of the backend ABI (inferd_backend.h):
 * change it and bump INFERD_BACKEND_ABI. */
#ifndef INFERD_IR_H
#define INFERD_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Numbered as ONNX TensorProto.DataType, so import needs no table. */
enum ir_dtype {
    IR_DT_UNDEFINED = 0,
    IR_DT_F32 = 1,
    IR_DT_U8 = 2,
    IR_DT_I8 = 3,
    IR_DT_U16 = 4,
    IR_DT_I16 = 5,
    IR_DT_I32 = 6,
    IR_DT_I64 = 7,
    IR_DT_STRING = 8,
    IR_DT_BOOL = 9,
    IR_DT_F16 = 10,
    IR_DT_F64 = 11,
    IR_DT_U32 = 12,
    IR_DT_U64 = 13,
};

/* Bytes per element; 0 for types the IR cannot hold (strings, complex). */
size_t ir_dtype_size(int dtype);
/* "float32", "int64", ...; "dtype(N)" style names are not returned: unknown is "unknown". */
const char *ir_dtype_name(int dtype);

#define IR_MAX_DIMS 8

struct ir_shape {
    int ndim;
    int64_t dims[IR_MAX_DIMS];
};

/* A tensor in memory: what kernels read and write, and what crosses run(). */
struct ir_tensor {
    int dtype; /* enum ir_dtype; IR_DT_UNDEFINED marks an absent optional input */
    int ndim;
    int64_t dims[IR_MAX_DIMS];
    void *data;
    size_t nbytes;
};

enum ir_value_flags {
    IR_VALUE_INPUT = 1u << 0,  /* graph input, fed at run time */
    IR_VALUE_OUTPUT = 1u << 1, /* graph output */
    IR_VALUE_CONST = 1u << 2,  /* data known at load (initializer, Constant, folded) */
};

struct ir_value {
    char *name;
    int dtype;
    struct ir_shape shape;
    bool shape_known;
    uint32_t flags;
    void *data;     /* CONST values: ir_alloc'd block of nbytes, else NULL */
    size_t nbytes;  /* bytes of data for CONST values */
    int producer;   /* index of the producing node, -1 for inputs and constants */
    int nconsumers; /* node inputs reading this value (ir_graph_uses_count) */
};

enum ir_attr_type {
    IR_ATTR_UNDEFINED = 0,
    IR_ATTR_FLOAT = 1,
    IR_ATTR_INT = 2,
    IR_ATTR_STRING = 3,
    IR_ATTR_TENSOR = 4,
    IR_ATTR_GRAPH = 5,
    IR_ATTR_FLOATS = 6,
    IR_ATTR_INTS = 7,
    IR_ATTR_STRINGS = 8,
};

struct ir_attr {
    char *name;
    int type; /* enum ir_attr_type */
    int64_t i;
    float f;
    char *s;             /* STRING (NUL-terminated; ONNX strings are UTF-8) */
    int64_t *ints;       /* INTS */
    float *floats;       /* FLOATS */
    int n;               /* number of ints / floats / strings */
    char **strings;      /* STRINGS */
    struct ir_tensor *t; /* TENSOR: data in an ir_alloc'd block */
};

/* An activation folded into the node that produces its input; backends apply
 * it to the node's first output. A residual Add folded into a Conv (Conv ->
 * Add(other) [-> activation]) leaves `sum` set: output 0 is then
 * act(node's result + input[sum]), input[sum] having output 0's shape and
 * dtype (float32). Only Conv nodes carry a sum, as their input 3. */
enum ir_act_kind {
    IR_ACT_NONE = 0,
    IR_ACT_RELU,
    IR_ACT_CLIP,       /* min(max(x, a), b) */
    IR_ACT_LEAKY_RELU, /* x < 0 ? a * x : x */
    IR_ACT_SIGMOID,
    IR_ACT_HARD_SIGMOID, /* max(0, min(1, a * x + b)) */
    IR_ACT_HARD_SWISH,   /* x * max(0, min(1, x / 6 + 1 / 2)) */
    IR_ACT_TANH,
    IR_ACT_SILU, /* x * sigmoid(x): Sigmoid -> Mul(x, .), as EfficientNet exports it */
};

struct ir_act {
    int kind; /* enum ir_act_kind */
    float a, b;
    int sum; /* > 0: index of the node input added before the activation; 0: none */
};

struct ir_op;

struct ir_node {
    char *name;             /* never NULL: import names unnamed nodes "<op>_<index>" */
    char *op_type;          /* ONNX op_type, e.g. "Conv" */
    const struct ir_op *op; /* registry entry, set by ir_graph_infer */
    int opset;              /* opset of the default domain in force */
    int nin;
    int *in; /* value indices; -1 = optional input left out */
    int nout;
    int *out;
    int nattr;
    struct ir_attr *attrs;
    void *params;      /* op's parsed attributes (one malloc'd block, free()d with the
                        * node); written by the op's infer, read by its eval */
    struct ir_act act; /* fused activation */
    bool dead;         /* removed by a pass; skipped by everything after */
};

struct ir_limits {
    int64_t max_elements;   /* per tensor; 0 = IR_DEFAULT_MAX_ELEMENTS */
    int64_t max_fold_bytes; /* constant folding output cap; 0 = default */
};

#define IR_DEFAULT_MAX_ELEMENTS   (INT64_C(1) << 28) /* 1 GiB of float32 */
#define IR_DEFAULT_MAX_FOLD_BYTES (INT64_C(64) << 20)

struct ir_graph {
    char *path; /* model file, for messages ("model.onnx: node ...") */
    char *name;
    int64_t opset; /* default-domain opset */
    struct ir_value *values;
    int nvalues, cap_values;
    struct ir_node *nodes; /* topologically sorted after ir_graph_sort */
    int nnodes, cap_nodes;
    int *inputs; /* runtime graph inputs (not initializers), in graph order */
    int ninputs;
    int *outputs;
    int noutputs;
    struct ir_limits limits;
    /* Set when inference failed because this runtime input (a value index)
     * must be constant (a Resize's scales fed at run time, say); -1 otherwise.
     * A host that knows the input's value can load again with it frozen. */
    int const_wanted;
};

/* --- memory ----------------------------------------------------------- */

/* 64-byte aligned, zeroed; free with ir_free (which is free()). NULL on failure
 * or on a size of 0 rounded up to 64. */
void *ir_alloc(size_t nbytes);
void ir_free(void *p);

/* --- graph building ----------------------------------------------------- */

struct ir_graph *ir_graph_new(const char *path);
/* Accepts NULL and half-built graphs. */
void ir_graph_free(struct ir_graph *g);

/* Appends a value; returns its index or a negative error. name is copied. */
int ir_graph_value_add(struct ir_graph *g, const char *name, int dtype);
/* Appends a node with room for nin inputs and nout outputs (filled with -1).
 * Returns its index or a negative error. Strings are copied. */
int ir_graph_node_add(struct ir_graph *g, const char *name, const char *op_type, int nin, int nout);
/* Frees what node n owns (strings, arrays, attributes, params), not n itself. */
void ir_node_release(struct ir_node *n);
/* Index of the value named name, or -1. Linear; importers keep their own map. */
int ir_graph_value_find(const struct ir_graph *g, const char *name);

/* Makes value v a constant holding data (taken over: must come from ir_alloc). */
void ir_value_set_const(struct ir_graph *g, int v, const struct ir_shape *shape, void *data,
                        size_t nbytes);
/* Hands the constant block of value v to the caller (who frees it with ir_free)
 * and leaves the value without data. Backends use this to avoid a copy. */
void *ir_value_data_take(struct ir_graph *g, int v);

/* A tensor view of value v (data NULL unless constant). */
void ir_value_tensor(const struct ir_graph *g, int v, struct ir_tensor *t);

/* --- shapes ----------------------------------------------------------- */

/* Element count, or -1 when a dim is negative or the product overflows int64. */
int64_t ir_shape_numel(const struct ir_shape *s);
/* "[1,3,224,224]" into buf; returns buf. */
char *ir_shape_str(const struct ir_shape *s, char *buf, size_t len);
bool ir_shape_equal(const struct ir_shape *a, const struct ir_shape *b);
int64_t ir_tensor_numel(const struct ir_tensor *t);

/* --- analysis and passes (graph.c, passes.c) ---------------------------- */

/* Orders nodes so every input is produced before use; fails naming a node on a
 * cycle, and fails on an input that nothing produces. */
int ir_graph_sort(struct ir_graph *g, char *err, size_t errlen);
/* Looks up every node's op, infers dtypes and shapes in order, and folds nodes
 * whose inputs are all constant (so shape arithmetic disappears). */
int ir_graph_infer(struct ir_graph *g, char *err, size_t errlen);
/* Identity/Dropout removal, BatchNorm into Conv, activation fusion, dead-node
 * removal. Expects ir_graph_infer to have run. */
int ir_graph_optimize(struct ir_graph *g, char *err, size_t errlen);
/* Recounts value consumers (ir_value.nconsumers) over live nodes. */
void ir_graph_uses_count(struct ir_graph *g);
/* Drops dead nodes and values no live node, input or output refers to,
 * renumbering indices. */
int ir_graph_compact(struct ir_graph *g);

/* --- attributes --------------------------------------------------------- */

const struct ir_attr *ir_node_attr(const struct ir_node *n, const char *name);
int64_t ir_node_attr_int(const struct ir_node *n, const char *name, int64_t def);
float ir_node_attr_float(const struct ir_node *n, const char *name, float def);
/* NULL when absent. */
const char *ir_node_attr_string(const struct ir_node *n, const char *name);
/* Number of ints (0 when absent), and a pointer to them through *ints. */
int ir_node_attr_ints(const struct ir_node *n, const char *name, const int64_t **ints);
int ir_node_attr_floats(const struct ir_node *n, const char *name, const float **floats);

/* Appends an attribute to node `node` (name copied, type set, rest zeroed) for
 * the caller to fill; NULL on allocation failure. Arrays the caller stores in
 * it must be malloc'd (tensor data ir_alloc'd): the node frees them. */
struct ir_attr *ir_node_attr_add(struct ir_graph *g, int node, const char *name, int type);
int ir_node_attr_set_int(struct ir_graph *g, int node, const char *name, int64_t v);
int ir_node_attr_set_float(struct ir_graph *g, int node, const char *name, float v);
int ir_node_attr_set_string(struct ir_graph *g, int node, const char *name, const char *v);
int ir_node_attr_set_ints(struct ir_graph *g, int node, const char *name, const int64_t *v, int n);
int ir_node_attr_set_floats(struct ir_graph *g, int node, const char *name, const float *v, int n);

/* --- messages ----------------------------------------------------------- */

/* Writes "PATH: node 'NAME' (OP): MESSAGE" into err. Returns code, so a caller
 * can `return ir_node_error(...)`. */
int ir_node_error(const struct ir_graph *g, const struct ir_node *n, int code, char *err,
                  size_t errlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Writes "PATH: MESSAGE" into err and returns code. */
int ir_graph_error(const struct ir_graph *g, int code, char *err, size_t errlen, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

/* Applies a fused activation in place over n floats (act->sum is not read). */
void ir_act_apply(const struct ir_act *act, float *x, size_t n);
/* The whole fused epilogue: x[i] = act(x[i] + sum[i]) when sum is not NULL,
 * else ir_act_apply. The reference every fast epilogue is checked against. */
void ir_act_apply_sum(const struct ir_act *act, float *x, const float *sum, size_t n);
/* Reads an activation node (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid,
 * HardSwish, Clip with constant bounds) as a fused activation; false when n is
 * not one (passes.c). */
bool ir_act_read(const struct ir_graph *g, const struct ir_node *n, struct ir_act *act);

#ifdef __cplusplus
}
#endif
#endif
