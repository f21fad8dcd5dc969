#include "cpu_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

/* How long a thread spins for the next job (helpers) or for the helpers to
 * finish (the caller) before it sleeps. Inside a run the next layer follows
 * within microseconds, while a futex wake-up costs 10-50 us on a virtual
 * machine: more than most layers of a small network take. Outside a run
 * only helpers spin, and briefly (SPIN_IDLE_NS). */
#define SPIN_NS 200000
/* Between runs a helper goes on spinning this long: a caller that runs
 * inferences back to back (frames of a stream, a benchmark) finds it awake,
 * where a wake-up made mobilenet_v3_small 2% slower at 2 threads; one that
 * runs ten a second pays a core for 0.05% of the time. */
#define SPIN_IDLE_NS 50000
/* After this long a spinner also yields, each time it reads the clock: with
 * more pool threads than CPUs (several instances, or a busy machine), the
 * thread it waits for may need its CPU. Before that, a system call per check
 * would slow the common hand-off, which takes about a microsecond. */
#define YIELD_AFTER_NS 20000

/* Where a thread takes its tasks: its home block of a job's tasks, packed
 * in one word so that claims are single compare-and-swaps. The owner takes
 * from the front, a thread with nothing left from the back. The job's
 * generation is part of the word: a thread that read an older job can
 * never claim a task of the current one. */
struct pool_slot {
    _Alignas(64) atomic_uint_least64_t range; /* gen << 32 | next << 16 | end */
};

struct cpu_pool {
    int nthreads;
    pthread_t *threads;
    struct pool_slot *slots; /* one per thread, the caller's first */
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    /* The current job, published by the release store of generation. A
     * helper late by a job may read the next job's values here; it then
     * claims nothing (pool_slot), so they are atomics only so that such a
     * read is not a race. */
    _Atomic(cpu_task_fn) fn;
    _Atomic(void *) arg;
    atomic_int ntasks;
    atomic_uint generation; /* bumped per job */
    atomic_int remaining;   /* tasks of this job not yet done */
    atomic_int sleepers;    /* helpers asleep on work */
    atomic_bool caller_asleep;
    atomic_bool active; /* inside cpu_pool_begin .. cpu_pool_end: spin first */
    atomic_bool stop;
};

struct helper_arg {
    struct cpu_pool *p;
    int index; /* 1 .. nthreads-1; the caller is 0 */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t slot_word(unsigned gen, int next, int end)
{
    return (uint64_t)gen << 32 | (uint64_t)next << 16 | (uint64_t)end;
}

/* Claims the first (front) or last unclaimed task of a slot's block for
 * job gen; -1 when none is left. */
static int slot_take(struct pool_slot *s, unsigned gen, bool front)
{
    uint64_t v = atomic_load_explicit(&s->range, memory_order_relaxed);
    for (;;) {
        const int next = (int)(v >> 16 & 0xffff), end = (int)(v & 0xffff);
        if ((unsigned)(v >> 32) != gen || next >= end) return -1;
        const uint64_t want = front ? v + (1u << 16) : v - 1;
        if (atomic_compare_exchange_weak_explicit(&s->range, &v, want, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return front ? next : end - 1;
    }
}

/* Thread `index`'s own block of job gen, front to back; returns the tasks
 * it ran. */
static int tasks_own(struct cpu_pool *p, int index, unsigned gen, cpu_task_fn fn, void *arg,
                     int ntasks)
{
    int done = 0, t;
    while ((t = slot_take(&p->slots[index], gen, true)) >= 0) {
        fn(arg, t, ntasks);
        done++;
    }
    return done;
}

/* Then the tasks the other threads have not started, from the backs of
 * their blocks (what their owners would reach last); returns the tasks it
 * ran. */
static int tasks_steal(struct cpu_pool *p, int index, unsigned gen, cpu_task_fn fn, void *arg,
                       int ntasks)
{
    int done = 0, t;
    for (int o = 1; o < p->nthreads; o++) {
        struct pool_slot *s = &p->slots[(index + o) % p->nthreads];
        while ((t = slot_take(s, gen, false)) >= 0) {
            fn(arg, t, ntasks);
            done++;
        }
    }
    return done;
}

/* Counts `done` tasks finished; true when they were the job's last. */
static bool tasks_finish(struct cpu_pool *p, int done)
{
    return done > 0 && atomic_fetch_sub(&p->remaining, done) == done;
}

/* A helper's part of job gen; wakes the caller if it finished the job
 * while the caller slept. */
static void helper_work(struct cpu_pool *p, int index, unsigned gen)
{
    cpu_task_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
    void *arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
    const int ntasks = atomic_load_explicit(&p->ntasks, memory_order_relaxed);
    bool last = tasks_finish(p, tasks_own(p, index, gen, fn, arg, ntasks));
    if (!last) last = tasks_finish(p, tasks_steal(p, index, gen, fn, arg, ntasks));
    if (last && atomic_load(&p->caller_asleep)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Spins while no job newer than `seen` is published: for at most SPIN_NS
 * while the pool is active, SPIN_IDLE_NS once it is not; returns true when
 * the helper should sleep. */
static bool spin_while_seen(struct cpu_pool *p, unsigned seen)
{
    uint64_t start = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
            atomic_load_explicit(&p->stop, memory_order_relaxed))
            return false;
        cpu_relax();
        if ((i & 63) == 0) {
            const uint64_t t = now_ns();
            if (!start) start = t;
            const bool active = atomic_load_explicit(&p->active, memory_order_relaxed);
            if (t - start > (active ? SPIN_NS : SPIN_IDLE_NS)) return true;
            if (t - start > YIELD_AFTER_NS) sched_yield();
        }
    }
}

static void *helper_main(void *v)
{
    struct helper_arg a = *(struct helper_arg *)v;
    free(v);
    struct cpu_pool *p = a.p;
    unsigned seen = 0;
    for (;;) {
        if (spin_while_seen(p, seen)) {
            /* Dekker with cpu_pool_run: we raise sleepers then re-check the
             * generation; it bumps the generation then reads sleepers. Both
             * are sequentially consistent, so one of us sees the other. */
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1);
            while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
                pthread_cond_wait(&p->work, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        helper_work(p, a.index, seen);
    }
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
    atomic_init(&p->generation, 0);
    atomic_init(&p->remaining, 0);
    atomic_init(&p->fn, NULL);
    atomic_init(&p->arg, NULL);
    atomic_init(&p->ntasks, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_asleep, false);
    atomic_init(&p->active, false);
    atomic_init(&p->stop, false);
    if (p->nthreads > 1) {
        p->threads = calloc((size_t)p->nthreads, sizeof(pthread_t));
        p->slots = aligned_alloc(_Alignof(struct pool_slot),
                                 sizeof(struct pool_slot) * (size_t)p->nthreads);
        if (p->slots)
            for (int i = 0; i < p->nthreads; i++) atomic_init(&p->slots[i].range, 0);
        if (!p->threads || !p->slots) {
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
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; p->threads && i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p->slots);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}

int cpu_pool_threads(const struct cpu_pool *p)
{
    return p ? p->nthreads : 1;
}

void cpu_pool_begin(struct cpu_pool *p)
{
    if (p && p->nthreads > 1) atomic_store_explicit(&p->active, true, memory_order_relaxed);
}

void cpu_pool_end(struct cpu_pool *p)
{
    if (p && p->nthreads > 1) atomic_store_explicit(&p->active, false, memory_order_relaxed);
}

void cpu_pool_run(struct cpu_pool *p, cpu_task_fn fn, void *arg, int ntasks)
{
    if (!p || p->nthreads == 1 || ntasks <= 1 || ntasks > CPU_POOL_MAX_TASKS) {
        for (int t = 0; t < ntasks; t++) fn(arg, t, ntasks);
        return;
    }
    const int nt = p->nthreads;
    const unsigned gen = atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&p->ntasks, ntasks, memory_order_relaxed);
    atomic_store_explicit(&p->remaining, ntasks, memory_order_relaxed);
    for (int i = 0; i < nt; i++) {
        /* up to one task each: task i on thread i, as every layer splits
         * alike; more: whole blocks, so that a thread's tasks are the slice
         * one task of its own would have been */
        const int t0 = ntasks <= nt ? (i < ntasks ? i : ntasks) : (int)((int64_t)ntasks * i / nt);
        const int t1 =
            ntasks <= nt ? (i < ntasks ? i + 1 : ntasks) : (int)((int64_t)ntasks * (i + 1) / nt);
        atomic_store_explicit(&p->slots[i].range, slot_word(gen, t0, t1), memory_order_relaxed);
    }
    atomic_fetch_add(&p->generation, 1); /* seq_cst: see helper_main */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->lock);
    }
    if (!tasks_finish(p, tasks_own(p, 0, gen, fn, arg, ntasks)))
        tasks_finish(p, tasks_steal(p, 0, gen, fn, arg, ntasks));

    uint64_t deadline = 0;
    for (unsigned i = 1; atomic_load_explicit(&p->remaining, memory_order_acquire) > 0; i++) {
        cpu_relax();
        if ((i & 63) != 0) continue;
        uint64_t t = now_ns();
        if (!deadline) {
            deadline = t + SPIN_NS;
        } else if (t + SPIN_NS - YIELD_AFTER_NS > deadline) {
            sched_yield();
        }
        if (t > deadline) {
            pthread_mutex_lock(&p->lock);
            atomic_store(&p->caller_asleep, true);
            while (atomic_load(&p->remaining) > 0) pthread_cond_wait(&p->done, &p->lock);
            atomic_store(&p->caller_asleep, false);
            pthread_mutex_unlock(&p->lock);
            break;
        }
    }
    /* pairs with the release in every thread's count of its finished tasks
     * (tasks_finish): their writes are visible from here on */
    atomic_thread_fence(memory_order_acquire);
}
