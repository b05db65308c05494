//! include/bpfbox.h is generated from src/lib.rs: every `pub const BPFBOX_*` and every
//! `extern "C" fn`, with its doc comment, between the header's GENERATED markers. This
//! test regenerates that part and fails when the header differs (run it with
//! BPFBOX_BLESS=1 to rewrite the header).

use std::path::PathBuf;

const BEGIN: &str = "/* BEGIN GENERATED from crates/capi/src/lib.rs by tests/header.rs */\n";
const END: &str = "/* END GENERATED */\n";

fn c_type(rust: &str) -> String {
    let t = rust.trim();
    let (ptr, base) = if let Some(rest) = t.strip_prefix("*const ") {
        ("const ", rest)
    } else if let Some(rest) = t.strip_prefix("*mut ") {
        ("", rest)
    } else {
        return match t {
            "c_int" | "i32" => "int",
            "u32" => "uint32_t",
            "u64" => "uint64_t",
            "i64" => "int64_t",
            "usize" => "size_t",
            "Option<BpfboxHelperFn>" => "bpfbox_helper_fn",
            other => panic!("no C type for `{other}`: teach tests/header.rs"),
        }
        .to_string();
    };
    let base = match base {
        "c_char" => "char",
        "c_void" => "void",
        "c_int" => "int",
        "u8" => "uint8_t",
        "u64" => "uint64_t",
        "usize" => "size_t",
        "BpfboxObject" => "bpfbox_object",
        "BpfboxInstance" => "bpfbox_instance",
        "BpfboxHelpers" => "bpfbox_helpers",
        "BpfboxCall" => "bpfbox_call",
        other => panic!("no C type for pointer to `{other}`: teach tests/header.rs"),
    };
    format!("{ptr}{base} *")
}

fn comment(doc: &[String]) -> String {
    if doc.is_empty() {
        return String::new();
    }
    let mut s = String::from("/*\n");
    for l in doc {
        s.push_str(if l.is_empty() { " *\n".to_string() } else { format!(" * {l}\n") }.as_str());
    }
    s.push_str(" */\n");
    s
}

/// The generated declarations, in source order.
fn generate(src: &str) -> String {
    let mut out = String::new();
    let mut doc: Vec<String> = Vec::new();
    let lines: Vec<&str> = src.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        if let Some(d) = l.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).to_string());
        } else if l.starts_with("#[") {
            // Attributes between the doc comment and the item.
        } else if let Some(rest) = l.strip_prefix("pub const BPFBOX_") {
            let (name, value) = rest.split_once(": c_int = ").expect("pub const NAME: c_int = VALUE;");
            out.push_str(&comment(&doc));
            out.push_str(&format!("#define BPFBOX_{name} {}\n", value.trim_end_matches(';')));
            doc.clear();
        } else if l.starts_with("pub unsafe extern \"C\" fn ") || l.starts_with("pub extern \"C\" fn ") {
            // The signature, possibly over several lines, up to the body's brace.
            let mut sig = String::new();
            while !lines[i].trim_end().ends_with('{') {
                sig.push_str(lines[i].trim());
                sig.push(' ');
                i += 1;
            }
            sig.push_str(lines[i].trim().trim_end_matches('{'));
            let sig = sig.split_once("fn ").expect("fn").1;
            let (name, rest) = sig.split_once('(').expect("(");
            let (params, ret) = rest.rsplit_once(')').expect(")");
            let ret = ret.trim().strip_prefix("->").map_or("void".to_string(), c_type);
            let params: Vec<String> = params
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (n, t) = p.split_once(':').expect("name: type");
                    let ct = c_type(t);
                    if ct.ends_with('*') {
                        format!("{ct}{}", n.trim())
                    } else {
                        format!("{ct} {}", n.trim())
                    }
                })
                .collect();
            let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
            let ret = if ret.ends_with('*') { ret } else { format!("{ret} ") };
            // The Rust-only "# Safety" section stays in Rust.
            let mut c_doc: Vec<String> = doc.iter().take_while(|l| *l != "# Safety").cloned().collect();
            if c_doc.last().is_some_and(String::is_empty) {
                c_doc.pop();
            }
            out.push_str(&comment(&c_doc));
            out.push_str(&format!("{ret}{name}({params});\n\n"));
            doc.clear();
        } else {
            doc.clear();
        }
        i += 1;
    }
    out
}

#[test]
fn header_matches_the_rust_source() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
    let path = dir.join("include/bpfbox.h");
    let header = std::fs::read_to_string(&path).expect("include/bpfbox.h");
    let (head, rest) = header.split_once(BEGIN).expect("BEGIN marker");
    let (old, tail) = rest.split_once(END).expect("END marker");
    let new = generate(&src);
    if std::env::var_os("BPFBOX_BLESS").is_some() {
        std::fs::write(&path, format!("{head}{BEGIN}{new}{END}{tail}")).expect("write header");
        return;
    }
    assert_eq!(old, new, "include/bpfbox.h is out of date: run with BPFBOX_BLESS=1");
    // Every exported function is declared (the generator found them all).
    let exported = src.matches("#[no_mangle]").count();
    assert_eq!(new.matches(");\n").count(), exported);
    assert!(exported >= 19, "{exported} functions");
}
