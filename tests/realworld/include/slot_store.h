/* Store a 64-bit result in slot `i` of an array map (the world programs' logs). */
#ifndef __SLOT_STORE_H
#define __SLOT_STORE_H

static __always_inline void slot_store(void *map, __u32 i, __u64 val)
{
	__u64 *v = bpf_map_lookup_elem(map, &i);

	if (v)
		*v = val;
}

#endif
