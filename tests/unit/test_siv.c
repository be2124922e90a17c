/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): the AES-256-GCM-SIV tag of mech/siv.h against
 * RFC 8452 and Wycheproof vectors (tag only: the audit mac needs no
 * ciphertext), on the PCLMULQDQ path and the portable one; both paths
 * agreeing on random inputs at every length up to 40 blocks; a head
 * block the same as the first 16 bytes of the additional data; a
 * changed byte, nonce or key changing the tag.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "mech/aes.h"
#include "mech/mech.h"
#include "mech/siv.h"
#include "mech_vec.h"

/* Wycheproof aes_gcm_siv_test.json (v1), keySize 256: tcId 133 (no
 * additional data), 134, 136, 137, 139, 140, 143, 146 (1 to 256 bytes of
 * additional data, every group size of the 8-block aggregation), and
 * RFC 8452 appendix C.2's first vector (nothing at all). */
struct vec {
    const char *key, *iv, *aad, *msg, *tag;
};

static const struct vec g_vecs[] = {
    {"0100000000000000000000000000000000000000000000000000000000000000",
     "030000000000000000000000", "", "", "07f5f4169bbf55a8400cd47ea6fd400f"},
    {"e1731d5854e1b70cb3ffe8b786a2b3ebf0994370954757b9dc8c7bc5354634a3",
     "72cfd90ef3026ca22b7e6e6a", "",
     "b9c554cbc36ac18ae897df7beecac1dbeb4eafa156bb60ce2e5d48f05715e678",
     "72fc457255aadf708719c46986caefad"},
    {"7d00b48095adfa3272050607b264185002ba99957c498be022770f2ce2f3143c",
     "87345f1055fd9e2102d50656", "02", "e5ccaa441bc814688f8f6e8f28b500b2",
     "688e0b634f51c4f6d983629c8a63c1c0"},
    {"8e34cf73d245a1082a920b86364eb896c4946467bcb3d58929fcb36690e6394f",
     "6f573aa86baa492ba46596df", "bd4cd02fc7502bbdbdf6c9a3cbe8f0",
     "16ddd23ff53f3d23c06334487040eb47", "fe7a3dd42beb5ff70bb471ff76f0d341"},
    {"cb5575f5c7c45c91cf320b139fb594237560d0a3e6f865a67d4f633f2c08f016",
     "1a6518f02ede1da6809266d9", "89cce9fb47441d07e0245a66fe8b778b",
     "623b7850c321e2cf0c6fbcc8dfd1aff2", "957d35fb25fdc17f00db33756967fd02"},
    {"3937986af86dafc1ba0c4672d8abc46c207062682d9c264ab06d6c5807205130",
     "8df4b15a888c33286a7b7651",
     "ba446f6f9a0ced22450feb10737d9007fd69abc19b1d4d9049a5551e86ec2b37",
     "dc9e9eaf11e314182df6a4eba17aec9c", "3ccbb125b2835754c1409d227e374d0b"},
    {"ef4c8bb2cc6241236a1beaaef87bb0496ffbe207b55345d122df5f152c333497",
     "ef39004a758b1bb20b17b0ed",
     "261829764f3b3c5fa9e524bdf6eb4c98ac52f1e6dd88c5fcb874c1ddfc5024ca5f6805"
     "5d02f7a36038ba5c4e34fcc88d607e337dcb21a243a939c6aaf3a83b",
     "aace67c1f19e00b79a25d1585fa51ff1", "1a41686c8f29d07bcadf59a030aee817"},
    {"0c1e7bebbd5ff8c00827bc862f12154cd59a4fb013446e5022aede44f7670645",
     "10b7c0942a81d7c644cb35cb",
     "4e3d056e4d11811c2f3c35a34692cbd0658320859e3ca134420b1c3584d793a62a07f7"
     "a48a9fbe9d51a0a87de10108075c5eba2c61407d952b53b3f5f7200b5975146df9a2e9"
     "02f715b04c01ab759062e35c7b72feac1b1a6c8e69002feb49b1ce0b4b1746c6c31c77"
     "1fd7cdf80d2b076d21d212c3723b939c1c1a72e997bd",
     "bd68e65fec0e13228495e18fce6570b7", "a88b76e7f06ada393710ccb789f1bcb3"},
    {"93af42407d97c760adab2706a37a943f77acbc8146ea5698a311e4a99b2663c5",
     "00705ed71d411e9a43ea1323",
     "543d01c9a4caed305a6a7a76754a9deb1255d76a33f6870cae73ca803400b703aead78"
     "575d719c837b64a7c590040cf957f5eee46b74dcfe29002f5bd6127aa57ba44e601ea2"
     "cdd16051dbffc33b655afc1887e7c1a5bd99e0a5b018e01e7bc80fa0dd1f82839e62b9"
     "ec618e7f085d21d5f26be55633329c1fe73956b5692d18ba380d47e1217342334059c3"
     "91776445ed34214f6608b787ca280463be33bf7d50a2a018235a9e6b204d037025bd49"
     "b80de348d13a5a459e40f3507236e14f6a70b420ed55915fa1f9f32e5a2028f8e2755b"
     "690da6927e415a8d7283c084ac410c4db4eb20c7682cb3ac10e698fb04a275463d4c67"
     "875691e428343d0025ff",
     "46665b3e125f845a5d72b8bf819b05f1", "0040a43774d77bb7dff8c522147e0832"},
};

static bool g_soft[] = {false, true};

static void use_path(void **state)
{
    cmk_aes_force_fallback(*(const bool *)*state);
}

static uint8_t *hex(const char *s, size_t *len)
{
    uint8_t *p = vec_hex(s, len);

    assert_non_null(p);
    return p;
}

static void test_vectors(void **state)
{
    use_path(state);
    for (size_t i = 0; i < sizeof(g_vecs) / sizeof(g_vecs[0]); i++) {
        const struct vec *v = &g_vecs[i];
        size_t kl, il, al, ml, tl;
        uint8_t *key = hex(v->key, &kl), *iv = hex(v->iv, &il);
        uint8_t *aad = hex(v->aad, &al), *msg = hex(v->msg, &ml);
        uint8_t *want = hex(v->tag, &tl), got[16];
        struct cmk_siv_key sk;

        assert_int_equal(kl, 32);
        assert_int_equal(il, 12);
        assert_true(cmk_siv_key_init(&sk, key, iv));
        assert_true(cmk_siv_tag(&sk, NULL, aad, al, msg, ml, got));
        if (memcmp(got, want, 16) != 0)
            fail_msg("vector %zu: tag differs", i);
        cmk_siv_key_wipe(&sk);
        free(key), free(iv), free(aad), free(msg), free(want);
    }
}

static uint64_t g_rng = 0x51f0a11c0ffee123ULL;

static uint8_t rnd8(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint8_t)(z ^ (z >> 31));
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = rnd8();
}

/* Both paths, every length to 40 blocks, with and without a head. */
static void test_paths_agree(void **state)
{
    uint8_t key[32], nonce[12], buf[16 + 640], a[16], b[16];
    struct cmk_siv_key sk;

    (void)state;
    if (!cmk_aes_cpu()) { /* one path only: nothing to compare */
        print_message("not run: the CPU has no AES-NI and PCLMULQDQ\n");
        skip();
    }
    rnd_bytes(key, sizeof(key));
    rnd_bytes(nonce, sizeof(nonce));
    rnd_bytes(buf, sizeof(buf));
    assert_true(cmk_siv_key_init(&sk, key, nonce));
    for (size_t n = 0; n <= 640; n++) {
        cmk_aes_force_fallback(false);
        assert_true(cmk_siv_tag(&sk, buf, buf + 16, n, NULL, 0, a));
        cmk_aes_force_fallback(true);
        assert_true(cmk_siv_tag(&sk, buf, buf + 16, n, NULL, 0, b));
        if (memcmp(a, b, 16) != 0)
            fail_msg("paths differ at %zu bytes", n);
        /* a head is the same as those bytes at the front */
        assert_true(cmk_siv_tag(&sk, NULL, buf, n + 16, NULL, 0, b));
        assert_memory_equal(a, b, 16);
        cmk_aes_force_fallback(false);
        assert_true(cmk_siv_tag(&sk, NULL, buf, n + 16, NULL, 0, b));
        assert_memory_equal(a, b, 16);
    }
    cmk_aes_force_fallback(false);
    cmk_siv_key_wipe(&sk);
}

/* Any changed byte of the data, the nonce or the key changes the tag,
 * and so does moving bytes between the data and the plaintext. */
static void test_changes(void **state)
{
    uint8_t key[32], nonce[12], buf[300], t0[16], t1[16];
    struct cmk_siv_key sk;

    use_path(state);
    rnd_bytes(key, sizeof(key));
    rnd_bytes(nonce, sizeof(nonce));
    rnd_bytes(buf, sizeof(buf));
    assert_true(cmk_siv_key_init(&sk, key, nonce));
    assert_true(cmk_siv_tag(&sk, NULL, buf, sizeof(buf), NULL, 0, t0));
    for (size_t i = 0; i < sizeof(buf); i += 7) {
        buf[i] ^= 0x01;
        assert_true(cmk_siv_tag(&sk, NULL, buf, sizeof(buf), NULL, 0, t1));
        assert_memory_not_equal(t0, t1, 16);
        buf[i] ^= 0x01;
    }
    assert_true(cmk_siv_tag(&sk, NULL, buf, 100, buf + 100, 200, t1));
    assert_memory_not_equal(t0, t1, 16);
    /* a zero byte appended is not padding */
    memset(buf + 290, 0, 10);
    assert_true(cmk_siv_tag(&sk, NULL, buf, 290, NULL, 0, t0));
    assert_true(cmk_siv_tag(&sk, NULL, buf, 291, NULL, 0, t1));
    assert_memory_not_equal(t0, t1, 16);
    nonce[11] ^= 0x80;
    assert_true(cmk_siv_key_init(&sk, key, nonce));
    assert_true(cmk_siv_tag(&sk, NULL, buf, 290, NULL, 0, t1));
    assert_memory_not_equal(t0, t1, 16);
    nonce[11] ^= 0x80;
    key[31] ^= 0x01;
    assert_true(cmk_siv_key_init(&sk, key, nonce));
    assert_true(cmk_siv_tag(&sk, NULL, buf, 290, NULL, 0, t1));
    assert_memory_not_equal(t0, t1, 16);
    cmk_siv_key_wipe(&sk);
    assert_true(sodium_is_zero((const unsigned char *)&sk, sizeof(sk)));
}

static int setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cmk_aes_force_fallback(false);
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_vectors, &g_soft[0]),
        cmocka_unit_test_prestate(test_vectors, &g_soft[1]),
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test_prestate(test_changes, &g_soft[0]),
        cmocka_unit_test_prestate(test_changes, &g_soft[1]),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}
