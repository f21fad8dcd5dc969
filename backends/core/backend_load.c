/* Host side of the plugin ABI: dlopen, version check, option lookup. */
#include "inferd_backend.h"

#include "inferd_error.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int inferd_backend_load(const char *dir, const char *name, struct inferd_plugin *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            snprintf(err, errlen, "backend name '%s' is not [a-z0-9_]+", name);
            return INFERD_E_BAD_CONFIG;
        }
    char path[4096];
    int len = snprintf(path, sizeof(path), "%s/inferd-backend-%s.so", dir, name);
    if (len < 0 || (size_t)len >= sizeof(path)) {
        snprintf(err, errlen, "backend path too long");
        return INFERD_E_BAD_CONFIG;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load backend '%s': %s", name, dlerror());
        return INFERD_E_NO_DEVICE;
    }
    inferd_backend_entry_fn entry;
    *(void **)&entry = dlsym(h, INFERD_BACKEND_SYMBOL);
    if (!entry) {
        snprintf(err, errlen, "%s: no symbol %s: not an inferd backend", path,
                 INFERD_BACKEND_SYMBOL);
        dlclose(h);
        return INFERD_E_ABI_MISMATCH;
    }
    const struct inferd_backend_api *api = entry();
    if (!api) {
        snprintf(err, errlen, "%s: %s() returned no table", path, INFERD_BACKEND_SYMBOL);
        dlclose(h);
        return INFERD_E_ABI_MISMATCH;
    }
    if (api->abi != INFERD_BACKEND_ABI) {
        snprintf(err, errlen,
                 "%s: backend ABI version %u, this program needs version %u: rebuild the plugin",
                 path, (unsigned)api->abi, (unsigned)INFERD_BACKEND_ABI);
        dlclose(h);
        return INFERD_E_ABI_MISMATCH;
    }
    size_t mandatory = offsetof(struct inferd_backend_api, close) + sizeof(api->close);
    if (api->size < mandatory || !api->name || !api->open || !api->compile || !api->run ||
        !api->release || !api->close) {
        snprintf(err, errlen, "%s: backend table is incomplete", path);
        dlclose(h);
        return INFERD_E_ABI_MISMATCH;
    }
    if (strcmp(api->name, name) != 0) {
        snprintf(err, errlen, "%s: plugin calls itself '%s', expected '%s'", path, api->name, name);
        dlclose(h);
        return INFERD_E_ABI_MISMATCH;
    }
    out->path = strdup(path);
    if (!out->path) {
        dlclose(h);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    out->handle = h;
    out->api = api;
    return 0;
}

int inferd_backend_load_path(const char *dirs, const char *name, struct inferd_plugin *out,
                             char *err, size_t errlen)
{
    const char *p = dirs ? dirs : "";
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && len < 4000) {
            char dir[4096], file[4200];
            memcpy(dir, p, len);
            dir[len] = 0;
            snprintf(file, sizeof(file), "%s/inferd-backend-%s.so", dir, name);
            if (access(file, F_OK) == 0) return inferd_backend_load(dir, name, out, err, errlen);
        }
        p += len;
        if (*p == ':') p++;
    }
    snprintf(err, errlen, "backend '%s' not found (looked for inferd-backend-%s.so in %s)", name,
             name, dirs && *dirs ? dirs : "(no folders)");
    return INFERD_E_NO_DEVICE;
}

void inferd_backend_unload(struct inferd_plugin *p)
{
    if (!p) return;
    if (p->handle) dlclose(p->handle);
    free(p->path);
    memset(p, 0, sizeof(*p));
}

const char *inferd_kv_get(const struct inferd_kv *opts, const char *key)
{
    for (; opts && opts->key; opts++)
        if (strcmp(opts->key, key) == 0) return opts->value;
    return NULL;
}
