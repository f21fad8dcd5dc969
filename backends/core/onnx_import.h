/* ONNX model import: a .onnx file (or bytes in memory) into a model IR graph.
 *
 * The file is mapped read-only and walked field by field; each weight is
 * decoded into the block that becomes its value's data (no second copy) and
 * its pages of the mapping are dropped right after, so a load holds about one
 * copy of the weights at a time. Every length in the file is checked before
 * use: a malformed file is an INFERD_E_BAD_MODEL error, never a crash. */
#ifndef INFERD_ONNX_IMPORT_H
#define INFERD_ONNX_IMPORT_H

#include "ir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default-domain opsets the importer accepts. Each operator row then says
 * which opsets of that op it serves (ops.h), so an old model fails, if at
 * all, naming the node whose form is too old. */
#define IR_ONNX_OPSET_MIN 1
#define IR_ONNX_OPSET_MAX 17

struct ir_import_input {            /* binds one graph input at load */
    const char *name;               /* graph input name; NULL binds the graph input at
                                     * this entry's position among the runtime inputs */
    const struct ir_tensor *tensor; /* its shape, and with freeze its data */
    bool freeze;                    /* make the input a constant holding tensor's data */
};

struct ir_import_opts {
    struct ir_limits limits; /* zero fields = defaults (ir.h) */
    const struct ir_import_input *inputs;
    size_t ninputs;
    int64_t symbolic_dim; /* value for dims with no number (dim_param / unset); 0 means 1 */
};

/* Reads an ONNX model file into a new, topologically sorted graph (ir_graph_sort
 * has run; shape inference has not). External data is resolved only inside the
 * model's folder. opts may be NULL (defaults, no bindings).
 *
 * Graph inputs that are also initializers (old exporters) are constants, not
 * runtime inputs. Initializers no node or output uses are skipped unread.
 * Constant nodes stay nodes; their tensor attributes carry the data. Attributes
 * of types the IR has no field for (graphs, tensor lists, sparse tensors) keep
 * their ONNX type number and nothing else. A binding must name a runtime input,
 * have its rank and dtype, and agree with its fixed dims (INFERD_E_BAD_INPUT
 * otherwise).
 *
 * Returns 0, or a negative code with a one-line message starting with the
 * path in err; *out is NULL on failure. */
int ir_onnx_load(const char *path, const struct ir_import_opts *opts, struct ir_graph **out,
                 char *err, size_t errlen);

/* Same from memory; base_dir (may be NULL: then external data is refused) is the
 * folder external data must stay inside; name is used in messages. buf is only
 * read, and may be freed once this returns. */
int ir_onnx_load_memory(const void *buf, size_t len, const char *name, const char *base_dir,
                        const struct ir_import_opts *opts, struct ir_graph **out, char *err,
                        size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
