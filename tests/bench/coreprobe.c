/* coreprobe: tells whether two CPUs this process may run on are two real cores
 * right now, or two SMT siblings of one core (or one of them is busy with
 * something else), in well under a second.
 *
 * It times a loop of independent fused multiply-adds, which keeps a core's FMA
 * units full, first on one thread, then on two threads pinned to two CPUs.
 * Two real cores do twice the work in the same time (scale near 2.0); two
 * siblings share one core's FMA units (scale near 1.0). The benchmark trusts a
 * 2-thread timing only when the probes around it say at least 1.6.
 *
 *   coreprobe [MS]    MS: milliseconds per timed pass (default 10)
 *
 * Prints one line:
 *   coreprobe: cpus 0,1  1 thread 117.3 GFLOP/s  2 threads 233.9 GFLOP/s  scale 1.99  two cores
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define SCALE_TWO_CORES 1.6
#define ROUNDS          3

typedef double (*loop_fn)(long iters, float seed);

/* Eight independent chains: enough to cover the FMA latency on two ports. */
#if HAVE_X86
__attribute__((target("avx2,fma"))) static double loop_avx2(long iters, float seed)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(seed), a1 = _mm256_add_ps(a0, c), a2 = _mm256_add_ps(a1, c);
    __m256 a3 = _mm256_add_ps(a2, c), a4 = _mm256_add_ps(a3, c), a5 = _mm256_add_ps(a4, c);
    __m256 a6 = _mm256_add_ps(a5, c), a7 = _mm256_add_ps(a6, c);
    for (long i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c);
        a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c);
        a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c);
        a7 = _mm256_fmadd_ps(a7, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)out[0];
}
#endif

/* The same shape in plain C, for CPUs without AVX2: 16 flops an iteration. */
static double loop_generic(long iters, float seed)
{
    float a[8];
    for (int k = 0; k < 8; k++) a[k] = seed + (float)k * 1e-7f;
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 8; k++) a[k] = a[k] * 0.999999f + 1e-7f;
    return (double)(a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7]);
}

struct probe {
    loop_fn fn;
    double flops_per_iter;
    long iters;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;           /* workers waiting for the start */
    int go;              /* 1: start, -1: give up (a thread could not be created) */
    double t0[2], t1[2]; /* each worker's own start and end */
    volatile double sink[2];
};

struct worker {
    struct probe *p;
    int index;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct probe *p = w->p;
    pthread_mutex_lock(&p->mu);
    p->ready++;
    pthread_cond_broadcast(&p->cv);
    while (!p->go) pthread_cond_wait(&p->cv, &p->mu);
    int go = p->go;
    pthread_mutex_unlock(&p->mu);
    if (go > 0) {
        p->t0[w->index] = now_s();
        p->sink[w->index] = p->fn(p->iters, 1.0f + (float)w->index);
        p->t1[w->index] = now_s();
    }
    return NULL;
}

/* Seconds for nthreads threads, thread k pinned to cpus[k], to run the loop. */
static int pass_time(struct probe *p, const int *cpus, int nthreads, double *seconds)
{
    pthread_t tid[2];
    struct worker w[2];
    int started = 0, rc = 0;
    p->ready = 0;
    p->go = 0;
    for (; started < nthreads; started++) {
        pthread_attr_t attr;
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[started], &set);
        w[started].p = p;
        w[started].index = started;
        if ((rc = pthread_attr_init(&attr)) != 0) break;
        rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
        if (rc == 0) rc = pthread_create(&tid[started], &attr, worker_main, &w[started]);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
    }
    pthread_mutex_lock(&p->mu);
    while (rc == 0 && p->ready < nthreads) pthread_cond_wait(&p->cv, &p->mu);
    p->go = rc == 0 ? 1 : -1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
    if (rc != 0) return -rc;
    /* Timed by the workers, from the first start to the last end: the main
     * thread may be preempted between starting them and reading a clock. */
    double start = p->t0[0], end = p->t1[0];
    for (int k = 1; k < nthreads; k++) {
        if (p->t0[k] < start) start = p->t0[k];
        if (p->t1[k] > end) end = p->t1[k];
    }
    *seconds = end - start;
    return 0;
}

/* The first two CPUs this process may run on; -1 if it has only one. */
static int cpus_pick(int cpus[2])
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0) return -errno;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &set)) cpus[n++] = c;
    return n == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
    double ms = argc == 2 ? strtod(argv[1], NULL) : 10.0;
    if (argc > 2 || !(ms > 0 && ms <= 10000)) {
        fprintf(stderr, "usage: coreprobe [MS]   (MS: milliseconds per timed pass, default 10)\n");
        return 2;
    }
    struct probe p;
    memset(&p, 0, sizeof(p));
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.fn = loop_generic;
    p.flops_per_iter = 16;
#if HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        p.fn = loop_avx2;
        p.flops_per_iter = 128;
    }
#endif
    int cpus[2];
    int rc = cpus_pick(cpus);
    if (rc < 0) {
        printf("coreprobe: one cpu  scale 1.00  one cpu\n");
        goto out;
    }
    /* Size a pass to about ms milliseconds on one thread. */
    p.iters = 1L << 14;
    double t = 0;
    for (;;) {
        if ((rc = pass_time(&p, cpus, 1, &t)) < 0) goto fail;
        if (t >= ms * 1e-3 / 4 || p.iters > (1L << 40)) break;
        p.iters *= 4;
    }
    p.iters = (long)((double)p.iters * (ms * 1e-3) / (t > 0 ? t : 1e-9)) + 1;
    /* Best of a few rounds of each, interleaved, so a short disturbance does
     * not decide the verdict. */
    double best1 = 1e30, best2 = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        if ((rc = pass_time(&p, cpus, 1, &t)) < 0) goto fail;
        if (t < best1) best1 = t;
        if ((rc = pass_time(&p, cpus, 2, &t)) < 0) goto fail;
        if (t < best2) best2 = t;
    }
    double flops = p.flops_per_iter * (double)p.iters;
    double scale = 2.0 * best1 / best2;
    printf("coreprobe: cpus %d,%d  1 thread %.1f GFLOP/s  2 threads %.1f GFLOP/s  scale %.2f  %s\n",
           cpus[0], cpus[1], flops / best1 * 1e-9, 2.0 * flops / best2 * 1e-9, scale,
           scale >= SCALE_TWO_CORES ? "two cores" : "shared core");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "coreprobe: cannot start threads: %s\n", strerror(-rc));
out:
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    return rc < 0 ? 1 : 0;
}
