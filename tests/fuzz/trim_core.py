#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Shrink an ELF core for the fuzzing corpus: keep the ELF header, the program
headers and the notes whole, and the bytes of the writable segments up to
KEEP each; every other segment keeps its place in memory (p_memsz) but no
bytes (p_filesz 0), as a core written under a small coredump_filter has.

Usage: trim_core.py CORE OUT [KEEP]   (the corpus's core: gcore of
build/tests/targets/parked_threads 2, run with `ulimit -s 64`)
"""
import struct
import sys

PT_LOAD, PT_NOTE, PF_W = 1, 4, 2


def main():
    src = open(sys.argv[1], "rb").read()
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    assert src[:4] == b"\x7fELF" and src[4] == 2, "a 64-bit ELF core"
    phoff, = struct.unpack_from("<Q", src, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", src, 0x36)
    out = bytearray(src[:phoff + phentsize * phnum])
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = \
            struct.unpack_from("<IIQQQQQQ", src, at)
        if p_type == PT_NOTE:
            n = p_filesz
        elif p_type == PT_LOAD and p_flags & PF_W:
            n = min(p_filesz, keep)
        else:
            n = 0
        data = src[p_offset:p_offset + n]
        struct.pack_into("<IIQQQQQQ", out, at, p_type, p_flags, len(out) if n else 0,
                         p_vaddr, p_paddr, n, p_memsz, p_align)
        out += data
    open(sys.argv[2], "wb").write(out)


if __name__ == "__main__":
    main()
