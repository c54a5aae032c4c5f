/* tests/test_gradcheck.c — every activation, loss and penalty, and multi-layer stacks, against
 * central differences of an independent double-precision reference (engine/gradcheck.c). */
#include "backend.h"
#include "gradcheck.h"
#include "testutil.h"

int main(void) {
    backend_cpu_set_threads(1);
    GradcheckReport rep;
    gradcheck_run_all(backend_cpu(), 1e-3, stdout, &rep);
    CHECK(rep.ncases >= 16);
    CHECK(rep.nfailed == 0);
    CHECK(rep.worst <= 1e-3);
    printf("gradcheck: %d cases, %d tensors, worst relative error %.2e (%s)\n", rep.ncases,
           rep.ntensors, rep.worst, rep.worst_case);
    return tu_summary("test_gradcheck");
}
