/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: vector register hygiene. Callable from any layer (mech after AES
 * and GCM, providers after libsodium's ciphers). Thread safe; touches
 * only the calling thread's registers.
 */
#ifndef CMK_REGS_H
#define CMK_REGS_H

/* Zeroes the vector registers (x86-64; a no-op elsewhere) after keyed
 * work, so no round key, GHASH key or cipher state is left in them for a
 * core dump's register notes or a forked child. Cheap: one VZEROALL
 * (plus 16 XORs with AVX-512), or 16 XORs. */
void cmk_regs_wipe(void);

#endif /* CMK_REGS_H */
