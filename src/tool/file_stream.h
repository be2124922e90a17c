/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the streams of cmk-tool encrypt / decrypt / rekey over the file
 * format (file_format.h) and the module (file_p11.h). Memory is constant:
 * the encryptor holds one plaintext and one sealed chunk (two sealed
 * ones when it reads ahead, from 512 KiB chunks on), the decryptor one
 * sealed and one plaintext chunk.
 *
 * Errors: -1 with why set to one line naming the problem and, for the
 * data, the chunk ("chunk 3 failed authentication ..."); the caller
 * prefixes the file name.
 */
#ifndef CMK_TOOL_FILE_STREAM_H
#define CMK_TOOL_FILE_STREAM_H

#include "tool/file_format.h"
#include "tool/file_io.h"
#include "tool/file_p11.h"

#define TOOL_F_WHY 256

/* Writes the header of h (wrapped DEK and prefix set), then seals data
 * pushed into it chunk by chunk under dek. */
struct tool_fenc {
    struct tool_p11 *p11;
    struct tool_fout *out;
    struct tool_fhdr h;
    uint8_t hash[TOOL_F_HASH];
    CK_OBJECT_HANDLE dek;
    uint8_t *plain, *sealed;
    uint8_t *spare; /* the second buffer of reading ahead, or NULL */
    size_t fill;
    bool in_place;         /* plaintext gathers in sealed (file_stream.c) */
    uint64_t index, bytes; /* next chunk; plaintext bytes taken */
    char *why;
};

int tool_fenc_start(struct tool_fenc *e, struct tool_p11 *p11,
                    const struct tool_fhdr *h, CK_OBJECT_HANDLE dek,
                    struct tool_fout *out, char *why);
/* Takes n bytes (sealing every chunk that fills). */
int tool_fenc_push(struct tool_fenc *e, const uint8_t *p, size_t n);
/* Reads in until end of file, with progress. */
int tool_fenc_read(struct tool_fenc *e, struct tool_fin *in,
                   struct tool_progress *pg);
/* Seals the final chunk (shorter than the chunk size, maybe empty). */
int tool_fenc_finish(struct tool_fenc *e);
/* Wipes and frees the buffers. */
void tool_fenc_free(struct tool_fenc *e);

/* Reads and checks the header of in; hash is its SHA-256. */
int tool_fhdr_read(struct tool_fin *in, struct tool_fhdr *h,
                   uint8_t hash[TOOL_F_HASH], char *why);

/* Where authenticated plaintext goes. 0, or -1 (message printed). */
typedef int (*tool_fsink)(void *arg, const uint8_t *p, size_t n);

/* Opens every chunk of in after its header under dek, in order, and
 * hands each one's plaintext to sink once its tag is checked. Ends with
 * the final chunk and nothing after it. *bytes: plaintext handed on. */
struct tool_fdec {
    struct tool_p11 *p11;
    const struct tool_fhdr *h;
    const uint8_t *hash;
    CK_OBJECT_HANDLE dek;
    tool_fsink sink;
    void *arg;
    uint64_t bytes;
    char *why;
};
int tool_fdec_run(struct tool_fdec *d, struct tool_fin *in,
                  struct tool_progress *pg);

#endif /* CMK_TOOL_FILE_STREAM_H */
