// A small pool of worker threads for the library's parallel loops and split GEMMs.
#pragma once
#include <stddef.h>

/// A task: called as fn(context, index) for each index of a parallel run.
typedef void (*bp_task_fn)(void *context, ptrdiff_t index);

/// Runs fn(context, i) for every i in 0..<tasks on up to `threads` threads: the caller and
/// threads − 1 pool workers, each taking the next index until none is left; returns when
/// all are done. Runs serially on the caller when called from inside a task (nested), when
/// another thread is using the pool, or when threads ≤ 1 or tasks ≤ 1.
///
/// Workers wait for the next run by spinning for about `bp_pool_spin_microseconds`, then
/// sleep. Spinning keeps the wake-up of a step's many short runs at well under a
/// microsecond; a sleeping worker costs a futex wake-up (tens of microseconds). Every wait
/// that lasts more than some tens of microseconds also yields the core (sched_yield), and the
/// caller never waits for a worker that has not entered the run: on a machine busy with other
/// work a descheduled worker costs the run nothing but the share of tasks it did not take.
void bp_pool_run(ptrdiff_t tasks, int threads, bp_task_fn fn, void *context);

/// Whether the calling thread is running a task of the pool.
int bp_pool_in_task(void);

/// How long an idle worker spins before it sleeps (default 2,000 µs).
extern int bp_pool_spin_microseconds;
