// libFuzzer's driver entry point, for harness executables whose `main` SwiftPM names
// after the module (it links `main` to `<module>_main`): that function hands the
// command line to libFuzzer, which then calls LLVMFuzzerTestOneInput.
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Runs libFuzzer with `callback` as the fuzz target (what libFuzzer's own main does).
int fuzz_driver_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));
#endif
