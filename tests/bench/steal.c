/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: the share of the machine's CPU time its host took during
 * a run ("steal" in /proc/stat): on a virtual machine, time a vCPU was
 * ready to run while the host ran something else on its core, such as
 * its own work for the guest's disk writes. Each thread of the run then
 * gets less done in the same wall time, whatever the code does.
 */
#include <config.h>

#include <stdio.h>

#include "bench.h"

/* The first line of /proc/stat: "cpu user nice system idle iowait irq
 * softirq steal ..." in clock ticks, summed over the CPUs. */
void bench_cpu_sample(struct bench_cpu *c)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");

    c->ok = false;
    if (f == NULL)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        c->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
        c->steal = v[7];
        c->ok = true;
    }
    fclose(f);
}

double bench_steal_share(const struct bench_cpu *from,
                         const struct bench_cpu *to)
{
    if (!from->ok || !to->ok || to->total <= from->total ||
        to->steal < from->steal)
        return -1;
    return (double)(to->steal - from->steal) /
           (double)(to->total - from->total);
}
