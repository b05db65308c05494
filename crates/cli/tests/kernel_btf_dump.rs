//! `bpfbox map dump|lookup` decode keys and values with the map's BTF (bpftool's
//! `formatted` object), keeping the hex byte arrays.

#![cfg(feature = "kernel")] // scripts/test.sh builds the tests with the kernel backend
#![allow(clippy::unwrap_used)]

mod kernel_common;

use kernel_common::*;
use serde_json::{json, Value};
use std::path::Path;

fn example(name: &str) -> String {
    repo().join("examples").join(name).display().to_string()
}

fn json_of(args: &[&str]) -> Value {
    let (code, out, err) = bpfbox(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = bpfbox(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

fn hex(bytes: &[u8]) -> Vec<String> {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An object loaded and pinned under /sys/fs/bpf for the test; detached on drop,
/// after which its programs and maps must leave the kernel.
struct Pinned {
    dir: String,
    prog_ids: Vec<u32>,
    map_ids: Vec<u32>,
}

impl Pinned {
    fn load(obj: &str, tag: &str) -> Pinned {
        let dir = format!("/sys/fs/bpf/{}", unique(tag));
        let loaded = json_of(&["load", obj, "--pin", &dir, "--json"]);
        let ids = |k: &str| loaded[k].as_array().unwrap().iter().map(|x| x["id"].as_u64().unwrap() as u32).collect();
        Pinned { prog_ids: ids("programs"), map_ids: ids("maps"), dir }
    }
    fn map(&self, name: &str) -> String {
        format!("{}/maps/{name}", self.dir)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = bpfbox(&["detach", &self.dir]);
        if std::thread::panicking() {
            return;
        }
        use bpfbox_kernel::inspect;
        assert!(!Path::new(&self.dir).exists(), "{} left behind", self.dir);
        eventually("the test's programs still loaded", || {
            inspect::prog_ids().unwrap().iter().all(|i| !self.prog_ids.contains(i))
        });
        eventually("the test's maps still present", || {
            inspect::map_ids().unwrap().iter().all(|i| !self.map_ids.contains(i))
        });
        assert_no_leaks();
    }
}

#[test]
fn hash_and_array_entries_are_decoded_with_btf() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let p = Pinned::load(&example("xdp_firewall.bpf.o"), "btfd");
    let blocklist = p.map("blocklist");
    // 10.0.0.1 in network byte order, 7 packets dropped.
    ok(&[
        "map", "update", "pinned", &blocklist, "key", "0a", "00", "00", "01", "value", "07", "00", "00", "00", "00",
        "00", "00", "00",
    ]);
    let key = u32::from_le_bytes([10, 0, 0, 1]) as u64;
    let dump = json_of(&["map", "dump", "pinned", &blocklist, "--json"]);
    let entries = dump.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{dump}");
    let e = &entries[0];
    assert_eq!(e["formatted"], json!({"key": key, "value": 7}), "{e}");
    // The hex arrays are still there, as bpftool prints them.
    assert_eq!(e["key"], json!(["0x0a", "0x00", "0x00", "0x01"]));
    assert_eq!(e["value"].as_array().unwrap().len(), 8);
    assert_eq!(e["value"][0], "0x07");
    let one = json_of(&["map", "lookup", "pinned", &blocklist, "key", "0a", "00", "00", "01", "--json"]);
    assert_eq!(one["formatted"], json!({"key": key, "value": 7}));
    let human = ok(&["map", "dump", "pinned", &blocklist]);
    assert!(human.contains(&format!("key: {key}  value: 7")), "{human}");
    let human = ok(&["map", "lookup", "pinned", &blocklist, "key", "0a", "00", "00", "01"]);
    assert_eq!(human.trim(), format!("key: {key}  value: 7"));

    // The array map: every index decoded as a number.
    ok(&[
        "map",
        "update",
        "pinned",
        &p.map("stats"),
        "key",
        "02",
        "00",
        "00",
        "00",
        "value",
        "2a",
        "00",
        "00",
        "00",
        "00",
        "00",
        "00",
        "00",
    ]);
    let stats = json_of(&["map", "dump", "pinned", &p.map("stats"), "--json"]);
    let stats = stats.as_array().unwrap();
    assert!(stats.len() >= 3);
    for (i, e) in stats.iter().enumerate() {
        assert_eq!(e["formatted"]["key"], json!(i), "{e}");
        assert_eq!(e["formatted"]["value"], json!(if i == 2 { 42 } else { 0 }), "{e}");
    }
}

#[test]
fn percpu_struct_values_are_decoded_per_cpu() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let p = Pinned::load(&example("proto_counter.bpf.o"), "btfp");
    let map = p.map("proto_stats");
    let ncpu = bpfbox_kernel::possible_cpus();
    // struct counters { u64 packets; u64 bytes; } on every possible CPU: CPU n gets
    // packets = n + 1, bytes = 100 * (n + 1).
    let mut value = Vec::new();
    for cpu in 0..ncpu as u64 {
        value.extend((cpu + 1).to_le_bytes());
        value.extend((100 * (cpu + 1)).to_le_bytes());
    }
    let mut args: Vec<String> = ["map", "update", "pinned", &map, "key", "06", "00", "00", "00", "value"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(hex(&value));
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let dump = json_of(&["map", "dump", "pinned", &map, "--json"]);
    let e = dump
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["formatted"]["key"] == 6)
        .unwrap_or_else(|| panic!("no key 6 in {dump}"));
    let values = e["formatted"]["values"].as_array().unwrap();
    assert_eq!(values.len(), ncpu);
    for (cpu, v) in values.iter().enumerate() {
        let n = cpu as u64 + 1;
        assert_eq!(v["cpu"], json!(cpu));
        assert_eq!(v["value"], json!({"packets": n, "bytes": 100 * n}), "{e}");
    }
    // Hex per CPU unchanged.
    assert_eq!(e["values"].as_array().unwrap().len(), ncpu);
    assert_eq!(e["values"][0]["value"].as_array().unwrap().len(), 16);
    // Other keys decode to zeroed structs.
    let zero = dump.as_array().unwrap().iter().find(|e| e["formatted"]["key"] == 0).unwrap();
    assert_eq!(zero["formatted"]["values"][0]["value"], json!({"packets": 0, "bytes": 0}));
    let human = ok(&["map", "lookup", "pinned", &map, "key", "06", "00", "00", "00"]);
    assert!(human.starts_with("key: 6\n"), "{human}");
    assert!(human.contains("value (CPU 00): {\"bytes\":100,\"packets\":1}"), "{human}");
}
