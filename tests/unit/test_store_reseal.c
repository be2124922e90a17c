/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the store in a data-key rotation (store/store.h): files sealed
 * under a previous KEK open through loc->old, asked for only when the
 * current KEK fails; cmk_store_reseal moves the manifest and each object
 * under the current KEK in place (same version, new bytes) and refuses
 * stale files; a KEK that is neither current nor previous opens nothing.
 */
#include "store_fx.h"

struct olds {
    const uint8_t *kek[2]; /* NULL: none (expired) */
    size_t n;
    unsigned calls;
};

static cmk_err old_cb(void *arg, size_t i, struct cmk_secret *kek)
{
    struct olds *o = arg;

    o->calls++;
    if (i >= o->n || o->kek[i] == NULL)
        return CMK_E_KEY_NOT_FOUND;
    return cmk_secret_dup(kek, o->kek[i], 32);
}

static struct cmk_store_loc loc_old(struct fx *f, const uint8_t *kek,
                                    struct olds *o)
{
    struct cmk_store_loc loc = loc_of(f, kek, TENANT);

    loc.old = old_cb;
    loc.old_arg = o;
    return loc;
}

static void put3(struct fx *f, const uint8_t *kek, char names[3][17])
{
    size_t i;
    char label[8];

    for (i = 0; i < 3; i++) {
        cmk_store_new_name(names[i]);
        snprintf(label, sizeof(label), "k%zu", i);
        write_sample(f, kek, TENANT, names[i], label);
    }
}

static size_t load_with(struct fx *f, struct cmk_store_loc *loc, cmk_err *err)
{
    loaded_clear(&f->got);
    *err = cmk_store_load_all(loc, collect, &f->got, NULL);
    return f->got.n;
}

static void test_old_kek_reads(void **state)
{
    struct fx *f = *state;
    struct olds o = {{f->kek, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek2, &o);
    char names[3][17];
    cmk_err err;

    put3(f, f->kek, names);
    assert_int_equal(load_with(f, &loc, &err), 3);
    assert_int_equal(err, CMK_OK);
    assert_int_equal(o.calls, 1); /* once per operation, not per file */
    /* Without the previous KEK (none, or expired) nothing opens. */
    loc.old = NULL;
    assert_int_equal(load_with(f, &loc, &err), 0);
    assert_int_equal(err, CMK_E_ROLLBACK);
    o.kek[0] = NULL;
    loc.old = old_cb;
    assert_int_equal(load_with(f, &loc, &err), 0);
    assert_int_equal(err, CMK_E_ROLLBACK);
}

static void test_old_not_asked_when_current_opens(void **state)
{
    struct fx *f = *state;
    struct olds o = {{f->kek2, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek, &o);
    char names[3][17];
    cmk_err err;

    put3(f, f->kek, names);
    assert_int_equal(load_with(f, &loc, &err), 3);
    assert_int_equal(o.calls, 0);
}

/* A KEK that is neither the current nor a previous one opens nothing,
 * and another tenant's files stay refused under the same KEKs. */
static void test_stranger_kek_refused(void **state)
{
    struct fx *f = *state;
    uint8_t other[32];
    struct olds o = {{f->kek, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek2, &o);
    char names[3][17];
    cmk_err err;

    randombytes_buf(other, sizeof(other));
    put3(f, other, names);
    assert_int_equal(load_with(f, &loc, &err), 0);
    assert_int_equal(err, CMK_E_ROLLBACK);
    loc.tenant = "beta";
    o.kek[0] = other;
    assert_int_equal(load_with(f, &loc, &err), 0);
    assert_int_equal(err, CMK_E_ROLLBACK);
}

static void read_all(struct fx *f, const char names[3][17],
                     uint8_t buf[3][4096], size_t len[3])
{
    char file[32];
    size_t i;

    for (i = 0; i < 3; i++) {
        snprintf(file, sizeof(file), "%s.obj", names[i]);
        len[i] = read_file(obj_path(f, file), buf[i], 4096);
    }
}

static void test_reseal_moves_in_place(void **state)
{
    struct fx *f = *state;
    struct olds o = {{f->kek, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek2, &o), only_new, only_old;
    static uint8_t before[3][4096], after[3][4096];
    struct cmk_store_name *list = NULL;
    size_t lb[3], la[3], n = 0, i;
    char names[3][17];
    bool moved = true;
    cmk_err err;

    put3(f, f->kek, names);
    read_all(f, names, before, lb);
    assert_int_equal(cmk_store_names(&loc, &list, &n), CMK_OK);
    assert_int_equal(n, 3);
    free(list);
    assert_int_equal(cmk_store_reseal(&loc, NULL, &moved), CMK_OK);
    assert_false(moved);
    only_new = loc_of(f, f->kek2, TENANT);
    only_old = loc_of(f, f->kek, TENANT);
    /* The manifest moved first: the old KEK alone opens nothing now. */
    assert_int_equal(load_with(f, &only_old, &err), 0);
    assert_int_equal(err, CMK_E_ROLLBACK);
    assert_int_equal(load_with(f, &only_new, &err), 0); /* objects: old */
    assert_int_equal(err, CMK_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(cmk_store_reseal(&loc, names[i], &moved), CMK_OK);
        assert_true(moved);
        assert_int_equal(cmk_store_reseal(&loc, names[i], &moved), CMK_OK);
        assert_false(moved); /* idempotent */
    }
    read_all(f, names, after, la);
    for (i = 0; i < 3; i++) {
        assert_int_equal(la[i], lb[i]);
        assert_memory_equal(after[i], before[i], 13); /* same version */
        assert_memory_not_equal(after[i] + 13, before[i] + 13, la[i] - 13);
    }
    assert_int_equal(load_with(f, &only_new, &err), 3);
    for (i = 0; i < 3; i++)
        assert_int_equal(f->got.versions[i], 1);
}

static void test_reseal_then_write(void **state)
{
    struct fx *f = *state;
    struct olds o = {{f->kek, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek2, &o);
    struct cmk_store_meta meta;
    struct cmk_attrs a = {0};
    char names[3][17];
    bool moved;

    put3(f, f->kek, names);
    assert_int_equal(cmk_store_reseal(&loc, names[0], &moved), CMK_OK);
    assert_true(moved);
    /* A writer whose copy came from version 1 is not in conflict: the
     * re-seal kept the version. */
    sample(&a, "changed");
    assert_int_equal(cmk_store_put(&loc, names[0], 1, &a, &meta), CMK_OK);
    assert_int_equal(meta.version, 2);
    /* A write through the new KEK while the others are still old. */
    assert_int_equal(cmk_store_put(&loc, names[1], 1, &a, &meta), CMK_OK);
    cmk_attrs_clear(&a);
    loc.old = NULL;
    assert_int_equal(cmk_store_get(&loc, names[1], &a, &meta), CMK_OK);
    cmk_attrs_clear(&a);
    assert_int_equal(cmk_store_get(&loc, names[2], &a, &meta),
                     CMK_E_BAD_CIPHERTEXT);
}

static void test_reseal_refuses_stale(void **state)
{
    struct fx *f = *state;
    struct olds o = {{f->kek, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek2, &o);
    uint8_t old[4096], now[4096];
    struct cmk_attrs a = {0};
    char names[3][17], file[32];
    size_t n_old, n_now;
    bool moved = true;

    put3(f, f->kek, names);
    snprintf(file, sizeof(file), "%s.obj", names[0]);
    n_old = read_file(obj_path(f, file), old, sizeof(old));
    sample(&a, "v2");
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, names[0], &a), CMK_OK);
    cmk_attrs_clear(&a);
    write_file(obj_path(f, file), old, n_old); /* version 1 replayed */
    assert_int_equal(cmk_store_reseal(&loc, names[0], &moved), CMK_E_ROLLBACK);
    assert_false(moved);
    n_now = read_file(obj_path(f, file), now, sizeof(now));
    assert_int_equal(n_now, n_old);
    assert_memory_equal(now, old, n_old); /* left as it was */
}

static void test_reseal_gone(void **state)
{
    struct fx *f = *state;
    struct olds o = {{f->kek, NULL}, 1, 0};
    struct cmk_store_loc loc = loc_old(f, f->kek2, &o);
    struct cmk_store_name *list = (void *)1;
    char names[3][17];
    size_t n = 9;
    bool moved = true;

    /* No store yet. */
    assert_int_equal(cmk_store_reseal(&loc, NULL, &moved), CMK_OK);
    assert_int_equal(cmk_store_reseal(&loc, "0123456789abcdef", &moved),
                     CMK_E_KEY_NOT_FOUND);
    assert_int_equal(cmk_store_names(&loc, &list, &n), CMK_OK);
    assert_int_equal(n, 0);
    assert_null(list);
    put3(f, f->kek, names);
    assert_int_equal(cmk_store_reseal(&loc, "0123456789abcdef", &moved),
                     CMK_E_KEY_NOT_FOUND);
    assert_int_equal(cmk_store_reseal(&loc, "../x", &moved), CMK_E_ARGS);
    /* The manifest is under the new KEK now: the old one alone is
     * refused, a delete through both works. */
    assert_int_equal(cmk_store_remove(f->store, TENANT, f->kek, 32, names[1]),
                     CMK_E_ROLLBACK);
    assert_int_equal(cmk_store_delete(&loc, names[1], CMK_STORE_ANY), CMK_OK);
    assert_int_equal(cmk_store_reseal(&loc, names[1], &moved),
                     CMK_E_KEY_NOT_FOUND);
    assert_false(moved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_kek_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_not_asked_when_current_opens,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stranger_kek_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reseal_moves_in_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reseal_then_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reseal_refuses_stale, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reseal_gone, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
