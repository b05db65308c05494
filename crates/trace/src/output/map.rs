//! Maps as bpftrace 0.17 prints them: entry order, keys, `count`/`sum`/`avg`/`stats`
//! values, `hist`/`lhist` bars, empty maps, `print(@x, top, div)`, the dump at exit, and
//! the `-f json` records.

use std::cmp::Ordering;

use super::sort::cpp_sort;
use super::value::{json_escape, raw_key_cmp, Value};

/// How many `hist` buckets bpftrace keeps per key (indexes `0..=64`); 0.17's `hist()` only
/// ever fills `0..=33`, see [`hist_bucket`].
pub const HIST_BUCKETS: usize = 65;

/// Width of a histogram's bar, in `@`s, for the largest bucket.
const BAR_WIDTH: usize = 52;

/// The `hist()` bucket index of `value`, exactly as bpftrace 0.17's generated `log2()`:
///
/// - `value < 0` → 0, printed `(..., 0)`;
/// - `value == 0` → 1, printed `[0]`;
/// - `value >= 1` → `2 + min(floor(log2(value)), 31)`: 1 → 2 (`[1]`), 2..=3 → 3 (`[2, 4)`),
///   4..=7 → 4 (`[4, 8)`), ..., 2^30..2^31-1 → 32 (`[1G, 2G)`), and every value from 2^31 on
///   → 33 (`[2G, 4G)`): bpftrace's BPF code shifts by 16, 8, 4, 2, 1 only, so it saturates
///   there (`hist(5000000000)` lands in `[2G, 4G)`).
///
/// In BPF: `if v < 0 {0} else if v == 0 {1} else { r = 2; for s in [16,8,4,2,1] { if v >= 1<<s
/// { v >>= s; r += s } } r }` with `v` a signed 64-bit value.
pub fn hist_bucket(value: i64) -> i64 {
    if value < 0 {
        return 0;
    }
    if value == 0 {
        return 1;
    }
    let log2 = 63 - i64::from(value.leading_zeros());
    2 + log2.min(31)
}

/// The `lhist(value, min, max, step)` bucket index, exactly as bpftrace 0.17's generated code
/// (all signed 64-bit, division truncating):
///
/// - `value < min` → 0, printed `(..., min)`;
/// - `value > max` → `1 + (max - min) / step`, the last bucket, printed `[max, ...)`;
/// - otherwise `1 + (value - min) / step`, printed `[min + (i-1)*step, min + i*step)`; this
///   is the last bucket for `value == max`, and for values in a last, partial step when
///   `step` does not divide `max - min` (`lhist(9, 0, 10, 3)` prints as `[10, ...)`).
///
/// `step <= 0` (rejected by the type checker) gives 0.
pub fn lhist_bucket(value: i64, min: i64, max: i64, step: i64) -> i64 {
    if step <= 0 {
        return 0;
    }
    let (value, min, max, step) = (value as i128, min as i128, max as i128, step as i128);
    let index = if value < min {
        0
    } else if value > max {
        1 + (max - min) / step
    } else {
        1 + (value - min) / step
    };
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// One map entry's value, already reduced over CPUs by the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agg {
    /// A plain assignment: `@x = 5`, `@s = "str"`, `@t = (1, "a")`, `@k = kstack`.
    Scalar(Value),
    /// `count()`.
    Count(u64),
    /// `sum()` of signed values.
    Sum(i64),
    /// `sum()` of unsigned values.
    USum(u64),
    /// `min()`.
    Min(i64),
    /// `max()`.
    Max(i64),
    /// `avg()`: the two slots bpftrace keeps (count at bucket 0, total at bucket 1).
    Avg { count: u64, total: i64 },
    /// `stats()`: as `avg()`.
    Stats { count: u64, total: i64 },
    /// `hist()`: `(bucket index from [`hist_bucket`], count)` for the non-empty buckets,
    /// in any order (duplicates add up; indexes outside `0..=64` are ignored).
    Hist(Vec<(i64, u64)>),
    /// `lhist()`: its arguments and `(bucket index from [`lhist_bucket`], count)` pairs
    /// (indexes outside `0..=(max-min)/step + 1` are ignored).
    Lhist { min: i64, max: i64, step: i64, counts: Vec<(i64, u64)> },
}

/// What kind of values a map holds. Only matters for an empty map, which bpftrace still
/// prints (as an empty line; two for `avg`/`stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    Scalar,
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Stats,
    Hist,
    Lhist,
}

impl MapKind {
    /// The kind of map an entry's value belongs to.
    pub fn of(agg: &Agg) -> MapKind {
        match agg {
            Agg::Scalar(_) => MapKind::Scalar,
            Agg::Count(_) => MapKind::Count,
            Agg::Sum(_) | Agg::USum(_) => MapKind::Sum,
            Agg::Min(_) => MapKind::Min,
            Agg::Max(_) => MapKind::Max,
            Agg::Avg { .. } => MapKind::Avg,
            Agg::Stats { .. } => MapKind::Stats,
            Agg::Hist(_) => MapKind::Hist,
            Agg::Lhist { .. } => MapKind::Lhist,
        }
    }

    fn family(self) -> Family {
        match self {
            MapKind::Hist | MapKind::Lhist => Family::Hist,
            MapKind::Avg | MapKind::Stats => Family::Stats,
            _ => Family::Plain,
        }
    }
}

/// bpftrace prints three families of maps three ways (its `print_map`, `print_map_hist`,
/// `print_map_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Plain,
    Hist,
    Stats,
}

/// A map's contents as read from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDump {
    /// `@x`, or `@` for the anonymous map.
    pub name: String,
    pub kind: MapKind,
    /// `(key arguments, value)` in the order the kernel's `get_next_key` walk returned them
    /// (bpftrace's sort of plain maps starts from that order, so equal values come out as
    /// bpftrace prints them only when given in it); an empty key for a map without keys.
    pub entries: Vec<(Vec<Value>, Agg)>,
}

/// `print(@x, top, div)`'s arguments; 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrintOpts {
    /// Print only the last `top` entries (the largest ones).
    pub top: u64,
    /// Divide printed values by `div`.
    pub div: u64,
}

/// One entry, ready to print: its key text and value text.
struct Rendered<'a> {
    keys: &'a [Value],
    agg: &'a Agg,
}

/// `print(@x)` / `print(@x, top, div)` in text: the map's entries in bpftrace's order, each
/// `@x[key]: value`, and the trailing newline(s) bpftrace ends every map with.
pub fn format_map(out: &mut String, map: &MapDump, opts: &PrintOpts) {
    let family = map.kind.family();
    let div = opts.div.max(1);
    let mut elems = Vec::new();
    for entry in ordered(map, opts) {
        let key = key_text(&map.name, entry.keys);
        elems.push(match family {
            Family::Hist => format!("{key}: \n{}", hist_family_text(entry.agg, div)),
            Family::Stats => format!("{key}: {}", stats_text(entry.agg, div)),
            Family::Plain => format!("{key}: {}", plain_text(entry.agg, div)),
        });
    }
    let delimiter = match map.entries.first() {
        Some((_, Agg::Scalar(v))) => v.entry_delimiter(),
        _ => "\n",
    };
    out.push_str(&elems.join(delimiter));
    out.push_str(if family == Family::Stats { "\n\n" } else { "\n" });
}

/// `print(@x)` with `-f json`: one record (`map`, `hist` or `stats`), nothing for an empty map.
pub fn format_map_json(out: &mut String, map: &MapDump, opts: &PrintOpts) {
    if map.entries.is_empty() {
        return;
    }
    let family = map.kind.family();
    let div = opts.div.max(1);
    let mut elems = Vec::new();
    for entry in ordered(map, opts) {
        let value = match family {
            Family::Hist => hist_family_json(entry.agg, div),
            Family::Stats => stats_json(entry.agg, div),
            Family::Plain => plain_json(entry.agg, div),
        };
        elems.push(if entry.keys.is_empty() {
            value
        } else {
            let joined: Vec<String> = entry.keys.iter().map(Value::key_text).collect();
            format!("\"{}\": {value}", json_escape(&joined.join(",")))
        });
    }
    let record = match family {
        Family::Plain => "map",
        Family::Hist => "hist",
        Family::Stats => "stats",
    };
    let keyed = map.entries.first().is_some_and(|(k, _)| !k.is_empty());
    let (open, close) = if keyed { ("{", "}") } else { ("", "") };
    out.push_str(&format!(
        "{{\"type\": \"{record}\", \"data\": {{\"{}\": {open}{}{close}}}}}\n",
        json_escape(&map.name),
        elems.join(", ")
    ));
}

/// What bpftrace prints when it exits: two newlines, then every map ordered by name.
pub fn format_maps_at_exit(maps: &[MapDump]) -> String {
    at_exit(maps, format_map)
}

/// [`format_maps_at_exit`] with `-f json` (the two newlines are printed in JSON mode too).
pub fn format_maps_at_exit_json(maps: &[MapDump]) -> String {
    at_exit(maps, format_map_json)
}

fn at_exit(maps: &[MapDump], print: fn(&mut String, &MapDump, &PrintOpts)) -> String {
    let mut sorted: Vec<&MapDump> = maps.iter().collect();
    sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut out = String::from("\n\n");
    for map in sorted {
        print(&mut out, map, &PrintOpts::default());
    }
    out
}

fn key_text(name: &str, keys: &[Value]) -> String {
    if keys.is_empty() {
        return name.to_string();
    }
    let parts: Vec<String> = keys.iter().map(Value::key_text).collect();
    format!("{name}[{}]", parts.join(", "))
}

/// The entries in bpftrace's order, `top` applied.
fn ordered<'a>(map: &'a MapDump, opts: &PrintOpts) -> Vec<Rendered<'a>> {
    let mut entries: Vec<Rendered<'a>> = map.entries.iter().map(|(keys, agg)| Rendered { keys, agg }).collect();
    let family = map.kind.family();
    match family {
        Family::Hist | Family::Stats => {
            // A std::map keyed by the key bytes, then sorted by total (hist) or average.
            entries.sort_by(|a, b| raw_key_cmp(a.keys, b.keys));
            cpp_sort(&mut entries, &|a, b| total_of(a.agg) < total_of(b.agg));
        }
        Family::Plain => {
            let by_value = entries.iter().all(|e| value_order(e.agg).is_some());
            if by_value {
                cpp_sort(&mut entries, &|a, b| value_order(a.agg) < value_order(b.agg));
            } else {
                sort_by_key_args(&mut entries);
            }
        }
    }
    // bpftrace ignores `top` for stats() maps (and warns), keeps it for avg().
    let top = if map.kind == MapKind::Stats { 0 } else { opts.top };
    if top > 0 && (entries.len() as u64) > top {
        let skip = entries.len() - top as usize;
        entries.drain(..skip);
    }
    entries
}

/// bpftrace's `sort_by_key`: a stable sort on each key argument, the last one first, so
/// entries end up ordered by the first argument, then the second... Integers compare as
/// unsigned 64-bit, strings bytewise; other arguments are not sorted on.
fn sort_by_key_args(entries: &mut [Rendered<'_>]) {
    let nargs = entries.iter().map(|e| e.keys.len()).max().unwrap_or(0);
    for i in (0..nargs).rev() {
        entries.sort_by(|a, b| match (a.keys.get(i), b.keys.get(i)) {
            (Some(x), Some(y)) => x.key_arg_cmp(y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        });
    }
}

/// The number plain maps of numbers are sorted by (`None` for other values).
fn value_order(agg: &Agg) -> Option<i128> {
    match agg {
        Agg::Count(v) | Agg::USum(v) | Agg::Scalar(Value::UInt(v)) => Some(i128::from(*v)),
        Agg::Sum(v) | Agg::Min(v) | Agg::Max(v) | Agg::Scalar(Value::Int(v)) => Some(i128::from(*v)),
        _ => None,
    }
}

/// What hist maps (sum of all buckets) and avg/stats maps (the average) are sorted by.
fn total_of(agg: &Agg) -> i128 {
    match agg {
        Agg::Hist(counts) | Agg::Lhist { counts, .. } => counts.iter().map(|&(_, c)| i128::from(c)).sum(),
        Agg::Avg { count, total } | Agg::Stats { count, total } => i128::from(average(*count, *total)),
        _ => 0,
    }
}

fn average(count: u64, total: i64) -> i64 {
    let count = count as i64;
    if count == 0 {
        0
    } else {
        total.wrapping_div(count)
    }
}

fn signed_div(v: i64, div: u64) -> i64 {
    v.wrapping_div(i64::try_from(div).unwrap_or(i64::MAX))
}

fn plain_text(agg: &Agg, div: u64) -> String {
    match agg {
        Agg::Scalar(v) => v.text(div),
        Agg::Count(v) | Agg::USum(v) => (v / div).to_string(),
        Agg::Sum(v) | Agg::Min(v) | Agg::Max(v) => signed_div(*v, div).to_string(),
        other => stats_text(other, div),
    }
}

fn plain_json(agg: &Agg, div: u64) -> String {
    match agg {
        Agg::Scalar(v) => v.json(div),
        other => plain_text(other, div),
    }
}

/// `count 2, average 3, total 7` for stats(), the average divided by `div` for avg().
fn stats_text(agg: &Agg, div: u64) -> String {
    match agg {
        Agg::Stats { count, total } => {
            format!("count {}, average {}, total {total}", *count as i64, average(*count, *total))
        }
        Agg::Avg { count, total } => signed_div(average(*count, *total), div).to_string(),
        _ => String::new(),
    }
}

fn stats_json(agg: &Agg, div: u64) -> String {
    match agg {
        Agg::Stats { count, total } => {
            format!("{{\"count\": {}, \"average\": {}, \"total\": {total}}}", *count as i64, average(*count, *total))
        }
        other => stats_text(other, div),
    }
}

/// A histogram's buckets laid out densely, and what to print for them.
struct Buckets {
    values: Vec<u64>,
    /// `lhist` only: `(min, max, step, number of in-range buckets)`.
    linear: Option<(i64, i64, i64, usize)>,
}

/// bpftrace refuses `lhist` with more than 1000 buckets; keep a margin but bound memory.
const MAX_LHIST_BUCKETS: i64 = 1 << 20;

impl Buckets {
    fn of(agg: &Agg) -> Buckets {
        match agg {
            Agg::Hist(counts) => Buckets { values: dense(counts, HIST_BUCKETS), linear: None },
            Agg::Lhist { min, max, step, counts } if *step > 0 && max > min => {
                let n = (i128::from(*max) - i128::from(*min)) / i128::from(*step);
                let n = i64::try_from(n).unwrap_or(i64::MAX).min(MAX_LHIST_BUCKETS) as usize;
                Buckets { values: dense(counts, n + 2), linear: Some((*min, *max, *step, n)) }
            }
            _ => Buckets { values: Vec::new(), linear: None },
        }
    }

    /// The first and last buckets to print and the largest count (bpftrace's
    /// `hist_prepare`/`lhist_prepare`, including their reading of counts as C `int`s).
    fn range(&self) -> Option<(usize, usize, i32)> {
        let as_int = |v: u64| v as i32;
        let max_value = self.values.iter().map(|&v| as_int(v)).fold(0, i32::max);
        let first_last = |keep: &dyn Fn(u64) -> bool| {
            let first = self.values.iter().position(|&v| keep(v));
            let last = self.values.iter().rposition(|&v| keep(v));
            first.zip(last)
        };
        match self.linear {
            None => first_last(&|v| as_int(v) > 0).map(|(s, e)| (s, e, max_value)),
            Some(_) => {
                self.values.iter().rposition(|&v| as_int(v) != 0)?;
                let (start, end) = first_last(&|v| v > 0).unwrap_or((0, 0));
                Some((start, end, max_value))
            }
        }
    }

    /// The count bpftrace prints for bucket `i` (lhist counts are never divided).
    fn count(&self, i: usize, div: u64) -> u64 {
        let v = self.values[i];
        if self.linear.is_some() {
            v
        } else {
            v / div
        }
    }

    fn header(&self, i: usize) -> String {
        match self.linear {
            None => match i {
                0 => "(..., 0)".to_string(),
                1 => "[0]".to_string(),
                2 => "[1]".to_string(),
                _ => format!("[{}, {})", hist_label(i - 2), hist_label(i - 1)),
            },
            Some((min, max, step, n)) => {
                if i == 0 {
                    format!("(..., {})", lhist_label(min))
                } else if i == n + 1 {
                    format!("[{}, ...)", lhist_label(max))
                } else {
                    let low = lhist_edge(min, step, i - 1);
                    format!("[{}, {})", lhist_label(low), lhist_label(lhist_edge(min, step, i)))
                }
            }
        }
    }

    /// The JSON bounds of bucket `i`: `"min": a, "max": b, ` (one may be missing).
    fn json_bounds(&self, i: usize) -> String {
        match self.linear {
            None => match i {
                0 => "\"max\": -1, ".to_string(),
                1 => "\"min\": 0, \"max\": 0, ".to_string(),
                2 => "\"min\": 1, \"max\": 1, ".to_string(),
                _ => {
                    // bpftrace 0.17 shifts a C `int` (x86 masks the count): the `[2G, 4G)`
                    // bucket prints as `"min": -2147483648, "max": 0`.
                    let low = 1i32.wrapping_shl((i - 2) as u32);
                    let high = 1i32.wrapping_shl((i - 1) as u32).wrapping_sub(1);
                    format!("\"min\": {low}, \"max\": {high}, ")
                }
            },
            Some((min, max, step, n)) => {
                if i == 0 {
                    format!("\"max\": {}, ", min.wrapping_sub(1))
                } else if i == n + 1 {
                    format!("\"min\": {max}, ")
                } else {
                    let low = lhist_edge(min, step, i - 1);
                    let high = lhist_edge(min, step, i).wrapping_sub(1);
                    format!("\"min\": {low}, \"max\": {high}, ")
                }
            }
        }
    }
}

fn dense(counts: &[(i64, u64)], len: usize) -> Vec<u64> {
    let mut values = vec![0u64; len];
    for &(index, count) in counts {
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| values.get_mut(i)) {
            *slot = slot.saturating_add(count);
        }
    }
    values
}

fn lhist_edge(min: i64, step: i64, i: usize) -> i64 {
    (i as i64).wrapping_mul(step).wrapping_add(min)
}

/// `1`, `2`, ..., `512`, `1K`, ..., `512K`, `1M`, ..., `1G`, ..., `1T`, ... for `2^power`.
fn hist_label(power: usize) -> String {
    let (suffix, power) = match power {
        40.. => ("T", power - 40),
        30.. => ("G", power - 30),
        20.. => ("M", power - 20),
        10.. => ("K", power - 10),
        _ => ("", power),
    };
    format!("{}{suffix}", 1u64.checked_shl(power as u32).unwrap_or(0))
}

/// An lhist bound: `0`, `3M` when a multiple of 2^20, `5K` when a multiple of 1024, else as is.
fn lhist_label(n: i64) -> String {
    const KILO: i64 = 1024;
    const MEGA: i64 = 1024 * 1024;
    if n == 0 {
        "0".to_string()
    } else if n % MEGA == 0 {
        format!("{}M", n / MEGA)
    } else if n % KILO == 0 {
        format!("{}K", n / KILO)
    } else {
        n.to_string()
    }
}

/// A histogram's lines, `[4, 8)   2 |@@@@...|`, or nothing when all its buckets are empty.
fn hist_family_text(agg: &Agg, div: u64) -> String {
    let buckets = Buckets::of(agg);
    let Some((start, end, max_value)) = buckets.range() else {
        return String::new();
    };
    let mut out = String::new();
    for i in start..=end {
        let v = buckets.values[i];
        let width = (v as f32 / max_value as f32 * BAR_WIDTH as f32) as i32;
        let bar = "@".repeat(width.clamp(0, BAR_WIDTH as i32) as usize);
        out.push_str(&format!("{:<16}{:>8} |{bar:<BAR_WIDTH$}|\n", buckets.header(i), buckets.count(i, div)));
    }
    out
}

/// A histogram in JSON: `[{"min": 2, "max": 3, "count": 1}, ...]`, `[]` when empty.
fn hist_family_json(agg: &Agg, div: u64) -> String {
    let buckets = Buckets::of(agg);
    let Some((start, end, _)) = buckets.range() else {
        return "[]".to_string();
    };
    let items: Vec<String> =
        (start..=end).map(|i| format!("{{{}\"count\": {}}}", buckets.json_bounds(i), buckets.count(i, div))).collect();
    format!("[{}]", items.join(", "))
}
