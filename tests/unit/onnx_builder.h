/* Builds small ONNX models in memory with the generated protobuf-c structs,
 * for import tests that need no files and no Python. Everything a builder
 * allocates is freed by mb_free. Allocation failures abort the test. */
#ifndef INFERD_ONNX_BUILDER_H
#define INFERD_ONNX_BUILDER_H

#include "onnx-subset.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define MB_MAX 64

struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[MB_MAX];
    Onnx__TensorProto *inits[MB_MAX];
    Onnx__ValueInfoProto *inputs[MB_MAX];
    Onnx__ValueInfoProto *outputs[MB_MAX];
    void **allocs;
    size_t nallocs, cap;
};

/* A model importing the default domain at opset (no opset_import when 0). */
void mb_init(struct mb *m, int64_t opset);
void mb_free(struct mb *m);
/* calloc tracked by m. */
void *mb_alloc(struct mb *m, size_t size);
char *mb_strdup(struct mb *m, const char *s);

/* A node; ins and outs are comma-separated names, an empty name (",w")
 * meaning an absent input. name may be NULL. */
Onnx__NodeProto *mb_node(struct mb *m, const char *op, const char *name, const char *ins,
                         const char *outs);
Onnx__AttributeProto *mb_attr(struct mb *m, Onnx__NodeProto *n, const char *name, int type);
void mb_attr_int(struct mb *m, Onnx__NodeProto *n, const char *name, int64_t v);
void mb_attr_float(struct mb *m, Onnx__NodeProto *n, const char *name, float v);
void mb_attr_string(struct mb *m, Onnx__NodeProto *n, const char *name, const char *v);
void mb_attr_ints(struct mb *m, Onnx__NodeProto *n, const char *name, int count, const int64_t *v);
void mb_attr_floats(struct mb *m, Onnx__NodeProto *n, const char *name, int count, const float *v);
void mb_attr_tensor(struct mb *m, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);
/* Adds an unknown (to our schema) LEN field to a message, e.g. AttributeProto.g. */
void mb_unknown_len(struct mb *m, ProtobufCMessage *msg, uint32_t field, const void *data,
                    size_t len);

/* A tensor with raw_data (copied, rawlen bytes; NULL data leaves raw_data unset). */
Onnx__TensorProto *mb_tensor(struct mb *m, const char *name, int dtype, int ndim,
                             const int64_t *dims, const void *raw, size_t rawlen);
/* As mb_tensor, added to the graph's initializers. */
Onnx__TensorProto *mb_init_raw(struct mb *m, const char *name, int dtype, int ndim,
                               const int64_t *dims, const void *raw, size_t rawlen);
/* Marks t's data as external: location, offset and length (NULL = left out). */
void mb_external(struct mb *m, Onnx__TensorProto *t, const char *location, const char *offset,
                 const char *length);

/* A tensor value info; a dim of -1 becomes dim_param "N", -2 a dim with neither
 * field set; ndim < 0 leaves the shape out, dtype < 0 the whole type. */
Onnx__ValueInfoProto *mb_vi(struct mb *m, const char *name, int dtype, int ndim,
                            const int64_t *dims);
void mb_input(struct mb *m, const char *name, int dtype, int ndim, const int64_t *dims);
void mb_output(struct mb *m, const char *name);

/* The serialized model (malloc'd; caller frees). */
uint8_t *mb_pack(struct mb *m, size_t *len);

#endif
