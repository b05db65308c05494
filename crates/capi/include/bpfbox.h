/*
 * libbpfbox: bpfbox's C API. Open clang-built eBPF objects, verify their programs
 * with bpfbox's verifier (the kernel's rules, no kernel), load them into bpfbox's
 * interpreter or JIT, test-run programs, read and write their maps, and give them
 * helpers of your own (host-defined helpers, checked by the verifier against the
 * prototype you declare).
 *
 * Link with -lbpfbox (libbpfbox.so or libbpfbox.a from `cargo build -p bpfbox-capi`;
 * the static library also needs -lpthread -ldl -lm). Example: crates/capi/examples/host.c.
 *
 * Errors: functions returning a pointer return NULL, functions returning int return -1;
 * bpfbox_last_error() then says why. No call aborts the host process on bad input.
 */
#ifndef BPFBOX_H
#define BPFBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct BpfboxObject bpfbox_object;
typedef struct BpfboxInstance bpfbox_instance;
typedef struct BpfboxHelpers bpfbox_helpers;
typedef struct BpfboxCall bpfbox_call;

/*
 * A host helper implemented in C: reads its arguments through `call`, stores its
 * result in *ret and returns 0, or returns non-zero to stop the program with an error.
 */
typedef int (*bpfbox_helper_fn)(void *user, bpfbox_call *call, uint64_t *ret);

/* BEGIN GENERATED from crates/capi/src/lib.rs by tests/header.rs */
/*
 * Argument kind (`bpfbox_helpers_register`): any initialized value (`ARG_ANYTHING`).
 */
#define BPFBOX_ARG_SCALAR 0
/*
 * Readable memory; its size is the next argument (`ARG_PTR_TO_MEM | MEM_RDONLY`).
 */
#define BPFBOX_ARG_MEMORY 1
/*
 * Memory the helper fills; its size is the next argument (`ARG_PTR_TO_UNINIT_MEM`).
 */
#define BPFBOX_ARG_MEMORY_OUT 2
/*
 * The size of the preceding memory argument, > 0 (`ARG_CONST_SIZE`).
 */
#define BPFBOX_ARG_SIZE 3
/*
 * The size of the preceding memory argument, >= 0 (`ARG_CONST_SIZE_OR_ZERO`).
 */
#define BPFBOX_ARG_SIZE_OR_ZERO 4
/*
 * A map (`ARG_CONST_MAP_PTR`).
 */
#define BPFBOX_ARG_MAP 5
/*
 * A key of the preceding map (`ARG_PTR_TO_MAP_KEY`).
 */
#define BPFBOX_ARG_MAP_KEY 6
/*
 * A value of the preceding map (`ARG_PTR_TO_MAP_VALUE`).
 */
#define BPFBOX_ARG_MAP_VALUE 7
/*
 * The program's context (`ARG_PTR_TO_CTX`).
 */
#define BPFBOX_ARG_CONTEXT 8
/*
 * Return kind (`bpfbox_helpers_register`): a scalar (`RET_INTEGER`).
 */
#define BPFBOX_RET_INTEGER 0
/*
 * Nothing (`RET_VOID`).
 */
#define BPFBOX_RET_VOID 1
/*
 * The reason of the last error on this thread ("" if none). The string stays valid
 * until the next failing call on the same thread.
 */
const char *bpfbox_last_error(void);

/*
 * Free a string bpfbox returned (NULL is ignored).
 */
void bpfbox_string_free(char *s);

/*
 * Open an eBPF ELF object file. NULL on error.
 */
bpfbox_object *bpfbox_object_open(const char *path);

/*
 * Open an object from `len` bytes at `data` (copied). NULL on error.
 */
bpfbox_object *bpfbox_object_open_bytes(const uint8_t *data, size_t len);

/*
 * Free an object (NULL is ignored). Instances loaded from it stay valid.
 */
void bpfbox_object_free(bpfbox_object *obj);

/*
 * The object's program names, separated by newlines (free with bpfbox_string_free).
 * NULL on error.
 */
char *bpfbox_object_programs(const bpfbox_object *obj);

/*
 * Verify program `prog` of `obj` with bpfbox's verifier, checking calls of the host
 * helpers `helpers` (may be NULL) against their prototypes. Stores 1 (accepted) or 0
 * in `*accepted` and returns the diagnostics as text ("" when accepted; free with
 * bpfbox_string_free). NULL on error (unknown program...).
 */
char *bpfbox_verify(const bpfbox_object *obj, const char *prog, const bpfbox_helpers *helpers, int *accepted);

/*
 * A new, empty set of host helpers. Never NULL.
 */
bpfbox_helpers *bpfbox_helpers_new(void);

/*
 * Free a set of host helpers (NULL is ignored). Instances loaded with it keep theirs.
 */
void bpfbox_helpers_free(bpfbox_helpers *helpers);

/*
 * Define host helper `id` called `name` returning `ret` (BPFBOX_RET_*) with `nargs`
 * arguments of the kinds `args` (BPFBOX_ARG_*), implemented by `func`, which gets
 * `user` back. 0, or -1 when the prototype cannot be used (a kernel helper's id, a
 * memory argument without its size...).
 */
int bpfbox_helpers_register(bpfbox_helpers *helpers, uint32_t id, const char *name, int ret, const int *args, size_t nargs, bpfbox_helper_fn func, void *user);

/*
 * Argument `i` (0 for r1) of a helper call.
 */
uint64_t bpfbox_call_arg(const bpfbox_call *call, uint32_t i);

/*
 * Copy the memory argument `i` points at (as many bytes as its size argument says, at
 * most `cap`) into `buf`. Returns the argument's size, or -1 on error.
 */
int64_t bpfbox_call_read(bpfbox_call *call, uint32_t i, uint8_t *buf, size_t cap);

/*
 * Write `len` bytes into the memory argument `i` (at most its size). 0 or -1.
 */
int bpfbox_call_write(bpfbox_call *call, uint32_t i, const uint8_t *buf, size_t len);

/*
 * Load `obj` into the interpreter (`jit` = 0) or the JIT, with host helpers `helpers`
 * (may be NULL): maps created, every program verified, accepted ones loaded. A rejected
 * program does not fail the load; running it fails with the verifier's reason. NULL on error.
 */
bpfbox_instance *bpfbox_load(const bpfbox_object *obj, int jit, const bpfbox_helpers *helpers);

/*
 * Free an instance (NULL is ignored).
 */
void bpfbox_instance_free(bpfbox_instance *inst);

/*
 * Run program `prog` once on packet `data` (`len` bytes), as BPF_PROG_TEST_RUN does.
 * Stores r0 in `*retval`; when `data_out` is not NULL, copies the packet after the run
 * into it (at most `*data_out_len` bytes) and stores its full length in `*data_out_len`.
 * 0 or -1.
 */
int bpfbox_test_run(const bpfbox_instance *inst, const char *prog, const uint8_t *data, size_t len, uint8_t *data_out, size_t *data_out_len, uint64_t *retval);

/*
 * Run program `prog` once with context `ctx` (`ctx_len` bytes: a tracepoint's record,
 * `struct __sk_buff`, `struct xdp_md`...; may be NULL with 0) and packet `data` (`len`
 * bytes, may be NULL with 0), as BPF_PROG_TEST_RUN does; for tracing programs whose
 * input is their context. Stores r0 in `*retval`. 0 or -1.
 */
int bpfbox_test_run_ctx(const bpfbox_instance *inst, const char *prog, const uint8_t *ctx, size_t ctx_len, const uint8_t *data, size_t len, uint64_t *retval);

/*
 * Look `key` up in map `map`, copying the value into `value` (`value_len` must be the
 * value size; per-CPU maps: every CPU's value, one after the other). 0 when found, 1
 * when the key is absent, -1 on error.
 */
int bpfbox_map_lookup(const bpfbox_instance *inst, const char *map, const uint8_t *key, size_t key_len, uint8_t *value, size_t value_len);

/*
 * Set `key` to `value` in map `map` (BPF_ANY). 0 or -1.
 */
int bpfbox_map_update(const bpfbox_instance *inst, const char *map, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len);

/*
 * Delete `key` from map `map`. 0 when deleted, 1 when absent, -1 on error.
 */
int bpfbox_map_delete(const bpfbox_instance *inst, const char *map, const uint8_t *key, size_t key_len);

/* END GENERATED */

#ifdef __cplusplus
}
#endif

#endif /* BPFBOX_H */
