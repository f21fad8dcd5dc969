/* A backend plugin that is wrong on purpose, one way per build:
 * FAKE_ABI sets the ABI number it claims, FAKE_NAME the name it gives,
 * FAKE_NO_RUN leaves a mandatory member out, FAKE_NO_SYMBOL exports nothing.
 * The loader test checks each is refused with a clear message. */
#include "inferd_backend.h"

#include <stddef.h>

#ifndef FAKE_NO_SYMBOL
static int fake_open(const struct inferd_kv *opts, struct inferd_backend **out, char *err,
                     size_t errlen)
{
    (void)opts, (void)err, (void)errlen;
    *out = NULL;
    return 0;
}

static int fake_compile(struct inferd_backend *be, struct ir_graph *g, int ninstances,
                        const struct inferd_kv *opts, struct inferd_model **out, char *err,
                        size_t errlen)
{
    (void)be, (void)g, (void)ninstances, (void)opts, (void)out, (void)err, (void)errlen;
    return -1;
}

static int fake_run(struct inferd_model *m, int instance, const struct ir_tensor *in, size_t nin,
                    struct ir_tensor *out, size_t nout, char *err, size_t errlen)
{
    (void)m, (void)instance, (void)in, (void)nin, (void)out, (void)nout, (void)err, (void)errlen;
    return -1;
}

static void fake_release(struct inferd_model *m)
{
    (void)m;
}

static void fake_close(struct inferd_backend *be)
{
    (void)be;
}

static const struct inferd_backend_api fake_api = {
    .abi = FAKE_ABI,
    .size = sizeof(struct inferd_backend_api),
    .name = FAKE_NAME,
    .description = "test plugin",
    .open = fake_open,
    .compile = fake_compile,
#ifndef FAKE_NO_RUN
    .run = fake_run,
#endif
    .release = fake_release,
    .close = fake_close,
};

__attribute__((visibility("default"))) const struct inferd_backend_api *inferd_backend_v1(void);

const struct inferd_backend_api *inferd_backend_v1(void)
{
    (void)fake_run;
    return &fake_api;
}
#else
__attribute__((visibility("default"))) int not_a_backend(void);

int not_a_backend(void)
{
    return 0;
}
#endif
