/* A small fork-join thread pool, one per model instance: kernels split their
 * work into tasks and run them on the instance's threads. The calling thread
 * takes part. Between cpu_pool_begin and cpu_pool_end (one inference) helpers
 * spin briefly for the next job before sleeping on a condition variable, since
 * a futex wake-up costs more than many layers take; after a run they spin
 * only 50 us more (for callers that run back to back), and in a model whose
 * layers are all too small to split nobody spins.
 *
 * Work is split statically, with stealing at the end. Every thread has a
 * home block of each job's tasks: with up to one task per thread, task i is
 * thread i's; with more, thread i's block is tasks [ntasks * i / nthreads,
 * ntasks * (i + 1) / nthreads), the same slice of the data a single task of
 * its own would be. So each core works on the same slice of a layer run
 * after run, and a layer that splits like its producer reads what its own
 * core wrote. A thread that is done takes the tasks others have not started
 * yet, from the ends of their blocks, so a core that is slower (another
 * program on it, a busy neighbour on a shared host) holds the layer up by
 * at most one task: a kernel that splits its work into several tasks per
 * thread bounds that wait by the task's size. */
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
/* Most tasks in one job; a job of more runs inline. */
#define CPU_POOL_MAX_TASKS 0xffff

/* Runs fn(arg, i, ntasks) for every i in [0, ntasks) and returns when all are
 * done; any thread may run any task. ntasks <= 1, or a pool of one thread,
 * runs inline on the caller. */
void cpu_pool_run(struct cpu_pool *p, cpu_task_fn fn, void *arg, int ntasks);

#endif
