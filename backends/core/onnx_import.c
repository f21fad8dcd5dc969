/* ONNX import. ModelProto and GraphProto are walked by hand (they hold every
 * weight, and protobuf-c would copy all of them at once); each NodeProto,
 * ValueInfoProto and TensorProto inside is decoded on its own with protobuf-c.
 *
 * Order: nodes first (so we know which names they read), then graph outputs,
 * then initializers (only those something reads; the rest stay unread on
 * disk), then graph inputs (an input that is also an initializer is a
 * constant), then ir_graph_sort. */
#include "onnx_importer.h"

#include "inferd_error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- name -> index map (open addressing; keys are not copied) ------------ */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211u;
    return h;
}

static size_t map_slot_of(const struct name_map *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->cap - 1);
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0) i = (i + 1) & (m->cap - 1);
    return i;
}

static int map_get(const struct name_map *m, const char *key)
{
    if (m->cap == 0) return -1;
    const struct map_slot *s = &m->slots[map_slot_of(m, key)];
    return s->key ? s->val : -1;
}

static int map_put(struct name_map *m, const char *key, int val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct map_slot *ns = calloc(ncap, sizeof(*ns));
        if (!ns) return -ENOMEM;
        struct name_map nm = { ns, ncap, 0 };
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key) nm.slots[map_slot_of(&nm, m->slots[i].key)] = m->slots[i];
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    struct map_slot *s = &m->slots[map_slot_of(m, key)];
    if (!s->key) m->n++;
    s->key = key;
    s->val = val;
    return 0;
}

static void map_free(struct name_map *m, bool free_keys)
{
    if (free_keys)
        for (size_t i = 0; i < m->cap; i++) free((char *)m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* --- importer state ------------------------------------------------------ */

static int span_push(struct span_list *l, size_t off, size_t len)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct span *a = realloc(l->a, ncap * sizeof(*a));
        if (!a) return -ENOMEM;
        l->a = a;
        l->cap = ncap;
    }
    l->a[l->n++] = (struct span){ off, len };
    return 0;
}

/* "PATH: not a valid ONNX model (WHY)". */
int onnx_import_bad(struct importer *im, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return ir_graph_error(im->g, INFERD_E_BAD_MODEL, im->err, im->errlen,
                          "not a valid ONNX model (%s)", why);
}

int onnx_import_oom(struct importer *im)
{
    return ir_graph_error(im->g, -ENOMEM, im->err, im->errlen, "out of memory while loading");
}

/* An unpack that returned NULL: out of memory, or a malformed message. */
int onnx_import_undecodable(struct importer *im, const char *what, size_t index)
{
    if (im->oom) return onnx_import_oom(im);
    return onnx_import_bad(im, "%s %zu cannot be decoded", what, index);
}

/* Drops the pages wholly inside [off, off+len) of the mapping from this
 * process's memory: they were decoded and will not be read again. */
static void drop_pages(struct importer *im, size_t off, size_t len)
{
    if (!im->mapped || len < 2 * im->page) return;
    uintptr_t s = (uintptr_t)(im->buf + off), e = s + len;
    s = (s + im->page - 1) & ~(uintptr_t)(im->page - 1);
    e &= ~(uintptr_t)(im->page - 1);
    if (e > s) (void)madvise((void *)s, e - s, MADV_DONTNEED);
}

/* The value named name, created (dtype undefined) on first use. */
int onnx_import_value_ref(struct importer *im, const char *name)
{
    int v = map_get(&im->values, name);
    if (v >= 0) return v;
    v = ir_graph_value_add(im->g, name, IR_DT_UNDEFINED);
    if (v < 0) return v;
    if (map_put(&im->values, im->g->values[v].name, v)) return -ENOMEM;
    return v;
}

bool onnx_import_is_initializer(const struct importer *im, const char *name)
{
    int v = map_get(&im->values, name);
    return (v >= 0 && (im->g->values[v].flags & IR_VALUE_CONST)) || map_get(&im->unused, name) >= 0;
}

/* --- ModelProto and GraphProto ------------------------------------------- */

static int walk_model(struct importer *im, size_t *goff, size_t *glen)
{
    struct pb_reader r;
    struct pb_field f;
    const char *why = NULL;
    size_t at = 0;
    int k;
    bool have_graph = false, have_opset = false;
    int64_t opset = 0;

    if (im->len == 0) return onnx_import_bad(im, "empty file");
    pb_reader_init(&r, im->buf, im->buf, im->len);
    while ((k = pb_next(&r, &f, &why, &at)) > 0) {
        if (f.num == 1 && f.wire != PB_VARINT)
            return onnx_import_bad(im, "ir_version is not an integer");
        if ((f.num == 7 || f.num == 8) && f.wire != PB_LEN)
            return onnx_import_bad(im, "field %u at byte %zu has the wrong wire type", f.num, at);
        if (f.num == 7) {
            if (have_graph) return onnx_import_bad(im, "more than one graph");
            have_graph = true;
            *goff = f.offset;
            *glen = f.len;
        } else if (f.num == 8) {
            Onnx__OperatorSetIdProto *o =
                onnx__operator_set_id_proto__unpack(&im->alloc, f.len, f.data);
            if (!o) {
                if (im->oom) return onnx_import_oom(im);
                return onnx_import_bad(im, "opset_import at byte %zu cannot be decoded", at);
            }
            const char *d = o->domain ? o->domain : "";
            if (!*d || strcmp(d, "ai.onnx") == 0) {
                have_opset = true;
                opset = o->has_version ? o->version : 0;
            }
            protobuf_c_message_free_unpacked(&o->base, &im->alloc);
        }
    }
    if (k < 0) return onnx_import_bad(im, "%s at byte %zu", why, at);
    if (!have_graph) return onnx_import_bad(im, "no graph");
    if (!have_opset)
        return ir_graph_error(im->g, INFERD_E_BAD_MODEL, im->err, im->errlen,
                              "the model imports no opset of the default ONNX domain");
    if (opset < IR_ONNX_OPSET_MIN || opset > IR_ONNX_OPSET_MAX)
        return ir_graph_error(im->g, INFERD_E_UNSUPPORTED, im->err, im->errlen,
                              "opset %lld is not supported (inferd supports %d to %d)",
                              (long long)opset, IR_ONNX_OPSET_MIN, IR_ONNX_OPSET_MAX);
    im->g->opset = opset;
    return 0;
}

static int walk_graph(struct importer *im, size_t goff, size_t glen)
{
    struct pb_reader r;
    struct pb_field f;
    const char *why = NULL;
    size_t at = 0;
    int k;
    pb_reader_init(&r, im->buf, im->buf + goff, glen);
    while ((k = pb_next(&r, &f, &why, &at)) > 0) {
        struct span_list *l = NULL;
        switch (f.num) {
        case 1: l = &im->nodes; break;
        case 5: l = &im->inits; break;
        case 11: l = &im->inputs; break;
        case 12: l = &im->outputs; break;
        case 2:
        case 15: break;
        default: continue; /* value_info is only a hint; the rest we do not read */
        }
        if (f.wire != PB_LEN)
            return onnx_import_bad(im, "graph field %u at byte %zu has the wrong wire type", f.num,
                                   at);
        if (f.num == 2) {
            free(im->g->name);
            im->g->name = strndup((const char *)f.data, f.len);
            if (!im->g->name) return onnx_import_oom(im);
        } else if (f.num == 15) {
            return ir_graph_error(im->g, INFERD_E_UNSUPPORTED, im->err, im->errlen,
                                  "sparse initializers are not supported");
        } else if (span_push(l, f.offset, f.len)) {
            return onnx_import_oom(im);
        }
    }
    if (k < 0) return onnx_import_bad(im, "%s at byte %zu", why, at);
    if (im->nodes.n > INT_MAX / 2 || im->inputs.n > INT_MAX / 2 || im->outputs.n > INT_MAX / 2)
        return onnx_import_bad(im, "too many nodes, inputs or outputs");
    return 0;
}

/* --- nodes --------------------------------------------------------------- */

static int infer_attr_type(const Onnx__AttributeProto *a)
{
    /* Old exporters omit AttributeProto.type; the field that is set tells it. */
    if (a->t) return IR_ATTR_TENSOR;
    if (a->n_floats) return IR_ATTR_FLOATS;
    if (a->n_ints) return IR_ATTR_INTS;
    if (a->n_strings) return IR_ATTR_STRINGS;
    if (a->has_s) return IR_ATTR_STRING;
    if (a->has_i) return IR_ATTR_INT;
    if (a->has_f) return IR_ATTR_FLOAT;
    return IR_ATTR_UNDEFINED;
}

static char *bytes_dup(const ProtobufCBinaryData *b)
{
    char *s = malloc(b->len + 1);
    if (!s) return NULL;
    if (b->len) memcpy(s, b->data, b->len);
    s[b->len] = 0;
    return s;
}

static int import_attr(struct importer *im, int node, Onnx__AttributeProto *a)
{
    struct ir_graph *g = im->g;
    if (!a->name || !*a->name)
        return ir_node_error(g, &g->nodes[node], INFERD_E_BAD_MODEL, im->err, im->errlen,
                             "has an attribute without a name");
    if (a->n_floats > INT_MAX || a->n_ints > INT_MAX || a->n_strings > INT_MAX)
        return ir_node_error(g, &g->nodes[node], INFERD_E_BAD_MODEL, im->err, im->errlen,
                             "attribute '%s' is too long", a->name);
    int type = a->has_type ? a->type : infer_attr_type(a);
    struct ir_attr *at = ir_node_attr_add(g, node, a->name, type);
    if (!at) return onnx_import_oom(im);
    switch (type) {
    case IR_ATTR_FLOAT: at->f = a->f; break;
    case IR_ATTR_INT: at->i = a->i; break;
    case IR_ATTR_STRING: {
        ProtobufCBinaryData empty = { 0, NULL };
        at->s = bytes_dup(a->has_s ? &a->s : &empty);
        if (!at->s) return onnx_import_oom(im);
        break;
    }
    case IR_ATTR_FLOATS:
        at->floats = malloc(sizeof(float) * (a->n_floats ? a->n_floats : 1));
        if (!at->floats) return onnx_import_oom(im);
        if (a->n_floats) memcpy(at->floats, a->floats, sizeof(float) * a->n_floats);
        at->n = (int)a->n_floats;
        break;
    case IR_ATTR_INTS:
        at->ints = malloc(sizeof(int64_t) * (a->n_ints ? a->n_ints : 1));
        if (!at->ints) return onnx_import_oom(im);
        if (a->n_ints) memcpy(at->ints, a->ints, sizeof(int64_t) * a->n_ints);
        at->n = (int)a->n_ints;
        break;
    case IR_ATTR_STRINGS:
        at->strings = calloc(a->n_strings ? a->n_strings : 1, sizeof(char *));
        if (!at->strings) return onnx_import_oom(im);
        for (size_t i = 0; i < a->n_strings; i++) {
            at->strings[i] = bytes_dup(&a->strings[i]);
            if (!at->strings[i]) return onnx_import_oom(im);
            at->n = (int)i + 1;
        }
        break;
    case IR_ATTR_TENSOR: {
        const struct ir_node *n = &g->nodes[node];
        if (!a->t)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, im->err, im->errlen,
                                 "attribute '%s' has type tensor but no tensor", a->name);
        size_t wl = strlen(n->name) + strlen(n->op_type) + strlen(a->name) + 32;
        char *what = malloc(wl);
        at->t = calloc(1, sizeof(*at->t));
        if (!what || !at->t) {
            free(what);
            return onnx_import_oom(im);
        }
        snprintf(what, wl, "node '%s' (%s): attribute '%s'", n->name, n->op_type, a->name);
        int rc = onnx_tensor_convert(&im->tctx, a->t, what, at->t, im->err, im->errlen);
        free(what);
        if (rc < 0) return rc;
        break;
    }
    default:
        /* GRAPH, TENSORS, SPARSE_TENSOR, TYPE_PROTO...: no op inferd runs takes
         * them, so the type alone lets the op's check name the problem. */
        break;
    }
    return 0;
}

static int import_node(struct importer *im, size_t idx)
{
    struct ir_graph *g = im->g;
    const struct span *s = &im->nodes.a[idx];
    Onnx__NodeProto *np = onnx__node_proto__unpack(&im->alloc, s->len, im->buf + s->off);
    if (!np) return onnx_import_undecodable(im, "node", idx);
    int rc = 0;
    char *autoname = NULL;
    const char *op = np->op_type;
    if (!op || !*op) {
        rc = onnx_import_bad(im, "node %zu has no op_type", idx);
        goto out;
    }
    const char *name = np->name;
    if (!name || !*name) {
        size_t l = strlen(op) + 24;
        autoname = malloc(l);
        if (!autoname) {
            rc = onnx_import_oom(im);
            goto out;
        }
        snprintf(autoname, l, "%s_%zu", op, idx);
        name = autoname;
    }
    const char *domain = np->domain ? np->domain : "";
    if (*domain && strcmp(domain, "ai.onnx") != 0) {
        struct ir_node tmp = { .name = (char *)name, .op_type = (char *)op };
        rc =
            ir_node_error(g, &tmp, INFERD_E_UNSUPPORTED, im->err, im->errlen,
                          "domain '%s' is not supported (only the default ONNX domain is)", domain);
        goto out;
    }
    if (np->n_input > INT_MAX / 2 || np->n_output > INT_MAX / 2) {
        rc = onnx_import_bad(im, "node %zu has too many inputs or outputs", idx);
        goto out;
    }
    int n = ir_graph_node_add(g, name, op, (int)np->n_input, (int)np->n_output);
    if (n < 0) {
        rc = onnx_import_oom(im);
        goto out;
    }
    for (size_t k = 0; k < np->n_input + np->n_output; k++) {
        bool is_in = k < np->n_input;
        const char *vn = is_in ? np->input[k] : np->output[k - np->n_input];
        if (!vn || !*vn) continue; /* absent optional input or unwanted output */
        int v = onnx_import_value_ref(im, vn);
        if (v < 0) {
            rc = onnx_import_oom(im);
            goto out;
        }
        if (is_in)
            g->nodes[n].in[k] = v;
        else
            g->nodes[n].out[k - np->n_input] = v;
    }
    for (size_t a = 0; a < np->n_attribute && rc == 0; a++)
        rc = import_attr(im, n, np->attribute[a]);
out:
    free(autoname);
    protobuf_c_message_free_unpacked(&np->base, &im->alloc);
    drop_pages(im, s->off, s->len); /* Constant nodes can carry big tensors */
    return rc;
}

/* --- graph outputs and initializers -------------------------------------- */

static int import_outputs(struct importer *im)
{
    struct ir_graph *g = im->g;
    g->outputs = malloc(sizeof(int) * (im->outputs.n ? im->outputs.n : 1));
    if (!g->outputs) return onnx_import_oom(im);
    for (size_t i = 0; i < im->outputs.n; i++) {
        const struct span *s = &im->outputs.a[i];
        Onnx__ValueInfoProto *vi =
            onnx__value_info_proto__unpack(&im->alloc, s->len, im->buf + s->off);
        if (!vi) return onnx_import_undecodable(im, "graph output", i);
        int v = -1;
        if (vi->name && *vi->name) v = onnx_import_value_ref(im, vi->name);
        protobuf_c_message_free_unpacked(&vi->base, &im->alloc);
        if (v == -1) return onnx_import_bad(im, "graph output %zu has no name", i);
        if (v < 0) return onnx_import_oom(im);
        g->values[v].flags |= IR_VALUE_OUTPUT;
        g->outputs[g->noutputs++] = v;
    }
    return 0;
}

/* TensorProto.name (field 8) read without decoding the tensor: malloc'd, NULL
 * when absent; -1 when the message is malformed. */
static int tensor_name(const uint8_t *p, size_t len, char **name)
{
    struct pb_reader r;
    struct pb_field f;
    const char *why;
    size_t at;
    int k;
    const uint8_t *np = NULL;
    size_t nl = 0;
    *name = NULL;
    pb_reader_init(&r, p, p, len);
    while ((k = pb_next(&r, &f, &why, &at)) > 0)
        if (f.num == 8 && f.wire == PB_LEN) {
            np = f.data;
            nl = f.len;
        }
    if (k < 0) return -1;
    if (!np) return 0;
    *name = strndup((const char *)np, nl);
    return *name ? 0 : -ENOMEM;
}

static int import_initializer(struct importer *im, size_t idx)
{
    struct ir_graph *g = im->g;
    const struct span *s = &im->inits.a[idx];
    char *name = NULL, *what = NULL;
    Onnx__TensorProto *tp = NULL;
    int rc = tensor_name(im->buf + s->off, s->len, &name);
    if (rc == -ENOMEM) return onnx_import_oom(im);
    if (rc < 0) return onnx_import_bad(im, "initializer %zu cannot be decoded", idx);
    if (!name || !*name) {
        rc = onnx_import_bad(im, "initializer %zu has no name", idx);
        goto out;
    }
    int v = map_get(&im->values, name);
    if (v < 0) {
        /* Nothing reads it: leave its bytes unread, but remember the name so a
         * graph input of that name is still known to be a constant. */
        if (map_get(&im->unused, name) < 0) {
            if (map_put(&im->unused, name, 0)) {
                rc = onnx_import_oom(im);
                goto out;
            }
            name = NULL;
        }
        goto out;
    }
    if (g->values[v].flags & IR_VALUE_CONST) {
        rc = onnx_import_bad(im, "initializer '%s' is given twice", name);
        goto out;
    }
    tp = onnx__tensor_proto__unpack(&im->alloc, s->len, im->buf + s->off);
    if (!tp) {
        rc = im->oom ? onnx_import_oom(im)
                     : onnx_import_bad(im, "initializer '%s' cannot be decoded", name);
        goto out;
    }
    size_t wl = strlen(name) + 16;
    what = malloc(wl);
    if (!what) {
        rc = onnx_import_oom(im);
        goto out;
    }
    snprintf(what, wl, "initializer '%s'", name);
    struct ir_tensor t;
    rc = onnx_tensor_convert(&im->tctx, tp, what, &t, im->err, im->errlen);
    if (rc < 0) goto out;
    struct ir_shape shape = { .ndim = t.ndim };
    memcpy(shape.dims, t.dims, sizeof(shape.dims));
    g->values[v].dtype = t.dtype;
    ir_value_set_const(g, v, &shape, t.data, t.nbytes);
out:
    if (tp) protobuf_c_message_free_unpacked(&tp->base, &im->alloc);
    drop_pages(im, s->off, s->len);
    free(what);
    free(name);
    return rc;
}

/* --- driver -------------------------------------------------------------- */

static int import_run(struct importer *im)
{
    struct ir_graph *g = im->g;
    const struct ir_import_opts *o = im->opts;
    for (size_t i = 0; i < o->ninputs; i++)
        for (size_t j = 0; j < i; j++)
            if (o->inputs[i].name && o->inputs[j].name &&
                strcmp(o->inputs[i].name, o->inputs[j].name) == 0)
                return ir_graph_error(g, INFERD_E_BAD_INPUT, im->err, im->errlen,
                                      "input '%s' is bound twice", o->inputs[i].name);
    size_t goff = 0, glen = 0;
    int rc = walk_model(im, &goff, &glen);
    if (rc == 0) rc = walk_graph(im, goff, glen);
    for (size_t i = 0; rc == 0 && i < im->nodes.n; i++) rc = import_node(im, i);
    if (rc == 0) rc = import_outputs(im);
    for (size_t i = 0; rc == 0 && i < im->inits.n; i++) rc = import_initializer(im, i);
    if (rc == 0) rc = onnx_import_inputs(im);
    if (rc == 0) rc = ir_graph_sort(g, im->err, im->errlen);
    for (int i = 0; rc == 0 && i < g->noutputs; i++) {
        const struct ir_value *v = &g->values[g->outputs[i]];
        if (v->producer < 0 && !(v->flags & (IR_VALUE_INPUT | IR_VALUE_CONST)))
            rc = ir_graph_error(g, INFERD_E_BAD_MODEL, im->err, im->errlen,
                                "graph output '%s' is not produced by any node, initializer or "
                                "graph input",
                                v->name);
    }
    return rc;
}

static int load(const uint8_t *buf, size_t len, const char *name, const char *base_dir, bool mapped,
                const struct ir_import_opts *opts, struct ir_graph **out, char *err, size_t errlen)
{
    static const struct ir_import_opts no_opts;
    struct importer im = { 0 };
    im.opts = opts ? opts : &no_opts;
    im.buf = buf;
    im.len = len;
    im.mapped = mapped;
    long page = sysconf(_SC_PAGESIZE);
    im.page = page > 0 ? (size_t)page : 4096;
    im.err = err;
    im.errlen = errlen;
    onnx_pb_allocator_init(&im.alloc, &im.oom);
    im.g = ir_graph_new(name);
    if (!im.g) return onnx_error(name, -ENOMEM, err, errlen, "out of memory while loading");
    struct ir_graph *g = im.g;
    if (im.opts->limits.max_elements > 0) g->limits.max_elements = im.opts->limits.max_elements;
    if (im.opts->limits.max_fold_bytes > 0)
        g->limits.max_fold_bytes = im.opts->limits.max_fold_bytes;
    im.tctx.path = g->path;
    im.tctx.base_dir = base_dir;
    im.tctx.max_elements = g->limits.max_elements;
    int rc = 0;
    if (im.opts->ninputs > 0 && !im.opts->inputs) {
        rc = ir_graph_error(g, -EINVAL, err, errlen, "input bindings given without an array");
        goto out;
    }
    im.bound = calloc(im.opts->ninputs + 1, sizeof(bool));
    if (!im.bound) {
        rc = onnx_import_oom(&im);
        goto out;
    }
    rc = import_run(&im);
out:
    free(im.bound);
    free(im.nodes.a);
    free(im.inits.a);
    free(im.inputs.a);
    free(im.outputs.a);
    map_free(&im.values, false);
    map_free(&im.unused, true);
    if (rc < 0) {
        ir_graph_free(g);
        g = NULL;
    }
    *out = g;
    return rc;
}

int ir_onnx_load_memory(const void *buf, size_t len, const char *name, const char *base_dir,
                        const struct ir_import_opts *opts, struct ir_graph **out, char *err,
                        size_t errlen)
{
    if (!out) return -EINVAL;
    *out = NULL;
    if (!buf && len > 0) return onnx_error(name, -EINVAL, err, errlen, "no buffer");
    return load(buf, len, name ? name : "model", base_dir, false, opts, out, err, errlen);
}

/* The folder holding path ("." for a bare file name). */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int ir_onnx_load(const char *path, const struct ir_import_opts *opts, struct ir_graph **out,
                 char *err, size_t errlen)
{
    if (!out || !path) return -EINVAL;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return onnx_error(path, -e, err, errlen, "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return onnx_error(path, -e, err, errlen, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return onnx_error(path, INFERD_E_BAD_MODEL, err, errlen, "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return onnx_error(path, INFERD_E_BAD_MODEL, err, errlen,
                          "not a valid ONNX model (empty file)");
    }
    if ((uint64_t)st.st_size > SIZE_MAX / 2) {
        close(fd);
        return onnx_error(path, INFERD_E_TOO_LARGE, err, errlen, "file too large");
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return onnx_error(path, -e, err, errlen, "cannot map: %s", strerror(e));
    char *dir = parent_dir(path);
    int rc;
    if (!dir)
        rc = onnx_error(path, -ENOMEM, err, errlen, "out of memory while loading");
    else
        rc = load(map, len, path, dir, true, opts, out, err, errlen);
    free(dir);
    munmap(map, len);
    return rc;
}
