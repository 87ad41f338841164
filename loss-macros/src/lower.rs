//! Stage 2: declarations to IR.
//!
//! Resolves names, infers and checks shapes, and expands every builtin into
//! the core operations of [`crate::ir`] (`cross_entropy(z, y)` becomes
//! `logsumexp(z) - z[y]`). The result is a faithful transcription of what the
//! user wrote: no rewriting happens here, so it is also what the generated
//! `reference` function evaluates.

use std::collections::HashMap;

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Ident, Lit, UnOp};

use crate::builtins;
use crate::errors::Errors;
use crate::ir::{
    Binary, DimId, Graph, Input, InputId, InputKind, NodeId, Op, Reduction, Shape, Unary,
};
use crate::parse::{Declaration, ParamKind, Reduce};

/// A declaration in IR form.
#[derive(Debug)]
pub struct Lowered {
    pub graph: Graph,
    /// The per-sample loss.
    pub value: NodeId,
    /// The per-sample denominator of a weighted mean.
    pub denominator: Option<NodeId>,
}

/// Lowers one declaration, recording every error in `errors`.
pub fn lower(decl: &Declaration, errors: &Errors) -> Option<Lowered> {
    let mut dims: Vec<String> = Vec::new();
    let mut inputs = Vec::new();
    for p in &decl.params {
        let mut dim_of = |d: &Ident| -> DimId {
            let name = d.to_string();
            let pos = dims.iter().position(|x| *x == name).unwrap_or_else(|| {
                dims.push(name);
                dims.len() - 1
            });
            DimId(pos as u16)
        };
        let kind = match &p.kind {
            ParamKind::Vector(d) => InputKind::Vector(dim_of(d)),
            ParamKind::Class(d) => InputKind::Class(dim_of(d)),
            ParamKind::Weights(d) => InputKind::Weights(dim_of(d)),
            ParamKind::PerSample => InputKind::PerSample,
            ParamKind::Scalar => InputKind::Scalar,
        };
        inputs.push(Input {
            name: p.name.to_string(),
            kind,
            grad: p.grad.is_some(),
            ignore_index: p.ignore_index,
        });
    }
    let mut lower = Lowerer {
        names: inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| (inp.name.clone(), InputId(i as u16)))
            .collect(),
        used: vec![false; inputs.len()],
        graph: Graph::new(dims, inputs),
        scopes: Vec::new(),
        depth: 0,
    };
    let value = match lower.scalar(&decl.body, "the loss") {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let denominator = match &decl.reduce {
        Reduce::WeightedMean(expr) => match lower.scalar(expr, "the denominator") {
            Ok(d) => {
                let grads = lower.graph.reachable(&[d]).into_iter().filter_map(|n| {
                    match lower.graph.op(n) {
                        Op::Input(i) if lower.graph.inputs[i.0 as usize].grad => Some(i),
                        _ => None,
                    }
                });
                for i in grads.collect::<Vec<_>>() {
                    errors.error(
                        expr,
                        format!(
                            "the denominator depends on `{}`, which is `#[grad]`: a denominator must be constant with respect to every differentiated input",
                            lower.graph.inputs[i.0 as usize].name
                        ),
                    );
                }
                Some(d)
            }
            Err(e) => {
                errors.push(e);
                None
            }
        },
        _ => None,
    };
    for (p, used) in decl.params.iter().zip(&lower.used) {
        if !used && !p.name.to_string().starts_with('_') && value.is_some() {
            errors.error(
                &p.name,
                format!("input `{}` is not used in the loss: remove it, or name it `_{}` to keep it in the signature", p.name, p.name),
            );
        }
    }
    Some(Lowered {
        graph: lower.graph,
        value: value?,
        denominator: if matches!(decl.reduce, Reduce::WeightedMean(_)) {
            Some(denominator?)
        } else {
            None
        },
    })
}

/// A lowered DSL value: a float node, or a class label (which only `z[y]`
/// and `onehot(y)` accept).
#[derive(Clone, Copy, Debug)]
enum Value {
    Float(NodeId),
    Label(InputId),
}

struct Lowerer {
    graph: Graph,
    names: HashMap<String, InputId>,
    used: Vec<bool>,
    /// The parameters of the templates being expanded, innermost last.
    scopes: Vec<HashMap<String, Value>>,
    /// How deep template expansion is nested (a guard against recursion).
    depth: usize,
}

type Result<T> = syn::Result<T>;

fn err<T>(at: impl ToTokens, message: impl std::fmt::Display) -> Result<T> {
    Err(syn::Error::new_spanned(at, message))
}

impl Lowerer {
    /// Lowers `expr`, which must be one number per sample.
    fn scalar(&mut self, expr: &Expr, what: &str) -> Result<NodeId> {
        let node = self.float(expr)?;
        match self.graph.shape(node) {
            Shape::Scalar => Ok(node),
            Shape::Vector(d) => err(
                expr,
                format!(
                    "{what} must be one number per sample, but this is a `Vector<{}>`: reduce it, e.g. `sum(...)` or `mean(...)`",
                    self.dim_name(d)
                ),
            ),
        }
    }

    fn dim_name(&self, d: DimId) -> &str {
        &self.graph.dims[d.0 as usize]
    }

    fn shape_text(&self, s: Shape) -> String {
        match s {
            Shape::Scalar => "scalar".into(),
            Shape::Vector(d) => format!("`Vector<{}>`", self.dim_name(d)),
        }
    }

    fn float(&mut self, expr: &Expr) -> Result<NodeId> {
        match self.value(expr)? {
            Value::Float(n) => Ok(n),
            Value::Label(i) => {
                let name = &self.graph.inputs[i.0 as usize].name;
                err(
                    expr,
                    format!("`{name}` is a class label, not a number: use it to index a vector (`z[{name}]`) or as `onehot({name})`"),
                )
            }
        }
    }

    fn label(&mut self, expr: &Expr) -> Result<InputId> {
        match self.value(expr)? {
            Value::Label(i) => Ok(i),
            Value::Float(_) => err(expr, "expected a class label (an input of type `Class<D>`)"),
        }
    }

    fn node(&mut self, op: Op) -> NodeId {
        self.graph.intern(op)
    }

    fn value(&mut self, expr: &Expr) -> Result<Value> {
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Float(f) => Ok(Value::Float(
                    self.graph.constant_node(f.base10_parse::<f64>()?),
                )),
                Lit::Int(i) => Ok(Value::Float(
                    self.graph.constant_node(i.base10_parse::<f64>()?),
                )),
                other => err(other, "expected a number"),
            },
            Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                let ident = p.path.get_ident().expect("checked above");
                self.name(ident)
            }
            Expr::Paren(p) => self.value(&p.expr),
            Expr::Group(g) => self.value(&g.expr),
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => {
                    let a = self.float(&u.expr)?;
                    Ok(Value::Float(self.node(Op::Unary(Unary::Neg, a))))
                }
                _ => err(u.op, "only unary `-` is supported in a loss"),
            },
            Expr::Binary(b) => self.binary(b).map(Value::Float),
            Expr::Call(call) => {
                let func = match &*call.func {
                    Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                        p.path.get_ident().expect("checked")
                    }
                    Expr::Closure(_) | Expr::Paren(_) | Expr::Block(_) => {
                        return err(&call.func, unsupported_syntax(&call.func))
                    }
                    other => {
                        return err(
                            other,
                            "expected the name of a builtin function, e.g. `cross_entropy`",
                        )
                    }
                };
                let args: Vec<&Expr> = call.args.iter().collect();
                self.builtin(func, &args, call.span()).map(Value::Float)
            }
            Expr::MethodCall(m) => {
                if let Some(t) = &m.turbofish {
                    return err(t, "a builtin takes no type arguments");
                }
                let args: Vec<&Expr> = std::iter::once(&*m.receiver).chain(m.args.iter()).collect();
                self.builtin(&m.method, &args, m.span()).map(Value::Float)
            }
            Expr::Index(ix) => {
                let vector = self.float(&ix.expr)?;
                let label = self.label(&ix.index)?;
                let label_dim = match self.graph.inputs[label.0 as usize].kind {
                    InputKind::Class(d) => d,
                    _ => unreachable!("labels are Class inputs"),
                };
                match self.graph.shape(vector) {
                    Shape::Vector(d) if d == label_dim => Ok(Value::Float(self.node(Op::Index(vector, label)))),
                    Shape::Vector(d) => err(
                        ix,
                        format!(
                            "cannot index a `Vector<{}>` with a `Class<{}>` label: their dims differ",
                            self.dim_name(d),
                            self.dim_name(label_dim)
                        ),
                    ),
                    Shape::Scalar => err(&ix.expr, "only a vector can be indexed, and this is a scalar"),
                }
            }
            Expr::If(e) => self.if_else(e).map(Value::Float),
            Expr::Field(f) => err(
                f,
                "fields are not supported in a loss: inputs are plain names",
            ),
            other => err(other, unsupported_syntax(other)),
        }
    }

    fn name(&mut self, ident: &Ident) -> Result<Value> {
        if let Some(scope) = self.scopes.last() {
            // Inside a template only its parameters are visible.
            return scope.get(&ident.to_string()).copied().ok_or_else(|| {
                syn::Error::new_spanned(
                    ident,
                    format!("internal error in a builtin's template: unknown name `{ident}`"),
                )
            });
        }
        let Some(&id) = self.names.get(&ident.to_string()) else {
            let known: Vec<&str> = self.graph.inputs.iter().map(|i| i.name.as_str()).collect();
            return err(
                ident,
                format!(
                    "unknown name `{ident}`: the inputs of this loss are {}",
                    quoted_list(&known)
                ),
            );
        };
        self.used[id.0 as usize] = true;
        Ok(match self.graph.inputs[id.0 as usize].kind {
            InputKind::Class(_) => Value::Label(id),
            _ => Value::Float(self.node(Op::Input(id))),
        })
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Result<NodeId> {
        let op = match b.op {
            BinOp::Add(_) => Binary::Add,
            BinOp::Sub(_) => Binary::Sub,
            BinOp::Mul(_) => Binary::Mul,
            BinOp::Div(_) => Binary::Div,
            BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) | BinOp::Eq(_) | BinOp::Ne(_) => {
                return err(
                    b.op,
                    "a comparison is not a number: use it as the condition of an `if`, e.g. `if x > 0.0 { x } else { 0.0 }`",
                )
            }
            _ => return err(b.op, "unsupported operator: a loss uses `+`, `-`, `*`, `/` and unary `-`"),
        };
        let (lhs, rhs) = match (self.float(&b.left), self.float(&b.right)) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(mut e), Err(e2)) => {
                e.combine(e2);
                return Err(e);
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        self.check_same_dim(lhs, rhs, b, op_verb(op))?;
        Ok(self.node(Op::Binary(op, lhs, rhs)))
    }

    /// `if a > b { x } else { y }`: a select, whose gradient flows through
    /// the branch taken; the condition has none.
    fn if_else(&mut self, e: &syn::ExprIf) -> Result<NodeId> {
        let Some((_, otherwise)) = &e.else_branch else {
            return err(
                e,
                "an `if` in a loss needs an `else`: the loss has a value on both sides, e.g. `if x > 0.0 { x } else { 0.0 }`",
            );
        };
        let then = single_expression(&e.then_branch)?;
        let otherwise: &Expr = match &**otherwise {
            Expr::Block(b) => single_expression(&b.block)?,
            other => other,
        };
        // `if (x > 0.0) { .. }` is valid Rust (with a lint): the same test.
        let Expr::Binary(cond) = without_parens(&e.cond) else {
            return err(
                &e.cond,
                "an `if` condition is a comparison of two numbers, e.g. `x > 0.0`",
            );
        };
        let (test, swap_sides, swap_branches) = match cond.op {
            BinOp::Gt(_) => (Binary::Gt, false, false),
            BinOp::Ge(_) => (Binary::Ge, false, false),
            BinOp::Lt(_) => (Binary::Gt, true, false),
            BinOp::Le(_) => (Binary::Ge, true, false),
            BinOp::Eq(_) => (Binary::Eq, false, false),
            BinOp::Ne(_) => (Binary::Eq, false, true),
            _ => {
                return err(
                    cond.op,
                    "an `if` condition is one comparison (`>`, `>=`, `<`, `<=`, `==`, `!=`) of two numbers; `&&` and `||` are not supported",
                )
            }
        };
        let left = self.float(&cond.left)?;
        let right = self.float(&cond.right)?;
        self.check_same_dim(left, right, cond, "compare")?;
        let (p, q) = if swap_sides {
            (right, left)
        } else {
            (left, right)
        };
        let a = self.float(then)?;
        let b = self.float(otherwise)?;
        self.check_same_dim(a, b, e, "choose between")?;
        self.check_same_dim(p, a, e, "choose between")?;
        let test = self.node(Op::Binary(test, p, q));
        let (a, b) = if swap_branches { (b, a) } else { (a, b) };
        Ok(self.node(Op::Select(test, a, b)))
    }

    fn check_same_dim(&self, a: NodeId, b: NodeId, at: impl ToTokens, verb: &str) -> Result<()> {
        match (self.graph.shape(a), self.graph.shape(b)) {
            (Shape::Vector(x), Shape::Vector(y)) if x != y => err(
                at,
                format!(
                    "cannot {verb} {} and {}: their dims differ",
                    self.shape_text(Shape::Vector(x)),
                    self.shape_text(Shape::Vector(y))
                ),
            ),
            _ => Ok(()),
        }
    }

    fn builtin(&mut self, name: &Ident, args: &[&Expr], span: Span) -> Result<NodeId> {
        let text = name.to_string();
        if let Some(t) = builtins::template(&text) {
            return self.expand_template(t, args, span);
        }
        let arity = |n: usize, what: &str| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(syn::Error::new(
                    span,
                    format!(
                        "`{text}` takes {n} argument{} ({what}), got {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ))
            }
        };
        if let Some(u) = elementwise_unary(&text) {
            arity(1, "a number or vector")?;
            let a = self.float(args[0])?;
            return Ok(self.node(Op::Unary(u, a)));
        }
        match text.as_str() {
            "log" => err(
                name,
                "use `ln` for the natural logarithm (Rust's `log` takes a base)",
            ),
            "detach" => {
                arity(1, "a number or vector")?;
                let a = self.float(args[0])?;
                Ok(self.node(Op::Unary(Unary::Detach, a)))
            }
            "powi" => {
                arity(2, "a base and an integer literal exponent")?;
                let base = self.float(args[0])?;
                let n = int_literal(args[1])?;
                Ok(self.node(Op::Powi(base, n)))
            }
            "powf" => {
                arity(2, "a base and an exponent")?;
                let base = self.float(args[0])?;
                let e = self.float(args[1])?;
                self.check_same_dim(base, e, args[1], "raise")?;
                Ok(self.node(Op::Binary(Binary::Pow, base, e)))
            }
            "max" | "min" => {
                let (elementwise, reduction) = if text == "max" {
                    (Binary::Max, Reduction::Max)
                } else {
                    (Binary::Min, Reduction::Max)
                };
                match args.len() {
                    1 => {
                        let v = self.vector(args[0], &text)?;
                        if text == "max" {
                            Ok(self.node(Op::Reduce(reduction, v)))
                        } else {
                            // min(x) = -max(-x): one reduction kind to schedule.
                            let neg = self.node(Op::Unary(Unary::Neg, v));
                            let m = self.node(Op::Reduce(Reduction::Max, neg));
                            Ok(self.node(Op::Unary(Unary::Neg, m)))
                        }
                    }
                    2 => {
                        let a = self.float(args[0])?;
                        let b = self.float(args[1])?;
                        self.check_same_dim(a, b, args[1], "compare")?;
                        Ok(self.node(Op::Binary(elementwise, a, b)))
                    }
                    n => Err(syn::Error::new(
                        span,
                        format!("`{text}` takes 1 argument (a vector, reduced over its dim) or 2 (elementwise), got {n}"),
                    )),
                }
            }
            "clamp" => {
                arity(3, "a value, a lower and an upper bound")?;
                let x = self.float(args[0])?;
                let lo = self.float(args[1])?;
                let hi = self.float(args[2])?;
                self.check_same_dim(x, lo, args[1], "clamp")?;
                self.check_same_dim(x, hi, args[2], "clamp")?;
                // min(max(x, lo), hi), as PyTorch; the rewrite gives it
                // clamp's gradient (none to x at the bounds).
                let raised = self.node(Op::Binary(Binary::Max, x, lo));
                Ok(self.node(Op::Binary(Binary::Min, raised, hi)))
            }
            "sum" => {
                arity(1, "a vector")?;
                let v = self.vector(args[0], "sum")?;
                Ok(self.node(Op::Reduce(Reduction::Sum, v)))
            }
            "mean" => {
                arity(1, "a vector")?;
                let v = self.vector(args[0], "mean")?;
                Ok(self.mean(v))
            }
            "logsumexp" => {
                arity(1, "a vector")?;
                let v = self.vector(args[0], "logsumexp")?;
                Ok(self.node(Op::Reduce(Reduction::LogSumExp, v)))
            }
            "softmax" => {
                arity(1, "a vector of logits")?;
                let v = self.vector(args[0], "softmax")?;
                Ok(self.softmax(v))
            }
            "log_softmax" => {
                arity(1, "a vector of logits")?;
                let v = self.vector(args[0], "log_softmax")?;
                Ok(self.log_softmax(v))
            }
            "onehot" | "one_hot" => {
                arity(1, "a class label")?;
                let y = self.label(args[0])?;
                Ok(self.node(Op::OneHot(y)))
            }
            "xlogy" => {
                arity(2, "x and y of x·ln(y)")?;
                let x = self.float(args[0])?;
                let y = self.float(args[1])?;
                self.check_same_dim(x, y, args[1], "combine")?;
                Ok(self.node(Op::Binary(Binary::Xlogy, x, y)))
            }
            "cross_entropy" => {
                arity(2, "logits, and a class label or a probability vector")?;
                let z = self.vector(args[0], "cross_entropy")?;
                let lse = self.node(Op::Reduce(Reduction::LogSumExp, z));
                match self.value(args[1])? {
                    Value::Label(y) => {
                        self.check_label_dim(z, y, args[1])?;
                        let zy = self.node(Op::Index(z, y));
                        Ok(self.node(Op::Binary(Binary::Sub, lse, zy)))
                    }
                    Value::Float(p) => {
                        self.expect_vector(p, args[1], "cross_entropy's target")?;
                        self.check_same_dim(z, p, args[1], "pair logits")?;
                        // -sum(p * log_softmax(z)), as PyTorch (no assumption that sum(p) = 1).
                        let log_q = self.log_softmax(z);
                        let terms = self.node(Op::Binary(Binary::Mul, p, log_q));
                        let total = self.node(Op::Reduce(Reduction::Sum, terms));
                        Ok(self.node(Op::Unary(Unary::Neg, total)))
                    }
                }
            }
            "kl_div" => {
                arity(2, "probability vectors p and q of KL(p ‖ q)")?;
                let p = self.vector(args[0], "kl_div")?;
                let q = self.vector(args[1], "kl_div")?;
                self.check_same_dim(p, q, args[1], "compare")?;
                let plogp = self.node(Op::Binary(Binary::Xlogy, p, p));
                let plogq = self.node(Op::Binary(Binary::Xlogy, p, q));
                let terms = self.node(Op::Binary(Binary::Sub, plogp, plogq));
                Ok(self.node(Op::Reduce(Reduction::Sum, terms)))
            }
            "binary_cross_entropy_with_logits" => {
                arity(2, "logits x and targets y")?;
                let x = self.float(args[0])?;
                let y = self.float(args[1])?;
                self.check_same_dim(x, y, args[1], "pair")?;
                // softplus(x) - x·y = max(x, 0) - x·y + log1p(e^-|x|): exact for any x.
                let sp = self.node(Op::Unary(Unary::Softplus, x));
                let xy = self.node(Op::Binary(Binary::Mul, x, y));
                Ok(self.node(Op::Binary(Binary::Sub, sp, xy)))
            }
            "mse" => {
                arity(2, "predictions and targets")?;
                let x = self.float(args[0])?;
                let y = self.float(args[1])?;
                self.check_same_dim(x, y, args[1], "subtract")?;
                let d = self.node(Op::Binary(Binary::Sub, x, y));
                let sq = self.node(Op::Powi(d, 2));
                Ok(match self.graph.shape(sq) {
                    Shape::Scalar => sq,
                    Shape::Vector(_) => self.mean(sq),
                })
            }
            _ => err(
                name,
                format!(
                    "unknown function `{text}`{} The builtins are listed in the documentation of `loss!`",
                    did_you_mean(&text)
                        .map(|s| format!(": did you mean `{s}`?"))
                        .unwrap_or_else(|| ".".into())
                ),
            ),
        }
    }

    /// Lowers a template builtin: its parameters bound to the arguments,
    /// its body parsed with the call's span (so errors point at the call).
    fn expand_template(
        &mut self,
        t: &builtins::Template,
        args: &[&Expr],
        span: Span,
    ) -> Result<NodeId> {
        if args.len() != t.params.len() {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{}` takes {} arguments ({}), got {}",
                    t.name,
                    t.params.len(),
                    t.help,
                    args.len()
                ),
            ));
        }
        if self.depth > 16 {
            return Err(syn::Error::new(
                span,
                format!("internal error: builtin `{}` expands into itself", t.name),
            ));
        }
        let mut scope = HashMap::new();
        for (param, arg) in t.params.iter().zip(args) {
            scope.insert((*param).to_string(), self.value(arg)?);
        }
        let body = respan(
            t.body.parse::<proc_macro2::TokenStream>().map_err(|e| {
                syn::Error::new(span, format!("internal error in builtin `{}`: {e}", t.name))
            })?,
            span,
        );
        let body: Expr = syn::parse2(body).map_err(|e| {
            syn::Error::new(span, format!("internal error in builtin `{}`: {e}", t.name))
        })?;
        self.scopes.push(scope);
        self.depth += 1;
        let result = self.float(&body);
        self.depth -= 1;
        self.scopes.pop();
        result
    }

    fn vector(&mut self, expr: &Expr, func: &str) -> Result<NodeId> {
        let v = self.float(expr)?;
        self.expect_vector(v, expr, &format!("`{func}`'s argument"))?;
        Ok(v)
    }

    fn expect_vector(&self, v: NodeId, at: &Expr, what: &str) -> Result<()> {
        match self.graph.shape(v) {
            Shape::Vector(_) => Ok(()),
            Shape::Scalar => err(
                at,
                format!("{what} must be a vector (`Vector<D>`), but this is a scalar"),
            ),
        }
    }

    fn check_label_dim(&self, z: NodeId, y: InputId, at: &Expr) -> Result<()> {
        let (Shape::Vector(zd), InputKind::Class(yd)) =
            (self.graph.shape(z), self.graph.inputs[y.0 as usize].kind)
        else {
            return Ok(());
        };
        if zd == yd {
            Ok(())
        } else {
            err(
                at,
                format!(
                    "the label is a `Class<{}>` but the logits are a `Vector<{}>`: their dims differ",
                    self.dim_name(yd),
                    self.dim_name(zd)
                ),
            )
        }
    }

    fn mean(&mut self, v: NodeId) -> NodeId {
        let Shape::Vector(d) = self.graph.shape(v) else {
            return v;
        };
        let sum = self.node(Op::Reduce(Reduction::Sum, v));
        let len = self.node(Op::DimLen(d));
        self.node(Op::Binary(Binary::Div, sum, len))
    }

    fn log_softmax(&mut self, v: NodeId) -> NodeId {
        let lse = self.node(Op::Reduce(Reduction::LogSumExp, v));
        self.node(Op::Binary(Binary::Sub, v, lse))
    }

    fn softmax(&mut self, v: NodeId) -> NodeId {
        let log_p = self.log_softmax(v);
        self.node(Op::Unary(Unary::Exp, log_p))
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: proc_macro2::TokenStream, span: Span) -> proc_macro2::TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            proc_macro2::TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                proc_macro2::TokenTree::Group(group)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// The expression of a block that holds exactly one.
fn single_expression(block: &syn::Block) -> Result<&Expr> {
    match block.stmts.as_slice() {
        [syn::Stmt::Expr(e, None)] => Ok(e),
        _ => err(
            block,
            "a branch of an `if` in a loss is one expression, e.g. `{ x - margin }`",
        ),
    }
}

fn elementwise_unary(name: &str) -> Option<Unary> {
    Some(match name {
        "exp" => Unary::Exp,
        "ln" => Unary::Ln,
        "log1p" | "ln_1p" => Unary::Log1p,
        "expm1" | "exp_m1" => Unary::Expm1,
        "sqrt" => Unary::Sqrt,
        "abs" => Unary::Abs,
        "sigmoid" => Unary::Sigmoid,
        "softplus" => Unary::Softplus,
        "tanh" => Unary::Tanh,
        _ => return None,
    })
}

fn op_verb(op: Binary) -> &'static str {
    match op {
        Binary::Add => "add",
        Binary::Sub => "subtract",
        Binary::Mul => "multiply",
        Binary::Div => "divide",
        _ => "combine",
    }
}

/// `expr` inside any parentheses around it.
fn without_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}

fn int_literal(expr: &Expr) -> Result<i32> {
    let (negative, inner) = match without_parens(expr) {
        Expr::Unary(syn::ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        other => (false, other),
    };
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(i), ..
    }) = inner
    {
        // An `i32` whose derivative's exponent, `n - 1`, is one too: not
        // `i32::MIN`.
        let n = i
            .base10_parse::<i64>()
            .ok()
            .and_then(|n| i32::try_from(if negative { -n } else { n }).ok())
            .filter(|&n| n > i32::MIN);
        return match n {
            Some(n) => Ok(n),
            None => err(expr, "this `powi` exponent is too large: `powi` takes an exponent from -2147483647 to 2147483647"),
        };
    }
    err(expr, "`powi` takes an integer literal exponent, e.g. `x.powi(2)`; use `powf` for a computed exponent")
}

fn unsupported_syntax(expr: &Expr) -> String {
    let what = match without_parens(expr) {
        Expr::Match(_) => "`match`",
        Expr::Loop(_) | Expr::ForLoop(_) | Expr::While(_) => "a loop",
        Expr::Closure(_) => "a closure",
        Expr::Block(_) | Expr::Unsafe(_) => "a block",
        Expr::Let(_) => "`let`",
        Expr::Assign(_) => "an assignment",
        Expr::Macro(_) => "a macro call",
        Expr::Cast(_) => "a cast",
        Expr::Reference(_) => "a reference",
        Expr::Return(_) => "`return`",
        Expr::Tuple(_) | Expr::Array(_) => "a tuple or array",
        Expr::Range(_) => "a range",
        _ => "this expression",
    };
    format!(
        "{what} is not supported in a loss body: a loss is one expression of numbers, inputs, operators and builtins (an `if` with an `else` chooses between two)"
    )
}

fn quoted_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

const BUILTINS: &[&str] = &[
    "exp",
    "ln",
    "log1p",
    "ln_1p",
    "expm1",
    "exp_m1",
    "sqrt",
    "abs",
    "sigmoid",
    "softplus",
    "tanh",
    "powi",
    "powf",
    "max",
    "min",
    "clamp",
    "sum",
    "mean",
    "logsumexp",
    "softmax",
    "log_softmax",
    "onehot",
    "xlogy",
    "cross_entropy",
    "kl_div",
    "binary_cross_entropy_with_logits",
    "mse",
    "detach",
];

/// PyTorch's names whose builtin here is not the name without its `_loss`
/// (which `did_you_mean` finds by itself): `poisson_nll_loss` defaults to
/// `log_input=True`, which is `poisson_nll_log_input`, not `poisson_nll`;
/// `relu` is `positive_part` (PyTorch's hinge losses' `max(h, 0)`); and
/// `log_sigmoid`, which has no builtin, is an expression.
const PYTORCH_NAMES: &[(&str, &str)] = &[
    ("poisson_nll_loss", "poisson_nll_log_input"),
    ("relu", "positive_part"),
    ("log_sigmoid", "-softplus(-x)"),
    ("logsigmoid", "-softplus(-x)"),
];

/// The builtin closest to a misspelt name, if one is close.
fn did_you_mean(name: &str) -> Option<&'static str> {
    let names = || {
        BUILTINS
            .iter()
            .copied()
            .chain(builtins::TEMPLATES.iter().map(|t| t.name))
    };
    if let Some(&(_, b)) = PYTORCH_NAMES.iter().find(|&&(torch, _)| torch == name) {
        return Some(b);
    }
    // PyTorch's names without their `_loss` (`nll` for `nll_loss`), and
    // with it where ours has none (`mse_loss` for `mse`), are further from
    // the right builtin than from some short one.
    if let Some(b) = names()
        .find(|b| b.strip_suffix("_loss") == Some(name) || name.strip_suffix("_loss") == Some(*b))
    {
        return Some(b);
    }
    names()
        .map(|b| (edit_distance(name, b), b))
        .filter(|&(d, b)| d <= 2.max(b.len() / 4))
        .min()
        .map(|(_, b)| b)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use quote::quote;

    fn lower_one(tokens: proc_macro2::TokenStream) -> std::result::Result<Lowered, String> {
        let decls = parse(tokens).map_err(|e| e.to_string())?;
        let errors = Errors::new();
        let lowered = lower(&decls.items[0], &errors);
        match errors.finish() {
            Ok(()) => Ok(lowered.expect("no errors means a result")),
            Err(e) => Err(e
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    #[test]
    fn cross_entropy_expands_to_logsumexp_minus_the_label_logit() {
        let l =
            lower_one(quote! { fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) } })
                .unwrap();
        assert_eq!(l.graph.display(l.value).to_string(), "logsumexp(z) - z[y]");
    }

    #[test]
    fn method_and_function_forms_are_one_node() {
        let l = lower_one(quote! { fn f(x: Vector<C>) { sum(x.exp()) - sum(exp(x)) } }).unwrap();
        let Op::Binary(Binary::Sub, a, b) = l.graph.op(l.value) else {
            panic!()
        };
        assert_eq!(a, b, "hash-consing merges `x.exp()` and `exp(x)`");
    }

    #[test]
    fn shape_errors_name_both_dims() {
        let e = lower_one(quote! { fn f(p: Vector<C>, q: Vector<D>) { sum(p + q) } }).unwrap_err();
        assert!(e.contains("cannot add `Vector<C>` and `Vector<D>`"), "{e}");
    }

    #[test]
    fn unknown_functions_get_a_suggestion() {
        let e = lower_one(quote! { fn f(z: Vector<C>, y: Class<C>) { cross_entopy(z, y) } })
            .unwrap_err();
        assert!(e.contains("did you mean `cross_entropy`"), "{e}");
    }

    #[test]
    fn a_vector_loss_must_be_reduced() {
        let e = lower_one(quote! { fn f(z: Vector<C>) { z.exp() } }).unwrap_err();
        assert!(e.contains("must be one number per sample"), "{e}");
    }

    #[test]
    fn unused_inputs_are_errors_unless_underscored() {
        let e = lower_one(quote! { fn f(z: Vector<C>, t: Scalar) { sum(z) } }).unwrap_err();
        assert!(e.contains("input `t` is not used"), "{e}");
        assert!(lower_one(quote! { fn f(z: Vector<C>, _t: Scalar) { sum(z) } }).is_ok());
    }

    #[test]
    fn arity_and_label_misuse_are_reported() {
        let e =
            lower_one(quote! { fn f(z: Vector<C>, y: Class<C>) { cross_entropy(z) + sum(z) * y } })
                .unwrap_err();
        assert!(e.contains("`cross_entropy` takes 2 arguments"), "{e}");
        assert!(e.contains("`y` is a class label, not a number"), "{e}");
    }

    /// The unknown-function error points at the `loss!` rustdoc's list of
    /// builtins (docs/dsl.md is not in the published crates), so that list
    /// names every builtin, and nothing else.
    #[test]
    fn the_macro_documentation_lists_every_builtin() {
        let doc: String = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("///"))
            .collect::<Vec<_>>()
            .join("\n");
        let section = doc
            .split("# Builtins")
            .nth(1)
            .and_then(|s| s.split("The repository's").next())
            .expect("a `# Builtins` section in the `loss!` rustdoc");
        let listed: std::collections::BTreeSet<&str> = section
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        let builtins: std::collections::BTreeSet<&str> = BUILTINS
            .iter()
            .copied()
            .chain(builtins::TEMPLATES.iter().map(|t| t.name))
            .collect();
        let missing: Vec<_> = builtins.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&builtins).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "the `loss!` rustdoc's builtins lack {missing:?} and name non-builtins {unknown:?}"
        );
    }

    #[test]
    fn a_name_without_its_loss_suffix_suggests_the_builtin() {
        assert_eq!(did_you_mean("nll"), Some("nll_loss"));
        assert_eq!(did_you_mean("cross_entopy"), Some("cross_entropy"));
    }

    #[test]
    fn pytorch_names_with_a_loss_suffix_suggest_the_builtin() {
        assert_eq!(did_you_mean("mse_loss"), Some("mse"));
        assert_eq!(did_you_mean("l1_loss"), Some("l1"));
        assert_eq!(did_you_mean("smooth_l1_loss"), Some("smooth_l1"));
        assert_eq!(did_you_mean("huber_loss"), Some("huber"));
        assert_eq!(did_you_mean("margin_ranking_loss"), Some("margin_ranking"));
        assert_eq!(
            did_you_mean("poisson_nll_loss"),
            Some("poisson_nll_log_input")
        );
        assert_eq!(did_you_mean("relu"), Some("positive_part"));
        let e =
            lower_one(quote! { fn f(#[grad] x: Vector<C>) { sum(log_sigmoid(x)) } }).unwrap_err();
        assert!(
            e.contains("unknown function `log_sigmoid`: did you mean `-softplus(-x)`?"),
            "{e}"
        );
        let e = lower_one(quote! { fn f(#[grad] x: Vector<C>, y: Vector<C>) { mse_loss(x, y) } })
            .unwrap_err();
        assert!(
            e.contains("unknown function `mse_loss`: did you mean `mse`?"),
            "{e}"
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
