/* The host's whole load pipeline: ONNX file -> inferred, optimised graph ready
 * for a backend's compile(). Shared by the daemon and inferd-run so both see
 * exactly the same graph. */
#ifndef INFERD_MODEL_H
#define INFERD_MODEL_H

#include "ir.h"
#include "onnx_import.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Imports, sorts, infers every shape (folding constants), then optimises. */
int ir_model_load(const char *path, const struct ir_import_opts *opts, struct ir_graph **out,
                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
