#include "model.h"

int ir_model_load(const char *path, const struct ir_import_opts *opts, struct ir_graph **out,
                  char *err, size_t errlen)
{
    struct ir_graph *g = NULL;
    int rc = ir_onnx_load(path, opts, &g, err, errlen);
    if (rc < 0) return rc;
    if ((rc = ir_graph_infer(g, err, errlen)) < 0 || (rc = ir_graph_optimize(g, err, errlen)) < 0) {
        ir_graph_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
