#include "cpu_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct cpu_pool {
    int nthreads;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    /* the current job */
    cpu_task_fn fn;
    void *arg;
    int ntasks;
    unsigned generation; /* bumped per job: helpers run each job once */
    int pending;         /* helpers still working on this job */
    bool stop;
};

struct helper_arg {
    struct cpu_pool *p;
    int index; /* 1 .. nthreads-1; the caller is 0 */
};

static void tasks_run(struct cpu_pool *p, int index, cpu_task_fn fn, void *arg, int ntasks)
{
    for (int t = index; t < ntasks; t += p->nthreads) fn(arg, t, ntasks);
}

static void *helper_main(void *v)
{
    struct helper_arg a = *(struct helper_arg *)v;
    free(v);
    struct cpu_pool *p = a.p;
    unsigned seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work, &p->lock);
        if (p->stop) break;
        seen = p->generation;
        cpu_task_fn fn = p->fn;
        void *arg = p->arg;
        int ntasks = p->ntasks;
        pthread_mutex_unlock(&p->lock);
        tasks_run(p, a.index, fn, arg, ntasks);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int cpu_pool_create(int nthreads, struct cpu_pool **out)
{
    struct cpu_pool *p = calloc(1, sizeof(*p));
    if (!p) return -ENOMEM;
    p->nthreads = nthreads < 1 ? 1 : nthreads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    if (p->nthreads > 1) {
        p->threads = calloc((size_t)p->nthreads, sizeof(pthread_t));
        if (!p->threads) {
            cpu_pool_destroy(p);
            return -ENOMEM;
        }
        for (int i = 1; i < p->nthreads; i++) {
            struct helper_arg *a = malloc(sizeof(*a));
            if (a) {
                a->p = p;
                a->index = i;
            }
            int rc = a ? pthread_create(&p->threads[i], NULL, helper_main, a) : ENOMEM;
            if (rc != 0) {
                free(a);
                p->nthreads = i; /* the helpers started so far are joined */
                cpu_pool_destroy(p);
                return -rc;
            }
        }
    }
    *out = p;
    return 0;
}

void cpu_pool_destroy(struct cpu_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; p->threads && i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}

int cpu_pool_threads(const struct cpu_pool *p)
{
    return p ? p->nthreads : 1;
}

void cpu_pool_run(struct cpu_pool *p, cpu_task_fn fn, void *arg, int ntasks)
{
    if (!p || p->nthreads == 1 || ntasks <= 1) {
        for (int t = 0; t < ntasks; t++) fn(arg, t, ntasks);
        return;
    }
    int helpers = p->nthreads - 1;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->ntasks = ntasks;
    p->pending = helpers;
    p->generation++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    tasks_run(p, 0, fn, arg, ntasks);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
