//! Print what the loader makes of an object: `cargo run -p bpfbox-object --example loadinfo -- FILE [BTF]`.

use bpfbox_object::{load, Btf, LoadOptions};
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: loadinfo FILE.bpf.o [TARGET_BTF]");
        std::process::exit(2);
    };
    let data = match std::fs::read(file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(1);
        }
    };
    let btf_path = args.get(1).cloned().unwrap_or_else(|| "/sys/kernel/btf/vmlinux".into());
    let target_btf = std::fs::read(&btf_path).ok().and_then(|b| Btf::parse(&b).ok()).map(Arc::new);
    let opts = LoadOptions { target_btf, object_name: Some(file.clone()), ..Default::default() };
    match load(&data, &opts) {
        Err(e) => println!("error: {e}"),
        Ok(o) => {
            println!("license {:?} version {:?}", o.license, o.kern_version);
            for m in &o.maps {
                println!(
                    "map {} type {} key {} value {} max {} flags {:#x} inner {:?} slots {:?} section {:?}",
                    m.name,
                    m.map_type,
                    m.key_size,
                    m.value_size,
                    m.max_entries,
                    m.map_flags,
                    m.inner.as_ref().map(|i| (&i.name, i.map_type, i.key_size, i.value_size)),
                    m.init_slots,
                    m.global_section
                );
            }
            for p in &o.programs {
                println!(
                    "prog {} section {} type {:?} attach {:?} target {:?} insns {} funcs {:?} lines {} core {} externs {:?}",
                    p.name,
                    p.section,
                    p.prog_type,
                    p.expected_attach_type,
                    p.attach_target,
                    p.insns.len(),
                    p.func_info.iter().map(|f| (f.insn_off, f.name.as_str())).collect::<Vec<_>>(),
                    p.line_info.len(),
                    p.core_relos.len(),
                    p.externs
                );
                for r in &p.core_relos {
                    println!("  core #{} {:?} {} -> {:?}: {:?}", r.insn, r.kind, r.local, r.target, r.outcome);
                }
                if std::env::var("DISASM").is_ok() {
                    print!("{}", bpfbox_isa::llvm::disasm(&p.insns));
                }
            }
            for w in &o.warnings {
                println!("warning: {w}");
            }
        }
    }
}
