/* An array of maps with one inner array of __u64, for the map-in-map cases. */
#include "common.h"
#define __array(name, val) typeof(val) *name[]
struct inner { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); };
struct inner in0 SEC(".maps");
struct {
	__uint(type, 12);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = { .values = { &in0 } };
