// SPDX-License-Identifier: GPL-2.0
// libbpf's final instructions for one program of an object, for the loader's
// differential test (crates/object/tests/libbpf_diff.rs): the object is opened
// and loaded with the system libbpf; a program handler registered for the
// program's section prints `bpf_program__insns()` — CO-RE, sub-program and data
// relocations applied — and the fd of every map, then cancels the load.
// Needs root (libbpf creates the maps) and libbpf-dev.
//
//   cc -O1 -o libbpf_insns libbpf_insns.c -lbpf
//   ./libbpf_insns OBJ PROG [PROG_TYPE EXPECTED_ATTACH_TYPE]
//
// The program type (kernel numbers) is for sections the installed libbpf does not
// know (Debian 12's libbpf 1.1 predates `tc/ingress`, `tcx/...`).
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

static struct bpf_object *obj;

static int dump(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	const struct bpf_insn *insns = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
		printf("map %d %s\n", bpf_map__fd(m), bpf_map__name(m));
	for (size_t i = 0; i < n; i++)
		printf("insn %u %u %u %d %d\n", insns[i].code, insns[i].dst_reg, insns[i].src_reg, insns[i].off,
		       insns[i].imm);
	fflush(stdout);
	return -ECANCELED;
}

static int warnings_only(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

static struct bpf_program *only(const char *name)
{
	struct bpf_program *p, *target = NULL;

	bpf_object__for_each_program(p, obj) {
		if (strcmp(bpf_program__name(p), name) == 0)
			target = p;
		else
			bpf_program__set_autoload(p, false);
	}
	return target;
}

int main(int argc, char **argv)
{
	struct bpf_program *target;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJ PROG [PROG_TYPE EXPECTED_ATTACH_TYPE]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(warnings_only);
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	obj = bpf_object__open_file(argv[1], &oo);
	if (!obj || !(target = only(argv[2]))) {
		fprintf(stderr, "cannot open %s or find program %s\n", argv[1], argv[2]);
		return 1;
	}
	enum bpf_prog_type type = bpf_program__type(target);
	enum bpf_attach_type attach = bpf_program__expected_attach_type(target);
	if (argc > 4) {
		type = atoi(argv[3]);
		attach = atoi(argv[4]);
	}
	LIBBPF_OPTS(libbpf_prog_handler_opts, ho, .prog_prepare_load_fn = dump);
	if (libbpf_register_prog_handler(bpf_program__section_name(target), type, attach, &ho) < 0) {
		fprintf(stderr, "cannot register a handler\n");
		return 1;
	}
	/* Handlers are matched when the object is opened: open it again. */
	bpf_object__close(obj);
	obj = bpf_object__open_file(argv[1], &oo);
	if (!obj || !only(argv[2]))
		return 1;
	bpf_object__load(obj);
	bpf_object__close(obj);
	return 0;
}
