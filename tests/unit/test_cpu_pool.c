/* The CPU plugin's fork-join pool: every task of every job runs exactly once,
 * whether helpers are spinning (inside cpu_pool_begin/end), asleep (outside),
 * or switching between the two; jobs see each other's writes in order; a
 * thread that is done takes the tasks a busy one has not started. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cpu_pool.h"

#define MAX_TASKS 64

struct count_job {
    int hits[MAX_TASKS];
    int ntasks_seen[MAX_TASKS];
};

static void count_task(void *arg, int task, int ntasks)
{
    struct count_job *j = arg;
    j->hits[task]++;
    j->ntasks_seen[task] = ntasks;
}

static void jobs_check(struct cpu_pool *p, int jobs, bool active, bool pause)
{
    for (int r = 0; r < jobs; r++) {
        int ntasks = r % MAX_TASKS + 1;
        struct count_job j;
        memset(&j, 0, sizeof(j));
        if (active) cpu_pool_begin(p);
        cpu_pool_run(p, count_task, &j, ntasks);
        if (active) cpu_pool_end(p);
        for (int t = 0; t < ntasks; t++) {
            assert_int_equal(j.hits[t], 1);
            assert_int_equal(j.ntasks_seen[t], ntasks);
        }
        for (int t = ntasks; t < MAX_TASKS; t++) assert_int_equal(j.hits[t], 0);
        if (pause && r % 16 == 0) {
            /* long enough for spinning helpers to give up and sleep */
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
    }
}

static void test_every_task_once(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        struct cpu_pool *p = NULL;
        assert_int_equal(cpu_pool_create(threads, &p), 0);
        assert_int_equal(cpu_pool_threads(p), threads);
        jobs_check(p, 2000, true, false); /* back to back, helpers spinning */
        jobs_check(p, 300, false, false); /* outside a run: spin briefly, sleep */
        jobs_check(p, 200, true, true);   /* spinning, then asleep, then woken */
        cpu_pool_destroy(p);
    }
}

/* Each job reads what the previous job's tasks wrote on other threads and
 * writes the next values: a missing barrier shows up as a stale value. */
struct chain_job {
    int64_t *v;
    int n;
    int round;
};

static void chain_task(void *arg, int task, int ntasks)
{
    struct chain_job *j = arg;
    for (int i = task; i < j->n; i += ntasks) {
        int src = (i + 1) % j->n; /* written by another task last round */
        j->v[j->n + i] = j->v[src] + 1;
    }
}

static void copy_task(void *arg, int task, int ntasks)
{
    struct chain_job *j = arg;
    for (int i = task; i < j->n; i += ntasks) j->v[i] = j->v[j->n + i];
}

static void test_jobs_ordered(void **state)
{
    (void)state;
    struct cpu_pool *p = NULL;
    assert_int_equal(cpu_pool_create(3, &p), 0);
    struct chain_job j = { .n = 257 };
    j.v = calloc(2 * (size_t)j.n, sizeof(int64_t));
    assert_non_null(j.v);
    cpu_pool_begin(p);
    for (j.round = 0; j.round < 500; j.round++) {
        cpu_pool_run(p, chain_task, &j, 7);
        cpu_pool_run(p, copy_task, &j, 5);
    }
    cpu_pool_end(p);
    for (int i = 0; i < j.n; i++) assert_int_equal(j.v[i], 500);
    free(j.v);
    cpu_pool_destroy(p);
}

/* Two threads, four tasks: the helper's block is tasks 2 and 3, and task 2
 * cannot finish before task 3 has run. Whoever runs task 2 first, task 3
 * must be taken by the caller from the back of the helper's block; a pool
 * that left each block to its owner would wait here until the timeout. */
struct steal_job {
    atomic_bool task3_done;
    atomic_int timed_out;
    atomic_int runs;
};

static void steal_task(void *arg, int task, int ntasks)
{
    struct steal_job *j = arg;
    (void)ntasks;
    atomic_fetch_add(&j->runs, 1);
    if (task == 3) atomic_store(&j->task3_done, true);
    if (task != 2) return;
    for (int i = 0; i < 5000 && !atomic_load(&j->task3_done); i++) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&j->task3_done)) atomic_fetch_add(&j->timed_out, 1);
}

static void test_idle_thread_steals(void **state)
{
    (void)state;
    struct cpu_pool *p = NULL;
    assert_int_equal(cpu_pool_create(2, &p), 0);
    cpu_pool_begin(p);
    for (int r = 0; r < 20; r++) {
        struct steal_job j;
        atomic_init(&j.task3_done, false);
        atomic_init(&j.timed_out, 0);
        atomic_init(&j.runs, 0);
        cpu_pool_run(p, steal_task, &j, 4);
        assert_int_equal(atomic_load(&j.timed_out), 0);
        assert_int_equal(atomic_load(&j.runs), 4);
    }
    cpu_pool_end(p);
    cpu_pool_destroy(p);
}

static void test_destroy_null_and_idle(void **state)
{
    (void)state;
    cpu_pool_destroy(NULL);
    assert_int_equal(cpu_pool_threads(NULL), 1);
    struct cpu_pool *p = NULL;
    assert_int_equal(cpu_pool_create(2, &p), 0);
    cpu_pool_begin(p); /* helpers may be spinning when destroy comes */
    cpu_pool_destroy(p);
    assert_int_equal(cpu_pool_create(0, &p), 0); /* clamps to one thread */
    assert_int_equal(cpu_pool_threads(p), 1);
    cpu_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_task_once),
        cmocka_unit_test(test_jobs_ordered),
        cmocka_unit_test(test_idle_thread_steals),
        cmocka_unit_test(test_destroy_null_and_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
