//! Probes and statements: the program skeleton, variables, map updates and aggregations,
//! control flow, and the statements that talk to user space (`printf`, `exit`, ...).

use super::emit::{helper, r, Emitter, Label};
use super::expr::{Loc, Val};
use super::{
    CompileOptions, Compiled, EventKind, Knowledge, MapOp, MapOut, PrintfSpec, ProgOut, MAP_MAX_ENTRIES, RINGBUF_MAP,
    RINGBUF_SIZE, STACK_MAP,
};
use crate::ast::{BinOp, Block, Expr, ExprKind, MapRef, Script, Stmt, StmtKind};
use crate::diag::{Diagnostic, Span, Stage};
use crate::probes::{ProbeEnv, ProbeKind, TpField};
use crate::types::{MapDecl, MapKind, Ty};
use bpfbox_isa::{AluOp, Cond, Operand, Size};
use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) fn err(span: Span, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Stage::Type, span, msg)
}

/// The whole script's generation round.
pub(crate) struct ScriptGen<'a> {
    pub script: &'a Script,
    pub opts: &'a CompileOptions,
    pub prev: &'a Knowledge,
    /// The fields of every tracepoint the script attaches to.
    pub formats: &'a HashMap<(String, String), Vec<TpField>>,
    pub learned: Knowledge,
    /// The kernel's BTF, loaded the first time a script needs it.
    pub btf: std::cell::OnceCell<Option<std::sync::Arc<bpfbox_object::Btf>>>,
    pub env: &'a dyn ProbeEnv,
    /// Maps read before any assignment was seen (an error if never assigned).
    pub unresolved_reads: BTreeMap<String, Span>,
    pub printfs: Vec<PrintfSpec>,
    pub map_ops: Vec<MapOp>,
    pub time_formats: Vec<String>,
    pub prints: Vec<Ty>,
    pub joins: Vec<String>,
    pub programs: Vec<ProgOut>,
    names: HashSet<String>,
    pub uses_stacks: bool,
}

/// Internal maps come first.
const RINGBUF_IDX: usize = 0;
const STACK_IDX: usize = 1;
const SCRATCH_IDX: usize = 2;
const FIRST_SCRIPT_MAP: usize = 3;

impl<'a> ScriptGen<'a> {
    pub fn new(
        script: &'a Script,
        env: &'a dyn ProbeEnv,
        opts: &'a CompileOptions,
        prev: &'a Knowledge,
        formats: &'a HashMap<(String, String), Vec<TpField>>,
    ) -> Self {
        ScriptGen {
            script,
            opts,
            prev,
            formats,
            btf: std::cell::OnceCell::new(),
            env,
            learned: Knowledge::default(),
            unresolved_reads: BTreeMap::new(),
            printfs: Vec::new(),
            map_ops: Vec::new(),
            time_formats: Vec::new(),
            prints: Vec::new(),
            joins: Vec::new(),
            programs: Vec::new(),
            names: HashSet::new(),
            uses_stacks: false,
        }
    }

    /// The kernel's BTF, or `None` when this system has none.
    pub fn btf(&self) -> Option<std::sync::Arc<bpfbox_object::Btf>> {
        self.btf.get_or_init(|| self.env.kernel_btf()).clone()
    }

    /// The map index of a script map (known from the previous round, else a placeholder).
    pub fn map_idx(&self, name: &str) -> usize {
        match self.prev.maps.keys().position(|k| k == name) {
            Some(i) => FIRST_SCRIPT_MAP + i,
            None => FIRST_SCRIPT_MAP + self.prev.maps.len(),
        }
    }
    pub fn ringbuf_idx(&self) -> usize {
        RINGBUF_IDX
    }
    pub fn scratch_idx(&self) -> usize {
        SCRATCH_IDX
    }
    pub fn stack_idx(&mut self) -> usize {
        self.uses_stacks = true;
        STACK_IDX
    }

    /// The declaration of `name` as far as it is known (this round or the last).
    pub fn map_decl(&self, name: &str) -> Option<&MapDecl> {
        self.learned.maps.get(name).or_else(|| self.prev.maps.get(name))
    }

    /// Record that `name` holds `kind` with key `key` (unifying with what is known).
    pub fn learn_map(&mut self, name: &str, key: Option<Ty>, kind: MapKind, span: Span) -> Result<(), Diagnostic> {
        let merged = match self.learned.maps.get(name) {
            None => MapDecl { name: name.to_string(), key, kind },
            Some(old) => {
                let key = match (&old.key, &key) {
                    (None, None) => None,
                    (Some(a), Some(b)) => Some(a.unify(b).ok_or_else(|| {
                        err(span, format!("@{name} is used with keys of type {} and {}", a.name(), b.name()))
                    })?),
                    _ => return Err(err(span, format!("@{name} is used both with and without a key"))),
                };
                let kind = match (&old.kind, &kind) {
                    (MapKind::Scalar(a), MapKind::Scalar(b)) => MapKind::Scalar(a.unify(b).ok_or_else(|| {
                        err(span, format!("type mismatch for @{name}: trying to assign a value of type '{}' when the map already contains a value of type '{}'", b.name(), a.name()))
                    })?),
                    (a, b) if a == b => a.clone(),
                    (a, b) => {
                        return Err(err(span, format!("@{name} is used as {} and as {}", a.name(), b.name())));
                    }
                };
                MapDecl { name: name.to_string(), key, kind }
            }
        };
        self.learned.maps.insert(name.to_string(), merged);
        Ok(())
    }

    pub fn probe(&mut self, idx: usize, kind: &ProbeKind) -> Result<(), Diagnostic> {
        let script = self.script;
        let probe = &script.probes[idx];
        let tp = match kind {
            ProbeKind::Tracepoint { category, name } => {
                self.formats.get(&(category.clone(), name.clone())).cloned().unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let mut base = sanitize(&kind.full_name());
        base.truncate(40);
        let mut name = base.clone();
        let mut n = 1;
        while !self.names.insert(name.clone()) {
            n += 1;
            name = format!("{base}_{n}");
        }
        let mut pg = ProbeGen {
            g: self,
            e: Emitter::default(),
            idx,
            kind: kind.clone(),
            tp,
            vars: HashMap::new(),
            lines: Vec::new(),
            exit: None,
            loops: Vec::new(),
        };
        let exit = pg.e.label();
        pg.exit = Some(exit);
        pg.e.mov(r(6), r(1));
        // Variables known from the last round get their slots first.
        let known: Vec<(String, Ty)> =
            pg.g.prev.vars.iter().filter(|((i, _), _)| *i == idx).map(|((_, n), t)| (n.clone(), t.clone())).collect();
        for (n, t) in known {
            let off = pg.e.alloc(t.size().max(8), probe.span)?;
            pg.e.zero(off, t.size().max(8));
            pg.vars.insert(n, (t, off));
        }
        if let Some(pred) = &probe.predicate {
            pg.lines.push((pg.e.insns.len(), pred.span));
            let mark = pg.e.sp;
            let v = pg.expr(pred)?;
            pg.truth_to_reg(&v, 1, pred.span)?;
            pg.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), exit);
            pg.e.sp = mark;
        }
        pg.block(&probe.body)?;
        pg.e.bind(exit);
        pg.e.mov_imm(r(0), 0);
        pg.e.emit(bpfbox_isa::Insn::Exit);
        pg.e.finish().map_err(|m| Diagnostic::new(Stage::Codegen, probe.span, m))?;
        let map = pg.e.prune_dead();
        let ProbeGen { e, lines, .. } = pg;
        // Statements whose code was all dead point at the next live instruction.
        let lines = lines
            .into_iter()
            .filter_map(|(slot, span)| map[slot..].iter().flatten().next().map(|&s| (s, span)))
            .collect();
        self.programs.push(ProgOut {
            name,
            section: kind.section(),
            probe: kind.clone(),
            insns: e.insns,
            lines,
            stack: e.max_sp as u32,
        });
        Ok(())
    }

    pub fn finish(self, probe_count: usize) -> Result<(Compiled, Knowledge), Diagnostic> {
        for (name, span) in &self.unresolved_reads {
            if !self.learned.maps.contains_key(name) {
                return Err(err(*span, format!("undefined map: @{name} (it is read but never assigned)")));
            }
        }
        let mut maps = vec![
            MapOut {
                symbol: RINGBUF_MAP.into(),
                map_type: 27,
                key_size: 0,
                value_size: 0,
                max_entries: RINGBUF_SIZE,
                decl: None,
            },
            MapOut {
                symbol: STACK_MAP.into(),
                map_type: 7,
                key_size: 4,
                value_size: 127 * 8,
                max_entries: if self.uses_stacks { 4096 } else { 1 },
                decl: None,
            },
            MapOut {
                symbol: super::SCRATCH_MAP.into(),
                map_type: 6,
                key_size: 4,
                value_size: super::SCRATCH_SIZE,
                max_entries: 1,
                decl: None,
            },
        ];
        for decl in self.learned.maps.values() {
            maps.push(MapOut {
                symbol: decl.symbol(),
                map_type: decl.bpf_map_type(),
                key_size: decl.key_size(),
                value_size: decl.kind.value_size(),
                max_entries: MAP_MAX_ENTRIES,
                decl: Some(decl.clone()),
            });
        }
        let compiled = Compiled {
            programs: self.programs,
            maps,
            printfs: self.printfs,
            map_ops: self.map_ops,
            time_formats: self.time_formats,
            prints: self.prints,
            joins: self.joins,
            probe_count,
        };
        Ok((compiled, self.learned))
    }
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// One program's generation.
pub(crate) struct ProbeGen<'g, 'a> {
    pub g: &'g mut ScriptGen<'a>,
    pub e: Emitter,
    pub idx: usize,
    pub kind: ProbeKind,
    pub tp: Vec<TpField>,
    pub vars: HashMap<String, (Ty, i16)>,
    pub lines: Vec<(usize, Span)>,
    pub exit: Option<Label>,
    /// (continue, break) targets of the enclosing loops.
    pub loops: Vec<(Label, Label)>,
}

impl ProbeGen<'_, '_> {
    pub fn exit_label(&self) -> Label {
        self.exit.expect("set before the body")
    }

    pub fn block(&mut self, b: &Block) -> Result<(), Diagnostic> {
        for s in &b.stmts {
            let mark = self.e.sp;
            self.stmt(s)?;
            self.e.sp = mark;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), Diagnostic> {
        self.lines.push((self.e.insns.len(), s.span));
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr_stmt(e)?;
            }
            StmtKind::AssignVar { name, name_span, op, value } => {
                let v = match op {
                    None => self.expr(value)?,
                    Some(op) => {
                        let cur = self.var_read(name, *name_span)?;
                        let rhs = self.expr(value)?;
                        self.binary(*op, cur, rhs, s.span)?
                    }
                };
                self.var_write(name, v, s.span)?;
            }
            StmtKind::AssignMap { map, op, value } => self.assign_map(map, *op, value, s.span)?,
            StmtKind::If { cond, then, els } => {
                let v = self.expr(cond)?;
                self.truth_to_reg(&v, 1, cond.span)?;
                let else_l = self.e.label();
                let end = self.e.label();
                self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), else_l);
                self.block(then)?;
                self.e.jump(end);
                self.e.bind(else_l);
                if let Some(b) = els {
                    self.block(b)?;
                }
                self.e.bind(end);
            }
            StmtKind::Unroll { count, body } => {
                let n = match self.expr(count)?.loc {
                    Loc::Const(n) if (1..=100).contains(&n) => n,
                    _ => return Err(err(count.span, "unroll count must be an integer from 1 to 100")),
                };
                for _ in 0..n {
                    let mark = self.e.sp;
                    self.block(body)?;
                    self.e.sp = mark;
                }
            }
            StmtKind::While { cond, body } => {
                let top = self.e.label();
                let end = self.e.label();
                self.e.bind(top);
                let mark = self.e.sp;
                let v = self.expr(cond)?;
                self.truth_to_reg(&v, 1, cond.span)?;
                self.e.sp = mark;
                self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), end);
                self.loops.push((top, end));
                self.block(body)?;
                self.loops.pop();
                self.e.jump(top);
                self.e.bind(end);
            }
            StmtKind::Return => {
                let l = self.exit_label();
                self.e.jump(l);
            }
            StmtKind::Break | StmtKind::Continue => {
                let Some(&(cont, brk)) = self.loops.last() else {
                    return Err(err(s.span, "break and continue are only allowed in a while loop"));
                };
                self.e.jump(if matches!(s.kind, StmtKind::Break) { brk } else { cont });
            }
        }
        Ok(())
    }

    // ---- variables ----

    pub fn var_read(&mut self, name: &str, span: Span) -> Result<Val, Diagnostic> {
        match self.vars.get(name) {
            Some((t, off)) => Ok(Val { ty: t.clone(), loc: Loc::Stack(*off) }),
            None => Err(err(span, format!("undefined variable: ${name}"))),
        }
    }

    fn var_write(&mut self, name: &str, v: Val, span: Span) -> Result<(), Diagnostic> {
        if v.ty == Ty::Void {
            return Err(err(span, "this expression has no value to assign"));
        }
        let key = (self.idx, name.to_string());
        let ty = match self.g.learned.vars.get(&key) {
            Some(old) => old.unify(&v.ty).ok_or_else(|| {
                err(span, format!("type mismatch for ${name}: trying to assign a value of type '{}' when the variable already contains a value of type '{}'", v.ty.name(), old.name()))
            })?,
            None => v.ty.clone(),
        };
        self.g.learned.vars.insert(key, ty.clone());
        let (slot_ty, off) = match self.vars.get(name) {
            Some((t, off)) if t.size() >= ty.size() => (t.clone(), *off),
            _ => {
                // First round (or a wider type): a fresh slot; the next round preallocates it.
                let off = self.e.alloc(ty.size().max(8), span)?;
                self.vars.insert(name.to_string(), (ty.clone(), off));
                (ty.clone(), off)
            }
        };
        self.store_val(&v, &slot_ty, 10, off, span)
    }

    // ---- maps ----

    /// The key of `@m[keys]` on the stack (8 zero bytes for a keyless map), and its type.
    pub fn map_key(&mut self, m: &MapRef, extra: u32) -> Result<(i16, Option<Ty>), Diagnostic> {
        if m.keys.is_empty() {
            let off = self.e.alloc(8 + extra, m.span)?;
            self.e.zero(off, 8 + extra);
            return Ok((off, None));
        }
        let mut vals = Vec::new();
        for k in &m.keys {
            let v = self.expr(k)?;
            if v.ty == Ty::Void {
                return Err(err(k.span, "this expression has no value to use as a key"));
            }
            vals.push(v);
        }
        let ty =
            if vals.len() == 1 { vals[0].ty.clone() } else { Ty::Tuple(vals.iter().map(|v| v.ty.clone()).collect()) };
        // Use the declared key type when known (strings of the declared size).
        let ty = match self.g.map_decl(&m.name).and_then(|d| d.key.clone()) {
            Some(decl) => decl.unify(&ty).unwrap_or(ty),
            None => ty,
        };
        let size = ty.size();
        let off = self.e.alloc(size + extra, m.span)?;
        self.e.zero(off, size + extra);
        if vals.len() == 1 {
            self.store_val(&vals[0], &ty, 10, off, m.span)?;
        } else if let Ty::Tuple(elems) = &ty {
            let mut o = off;
            for (v, t) in vals.iter().zip(elems) {
                self.store_val(v, t, 10, o, m.span)?;
                o += t.size() as i16;
            }
        }
        Ok((off, Some(ty)))
    }

    /// `r0 = bpf_map_lookup_elem(map, r10 + key)`.
    pub fn lookup(&mut self, map_idx: usize, key: i16) {
        self.e.ld_map(r(1), map_idx);
        self.e.stack_ptr(r(2), key);
        self.e.call(helper::MAP_LOOKUP_ELEM);
    }
    /// `bpf_map_update_elem(map, r10 + key, r10 + val, flags)`.
    pub fn update(&mut self, map_idx: usize, key: i16, val: i16, flags: i32) {
        self.e.ld_map(r(1), map_idx);
        self.e.stack_ptr(r(2), key);
        self.e.stack_ptr(r(3), val);
        self.e.mov_imm(r(4), flags as i64);
        self.e.call(helper::MAP_UPDATE_ELEM);
    }

    fn assign_map(&mut self, m: &MapRef, op: Option<BinOp>, value: &Expr, span: Span) -> Result<(), Diagnostic> {
        if let (None, ExprKind::Call { name, args, .. }) = (op, &value.kind) {
            if let Some(kind) = self.aggregation(name, args, value.span)? {
                return self.aggregate(m, kind, args, span);
            }
        }
        let v = match op {
            None => self.expr(value)?,
            Some(op) => {
                let cur = self.map_read(m)?;
                let rhs = self.expr(value)?;
                self.binary(op, cur, rhs, span)?
            }
        };
        if v.ty == Ty::Void {
            return Err(err(value.span, "this expression has no value to assign"));
        }
        let (key, key_ty) = self.map_key(m, 0)?;
        self.g.learn_map(&m.name, key_ty, MapKind::Scalar(v.ty.clone()), span)?;
        let slot_ty = match self.g.map_decl(&m.name).map(|d| &d.kind) {
            Some(MapKind::Scalar(t)) => t.clone(),
            _ => v.ty.clone(),
        };
        let size = slot_ty.size().max(8);
        let val = self.e.alloc(size, span)?;
        self.e.zero(val, size);
        self.store_val(&v, &slot_ty, 10, val, span)?;
        let idx = self.g.map_idx(&m.name);
        self.update(idx, key, val, 0);
        Ok(())
    }

    /// Which aggregation a call in `@m = CALL(...)` is, checking its arguments' count.
    fn aggregation(&mut self, name: &str, args: &[Expr], span: Span) -> Result<Option<MapKind>, Diagnostic> {
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(err(
                    span,
                    format!("{name}() takes {n} argument{} ({} given)", if n == 1 { "" } else { "s" }, args.len()),
                ))
            }
        };
        Ok(Some(match name {
            "count" => {
                want(0)?;
                MapKind::Count
            }
            "sum" | "min" | "max" | "avg" | "stats" | "hist" => {
                want(1)?;
                match name {
                    "sum" => MapKind::Sum,
                    "min" => MapKind::Min,
                    "max" => MapKind::Max,
                    "avg" => MapKind::Avg,
                    "stats" => MapKind::Stats,
                    _ => MapKind::Hist,
                }
            }
            "lhist" => {
                want(4)?;
                let mut c = [0i64; 3];
                for (i, a) in args[1..].iter().enumerate() {
                    match self.expr(a)?.loc {
                        Loc::Const(v) => c[i] = v,
                        _ => return Err(err(a.span, "lhist() min, max and step must be integer literals")),
                    }
                }
                let [min, max, step] = c;
                if step <= 0 || max <= min || min < 0 {
                    return Err(err(span, "lhist() needs 0 <= min < max and step > 0"));
                }
                if (max - min) / step > 1000 {
                    return Err(err(span, "lhist() would have more than 1000 buckets"));
                }
                MapKind::Lhist { min, max, step }
            }
            _ => return Ok(None),
        }))
    }

    fn aggregate(&mut self, m: &MapRef, kind: MapKind, args: &[Expr], span: Span) -> Result<(), Diagnostic> {
        let arg = match args.first() {
            Some(a) => {
                let v = self.expr(a)?;
                if !v.ty.is_int() {
                    return Err(err(a.span, format!("{}() expects an integer, not {}", kind.name(), v.ty.name())));
                }
                Some(self.in_slot(&v, a.span)?)
            }
            None => None,
        };
        let bucketed = matches!(kind, MapKind::Hist | MapKind::Lhist { .. });
        let (key, key_ty) = self.map_key(m, if bucketed { 8 } else { 0 })?;
        self.g.learn_map(&m.name, key_ty.clone(), kind.clone(), span)?;
        let key_size = key_ty.as_ref().map_or(8, Ty::size) as i16;
        if bucketed {
            let a = arg.expect("hist takes an argument");
            self.e.ldx(Size::DW, r(1), r(10), a);
            match kind {
                MapKind::Hist => self.hist_bucket(),
                MapKind::Lhist { min, max, step } => self.lhist_bucket(min, max, step),
                _ => unreachable!(),
            }
            self.e.stx(Size::DW, r(10), key + key_size, r(2));
        }
        let idx = self.g.map_idx(&m.name);
        let vsize = kind.value_size();
        let init = self.e.label();
        let done = self.e.label();
        self.lookup(idx, key);
        self.e.jump_if(Cond::Eq, r(0), Operand::Imm(0), init);
        // An existing entry: update it in place (per-CPU, so no atomics needed).
        let load_arg = |pg: &mut Self, reg: u8| {
            if let Some(a) = arg {
                pg.e.ldx(Size::DW, r(reg), r(10), a);
            }
        };
        match kind {
            MapKind::Count | MapKind::Hist | MapKind::Lhist { .. } => {
                self.e.ldx(Size::DW, r(1), r(0), 0);
                self.e.alu(AluOp::Add, r(1), Operand::Imm(1));
                self.e.stx(Size::DW, r(0), 0, r(1));
            }
            MapKind::Sum => {
                load_arg(self, 2);
                self.e.ldx(Size::DW, r(1), r(0), 0);
                self.e.alu(AluOp::Add, r(1), Operand::Reg(r(2)));
                self.e.stx(Size::DW, r(0), 0, r(1));
            }
            MapKind::Min | MapKind::Max => {
                load_arg(self, 2);
                self.e.ldx(Size::DW, r(1), r(0), 0);
                let skip = self.e.label();
                let cond = if kind == MapKind::Min { Cond::SLe } else { Cond::SGe };
                self.e.jump_if(cond, r(1), Operand::Reg(r(2)), skip);
                self.e.stx(Size::DW, r(0), 0, r(2));
                self.e.bind(skip);
            }
            MapKind::Avg | MapKind::Stats => {
                load_arg(self, 2);
                self.e.ldx(Size::DW, r(1), r(0), 0);
                self.e.alu(AluOp::Add, r(1), Operand::Imm(1));
                self.e.stx(Size::DW, r(0), 0, r(1));
                self.e.ldx(Size::DW, r(1), r(0), 8);
                self.e.alu(AluOp::Add, r(1), Operand::Reg(r(2)));
                self.e.stx(Size::DW, r(0), 8, r(1));
            }
            MapKind::Scalar(_) => unreachable!(),
        }
        self.e.jump(done);
        // A new entry.
        self.e.bind(init);
        let val = self.e.alloc(vsize, span)?;
        self.e.zero(val, vsize);
        match kind {
            MapKind::Count | MapKind::Hist | MapKind::Lhist { .. } => self.e.st_imm(Size::DW, r(10), val, 1),
            MapKind::Sum | MapKind::Min | MapKind::Max => {
                load_arg(self, 1);
                self.e.stx(Size::DW, r(10), val, r(1));
                if kind != MapKind::Sum {
                    self.e.st_imm(Size::DW, r(10), val + 8, 1);
                }
            }
            MapKind::Avg | MapKind::Stats => {
                self.e.st_imm(Size::DW, r(10), val, 1);
                load_arg(self, 1);
                self.e.stx(Size::DW, r(10), val + 8, r(1));
            }
            MapKind::Scalar(_) => unreachable!(),
        }
        self.update(idx, key, val, 0);
        self.e.bind(done);
        Ok(())
    }

    /// r2 = hist bucket of r1 (clobbers r1, r3), as [`crate::output::hist_bucket`]: 0 for
    /// negatives, 1 for 0, 2 + floor(log2 v) saturating at 33 (bpftrace shifts by 16 at most).
    fn hist_bucket(&mut self) {
        let done = self.e.label();
        let pos = self.e.label();
        self.e.mov_imm(r(2), 0);
        self.e.jump_if(Cond::SLt, r(1), Operand::Imm(0), done);
        self.e.mov_imm(r(2), 1);
        self.e.jump_if(Cond::Ne, r(1), Operand::Imm(0), pos);
        self.e.jump(done);
        self.e.bind(pos);
        self.e.mov_imm(r(2), 2);
        for shift in [16, 8, 4, 2, 1] {
            let skip = self.e.label();
            self.e.mov(r(3), r(1));
            self.e.alu(AluOp::Rsh, r(3), Operand::Imm(shift));
            self.e.jump_if(Cond::Eq, r(3), Operand::Imm(0), skip);
            self.e.mov(r(1), r(3));
            self.e.alu(AluOp::Add, r(2), Operand::Imm(shift));
            self.e.bind(skip);
        }
        self.e.bind(done);
    }

    /// r2 = lhist bucket of r1: 0 below `min`, `(v - min) / step + 1` inside, the last above.
    fn lhist_bucket(&mut self, min: i64, max: i64, step: i64) {
        let done = self.e.label();
        let inside = self.e.label();
        let last = (max - min) / step + 1;
        self.e.mov_imm(r(2), 0);
        self.e.mov_imm(r(3), min);
        self.e.jump_if(Cond::SLt, r(1), Operand::Reg(r(3)), done);
        self.e.mov_imm(r(2), last);
        self.e.mov_imm(r(3), max);
        self.e.jump_if(Cond::SLt, r(1), Operand::Reg(r(3)), inside);
        self.e.jump(done);
        self.e.bind(inside);
        self.e.mov(r(2), r(1));
        self.e.mov_imm(r(3), min);
        self.e.alu(AluOp::Sub, r(2), Operand::Reg(r(3)));
        self.e.mov_imm(r(3), step);
        self.e.alu(AluOp::Div, r(2), Operand::Reg(r(3)));
        self.e.alu(AluOp::Add, r(2), Operand::Imm(1));
        self.e.bind(done);
    }

    /// `@m[k]` read: the value, or zero when the key is absent. Aggregations read this
    /// CPU's count/sum (as bpftrace does in probes).
    pub fn map_read(&mut self, m: &MapRef) -> Result<Val, Diagnostic> {
        let Some(decl) = self.g.map_decl(&m.name).cloned() else {
            self.g.unresolved_reads.entry(m.name.clone()).or_insert(m.span);
            // Unknown this round: an integer, so generation can go on.
            let (_, _) = self.map_key(m, 0)?;
            return Ok(Val { ty: Ty::I64, loc: Loc::Const(0) });
        };
        let ty = match &decl.kind {
            MapKind::Scalar(t) => t.clone(),
            MapKind::Count | MapKind::Sum | MapKind::Min | MapKind::Max => Ty::I64,
            MapKind::Avg => Ty::I64,
            k => return Err(err(m.span, format!("@{} is a {} map; it can only be printed", m.name, k.name()))),
        };
        if decl.key.is_some() == m.keys.is_empty() {
            return Err(err(m.span, format!("@{} is used both with and without a key", m.name)));
        }
        let (key, _) = self.map_key(m, 0)?;
        let size = ty.size().max(8);
        let out = self.e.alloc(size, m.span)?;
        self.e.zero(out, size);
        let idx = self.g.map_idx(&m.name);
        self.lookup(idx, key);
        let missing = self.e.label();
        self.e.jump_if(Cond::Eq, r(0), Operand::Imm(0), missing);
        if decl.kind == MapKind::Avg {
            let zero = self.e.label();
            self.e.ldx(Size::DW, r(2), r(0), 0);
            self.e.ldx(Size::DW, r(1), r(0), 8);
            self.e.jump_if(Cond::Eq, r(2), Operand::Imm(0), zero);
            self.e.alu(AluOp::Div, r(1), Operand::Reg(r(2)));
            self.e.stx(Size::DW, r(10), out, r(1));
            self.e.bind(zero);
        } else {
            self.e.copy(r(10), out, r(0), 0, size, r(1));
        }
        self.e.bind(missing);
        Ok(Val { ty, loc: Loc::Stack(out) })
    }

    /// Send a ring buffer record of `size` bytes at `r10 + off`.
    pub fn output(&mut self, off: i16, size: u32) {
        let rb = self.g.ringbuf_idx();
        self.e.ld_map(r(1), rb);
        self.e.stack_ptr(r(2), off);
        self.e.mov_imm(r(3), size as i64);
        self.e.mov_imm(r(4), 0);
        self.e.call(helper::RINGBUF_OUTPUT);
    }

    /// A record that is just a header.
    pub fn event(&mut self, kind: EventKind, index: usize, span: Span) -> Result<(), Diagnostic> {
        let off = self.e.alloc(8, span)?;
        self.store_header(off, kind, index);
        self.output(off, 8);
        Ok(())
    }

    pub fn store_header(&mut self, off: i16, kind: EventKind, index: usize) {
        self.e.mov_imm(r(1), ((kind as i64) << 32) | index as i64);
        self.e.stx(Size::DW, r(10), off, r(1));
    }

    /// A header followed by values laid out by their types.
    pub fn event_with(
        &mut self,
        kind: EventKind,
        index: usize,
        vals: &[(Val, Ty)],
        span: Span,
    ) -> Result<(), Diagnostic> {
        let size = 8 + vals.iter().map(|(_, t)| t.size()).sum::<u32>();
        let off = self.e.alloc(size, span)?;
        self.e.zero(off, size);
        self.store_header(off, kind, index);
        let mut o = off + 8;
        for (v, t) in vals {
            self.store_val(v, t, 10, o, span)?;
            o += t.size() as i16;
        }
        self.output(off, size);
        Ok(())
    }
}
