/* A small fork-join thread pool, one per model instance: kernels split their
 * work into tasks and run them on the instance's threads. The calling thread
 * takes part. Between cpu_pool_begin and cpu_pool_end (one inference) helpers
 * spin briefly for the next job before sleeping on a condition variable, since
 * a futex wake-up costs more than many layers take; after a run they spin
 * only 50 us more (for callers that run back to back), and in a model whose
 * layers are all too small to split nobody spins. Work is split
 * statically: task i goes to thread i % nthreads, which keeps each core on the
 * same slice of a layer run after run. */
#ifndef INFERD_CPU_POOL_H
#define INFERD_CPU_POOL_H

struct cpu_pool;

typedef void (*cpu_task_fn)(void *arg, int task, int ntasks);

/* nthreads counts the caller: 1 makes a pool that runs everything inline. */
int cpu_pool_create(int nthreads, struct cpu_pool **out);
/* Joins the helpers. Accepts NULL. */
void cpu_pool_destroy(struct cpu_pool *p);
int cpu_pool_threads(const struct cpu_pool *p);
/* Brackets one inference: jobs in between are expected back to back. */
void cpu_pool_begin(struct cpu_pool *p);
void cpu_pool_end(struct cpu_pool *p);
/* Runs fn(arg, i, ntasks) for every i in [0, ntasks) and returns when all are
 * done. ntasks <= 1, or a pool of one thread, runs inline on the caller. */
void cpu_pool_run(struct cpu_pool *p, cpu_task_fn fn, void *arg, int ntasks);

#endif
