//! `bpfbox load`, `prog` and `map` against the kernel, checked against bpftool.

#![cfg(feature = "kernel")] // scripts/test.sh builds the tests with the kernel backend
#![allow(clippy::unwrap_used)]

mod kernel_common;

use kernel_common::*;
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let (code, out, err) = bpfbox(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn bpftool(args: &[&str]) -> Value {
    let out = must("bpftool", args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bpftool {args:?}: {e}: {out}"))
}

fn by_id(list: &Value, id: u64) -> Value {
    list.as_array().unwrap().iter().find(|p| p["id"] == id).cloned().unwrap_or_else(|| panic!("id {id} not listed"))
}

/// Objects loaded and pinned under a directory for the test; detached on drop.
struct Pinned {
    dir: String,
    loaded: Value,
}

impl Pinned {
    fn load(obj: &str, tag: &str) -> Pinned {
        let dir = format!("/sys/fs/bpf/{}", unique(tag));
        let loaded = json(&["load", obj, "--pin", &dir, "--json"]);
        Pinned { dir, loaded }
    }
    fn prog_ids(&self) -> Vec<u64> {
        self.loaded["programs"].as_array().unwrap().iter().map(|p| p["id"].as_u64().unwrap()).collect()
    }
    fn map_id(&self, name: &str) -> u64 {
        self.loaded["maps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["id"].as_u64())
            .unwrap()
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = bpfbox(&["detach", &self.dir]);
    }
}

#[test]
fn prog_and_map_listings_agree_with_bpftool() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let maps = Pinned::load(&prog_obj("maps.bpf.o"), "lsm");
    let tc = Pinned::load(&prog_obj("tc_mark.bpf.o"), "lst");
    let ours = json(&["prog", "list", "--json"]);
    let theirs = bpftool(&["prog", "list", "-j"]);
    let mut checked = 0;
    for id in maps.prog_ids().into_iter().chain(tc.prog_ids()) {
        let (a, b) = (by_id(&ours, id), by_id(&theirs, id));
        for field in [
            "id",
            "name",
            "type",
            "tag",
            "gpl_compatible",
            "loaded_at",
            "uid",
            "bytes_xlated",
            "jited",
            "bytes_jited",
            "bytes_memlock",
            "map_ids",
            "btf_id",
        ] {
            assert_eq!(a[field], b[field], "prog {id} field {field}: bpfbox {a} / bpftool {b}");
        }
        assert_eq!(json(&["prog", "show", &id.to_string(), "--json"]), a);
        assert_eq!(json(&["prog", "show", "id", &id.to_string(), "--json"]), a);
        checked += 1;
        // Our disassembly of the translated code has as many instructions as bpftool's.
        let ours = json(&["prog", "dump", "xlated", &id.to_string(), "--json"]);
        let theirs = bpftool(&["prog", "dump", "xlated", "id", &id.to_string(), "-j"]);
        let n_theirs = theirs.as_array().unwrap().iter().filter(|i| i.get("disasm").is_some()).count();
        assert_eq!(ours.as_array().unwrap().len(), n_theirs, "prog {id}: instruction count");
        let (code, human, err) = bpfbox(&["prog", "dump", "jited", &id.to_string()]);
        assert_eq!(code, 0, "{err}");
        let jited_bytes: usize =
            human.lines().map(|l| l.split(":  ").nth(1).unwrap_or("").split_whitespace().count()).sum();
        assert_eq!(jited_bytes as u64, a["bytes_jited"].as_u64().unwrap());
    }
    assert_eq!(checked, 3);
    // The pinned program, by path.
    let pinned = json(&["prog", "show", "pinned", &format!("{}/xdp_count", maps.dir), "--json"]);
    assert_eq!(pinned["name"], "xdp_count");
    // Human output: bpftool's layout.
    let (_, human, _) = bpfbox(&["prog", "show", &maps.prog_ids()[0].to_string()]);
    assert!(human.starts_with(&format!("{}: xdp  name xdp_count  tag ", maps.prog_ids()[0])), "{human}");
    assert!(human.contains("\tloaded_at ") && human.contains("  map_ids "), "{human}");

    let ours = json(&["map", "list", "--json"]);
    let theirs = bpftool(&["map", "list", "-j"]);
    for name in ["totals", "proto_count"] {
        let id = maps.map_id(name);
        let (a, b) = (by_id(&ours, id), by_id(&theirs, id));
        for field in [
            "id",
            "type",
            "name",
            "flags",
            "bytes_key",
            "bytes_value",
            "max_entries",
            "bytes_memlock",
            "frozen",
            "btf_id",
        ] {
            assert_eq!(a[field], b[field], "map {id} field {field}: bpfbox {a} / bpftool {b}");
        }
    }
    let ids: Vec<u64> = maps.prog_ids().into_iter().chain(tc.prog_ids()).collect();
    drop(maps);
    drop(tc);
    for id in ids {
        eventually(&format!("program {id}"), || bpfbox(&["prog", "show", &id.to_string()]).0 != 0);
    }
    assert_no_leaks();
}

#[test]
fn map_lookup_update_delete_round_trip() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let p = Pinned::load(&prog_obj("maps.bpf.o"), "rt");
    let id = p.map_id("proto_count").to_string();
    let (code, _, err) = bpfbox(&[
        "map", "update", &id, "key", "11", "00", "00", "00", "value", "hex", "2a", "00", "00", "00", "00", "00", "00",
        "00",
    ]);
    assert_eq!(code, 0, "{err}");
    // bpftool sees what we wrote.
    // (The map has BTF, so bpftool adds the decoded key and value: u32 and u64.)
    let seen = bpftool(&["map", "lookup", "id", &id, "key", "hex", "11", "00", "00", "00", "-j"]);
    assert_eq!(
        seen["value"],
        serde_json::json!(["0x2a", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"]),
        "{seen}"
    );
    assert_eq!(seen["formatted"], serde_json::json!({"key": 17, "value": 42}), "{seen}");
    // And we see what bpftool writes.
    must(
        "bpftool",
        &[
            "map", "update", "id", &id, "key", "hex", "06", "00", "00", "00", "value", "hex", "07", "00", "00", "00",
            "00", "00", "00", "00",
        ],
    );
    let v = json(&["map", "lookup", &id, "06000000", "--json"]);
    assert_eq!(bytes(&v["value"]), vec![7, 0, 0, 0, 0, 0, 0, 0]);
    let (_, human, _) = bpfbox(&["map", "lookup", &id, "key", "06", "00", "00", "00"]);
    // The map has BTF: keys and values print decoded (hex without BTF).
    assert_eq!(human.trim(), "key: 6  value: 7");
    let dump = json(&["map", "dump", &id, "--json"]);
    // bpftool's dump, its BTF-decoded `formatted` objects included.
    let theirs = bpftool(&["map", "dump", "id", &id, "-j"]);
    assert_eq!(dump, theirs);
    assert_eq!(dump.as_array().unwrap().len(), 2);
    // noexist on an existing key: the kernel says EEXIST, exit 1.
    let (code, _, err) = bpfbox(&[
        "map", "update", &id, "key", "06", "00", "00", "00", "value", "00", "00", "00", "00", "00", "00", "00", "00",
        "noexist",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("EEXIST"), "{err}");
    let (code, _, err) = bpfbox(&["map", "delete", &id, "key", "06", "00", "00", "00"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = bpfbox(&["map", "lookup", &id, "06", "00", "00", "00"]);
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
    // Bad input: exit 2, one line.
    let (code, _, err) = bpfbox(&["map", "update", &id, "key", "06", "00", "value", "00"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("bpfbox: error: the key must be 4 bytes, got 2"), "{err}");
    let (code, _, err) = bpfbox(&["map", "lookup", &id, "zz"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = bpfbox(&["map", "show", "4000000000"]);
    assert_eq!(code, 2);
    assert!(err.contains("no map with id 4000000000"), "{err}");
    let (code, _, err) = bpfbox(&["prog", "show", "4000000000"]);
    assert_eq!(code, 2);
    assert!(err.contains("no program with id 4000000000"), "{err}");
    drop(p);
    assert_no_leaks();
}

#[test]
fn load_without_pin_leaves_nothing_and_reports_ids() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let v = json(&["load", &kobj("net_count.bpf.o"), "--json"]);
    let names: Vec<&str> = v["programs"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bbx_xdp_udp", "bbx_tc_count", "bbx_cg_skb", "bbx_sock_create"]);
    let types: Vec<&str> = v["programs"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["xdp", "sched_cls", "cgroup_skb", "cgroup_sock"]);
    let (code, out, err) = bpfbox(&["load", &prog_obj("socket_filter.bpf.o"), "--type", "sock_http=sched_cls"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("prog sock_http  type sched_cls  section socket"), "{out}");
    assert_no_leaks();
}
