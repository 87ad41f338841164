//! The pipeline: parse, lower, simplify, differentiate, simplify, expand,
//! factor, schedule, emit. A plain `TokenStream -> TokenStream` function,
//! so that it is unit-tested without a compiler in the loop.

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::{self, Plan, Program, Reduce};
use crate::errors::Errors;
use crate::ir::{Graph, InputId, InputKind, NodeId};
use crate::parse::{self, Declaration};
use crate::schedule::{schedule, Output};
use crate::{diff, factor, lower, rewrite};

/// The most spare gradient rows a sample may borrow from the samples after
/// it to keep transcendentals for its gradient pass (the samples that do not
/// have that many rows left in their block recompute them).
const SPARE_ROWS: usize = 3;

/// Expands a `loss!` invocation: the generated modules, or compile errors
/// pointing at the user's tokens.
pub fn loss(tokens: TokenStream) -> TokenStream {
    let decls = match parse::parse(tokens) {
        Ok(d) => d,
        Err(e) => return e.to_compile_error(),
    };
    decls
        .items
        .iter()
        .map(|decl| declaration(decl).unwrap_or_else(|e| e.to_compile_error()))
        .collect()
}

/// Compiles one declaration.
pub fn declaration(decl: &Declaration) -> syn::Result<TokenStream> {
    let errors = Errors::new();
    let lowered = lower::lower(decl, &errors);
    if !decl.params.iter().any(|p| {
        matches!(
            p.kind,
            parse::ParamKind::Vector(_) | parse::ParamKind::Class(_) | parse::ParamKind::PerSample
        )
    }) {
        errors.error(
            &decl.name,
            "a loss needs at least one per-sample input (`Vector<D>`, `Class<D>` or `PerSample`): the batch size comes from it",
        );
    }
    for p in &decl.params {
        if let parse::ParamKind::Class(d) = &p.kind {
            let sized = decl.params.iter().any(|q| {
                matches!(&q.kind, parse::ParamKind::Vector(e) | parse::ParamKind::Weights(e) if e == d)
            });
            if !sized {
                errors.error(
                    d,
                    format!("no `Vector<{d}>` or `Weights<{d}>` input gives dim `{d}` its size, so labels of `{}` cannot be checked", p.name),
                );
            }
        }
    }
    errors.finish()?;
    let lowered = lowered.expect("no errors means a lowered declaration");
    let compiled = Compiled::new(&lowered);

    let reduce = match decl.reduce {
        parse::Reduce::Mean => Reduce::Mean,
        parse::Reduce::Sum => Reduce::Sum,
        parse::Reduce::None => Reduce::None,
        parse::Reduce::WeightedMean(_) => Reduce::WeightedMean,
    };
    let g = &compiled.fast;
    let value = Program {
        graph: g,
        schedule: schedule(g, &[Output::Scalar(compiled.value)], 0),
        spared: None,
        value: compiled.value,
        grads: vec![],
    };
    let outputs = compiled.outputs();
    let spared = schedule(g, &outputs, SPARE_ROWS);
    let grad = Program {
        graph: g,
        schedule: schedule(g, &outputs, 0),
        spared: (spared.spares() > 0).then_some(spared),
        value: compiled.value,
        grads: compiled.grads.clone(),
    };
    let denominator = compiled.denominator.as_ref().map(|(dg, d)| Program {
        graph: dg,
        schedule: schedule(dg, &[Output::Scalar(*d)], 0),
        spared: None,
        value: *d,
        grads: vec![],
    });
    let plan = Plan {
        name: &decl.name,
        input_idents: decl.params.iter().map(|p| p.name.clone()).collect(),
        reduce,
        formula: formula_text(&decl.body),
        reference: (&lowered.graph, lowered.value),
        reference_denominator: lowered.denominator,
        value,
        grad,
        denominator,
        gradient_text: compiled.gradient_text.clone(),
    };
    emit::emit(&plan, &decl.vis, &decl.docs).map_err(|e| {
        syn::Error::new_spanned(
            &decl.name,
            format!(
                "internal error in `loss!` ({}): please report this declaration",
                e.0
            ),
        )
    })
}

/// The middle of the pipeline, from the lowered graph to the graph the fast
/// path is scheduled from.
pub struct Compiled {
    /// The expanded graph of the fast path.
    pub fast: Graph,
    pub value: NodeId,
    pub grads: Vec<(InputId, NodeId)>,
    /// The denominator's own expanded graph and root.
    pub denominator: Option<(Graph, NodeId)>,
    /// `(input, simplified gradient)` as text.
    pub gradient_text: Vec<(String, String)>,
}

impl Compiled {
    pub fn new(lowered: &lower::Lowered) -> Self {
        let (simple, all, inputs) = simplified(lowered);
        let gradient_text = inputs
            .iter()
            .zip(&all[1..])
            .map(|(&i, &n)| {
                (
                    simple.inputs[i.0 as usize].name.clone(),
                    simple.display(n).to_string(),
                )
            })
            .collect();
        let (fast, all) = rewrite::expand(&simple, &all);
        let (fast, all) = factor::factor(&fast, &all);
        let denominator = lowered.denominator.map(|d| {
            let (dg, r) = rewrite::simplify(&lowered.graph, &[d]);
            let (dg, r) = rewrite::expand(&dg, &r);
            (dg, r[0])
        });
        Compiled {
            value: all[0],
            grads: inputs.into_iter().zip(all[1..].iter().copied()).collect(),
            fast,
            denominator,
            gradient_text,
        }
    }

    /// What `value_and_grad` computes per sample: the loss and each
    /// gradient (a row for vector inputs and weights).
    pub fn outputs(&self) -> Vec<Output> {
        let mut outputs = vec![Output::Scalar(self.value)];
        for &(input, node) in &self.grads {
            outputs.push(match self.fast.inputs[input.0 as usize].kind {
                InputKind::Vector(dim) | InputKind::Weights(dim) => {
                    Output::Row { input, dim, node }
                }
                _ => Output::Scalar(node),
            });
        }
        outputs
    }
}

/// The loss differentiated and simplified, before `expand` and `factor`: the
/// graph, its roots (the value, then one gradient per `#[grad]` input) and
/// those inputs.
pub(crate) fn simplified(lowered: &lower::Lowered) -> (Graph, Vec<NodeId>, Vec<InputId>) {
    let (mut stable, roots) = rewrite::simplify(&lowered.graph, &[lowered.value]);
    let grads = diff::gradients(&mut stable, roots[0]);
    let mut all = vec![roots[0]];
    all.extend(grads.iter().map(|&(_, n)| n));
    let (simple, all) = rewrite::simplify(&stable, &all);
    (simple, all, grads.into_iter().map(|(i, _)| i).collect())
}

/// The body as the user wrote it, spaced like rustfmt would.
fn formula_text(body: &syn::Expr) -> String {
    // The compiler's printer may break long lines: fold all white space first.
    let raw = quote!(#body)
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        let prev = if k > 0 { chars[k - 1] } else { ' ' };
        let next = chars.get(k + 1).copied().unwrap_or(' ');
        // quote spaces every token; drop the spaces rustfmt would not write.
        if c == ' '
            && (next == '(' && prev.is_alphanumeric()
                || prev == '('
                || next == ')'
                || next == ','
                || next == '.'
                || prev == '.'
                || next == '['
                || prev == '['
                || next == ']')
        {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(tokens: TokenStream) -> Compiled {
        let decls = parse::parse(tokens).unwrap();
        let errors = Errors::new();
        let lowered = lower::lower(&decls.items[0], &errors).unwrap();
        errors.finish().unwrap();
        Compiled::new(&lowered)
    }

    #[test]
    fn the_cross_entropy_gradient_is_softmax_minus_onehot() {
        let c =
            compile(quote! { fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) } });
        assert_eq!(
            c.gradient_text,
            vec![("z".to_string(), "softmax(z) - onehot(y)".to_string())]
        );
    }

    #[test]
    fn the_naive_spelling_gives_the_builtin_gradient() {
        let naive = compile(
            quote! { fn ce(#[grad] z: Vector<C>, p: Vector<C>) { -sum(p * ln(softmax(z))) } },
        );
        let builtin =
            compile(quote! { fn ce(#[grad] z: Vector<C>, p: Vector<C>) { cross_entropy(z, p) } });
        assert_eq!(naive.gradient_text, builtin.gradient_text);
        assert_eq!(naive.gradient_text[0].1, "sum(p) * softmax(z) - p");
    }

    #[test]
    fn the_naive_label_spelling_is_the_builtin() {
        let naive =
            compile(quote! { fn ce(#[grad] z: Vector<C>, y: Class<C>) { -ln(softmax(z)[y]) } });
        assert_eq!(naive.gradient_text[0].1, "softmax(z) - onehot(y)");
    }

    /// Distillation takes three exps per element (`s`, `t/T`, `s/T`) in its
    /// sum pass. The gradient pass reads one back from the sample's gradient
    /// row; with spare rows it reads all three and evaluates none.
    #[test]
    fn distillation_keeps_its_three_exponentials_for_the_gradient_pass() {
        use crate::ir::{Binary, Op};
        use crate::schedule::{Schedule, Slot};
        let c = compile(quote! {
            fn d(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, beta: Scalar, temp: Scalar) {
                alpha * cross_entropy(s, y) + beta * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
            }
        });
        let last = |s: &Schedule| {
            let p = s.passes().next_back().expect("no pass");
            (p.loads.clone(), p.elements.clone())
        };
        // The exps a pass evaluates: the loaded ones are leaves of it.
        let evaluated_exps = |loads: &[(NodeId, Slot)], elements: &[NodeId]| {
            elements
                .iter()
                .filter(|&&e| matches!(c.fast.op(e), Op::Binary(Binary::ExpDiff, ..)))
                .filter(|&&e| !loads.iter().any(|&(n, _)| n == e))
                .count()
        };
        let plain = schedule(&c.fast, &c.outputs(), 0);
        let (loads, elements) = last(&plain);
        assert_eq!(loads.len(), 1);
        assert_eq!(plain.spares(), 0);
        assert_eq!(evaluated_exps(&loads, &elements), 2);

        let spared = schedule(&c.fast, &c.outputs(), SPARE_ROWS);
        let (loads, elements) = last(&spared);
        let slots: Vec<Slot> = loads.iter().map(|&(_, slot)| slot).collect();
        let s = crate::ir::InputId(0);
        let own_then_spares: Vec<Slot> = (0..3).map(|spare| Slot { input: s, spare }).collect();
        assert_eq!(slots, own_then_spares);
        assert_eq!(spared.spares(), 2);
        assert_eq!(spared.spare_rows, vec![(s, 2)]);
        assert_eq!(evaluated_exps(&loads, &elements), 0);
    }

    /// How many nodes whose operation passes `is` the fast path of `c`
    /// evaluates, for its value and every gradient.
    fn node_count(c: &Compiled, is: impl Fn(crate::ir::Op) -> bool) -> usize {
        let mut roots = vec![c.value];
        roots.extend(c.grads.iter().map(|&(_, n)| n));
        c.fast
            .reachable(&roots)
            .into_iter()
            .filter(|&n| is(c.fast.op(n)))
            .count()
    }

    /// How many nodes of the unary operation `u`, as [`node_count`].
    fn unary_count(c: &Compiled, u: crate::ir::Unary) -> usize {
        node_count(c, |op| matches!(op, crate::ir::Op::Unary(v, _) if v == u))
    }

    /// PyTorch's binary cross-entropy clamps `ln p` and `ln(1 - p)` at -100.
    /// A vector kernel evaluates both sides of every `if`, so the builtin
    /// tests and uses the same two logs: one `ln` and one `log1p` per
    /// element, in its value and in the derivative of its value.
    #[test]
    fn binary_cross_entropy_takes_two_logs_per_element() {
        use crate::ir::Unary;
        for body in [
            quote!(mean(binary_cross_entropy(p, y))),
            quote!(mean(binary_cross_entropy_value(p, y))),
        ] {
            let c = compile(quote! { fn b(#[grad] p: Vector<D>, y: Vector<D>) { #body } });
            let logs = (unary_count(&c, Unary::Ln), unary_count(&c, Unary::Log1p));
            assert_eq!(logs, (1, 1), "{body}");
        }
    }

    /// Softplus and the sigmoid of `x` and of `-x` share `exp(-|x|)`, and the
    /// two softplus `log1p(exp(-|x|))`: binary cross-entropy from logits
    /// (`softplus(-|x|)`, and `σ(x)`, `σ(-x)` in its gradient) and a
    /// softplus of `x` and of `-x`, value and gradient, take one exp and one
    /// log1p per element.
    #[test]
    fn softplus_and_sigmoid_share_their_exponential() {
        use crate::ir::Unary;
        let bce = compile(quote! {
            fn b(#[grad] x: Vector<D>, y: Vector<D>) { mean(binary_cross_entropy_with_logits(x, y)) }
        });
        let counts = |c: &Compiled| {
            (
                unary_count(c, Unary::Exp),
                unary_count(c, Unary::Log1p),
                unary_count(c, Unary::Softplus) + unary_count(c, Unary::Sigmoid),
            )
        };
        assert_eq!(counts(&bce), (1, 1, 0));
        let margin = compile(quote! {
            fn m(#[grad] x: Vector<D>, y: Vector<D>) { mean(y * softplus(-x) + (1.0 - y) * softplus(x)) }
        });
        assert_eq!(counts(&margin), (1, 1, 0));
    }

    /// The `xlogy` terms of a divergence's value and gradient that take the
    /// log of one vector share it: the Jensen-Shannon divergence with both
    /// gradients takes `ln p`, `ln q` and `ln m` (its eight `xlogy` took
    /// eight). KL's lone `p ln p` keeps its chunk function.
    #[test]
    fn xlogy_terms_share_the_log_of_one_vector() {
        use crate::ir::{Binary, Op, Unary};
        let xlogy_count =
            |c: &Compiled| node_count(c, |op| matches!(op, Op::Binary(Binary::Xlogy, ..)));
        let js = compile(quote! {
            fn js(#[grad] p: Vector<C>, #[grad] q: Vector<C>) { js_divergence(p, q) }
        });
        assert_eq!((unary_count(&js, Unary::Ln), xlogy_count(&js)), (3, 0));
        let kl = compile(quote! {
            fn kl(#[grad] z: Vector<C>, p: Vector<C>) { kl_div(p, softmax(z)) }
        });
        assert_eq!(xlogy_count(&kl), 1);
    }

    #[test]
    fn cross_entropy_needs_no_spare_row() {
        let c =
            compile(quote! { fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) } });
        assert_eq!(schedule(&c.fast, &c.outputs(), SPARE_ROWS).spares(), 0);
    }

    #[test]
    fn formula_text_reads_like_rust() {
        let e: syn::Expr = syn::parse_quote!(alpha * cross_entropy(s, y) + temp.powi(2) * z[y]);
        assert_eq!(
            formula_text(&e),
            "alpha * cross_entropy(s, y) + temp.powi(2) * z[y]"
        );
    }
}

#[cfg(test)]
mod never_panics {
    //! The macro never panics and never overflows the stack: random
    //! mutations of valid declarations (deleted, duplicated, swapped and
    //! inserted tokens, truncations), garbage attributes, huge literals,
    //! unicode identifiers and deep nesting all give code or an error.

    use proc_macro2::{TokenStream, TokenTree};

    /// Valid declarations to mutate.
    const SEEDS: &[&str] = &[
        "pub fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) }",
        "#[reduce(mean, denominator = w[y])] fn w(#[grad] z: Vector<C>, #[ignore_index] y: Class<C>, w: Weights<C>) { w[y] * cross_entropy(z, y) }",
        "fn d(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, a: Scalar, #[grad] temp: Scalar) { a * cross_entropy(s, y) + temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp)) }",
        "#[reduce(none)] fn v(#[grad] xl: Vector<D>, x: Vector<D>, #[grad] mu: Vector<K>) { sum(binary_cross_entropy_with_logits(xl, x)) - 0.5 * sum(1.0 - mu.powi(2)) }",
        "fn h(#[grad] x: PerSample, y: PerSample) { if x * y < 1.0 { 1.0 - x * y } else { huber(x, y, 0.5) } }",
    ];

    /// Extra tokens to insert.
    const NOISE: &[&str] = &[
        "#[grad]",
        "#[reduce(sum)]",
        "#[reduce(]",
        "fn",
        "if",
        "else",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ";",
        "+",
        "-",
        "*",
        "/",
        "<",
        "==",
        "1e308",
        "1e999999",
        "0x7fffffff",
        "-9223372036854775808",
        "z",
        "y",
        "Vector<C>",
        "Class<D>",
        "Scalar",
        "ß",
        "名前",
        "__dim_0",
        "__e3",
        "'a",
        "\"str\"",
        "..",
        "::",
        "self",
        "loss!",
        "powi(x, 99999999999)",
    ];

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Runs the whole compiler on `tokens` in a thread with a 2 MiB stack
    /// (smaller than a compiler's), and fails on a panic.
    fn compiles_or_errs(tokens: TokenStream, what: &str) {
        let text = tokens.to_string();
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || super::loss(text.parse().expect("re-lexes")).to_string())
            .expect("a thread")
            .join();
        assert!(result.is_ok(), "the compiler panicked on {what}");
    }

    #[test]
    fn mutated_declarations_never_panic() {
        let mut rng = Rng(0x5eed_f00d);
        let mut runs = 0;
        for round in 0..400 {
            let seed = SEEDS[round % SEEDS.len()];
            let mut tokens: Vec<TokenTree> = seed
                .parse::<TokenStream>()
                .expect("seed lexes")
                .into_iter()
                .collect();
            // Flatten one level of groups sometimes, so mutations reach inside.
            for _ in 0..1 + rng.below(4) {
                let len = tokens.len().max(1);
                match rng.below(5) {
                    0 if !tokens.is_empty() => {
                        tokens.remove(rng.below(len));
                    }
                    1 if !tokens.is_empty() => {
                        let t = tokens[rng.below(len)].clone();
                        tokens.insert(rng.below(len), t);
                    }
                    2 if tokens.len() > 1 => {
                        let (a, b) = (rng.below(len), rng.below(len));
                        tokens.swap(a, b);
                    }
                    3 => {
                        let noise: TokenStream =
                            NOISE[rng.below(NOISE.len())].parse().unwrap_or_default();
                        let at = rng.below(len + 1).min(tokens.len());
                        for (k, t) in noise.into_iter().enumerate() {
                            tokens.insert(at + k, t);
                        }
                    }
                    _ => {
                        let keep = rng.below(len);
                        tokens.truncate(keep);
                    }
                }
            }
            let stream: TokenStream = tokens.into_iter().collect();
            compiles_or_errs(stream.clone(), &stream.to_string());
            // The same mutations inside the body: mutate the body's group.
            runs += 1;
        }
        // Mutations inside the bodies: replace a body token by noise.
        for round in 0..400 {
            let seed = SEEDS[round % SEEDS.len()];
            let chars: Vec<&str> = seed.split(' ').collect();
            let k = rng.below(chars.len());
            let mut words: Vec<String> = chars.iter().map(|s| (*s).to_string()).collect();
            words[k] = NOISE[rng.below(NOISE.len())].to_string();
            let text = words.join(" ");
            if let Ok(stream) = text.parse::<TokenStream>() {
                compiles_or_errs(stream, &text);
                runs += 1;
            }
        }
        assert!(runs >= 500, "only {runs} mutated inputs lexed");
    }

    #[test]
    fn deep_nesting_and_long_chains_are_errors_not_overflows() {
        let deep = format!(
            "fn f(#[grad] x: PerSample) {{ {}x{} }}",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let chain = format!(
            "fn f(#[grad] x: PerSample) {{ x{} }}",
            " + x".repeat(100_000)
        );
        let calls = format!(
            "fn f(#[grad] x: PerSample) {{ {}x{} }}",
            "exp(".repeat(3000),
            ")".repeat(3000)
        );
        for (text, what) in [
            (deep, "deep parentheses"),
            (chain, "a long chain"),
            (calls, "nested calls"),
        ] {
            let out = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || super::loss(text.parse().expect("lexes")).to_string())
                .expect("a thread")
                .join()
                .unwrap_or_else(|_| panic!("{what} overflowed or panicked"));
            assert!(
                out.contains("compile_error"),
                "{what}: expected an error, got {}",
                &out[..out.len().min(200)]
            );
        }
        // A long but reasonable formula still compiles.
        let ok = format!("fn f(#[grad] x: PerSample) {{ x{} }}", " + x".repeat(300));
        let out = super::loss(ok.parse().expect("lexes")).to_string();
        assert!(!out.contains("compile_error"), "{}", &out[..200]);
    }

    #[test]
    fn huge_literals_and_unicode_names_are_handled() {
        for body in [
            "1e999999 * x",
            "x.powi(2147483647)",
            "x.powi(-2147483648)",
            "ß * x",
            "名前",
        ] {
            let text = format!("fn f(#[grad] x: PerSample) {{ {body} }}");
            compiles_or_errs(text.parse().expect("lexes"), &text);
        }
    }
}
