// The library's own threads. OpenBLAS runs on one thread; parallel loops and GEMMs split
// over the cores run here instead. One pool for everything means no two spinning thread
// pools compete for the same two cores (OpenBLAS's idle workers spin on sched_yield for
// about 0.1 s after each threaded call, taking the core from whatever runs next).
#define _GNU_SOURCE
#include "thread_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define BP_MAX_WORKERS 63

int bp_pool_spin_microseconds = 2000;

static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;   // one run at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static int worker_count = 0;                  // started so far (never stopped)
static atomic_int sleepers = 0;               // workers waiting on `wake`
// The current run, published in one word: (run number << 8) | workers that may take part.
// One word, so a worker always reads the participants of the run it sees (a run's count
// stored apart could already belong to the next run). When its tasks are done the caller
// closes the run by storing the same run number with 0 participants: a worker that comes
// late (descheduled by another process, say) then never enters it, and the caller never
// waits for a worker that has not started.
static atomic_ulong run_word = 0;
static unsigned long run_number = 0;          // under submit_lock

// the current run
static bp_task_fn run_fn;
static void *run_context;
static ptrdiff_t run_tasks;
static atomic_long next_index;
static atomic_long finished;                  // tasks done
static atomic_int active;                     // workers inside the current run

static _Thread_local int in_task = 0;

int bp_pool_in_task(void) { return in_task; }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// One poll of a wait loop: a pause, and after the first few thousand polls (some tens of
// microseconds) also a sched_yield, so that a wait that lasts hands the core to whatever
// else is runnable on it: on a loaded machine that is often the very thread being waited
// for. On an idle core sched_yield returns at once.
static inline void wait_a_little(int *polls) {
    cpu_relax();
    if (++*polls > 4096) sched_yield();
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

// Takes indices of the current run until none is left.
static void work(void) {
    in_task = 1;
    for (;;) {
        ptrdiff_t i = atomic_fetch_add_explicit(&next_index, 1, memory_order_relaxed);
        if (i >= run_tasks) break;
        run_fn(run_context, i);
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
    }
    in_task = 0;
}

struct worker_start { int id; unsigned long run_word; };

static void *worker_main(void *arg) {
    struct worker_start start = *(struct worker_start *)arg;
    free(arg);
    int id = start.id;                        // 1-based: takes part if id < the run's count
    unsigned long seen = start.run_word;      // runs after this one are ours
    for (;;) {
        // wait for a new run: spin, then sleep
        uint64_t spin_until = now_ns() + (uint64_t)bp_pool_spin_microseconds * 1000u;
        unsigned long g;
        int polls = 0;
        while ((g = atomic_load_explicit(&run_word, memory_order_acquire)) == seen) {
            wait_a_little(&polls);
            if (polls % 256 == 0 && now_ns() > spin_until) {
                pthread_mutex_lock(&sleep_lock);
                // seq_cst increment, then seq_cst load: with bp_pool_run's seq_cst store of
                // run_word and load of sleepers (the mirror image), at least one side sees
                // the other's write, so a sleeper cannot miss a run (an acquire load here
                // could still read the old word after the submitter read sleepers == 0).
                atomic_fetch_add(&sleepers, 1);
                while ((g = atomic_load(&run_word)) == seen)
                    pthread_cond_wait(&wake, &sleep_lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&sleep_lock);
                break;
            }
        }
        seen = g;
        if (id < (int)(g & 0xFF)) {
            // enter, then check the run is still open (both seq_cst): the caller closes the
            // run, then reads `active`, so either it sees this worker inside or the worker
            // sees the run closed and leaves it untouched
            atomic_fetch_add(&active, 1);
            if (atomic_load(&run_word) == g) work();
            atomic_fetch_sub_explicit(&active, 1, memory_order_release);
        }
    }
    return NULL;
}

static void start_workers(int n) {
    while (worker_count < n && worker_count < BP_MAX_WORKERS) {
        pthread_t t;
        pthread_attr_t attr;
        struct worker_start *start = malloc(sizeof *start);
        if (!start) break;
        start->id = worker_count + 1;
        start->run_word = atomic_load(&run_word);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker_main, start) != 0) {
            free(start);
            pthread_attr_destroy(&attr);
            break;
        }
        pthread_attr_destroy(&attr);
        worker_count++;
    }
}

void bp_pool_run(ptrdiff_t tasks, int threads, bp_task_fn fn, void *context) {
    if (tasks <= 0) return;
    if (threads <= 1 || tasks <= 1 || in_task || pthread_mutex_trylock(&submit_lock) != 0) {
        int was = in_task;
        in_task = 1;
        for (ptrdiff_t i = 0; i < tasks; i++) fn(context, i);
        in_task = was;
        return;
    }
    start_workers(threads - 1);
    int helpers = threads - 1 < worker_count ? threads - 1 : worker_count;
    if ((ptrdiff_t)helpers > tasks - 1) helpers = (int)(tasks - 1);

    run_fn = fn;
    run_context = context;
    run_tasks = tasks;
    atomic_store_explicit(&next_index, 0, memory_order_relaxed);
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    run_number++;
    atomic_store(&run_word, (run_number << 8) | (unsigned long)(helpers + 1));  // seq_cst: before reading `sleepers`
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }

    work();                                   // the caller takes indices too
    // every task finished; then close the run and wait for the workers inside it to leave
    // (so the next run's reset is safe)
    int polls = 0;
    while (atomic_load_explicit(&finished, memory_order_acquire) < tasks) wait_a_little(&polls);
    atomic_store(&run_word, run_number << 8);
    while (atomic_load_explicit(&active, memory_order_acquire) > 0) wait_a_little(&polls);
    pthread_mutex_unlock(&submit_lock);
}
