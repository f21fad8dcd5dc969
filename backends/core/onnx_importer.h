/* The importer's state, shared by onnx_import.c (model, graph, nodes,
 * initializers) and onnx_inputs.c (graph inputs and their bindings). */
#ifndef INFERD_ONNX_IMPORTER_H
#define INFERD_ONNX_IMPORTER_H

#include "onnx_import.h"
#include "onnx_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* name -> index, open addressing; keys are not copied. */
struct map_slot {
    const char *key;
    int val;
};

struct name_map {
    struct map_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t n;
};

/* Where a repeated GraphProto field's messages lie in the file. */
struct span {
    size_t off, len;
};

struct span_list {
    struct span *a;
    size_t n, cap;
};

struct importer {
    struct ir_graph *g;
    const uint8_t *buf;
    size_t len;
    bool mapped; /* buf is our read-only mapping: its pages may be dropped */
    size_t page;
    const struct ir_import_opts *opts;
    struct onnx_tensor_ctx tctx;
    ProtobufCAllocator alloc;
    bool oom;
    struct name_map values; /* tensor name -> value index; keys are the values' names */
    struct name_map unused; /* initializers nothing reads; keys malloc'd */
    struct span_list nodes, inits, inputs, outputs;
    bool *bound; /* per binding: matched a graph input */
    char *err;
    size_t errlen;
};

/* "PATH: not a valid ONNX model (WHY)", INFERD_E_BAD_MODEL. */
int onnx_import_bad(struct importer *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "PATH: out of memory while loading", -ENOMEM. */
int onnx_import_oom(struct importer *im);
/* After an unpack returned NULL: out of memory, or "WHAT INDEX cannot be decoded". */
int onnx_import_undecodable(struct importer *im, const char *what, size_t index);
/* The value named name, created (dtype undefined) on first use; <0 on error. */
int onnx_import_value_ref(struct importer *im, const char *name);
/* True when name is an initializer (loaded, or skipped as unread). */
bool onnx_import_is_initializer(const struct importer *im, const char *name);

/* Graph inputs: shapes, dtypes, bindings, frozen inputs (onnx_inputs.c). */
int onnx_import_inputs(struct importer *im);

#endif
