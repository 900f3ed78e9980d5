/* Benchmark 1, the Rust core alone: upy_azure_sas_token (the C ABI the
 * module calls) on the host, without MicroPython around it. Same input as
 * bench/sas_bench.py. Prints one JSON line: CPU time per token, the median
 * (and the minimum) of REPS repetitions of N tokens.
 * Built by mk/bench.mk against the host archive (target/release/libupy_azure.a). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upy_azure.h"

/* The host archive references it (see micropython-glue/modazure.c). */
void rust_eh_personality(void);
void rust_eh_personality(void) {
}

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define REPS 15
#define N 20000

int main(void) {
    static const char uri[] = "https://demo-ns.servicebus.windows.net/telemetry/publishers/wipy-kitchen-01";
    static const char key[] = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=";
    static const char name[] = "DataProducer";
    uint8_t out[512];
    double per[REPS];
    ptrdiff_t n = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = cpu_ns();
        for (int i = 0; i < N; i++) {
            n = upy_azure_sas_token(out, sizeof out, (const uint8_t *)uri, sizeof uri - 1,
                (const uint8_t *)key, sizeof key - 1, (const uint8_t *)name, sizeof name - 1,
                1800000000u, false);
            if (n < 0) {
                fprintf(stderr, "upy_azure_sas_token failed: %ld\n", (long)n);
                return 1;
            }
        }
        per[r] = (cpu_ns() - t0) / N / 1000.0;
    }
    qsort(per, REPS, sizeof per[0], cmp);
    printf("{\"sas_us_rust_core\": %.4f, \"sas_us_rust_core_min\": %.4f, \"token\": \"%.*s\"}\n",
        per[REPS / 2], per[0], (int)n, (const char *)out);
    return 0;
}
