/*
 * A C program embedding bpfbox through libbpfbox (include/bpfbox.h): it defines two
 * helpers of its own, host_add (#1000) and host_hash (#1001), verifies and runs the
 * programs of crates/api/tests/host/host_helpers.bpf.o that call them, and reads the
 * results from the object's map. Exit status 0 when everything behaves.
 *
 *   cc -I crates/capi/include crates/capi/examples/host.c -L target/debug -lbpfbox \
 *      -Wl,-rpath,$PWD/target/debug -o host
 *   ./host crates/api/tests/host/host_helpers.bpf.o
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bpfbox.h"

static int failures;

#define CHECK(cond, ...)                                                  \
	do {                                                                  \
		if (!(cond)) {                                                    \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);          \
			fprintf(stderr, __VA_ARGS__);                                 \
			fprintf(stderr, " (last error: %s)\n", bpfbox_last_error()); \
			failures++;                                                   \
		}                                                                 \
	} while (0)

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* u64 host_add(u64 a, u64 b); `user` points at a call counter. */
static int host_add(void *user, bpfbox_call *call, uint64_t *ret)
{
	(*(int *)user)++;
	*ret = bpfbox_call_arg(call, 0) + bpfbox_call_arg(call, 1);
	return 0;
}

/* u64 host_hash(const void *data, u32 size) */
static int host_hash(void *user, bpfbox_call *call, uint64_t *ret)
{
	uint8_t buf[256];
	int64_t n = bpfbox_call_read(call, 0, buf, sizeof(buf));

	(void)user;
	if (n < 0 || n > (int64_t)sizeof(buf))
		return 1;
	*ret = fnv1a(buf, (size_t)n);
	return 0;
}

/* void host_fill(void *buf, u32 size): writes 1, 2, 3... */
static int host_fill(void *user, bpfbox_call *call, uint64_t *ret)
{
	uint8_t buf[64];
	uint64_t n = bpfbox_call_arg(call, 1);

	(void)user;
	if (n > sizeof(buf))
		return 1;
	for (uint64_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i + 1);
	*ret = 0;
	return bpfbox_call_write(call, 0, buf, (size_t)n);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "crates/api/tests/host/host_helpers.bpf.o";
	int add_calls = 0;
	int accepted = -1;

	/* Bad input is an error value, never a crash. */
	CHECK(bpfbox_object_open_bytes((const uint8_t *)"garbage", 7) == NULL, "garbage opened");
	printf("garbage: %s\n", bpfbox_last_error());

	bpfbox_object *obj = bpfbox_object_open(path);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", path, bpfbox_last_error());
		return 1;
	}
	char *names = bpfbox_object_programs(obj);
	printf("programs: %s\n", names);
	bpfbox_string_free(names);

	bpfbox_helpers *helpers = bpfbox_helpers_new();
	const int scalars[] = {BPFBOX_ARG_SCALAR, BPFBOX_ARG_SCALAR};
	const int mem[] = {BPFBOX_ARG_MEMORY, BPFBOX_ARG_SIZE};
	CHECK(bpfbox_helpers_register(helpers, 1000, "host_add", BPFBOX_RET_INTEGER, scalars, 2, host_add, &add_calls) == 0,
	      "register host_add");
	CHECK(bpfbox_helpers_register(helpers, 1001, "host_hash", BPFBOX_RET_INTEGER, mem, 2, host_hash, NULL) == 0,
	      "register host_hash");
	const int out[] = {BPFBOX_ARG_MEMORY_OUT, BPFBOX_ARG_SIZE};
	CHECK(bpfbox_helpers_register(helpers, 1003, "host_fill", BPFBOX_RET_VOID, out, 2, host_fill, NULL) == 0,
	      "register host_fill");
	/* A prototype the verifier could not check: refused. */
	const int lonely[] = {BPFBOX_ARG_MEMORY};
	CHECK(bpfbox_helpers_register(helpers, 1003, "bad", BPFBOX_RET_INTEGER, lonely, 1, host_add, NULL) == -1,
	      "memory without size accepted");
	printf("bad prototype: %s\n", bpfbox_last_error());

	char *diag = bpfbox_verify(obj, "good", helpers, &accepted);
	CHECK(diag && accepted == 1, "good rejected: %s", diag ? diag : "");
	bpfbox_string_free(diag);
	diag = bpfbox_verify(obj, "bad_size", helpers, &accepted);
	CHECK(diag && accepted == 0 && strstr(diag, "invalid access to packet"), "bad_size: %s", diag ? diag : "");
	printf("bad_size: %s", diag ? diag : "(null)\n");
	bpfbox_string_free(diag);
	diag = bpfbox_verify(obj, "nope", helpers, &accepted);
	CHECK(diag == NULL, "unknown program verified");
	printf("nope: %s\n", bpfbox_last_error());

	for (int jit = 0; jit <= 1; jit++) {
		bpfbox_instance *inst = bpfbox_load(obj, jit, helpers);
		CHECK(inst != NULL, "load (jit %d)", jit);
		if (!inst)
			continue;
		uint8_t pkt[20], out[64];
		size_t out_len = sizeof(out);
		uint64_t retval = 0, hash = 0, sum = 0;
		for (int i = 0; i < 20; i++)
			pkt[i] = (uint8_t)(i + 1);
		CHECK(bpfbox_test_run(inst, "good", pkt, sizeof(pkt), out, &out_len, &retval) == 0, "run good");
		CHECK(retval == 2 && out_len == sizeof(pkt), "retval %" PRIu64 ", %zu bytes out", retval, out_len);
		uint32_t k0 = 0, k1 = 1;
		CHECK(bpfbox_map_lookup(inst, "results", (uint8_t *)&k0, 4, (uint8_t *)&hash, 8) == 0, "lookup 0");
		CHECK(bpfbox_map_lookup(inst, "results", (uint8_t *)&k1, 4, (uint8_t *)&sum, 8) == 0, "lookup 1");
		CHECK(hash == fnv1a(pkt, 8), "hash %" PRIx64, hash);
		CHECK(sum == 1020, "sum %" PRIu64, sum);
		printf("jit=%d: retval=%" PRIu64 " hash=%016" PRIx64 " sum=%" PRIu64 "\n", jit, retval, hash, sum);
		uint32_t k2 = 2;
		uint64_t filled = 0;
		CHECK(bpfbox_test_run(inst, "fill", pkt, sizeof(pkt), NULL, NULL, &retval) == 0, "run fill");
		CHECK(bpfbox_map_lookup(inst, "results", (uint8_t *)&k2, 4, (uint8_t *)&filled, 8) == 0 && filled == 136,
		      "host_fill: sum %" PRIu64, filled);

		/* Rejected programs and misuse of the API: errors with reasons. */
		CHECK(bpfbox_test_run(inst, "bad_size", pkt, sizeof(pkt), NULL, NULL, &retval) == -1, "bad_size ran");
		printf("run bad_size: %s\n", bpfbox_last_error());
		CHECK(bpfbox_map_lookup(inst, "results", (uint8_t *)&k0, 8, (uint8_t *)&hash, 8) == -1, "8-byte key");
		printf("wrong key size: %s\n", bpfbox_last_error());
		uint64_t v = 7;
		CHECK(bpfbox_map_update(inst, "results", (uint8_t *)&k1, 4, (uint8_t *)&v, 8) == 0, "update");
		CHECK(bpfbox_map_lookup(inst, "results", (uint8_t *)&k1, 4, (uint8_t *)&sum, 8) == 0 && sum == 7, "updated");
		CHECK(bpfbox_map_delete(inst, "results", (uint8_t *)&k1, 4) == -1, "delete from an array");
		CHECK(bpfbox_test_run(NULL, "good", pkt, sizeof(pkt), NULL, NULL, NULL) == -1, "NULL instance");
		bpfbox_instance_free(inst);
	}
	CHECK(add_calls == 2, "host_add called %d times", add_calls);

	bpfbox_helpers_free(helpers);
	bpfbox_object_free(obj);
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
