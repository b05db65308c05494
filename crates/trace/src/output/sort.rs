//! libstdc++'s `std::sort`, step for step, so entries with equal values come out in the
//! order bpftrace prints them. It is not stable: up to 16 entries it is an insertion sort
//! (equal entries keep their order); above that, introsort's partitions move them.

const THRESHOLD: usize = 16;

/// Sort `v` as `std::sort(v.begin(), v.end(), less)` does.
pub(crate) fn cpp_sort<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    if v.len() < 2 {
        return;
    }
    let depth = 2 * (usize::BITS - 1 - v.len().leading_zeros()) as usize;
    introsort_loop(v, depth, less);
    final_insertion_sort(v, less);
}

fn introsort_loop<T>(mut v: &mut [T], mut depth: usize, less: &impl Fn(&T, &T) -> bool) {
    while v.len() > THRESHOLD {
        if depth == 0 {
            heap_sort(v, less);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, less);
        let (left, right) = v.split_at_mut(cut);
        introsort_loop(right, depth, less);
        v = left;
    }
}

/// Median of `v[1]`, the middle and the last moved to `v[0]`, then Hoare's partition of the
/// rest around it; returns where the right part starts.
fn partition_pivot<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) -> usize {
    let (a, b, c) = (1, v.len() / 2, v.len() - 1);
    let median = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(0, median);
    let (mut first, mut last) = (1, v.len());
    loop {
        while first < v.len() && less(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while last > 0 && less(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn final_insertion_sort<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let head = v.len().min(THRESHOLD);
    insertion_sort(&mut v[..head], less);
    for i in THRESHOLD..v.len() {
        linear_insert(v, i, less);
    }
}

fn insertion_sort<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        if less(&v[i], &v[0]) {
            v[..=i].rotate_right(1);
        } else {
            linear_insert(v, i, less);
        }
    }
}

/// Move `v[i]` left past every element it is less than.
fn linear_insert<T>(v: &mut [T], mut i: usize, less: &impl Fn(&T, &T) -> bool) {
    while i > 0 && less(&v[i], &v[i - 1]) {
        v.swap(i, i - 1);
        i -= 1;
    }
}

/// Stands in for `std::partial_sort(first, last, last)`, reached only when partitions keep
/// failing (2·log2 n levels deep): a heap sort, but not libstdc++'s own, so equal entries may
/// come out in another order there.
fn heap_sort<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, less);
    }
}

fn sift_down<T>(v: &mut [T], mut root: usize, end: usize, less: &impl Fn(&T, &T) -> bool) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}
