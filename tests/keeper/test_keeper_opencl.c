/* The OpenCL spin work runs for real (PoCL in CI): a reference with OpenCL
 * work on a private segment makes this process the owner; its slot must show
 * OpenCL work, spins and no errors. Skips (77) where no OpenCL platform is
 * installed. */
#include <stdio.h>

#include "keeper_test_runs.h"
#include "sprung/keeper.h"

int main(void)
{
    if (keeper_test_opencl_platforms() == 0) {
        printf("SKIP: no OpenCL platform (libOpenCL.so.1 and an ICD such as PoCL)\n");
        return 77;
    }
    SprungKeeperWork ran = SPRUNG_KEEPER_WORK_NONE;
    if (!keeper_runs("opencl", SPRUNG_KEEPER_WORK_OPENCL, 50, &ran))
        return 1;
    if (ran != SPRUNG_KEEPER_WORK_OPENCL) {
        printf("FAIL: the owner runs %s work, not opencl\n", sprung_keeper_work_name(ran));
        return 1;
    }
    printf("PASS: 50 or more OpenCL spin kernels, no errors\n");
    return 0;
}
