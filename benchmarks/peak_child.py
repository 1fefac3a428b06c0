"""``ldnn ARGS`` in this process, and at its exit the most address space (VmPeak) and
resident memory (VmHWM) it took, written to stderr as /proc/self/status words them:

    python benchmarks/peak_child.py train big.parquet --epochs 1

What ``benchmarks/larger_than_memory.py`` and ``tests/test_table_spill.py`` run under an
address-space limit (RLIMIT_AS) to measure a command's memory.
"""

import atexit
import sys


def peaks() -> None:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmPeak", "VmHWM")):
                sys.stderr.write(line)


if __name__ == "__main__":
    atexit.register(peaks)
    from ldnn.cli import main

    sys.exit(main(sys.argv[1:]))
