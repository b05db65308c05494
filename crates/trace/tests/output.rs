//! The output module against bpftrace 0.17: unit cases whose expected strings were copied
//! from real bpftrace runs, and an oracle test that runs bpftrace itself.

#![allow(clippy::unwrap_used)]

use bpfbox_trace::output::*;

fn int(v: i64) -> Value {
    Value::Int(v)
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn map(name: &str, kind: MapKind, entries: Vec<(Vec<Value>, Agg)>) -> MapDump {
    MapDump { name: name.to_string(), kind, entries }
}

fn text(m: &MapDump, top: u64, div: u64) -> String {
    let mut out = String::new();
    format_map(&mut out, m, &PrintOpts { top, div });
    out
}

fn json(m: &MapDump) -> String {
    let mut out = String::new();
    format_map_json(&mut out, m, &PrintOpts::default());
    out
}

fn hist(values: &[i64]) -> Agg {
    Agg::Hist(values.iter().map(|&v| (hist_bucket(v), 1)).collect())
}

fn lhist(values: &[i64], min: i64, max: i64, step: i64) -> Agg {
    let counts = values.iter().map(|&v| (lhist_bucket(v, min, max, step), 1)).collect();
    Agg::Lhist { min, max, step, counts }
}

fn printf(fmt: &str, args: &[Value]) -> String {
    format_printf(fmt, args).unwrap_or_else(|e| panic!("{fmt:?}: {e}"))
}

// ---- bucket functions ----

#[test]
fn hist_buckets_are_bpftrace_017s() {
    let cases = [
        (-5, 0),
        (i64::MIN, 0),
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 3),
        (4, 4),
        (7, 4),
        (1023, 11),
        (1024, 12),
        ((1 << 31) - 1, 32),
        (1 << 31, 33),
        (5_000_000_000, 33),
        (i64::MAX, 33),
    ];
    for (v, want) in cases {
        assert_eq!(hist_bucket(v), want, "hist_bucket({v})");
    }
}

#[test]
fn lhist_buckets_are_bpftrace_017s() {
    let cases = [
        ((-1, 0, 10, 3), 0),
        ((0, 0, 10, 3), 1),
        ((2, 0, 10, 3), 1),
        ((3, 0, 10, 3), 2),
        ((8, 0, 10, 3), 3),
        ((9, 0, 10, 3), 4),
        ((10, 0, 10, 3), 4),
        ((1000, 0, 10, 3), 4),
        ((i64::MAX, 0, 10, 1), 11),
        ((i64::MIN, 0, 10, 1), 0),
        ((5, 0, 10, 0), 0),
    ];
    for ((v, min, max, step), want) in cases {
        assert_eq!(lhist_bucket(v, min, max, step), want, "lhist_bucket({v}, {min}, {max}, {step})");
    }
}

// ---- maps in text (expected strings observed from bpftrace 0.17) ----

#[test]
fn scalar_and_aggregate_maps() {
    let m = map("@a", MapKind::Count, vec![(vec![int(1)], Agg::Count(1))]);
    assert_eq!(text(&m, 0, 0), "@a[1]: 1\n");
    let m = map("@c", MapKind::Stats, vec![(vec![], Agg::Stats { count: 1, total: 4 })]);
    assert_eq!(text(&m, 0, 0), "@c: count 1, average 4, total 4\n\n");
    let m = map("@d", MapKind::Scalar, vec![(vec![s("x"), int(3)], Agg::Scalar(int(7)))]);
    assert_eq!(text(&m, 0, 0), "@d[x, 3]: 7\n");
    let m = map("@f", MapKind::Avg, vec![(vec![], Agg::Avg { count: 2, total: -5 })]);
    assert_eq!(text(&m, 0, 0), "@f: -2\n\n");
    let m = map("@g", MapKind::Min, vec![(vec![], Agg::Min(-3))]);
    assert_eq!(text(&m, 0, 0), "@g: -3\n");
    let m = map("@t", MapKind::Scalar, vec![(vec![], Agg::Scalar(Value::Tuple(vec![int(1), s("a")])))]);
    assert_eq!(text(&m, 0, 0), "@t: (1, a)\n");
    let tuple = Value::Tuple(vec![int(2), Value::Tuple(vec![int(3), s("q")]), s("z")]);
    let m = map("@u", MapKind::Scalar, vec![(vec![int(1), s("x\ty")], Agg::Scalar(tuple))]);
    assert_eq!(text(&m, 0, 0), "@u[1, x\ty]: (2, (3, q), z)\n");
    assert_eq!(json(&m), "{\"type\": \"map\", \"data\": {\"@u\": {\"1,x\\ty\": [2,[3,\"q\"],\"z\"]}}}\n");
}

#[test]
fn hist_layout() {
    let m = map("@h", MapKind::Hist, vec![(vec![], hist(&[-5, 0, 1, 1, 2, 1000000, 5000000000, i64::MAX]))]);
    let got = text(&m, 0, 0);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "@h: ");
    assert_eq!(lines[1], "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |");
    assert_eq!(lines[3], "[1]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|");
    assert_eq!(lines[5], "[4, 8)                 0 |                                                    |");
    assert_eq!(lines[12], "[512, 1K)              0 |                                                    |");
    assert_eq!(lines[22], "[512K, 1M)             1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |");
    assert_eq!(lines[34], "[2G, 4G)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|");
    assert_eq!(lines.len(), 36);
    assert!(got.ends_with("|\n\n"));
}

#[test]
fn lhist_layout() {
    let m = map("@l", MapKind::Lhist, vec![(vec![], lhist(&[9, -1, 10, 4], 0, 10, 3))]);
    assert_eq!(
        text(&m, 0, 0),
        "@l: \n\
         (..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
         [0, 3)                 0 |                                                    |\n\
         [3, 6)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
         [6, 9)                 0 |                                                    |\n\
         [10, ...)              2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n"
    );
    let m = map("@m", MapKind::Lhist, vec![(vec![], lhist(&[2048], 1024, 4096, 1024))]);
    assert_eq!(
        text(&m, 0, 0),
        "@m: \n[2K, 3K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n"
    );
    let m = map("@n", MapKind::Lhist, vec![(vec![], lhist(&[1048576, 3000000], 0, 2097152, 1048576))]);
    assert!(text(&m, 0, 0).contains("[1M, 2M)  ") && text(&m, 0, 0).contains("[2M, ...)  "));
}

#[test]
fn ordering_top_and_div() {
    let c = map(
        "@c",
        MapKind::Count,
        vec![(vec![s("b")], Agg::Count(1)), (vec![s("a")], Agg::Count(2)), (vec![s("c")], Agg::Count(3))],
    );
    assert_eq!(text(&c, 2, 0), "@c[a]: 2\n@c[c]: 3\n");
    assert_eq!(text(&c, 0, 2), "@c[b]: 0\n@c[a]: 1\n@c[c]: 1\n");
    let h = map(
        "@h",
        MapKind::Hist,
        vec![(vec![int(2)], hist(&[3, 3])), (vec![int(1)], hist(&[100])), (vec![int(256)], hist(&[5]))],
    );
    // Equal totals keep the key bytes' order: 256 (00 01 ...) before 1 (01 00 ...).
    assert_eq!(
        text(&h, 0, 2),
        "@h[256]: \n[4, 8)                 0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n\
         @h[1]: \n[64, 128)              0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n\
         @h[2]: \n[2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n"
    );
    let st = |total| Agg::Stats { count: 1, total };
    let sm = map("@s", MapKind::Stats, vec![(vec![int(1)], st(10)), (vec![int(2)], st(4)), (vec![int(3)], st(20))]);
    let want = "@s[2]: count 1, average 4, total 4\n@s[1]: count 1, average 10, total 10\n@s[3]: count 1, average 20, total 20\n\n";
    assert_eq!(text(&sm, 1, 3), want, "top and div are ignored for stats");
    let av = |total| Agg::Avg { count: 1, total };
    let am = map("@a", MapKind::Avg, vec![(vec![int(1)], av(10)), (vec![int(2)], av(4)), (vec![int(3)], av(20))]);
    assert_eq!(text(&am, 1, 0), "@a[3]: 20\n\n");
    assert_eq!(text(&am, 0, 3), "@a[2]: 1\n@a[1]: 3\n@a[3]: 6\n\n");
    let n =
        map("@n", MapKind::Scalar, vec![(vec![int(-1)], Agg::Scalar(int(5))), (vec![int(3)], Agg::Scalar(int(-7)))]);
    assert_eq!(text(&n, 0, 0), "@n[3]: -7\n@n[-1]: 5\n");
    assert_eq!(json(&n), "{\"type\": \"map\", \"data\": {\"@n\": {\"3\": -7, \"-1\": 5}}}\n");
}

#[test]
fn empty_maps_and_exit_dump() {
    let maps = vec![
        map("@z", MapKind::Scalar, vec![(vec![], Agg::Scalar(int(1)))]),
        map("@a", MapKind::Count, vec![(vec![int(1)], Agg::Count(1))]),
        map("@b", MapKind::Hist, vec![]),
        map("@c", MapKind::Stats, vec![]),
        map("@d", MapKind::Scalar, vec![(vec![], Agg::Scalar(int(1)))]),
    ];
    assert_eq!(format_maps_at_exit(&maps), "\n\n@a[1]: 1\n\n\n\n@d: 1\n@z: 1\n");
    let names = ["@_", "@A", "@", "@a_b", "@ab"];
    let maps: Vec<MapDump> =
        names.iter().map(|n| map(n, MapKind::Scalar, vec![(vec![], Agg::Scalar(int(1)))])).collect();
    assert_eq!(format_maps_at_exit(&maps), "\n\n@: 1\n@A: 1\n@_: 1\n@a_b: 1\n@ab: 1\n");
    assert_eq!(format_maps_at_exit(&[]), "\n\n");
}

#[test]
fn symbols_stacks_and_buffers() {
    let stack = Stack { id: 7, perf: false, frames: vec![(1, "f+1".into()), (2, "g+2".into())] };
    let m = map("@", MapKind::Count, vec![(vec![Value::Stack(stack.clone())], Agg::Count(1))]);
    assert_eq!(text(&m, 0, 0), "@[\n    f+1\n    g+2\n]: 1\n");
    assert_eq!(json(&m), "{\"type\": \"map\", \"data\": {\"@\": {\"\\n    f+1\\n    g+2\\n\": 1}}}\n");
    let m = map("@st", MapKind::Scalar, vec![(vec![], Agg::Scalar(Value::Stack(stack)))]);
    assert_eq!(text(&m, 0, 0), "@st: \n        f+1\n        g+2\n\n");
    let k = |addr, name: &str| Agg::Scalar(Value::Ksym { addr, name: name.into() });
    let m = map("@k", MapKind::Scalar, vec![(vec![int(1)], k(0, "0")), (vec![int(2)], k(1, "0x1"))]);
    assert_eq!(text(&m, 0, 0), "@k[1]: 0@k[2]: 0x1\n");
    assert_eq!(json(&m), "{\"type\": \"map\", \"data\": {\"@k\": {\"1\": \"0\", \"2\": \"0x1\"}}}\n");
    let m = map("@b", MapKind::Scalar, vec![(vec![], Agg::Scalar(Value::Buf(b"ab\x01".to_vec())))]);
    assert_eq!(text(&m, 0, 0), "@b: ab\\x01\n");
    assert_eq!(json(&m), "{\"type\": \"map\", \"data\": {\"@b\": \"ab\\\\x01\"}}\n");
}

// ---- JSON records ----

#[test]
fn json_records() {
    assert_eq!(format_attached_probes(1, Format::Json), "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n");
    assert_eq!(format_attached_probes(2, Format::Text), "Attaching 2 probes...\n");
    assert_eq!(
        format_message(MessageKind::Printf, "a\tb\n", Format::Json),
        "{\"type\": \"printf\", \"data\": \"a\\tb\\n\"}\n"
    );
    assert_eq!(format_message(MessageKind::Time, "2026", Format::Json), "{\"type\": \"time\", \"data\": \"2026\"}\n");
    assert_eq!(format_value(&int(5), Format::Json), "{\"type\": \"value\", \"data\": 5}\n");
    assert_eq!(format_value(&s("s"), Format::Json), "{\"type\": \"value\", \"data\": \"s\"}\n");
    assert_eq!(format_value(&Value::Tuple(vec![int(1), s("a")]), Format::Text), "(1, a)\n");
    assert_eq!(json_escape("é\x01\x1f\r\\ \"q\"\n"), "\\uffffffc3\\uffffffa9\\u0001\\u001f\\r\\\\ \\\"q\\\"\\n");
    let h = map("@h2", MapKind::Hist, vec![(vec![int(5)], hist(&[1000]))]);
    assert_eq!(
        json(&h),
        "{\"type\": \"hist\", \"data\": {\"@h2\": {\"5\": [{\"min\": 512, \"max\": 1023, \"count\": 1}]}}}\n"
    );
    let l = map("@l", MapKind::Lhist, vec![(vec![], lhist(&[3], 0, 10, 1))]);
    assert_eq!(json(&l), "{\"type\": \"hist\", \"data\": {\"@l\": [{\"min\": 3, \"max\": 3, \"count\": 1}]}}\n");
    let st = map("@s", MapKind::Stats, vec![(vec![], Agg::Stats { count: 1, total: 3 })]);
    assert_eq!(json(&st), "{\"type\": \"stats\", \"data\": {\"@s\": {\"count\": 1, \"average\": 3, \"total\": 3}}}\n");
    let z = map("@h", MapKind::Hist, vec![(vec![int(1)], Agg::Hist(vec![]))]);
    assert_eq!(json(&z), "{\"type\": \"hist\", \"data\": {\"@h\": {\"1\": []}}}\n");
    assert_eq!(text(&z, 0, 0), "@h[1]: \n\n");
    assert_eq!(json(&map("@e", MapKind::Count, vec![])), "");
}

// ---- printf ----

const INT_FORMATS: &str = "%5d|%-5d|%05d|%x|%X|%o|%c|%p|%lu|%llx|%hhd|%hd|%zd|%jd|%td\n";

fn int_args() -> Vec<Value> {
    [42, 42, 42, 255, 255, 8, 65, 4096, -1, -1, 300, 70000, -5, -6, 7].into_iter().map(int).collect()
}

#[test]
fn printf_formats() {
    assert_eq!(printf("%d %s\n", &[int(5), s("x")]), "5 x\n");
    assert_eq!(
        printf(INT_FORMATS, &int_args()),
        "   42|42   |00042|ff|FF|10|A|0x1000|18446744073709551615|ffffffffffffffff|44|4464|-5|-6|7\n"
    );
    assert_eq!(printf("%.3s|%-8s|%8s\n", &[s("abcdef"), s("ab"), s("ab")]), "abc|ab      |      ab\n");
    assert_eq!(printf("100%%\n", &[]), "100%%\n");
    assert_eq!(printf("%d%%\n", &[int(5)]), "5%%\n");
    assert_eq!(printf("%%%d|\n", &[int(5)]), "%5|\n");
    assert_eq!(
        printf(
            "%d|%u|%x|%d|%c|%p|%p|%s|\n",
            &[int(4294967301), int(-1), int(-1), int(-1), int(321), int(0), int(-1), s("a%%b")]
        ),
        "5|4294967295|ffffffff|-1|A|(nil)|0xffffffffffffffff|a%%b|\n"
    );
    assert_eq!(
        printf("%r|%rx|\n", &[Value::Buf(b"a\x01b".to_vec()), Value::Buf(b"ab".to_vec())]),
        "a\\x01b|\\x61\\x62|\n"
    );
    assert_eq!(
        printf(
            "%-5.2s|%5c|%.0d|%08.3d|%-08d|%.5d|%5.1s|%-3c|\n",
            &[s("abc"), int(66), int(0), int(7), int(9), int(-3), s("xyz"), int(67)]
        ),
        "ab   |    B||     007|9       |-00003|    x|C  |\n"
    );
    assert_eq!(
        printf("%05s|%-05s|%td|%016p|%-8p|%.3p|%x\n", &[s("ab"), s("cd"), int(5), int(4096), int(0), int(1), int(255)]),
        "   ab|cd   |5|0x00000000001000|(nil)   |0x001|ff\n"
    );
    assert_eq!(printf("a%5%b|%y|%d|\n", &[int(3)]), "a%b|%y|3|\n");
    assert_eq!(printf("%.10d|%8.3x|\n", &[int(-42), int(10)]), "-0000000042|     00a|\n");
    // Beyond bpftrace (which rejects these formats): C's flags and %i.
    assert_eq!(
        printf("%+d|% d|%#x|%#o|%i|%#08x\n", &[int(5), int(5), int(255), int(8), int(-2), int(255)]),
        "+5| 5|0xff|010|-2|0x0000ff\n"
    );
}

#[test]
fn printf_errors() {
    let e = |fmt: &str, kinds: &[ArgKind]| check_printf(fmt, kinds).unwrap_err().to_string();
    assert_eq!(e("%d\n", &[]), "printf: Not enough arguments for format string (0 supplied, 1 expected)");
    assert_eq!(e("%%d\n", &[]), "printf: Not enough arguments for format string (0 supplied, 1 expected)");
    assert_eq!(
        e("100%%\n", &[ArgKind::Integer]),
        "printf: Too many arguments for format string (1 supplied, 0 expected)"
    );
    assert_eq!(
        e("%s\n", &[ArgKind::Integer]),
        "printf: %s specifier expects a value of type string (integer supplied)"
    );
    assert_eq!(e("%d\n", &[ArgKind::String]), "printf: %d specifier expects a value of type integer (string supplied)");
    assert_eq!(e("%d\n", &[ArgKind::Kstack]), "printf: %d specifier expects a value of type integer (string supplied)");
    assert_eq!(
        e("%x %s\n", &[ArgKind::Tuple, ArgKind::Integer]),
        "printf: %x specifier expects a value of type integer (tuple supplied)"
    );
    assert_eq!(
        e("%-5lld\n", &[ArgKind::String]),
        "printf: %lld specifier expects a value of type integer (string supplied)"
    );
    assert!(check_printf("%s %p %r", &[ArgKind::Ksym, ArgKind::Pointer, ArgKind::Buffer]).is_ok());
    // Never panics, never pads to a gigabyte.
    assert!(format_printf("%1000000000d", &[int(1)]).is_err());
    assert!(format_printf("%.99999999999999999999999s", &[s("a")]).is_err());
    for fmt in ["%", "%.", "%5.", "%l", "%hh", "%-", "%%%", "é%d%", "%\u{0}d"] {
        let _ = format_printf(fmt, &[int(1)]);
        let _ = format_printf(fmt, &[]);
    }
}

#[test]
fn time_formats() {
    assert_eq!(format_time("%Y", 0).map(|y| y == "1970" || y == "1969"), Ok(true));
    assert!(format_time("", 0).is_err());
    assert!(format_time(&"x".repeat(64), 0).is_err());
    assert_eq!(format_strftime(&"x".repeat(64), 0), "(?)");
    assert_eq!(format_time("%%|%y", 86400 * 365 * 30 + 86400 * 8).unwrap(), "%|00");
}

#[test]
fn join_lost_events_text() {
    assert_eq!(format_join(&["a".into(), "b".into()], " ", Format::Text), "a b\n");
    assert_eq!(format_lost_events(3, Format::Text), "Lost 3 events\n");
}

// ---- the oracle: bpftrace itself ----
//
// Each case is built twice from the same calls: as a bpftrace script (BEGIN only, constant
// values, `exit()` at the end) and as the `MapDump`s and events the runtime would hand to
// the output module. bpftrace's stdout after its `Attaching 1 probe...` line must equal ours.

use std::collections::BTreeMap;
use std::process::Command;

enum Event {
    Printf(String, Vec<Value>),
    Print(MapDump, PrintOpts),
    Value(Value),
}

#[derive(Default)]
struct Case {
    src: String,
    maps: BTreeMap<String, MapDump>,
    events: Vec<Event>,
}

/// A bpftrace string literal.
fn lit(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value_src(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Str(t) => lit(t),
        Value::Tuple(items) => format!("({})", items.iter().map(value_src).collect::<Vec<_>>().join(", ")),
        other => panic!("no literal for {other:?}"),
    }
}

impl Case {
    fn target(&self, name: &str, keys: &[Value]) -> String {
        if keys.is_empty() {
            name.to_string()
        } else {
            format!("{name}[{}]", keys.iter().map(value_src).collect::<Vec<_>>().join(", "))
        }
    }

    /// `@name[keys] = call` in the script, `update` on the model's entry.
    fn apply(
        &mut self,
        name: &str,
        keys: &[Value],
        kind: MapKind,
        call: String,
        update: impl FnOnce(Option<Agg>) -> Agg,
    ) {
        self.src.push_str(&format!("{} = {call}; ", self.target(name, keys)));
        let m = self.maps.entry(name.to_string()).or_insert_with(|| map(name, kind, vec![]));
        match m.entries.iter_mut().find(|(k, _)| k.as_slice() == keys) {
            Some((_, agg)) => *agg = update(Some(agg.clone())),
            None => m.entries.push((keys.to_vec(), update(None))),
        }
    }

    fn count(mut self, name: &str, keys: &[Value], n: u64) -> Self {
        for _ in 0..n {
            self.apply(name, keys, MapKind::Count, "count()".into(), |a| match a {
                Some(Agg::Count(c)) => Agg::Count(c + 1),
                _ => Agg::Count(1),
            });
        }
        self
    }

    fn each(mut self, name: &str, keys: &[Value], func: &str, values: &[i64]) -> Self {
        for &v in values {
            let kind = match func {
                "sum" => MapKind::Sum,
                "min" => MapKind::Min,
                "max" => MapKind::Max,
                "avg" => MapKind::Avg,
                "stats" => MapKind::Stats,
                _ => MapKind::Hist,
            };
            // bpftrace 0.17 never creates an entry for max() of a negative value.
            let new_key = !self.maps.get(name).is_some_and(|m| m.entries.iter().any(|(k, _)| k.as_slice() == keys));
            if func == "max" && v < 0 && new_key {
                let target = self.target(name, keys);
                self.src.push_str(&format!("{target} = max({v}); "));
                self.maps.entry(name.to_string()).or_insert_with(|| map(name, kind, vec![]));
                continue;
            }
            self.apply(name, keys, kind, format!("{func}({v})"), |a| match (func, a) {
                ("sum", Some(Agg::Sum(t))) => Agg::Sum(t + v),
                ("sum", _) => Agg::Sum(v),
                ("min", Some(Agg::Min(m))) => Agg::Min(m.min(v)),
                ("min", _) => Agg::Min(v),
                ("max", Some(Agg::Max(m))) => Agg::Max(m.max(v)),
                ("max", _) => Agg::Max(v),
                ("avg", Some(Agg::Avg { count, total })) => Agg::Avg { count: count + 1, total: total + v },
                ("avg", _) => Agg::Avg { count: 1, total: v },
                ("stats", Some(Agg::Stats { count, total })) => Agg::Stats { count: count + 1, total: total + v },
                ("stats", _) => Agg::Stats { count: 1, total: v },
                (_, Some(Agg::Hist(mut b))) => {
                    b.push((hist_bucket(v), 1));
                    Agg::Hist(b)
                }
                _ => Agg::Hist(vec![(hist_bucket(v), 1)]),
            });
        }
        self
    }

    fn lhist(mut self, name: &str, keys: &[Value], values: &[i64], (min, max, step): (i64, i64, i64)) -> Self {
        for &v in values {
            let call = format!("lhist({v}, {min}, {max}, {step})");
            self.apply(name, keys, MapKind::Lhist, call, |a| {
                let mut counts = match a {
                    Some(Agg::Lhist { counts, .. }) => counts,
                    _ => vec![],
                };
                counts.push((lhist_bucket(v, min, max, step), 1));
                Agg::Lhist { min, max, step, counts }
            });
        }
        self
    }

    fn set(mut self, name: &str, keys: &[Value], v: Value) -> Self {
        self.apply(name, keys, MapKind::Scalar, value_src(&v), |_| Agg::Scalar(v));
        self
    }

    fn printf(mut self, fmt: &str, args: &[Value]) -> Self {
        let mut call = lit(fmt);
        for a in args {
            call.push_str(", ");
            call.push_str(&value_src(a));
        }
        self.src.push_str(&format!("printf({call}); "));
        self.events.push(Event::Printf(fmt.to_string(), args.to_vec()));
        self
    }

    fn print(mut self, name: &str, top: u64, div: u64) -> Self {
        self.src.push_str(&match (top, div) {
            (0, 0) => format!("print({name}); "),
            (_, 0) => format!("print({name}, {top}); "),
            _ => format!("print({name}, {top}, {div}); "),
        });
        let m = self.maps[name].clone();
        self.events.push(Event::Print(m, PrintOpts { top, div }));
        self
    }

    fn print_value(mut self, v: Value) -> Self {
        self.src.push_str(&format!("print({}); ", value_src(&v)));
        self.events.push(Event::Value(v));
        self
    }

    fn clear(mut self, name: &str) -> Self {
        self.src.push_str(&format!("clear({name}); "));
        if let Some(m) = self.maps.get_mut(name) {
            m.entries.clear();
        }
        self
    }

    fn zero(mut self, name: &str) -> Self {
        self.src.push_str(&format!("zero({name}); "));
        if let Some(m) = self.maps.get_mut(name) {
            for (_, agg) in &mut m.entries {
                *agg = match &*agg {
                    Agg::Count(_) => Agg::Count(0),
                    Agg::Sum(_) => Agg::Sum(0),
                    Agg::Avg { .. } => Agg::Avg { count: 0, total: 0 },
                    Agg::Stats { .. } => Agg::Stats { count: 0, total: 0 },
                    Agg::Hist(_) => Agg::Hist(vec![]),
                    Agg::Lhist { min, max, step, .. } => {
                        Agg::Lhist { min: *min, max: *max, step: *step, counts: vec![] }
                    }
                    other => other.clone(),
                };
            }
        }
        self
    }

    /// A map that is declared (in a branch never taken) but never written.
    fn unwritten(mut self, name: &str, kind: MapKind, call: &str) -> Self {
        self.src.push_str(&format!("if (0) {{ {name} = {call}; }} "));
        // bpftrace 0.17 prints a key-less count() map that was never written as 0.
        let entries = if kind == MapKind::Count { vec![(vec![], Agg::Count(0))] } else { vec![] };
        self.maps.insert(name.to_string(), map(name, kind, entries));
        self
    }

    fn script(&self) -> String {
        format!("BEGIN {{ {}exit(); }}", self.src)
    }

    fn expected(&self, format: Format) -> String {
        let mut out = String::new();
        for e in &self.events {
            match (e, format) {
                (Event::Printf(fmt, args), _) => {
                    out.push_str(&format_message(MessageKind::Printf, &printf(fmt, args), format))
                }
                (Event::Print(m, opts), Format::Text) => format_map(&mut out, m, opts),
                (Event::Print(m, opts), Format::Json) => format_map_json(&mut out, m, opts),
                (Event::Value(v), _) => out.push_str(&format_value(v, format)),
            }
        }
        let maps: Vec<MapDump> = self.maps.values().cloned().collect();
        out.push_str(&match format {
            Format::Text => format_maps_at_exit(&maps),
            Format::Json => format_maps_at_exit_json(&maps),
        });
        out
    }
}

fn case() -> Case {
    Case::default()
}

fn oracle_cases() -> Vec<(&'static str, Case)> {
    let big = [-5, 0, 1, 1, 2, 3, 4, 7, 8, 100, 1000, 1023, 1024, 65535, 65536, 1 << 20, 1 << 30, (1 << 31) - 1];
    let huge = [1 << 31, 5_000_000_000, 1 << 40, i64::MAX, -1, i64::MIN + 1];
    vec![
        (
            "brief example",
            case()
                .count("@a", &[int(1)], 1)
                .each("@b", &[], "hist", &[5])
                .each("@c", &[], "stats", &[4])
                .set("@d", &[s("x"), int(3)], int(7))
                .lhist("@e", &[], &[5], (0, 10, 2))
                .each("@f", &[], "avg", &[3])
                .each("@g", &[], "min", &[-3])
                .each("@h", &[], "max", &[9])
                .each("@i", &[], "sum", &[5])
                .set("@s", &[], s("str"))
                .set("@t", &[], Value::Tuple(vec![int(1), s("a")]))
                .printf("%d %s\n", &[int(5), s("x")]),
        ),
        ("hist of many values", case().each("@h", &[], "hist", &big)),
        ("hist of huge and negative values", case().each("@h", &[], "hist", &huge)),
        ("hist with one bucket", case().each("@one", &[], "hist", &[1 << 20, (1 << 21) - 1])),
        (
            "hist keyed, ties by key bytes",
            case()
                .each("@h", &[int(2)], "hist", &[3, 3])
                .each("@h", &[int(1)], "hist", &[100])
                .each("@h", &[int(256)], "hist", &[5])
                .each("@h", &[int(-1)], "hist", &[0])
                .each("@h", &[int(65536)], "hist", &[-9, 9]),
        ),
        (
            "hist with string keys",
            case()
                .each("@h", &[s("b")], "hist", &[1])
                .each("@h", &[s("a")], "hist", &[1])
                .each("@h", &[s("ab")], "hist", &[2, 2])
                .each("@h", &[s("")], "hist", &[1 << 12]),
        ),
        (
            "hist with multi keys",
            case().each("@m", &[s("x"), int(2)], "hist", &[1]).each("@m", &[s("x"), int(1)], "hist", &[7]).each(
                "@m",
                &[s("w"), int(9)],
                "hist",
                &[3, 4, 5],
            ),
        ),
        ("lhist uneven step", case().lhist("@l", &[], &[9, -1, 10, 4], (0, 10, 3))),
        (
            "lhist K and M labels",
            case().lhist("@m", &[], &[2048, 4096, 1023], (1024, 4096, 1024)).lhist(
                "@n",
                &[],
                &[1048576, 3000000],
                (0, 2097152, 1048576),
            ),
        ),
        ("lhist wide", case().lhist("@w", &[], &[0, 5, 17, 33, 99, 100, 101, 250, 999, 1000, 1001], (0, 1000, 10))),
        (
            "lhist keyed",
            case().lhist("@k", &[int(1)], &[5, 6], (0, 100, 10)).lhist("@k", &[int(2)], &[55], (0, 100, 10)).lhist(
                "@k",
                &[int(3)],
                &[-5, 200, 95],
                (0, 100, 10),
            ),
        ),
        (
            "stats and avg keyed",
            case()
                .each("@s", &[int(1)], "stats", &[10, 20])
                .each("@s", &[int(2)], "stats", &[4])
                .each("@s", &[int(3)], "stats", &[-20, 3])
                .each("@a", &[s("x")], "avg", &[10, 11])
                .each("@a", &[s("y")], "avg", &[-7, 2])
                .each("@a", &[s("z")], "avg", &[100]),
        ),
        (
            "stats ties by key bytes",
            case().each("@s", &[int(513)], "stats", &[5]).each("@s", &[int(2)], "stats", &[5]).each(
                "@s",
                &[int(-3)],
                "stats",
                &[5],
            ),
        ),
        (
            "counts sorted by value",
            case().count("@c", &[s("b")], 1).count("@c", &[s("a")], 2).count("@c", &[s("c")], 5).count(
                "@c",
                &[s("d")],
                3,
            ),
        ),
        (
            "sums, min, max sorted by value",
            case()
                .each("@s", &[int(1)], "sum", &[5, -20])
                .each("@s", &[int(2)], "sum", &[7])
                .each("@s", &[int(3)], "sum", &[1 << 40])
                .each("@mn", &[s("p")], "min", &[3, -8])
                .each("@mn", &[s("q")], "min", &[1])
                .each("@mx", &[s("p")], "max", &[3, -8])
                .each("@mx", &[s("q")], "max", &[-1])
                .each("@mx", &[s("r")], "max", &[10]),
        ),
        (
            "int values sorted by value",
            case().set("@n", &[int(-1)], int(5)).set("@n", &[int(3)], int(-7)).set("@n", &[int(4)], int(1 << 40)),
        ),
        (
            "string values sorted by key",
            case().set("@s", &[int(3)], s("c")).set("@s", &[int(-1)], s("neg")).set("@s", &[int(1)], s("a")).set(
                "@s",
                &[int(256)],
                s("b"),
            ),
        ),
        (
            "string keys sorted",
            case()
                .set("@k", &[s("b"), int(2)], s("v1"))
                .set("@k", &[s("a"), int(9)], s("v2"))
                .set("@k", &[s("b"), int(1)], s("v3"))
                .set("@k", &[s("ab"), int(1)], s("v4")),
        ),
        (
            "tuples",
            case().set("@t", &[], Value::Tuple(vec![int(1), s("a"), Value::Tuple(vec![int(-2), s("b c")])])).set(
                "@u",
                &[int(1), s("x\ty")],
                Value::Tuple(vec![int(2), s("q")]),
            ),
        ),
        (
            "anonymous and odd names",
            case().set("@", &[], int(3)).set("@_", &[], int(1)).set("@A", &[], int(2)).set("@a_b", &[], int(4)).set(
                "@ab",
                &[],
                int(5),
            ),
        ),
        (
            "print, top and div",
            case()
                .count("@c", &[s("b")], 1)
                .count("@c", &[s("a")], 2)
                .count("@c", &[s("c")], 3)
                .print("@c", 2, 0)
                .print("@c", 0, 2)
                .print("@c", 0, 0)
                .each("@h", &[int(2)], "hist", &[3, 3])
                .each("@h", &[int(1)], "hist", &[100])
                .each("@h", &[int(256)], "hist", &[5])
                .print("@h", 1, 0)
                .print("@h", 0, 2)
                .each("@a", &[int(1)], "avg", &[10])
                .each("@a", &[int(2)], "avg", &[4])
                .each("@a", &[int(3)], "avg", &[20])
                .print("@a", 1, 0)
                .print("@a", 0, 3)
                .lhist("@l", &[], &[1, 2, 2, 2], (0, 10, 1))
                .print("@l", 0, 2),
        ),
        (
            "clear and zero",
            case()
                .count("@c", &[int(3)], 2)
                .each("@h", &[int(1)], "hist", &[3])
                .lhist("@l", &[int(2)], &[3], (0, 10, 1))
                .each("@st", &[int(4)], "stats", &[5])
                .each("@a", &[], "avg", &[5])
                .each("@z", &[], "hist", &[3])
                .each("@w", &[], "stats", &[3])
                .set("@x", &[], int(1))
                .count("@k", &[int(1)], 1)
                .zero("@c")
                .zero("@h")
                .zero("@l")
                .zero("@st")
                .zero("@a")
                .clear("@z")
                .clear("@w")
                .clear("@x")
                .clear("@k"),
        ),
        (
            "never written maps",
            case()
                .unwritten("@a", MapKind::Scalar, "1")
                .unwritten("@b", MapKind::Count, "count()")
                .unwritten("@c", MapKind::Hist, "hist(1)")
                .unwritten("@d", MapKind::Stats, "stats(1)")
                .set("@e", &[], int(1))
                .unwritten("@f", MapKind::Sum, "sum(1)")
                .unwritten("@g", MapKind::Avg, "avg(1)")
                .unwritten("@i", MapKind::Lhist, "lhist(1, 0, 10, 1)")
                .unwritten("@j", MapKind::Max, "max(1)"),
        ),
        (
            "max of negatives",
            case()
                .each("@m1", &[int(1)], "max", &[0])
                .each("@m2", &[int(1)], "max", &[-5])
                .each("@m3", &[], "max", &[-5, 2, -9])
                .each("@n", &[], "min", &[5, 9])
                .each("@n2", &[s("k")], "min", &[-5])
                .each("@m4", &[s("k")], "max", &[7, -3]),
        ),
        (
            "print values",
            case()
                .print_value(int(5))
                .print_value(s("s"))
                .print_value(Value::Tuple(vec![int(1), s("a")]))
                .print_value(int(-9)),
        ),
        (
            "printf integers",
            case()
                .printf(INT_FORMATS, &int_args())
                .printf(
                    "%d|%u|%x|%d|%c|%p|%p|\n",
                    &[int(4294967301), int(-1), int(-1), int(-1), int(321), int(0), int(-1)],
                )
                .printf(
                    "%.0d|%08.3d|%-08d|%.5d|%.10d|%8.3x|%016p|%-8p|%.3p|\n",
                    &[int(0), int(7), int(9), int(-3), int(-42), int(10), int(4096), int(0), int(1)],
                )
                .printf(
                    "%hu|%hhu|%hx|%hhX|%lo|%llo|%ld|%lld|%lx|%lX\n",
                    &[
                        int(-1),
                        int(-1),
                        int(-1),
                        int(-1),
                        int(-1),
                        int(8),
                        int(i64::MIN),
                        int(i64::MAX),
                        int(1 << 40),
                        int(1 << 40),
                    ],
                ),
        ),
        (
            "printf strings and percent signs",
            case()
                .printf(
                    "%.3s|%-8s|%8s|%05s|%-05s|%5.1s|%s|\n",
                    &[s("abcdef"), s("ab"), s("ab"), s("ab"), s("cd"), s("xyz"), s("a%%b")],
                )
                .printf("100%%\n", &[])
                .printf("%d%%\n", &[int(5)])
                .printf("%%%d|\n", &[int(5)])
                .printf("a%5%b|%y|%d|\n", &[int(3)])
                .printf("%%d\n", &[int(9)])
                .printf("no args\n", &[])
                .printf("%s=%d;", &[s("k"), int(1)])
                .printf("\n", &[])
                .printf("tab\there \"q\" back\\slash\n", &[]),
        ),
        ("many entries", many_entries()),
    ]
}

/// More than 16 entries (where C++'s `std::sort` stops being an insertion sort), distinct
/// values; string values sorted by unsigned integer keys, negatives last.
fn many_entries() -> Case {
    let mut c = case();
    for i in 0..24i64 {
        let key = if i % 3 == 0 { -i - 1 } else { i * 1000 };
        c = c.count("@c", &[int(key)], ((i * 7) % 24 + 1) as u64);
        c = c.set("@v", &[int(key)], s(&format!("v{i}")));
        c = c.each("@h", &[s(&format!("k{i:02}"))], "hist", &[i, i * i, -i]);
    }
    c
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| st.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

fn has_bpftrace() -> bool {
    Command::new("bpftrace").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// bpftrace's stdout after the line that says the probes are attached.
fn run_bpftrace(script: &str, format: Format) -> Result<String, String> {
    let mut cmd = Command::new("bpftrace");
    if format == Format::Json {
        cmd.args(["-f", "json"]);
    }
    let out = cmd.args(["-e", script]).output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("bpftrace failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr)));
    }
    let marker = match format {
        Format::Text => "Attaching ",
        Format::Json => "{\"type\": \"attached_probes\"",
    };
    let start = stdout.find(marker).ok_or_else(|| format!("no attach line in {stdout:?}"))?;
    let rest = &stdout[start..];
    Ok(rest[rest.find('\n').map_or(rest.len(), |i| i + 1)..].to_string())
}

#[test]
fn oracle_bpftrace() {
    if !(is_root() && has_bpftrace()) {
        let why = "SKIP oracle_bpftrace: needs root and bpftrace on PATH";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true)");
        println!("{why}");
        return;
    }
    let cases = oracle_cases();
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, case) in &cases {
        for format in [Format::Text, Format::Json] {
            total += 1;
            let script = case.script();
            match run_bpftrace(&script, format) {
                Ok(got) => {
                    let want = case.expected(format);
                    if got != want {
                        failures.push(format!(
                            "{name} ({format:?}):\nscript: {script}\nbpftrace: {got:?}\nours:     {want:?}"
                        ));
                    }
                }
                Err(e) => failures.push(format!("{name} ({format:?}): {e}\nscript: {script}")),
            }
        }
    }
    println!("oracle: {} of {total} cases agree with bpftrace", total - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
