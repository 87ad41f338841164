//! Stage 1: tokens to declarations.
//!
//! A `loss!` invocation holds one or more Rust-shaped function items. This
//! stage checks their outer shape (signature, attributes, input types) and
//! keeps the body as a `syn::Expr`, whose spans later stages use to point at
//! the user's tokens. Every problem is collected, so one invocation reports
//! all its mistakes at once.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{
    Attribute, Expr, FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, Token, Type,
    Visibility,
};

use crate::errors::Errors;

/// Every declaration of one `loss!` invocation.
pub struct Declarations {
    pub items: Vec<Declaration>,
}

/// One declared loss.
pub struct Declaration {
    /// Doc comments (and other `#[doc]` attributes), carried to the output.
    pub docs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub params: Vec<Param>,
    pub reduce: Reduce,
    /// The per-sample loss expression.
    pub body: Expr,
}

/// A declared input.
pub struct Param {
    pub name: Ident,
    pub kind: ParamKind,
    /// The `#[grad]` attribute, if present (kept for its span).
    pub grad: Option<Attribute>,
    /// `#[ignore_index]` on a label: samples whose label equals a runtime
    /// `ignore_index` are skipped.
    pub ignore_index: bool,
}

/// The type of a declared input.
#[derive(Clone)]
pub enum ParamKind {
    Vector(Ident),
    Class(Ident),
    PerSample,
    Scalar,
    Weights(Ident),
}

/// How the per-sample losses combine into the returned value.
pub enum Reduce {
    /// The average over samples (PyTorch's default, and ours).
    Mean,
    /// The sum over samples.
    Sum,
    /// No reduction: the per-sample losses are written to a caller buffer.
    None,
    /// `sum(loss) / sum(denominator)`: PyTorch's weighted mean.
    WeightedMean(Expr),
}

impl Parse for Declarations {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        let errors = Errors::new();
        while !input.is_empty() {
            // A declaration starts with its doc comments and attributes, a
            // visibility, or `fn`; an error past that start is syn's own, in
            // the declaration, and the hint about items would mislead.
            let starts_an_item =
                input.peek(Token![#]) || input.peek(Token![pub]) || input.peek(Token![fn]);
            let item: ItemFn = match input.parse() {
                Ok(item) => item,
                Err(e) if starts_an_item => {
                    // Past a token that does not parse, nothing more does.
                    errors.push(e);
                    break;
                }
                Err(e) => {
                    errors.push(syn::Error::new(
                        e.span(),
                        format!("{e}\n  = help: `loss!` takes function items, e.g. `pub fn my_loss(#[grad] z: Vector<C>, y: Class<C>) {{ cross_entropy(z, y) }}`"),
                    ));
                    break;
                }
            };
            if let Some(decl) = declaration(item, &errors) {
                if items.iter().any(|d: &Declaration| d.name == decl.name) {
                    errors.error(
                        &decl.name,
                        format!("a loss named `{}` is already declared in this `loss!`: each declaration becomes a module of that name", decl.name),
                    );
                }
                items.push(decl);
            }
        }
        if items.is_empty() && errors.is_empty() {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`loss!` needs at least one declaration, e.g. `pub fn my_loss(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) }`",
            ));
        }
        errors.finish()?;
        Ok(Declarations { items })
    }
}

/// Parses the macro input.
pub fn parse(tokens: TokenStream) -> syn::Result<Declarations> {
    check_size(&tokens)?;
    Declarations::parse.parse2(tokens)
}

/// How deeply groups may nest (`((...))`, blocks, brackets).
const MAX_NESTING: usize = 64;
/// How many arithmetic operators one invocation may hold: far more than a
/// loss needs, few enough that the recursive stages (syn's expression tree,
/// lowering, dropping the tree) stay well inside any thread's stack.
const MAX_OPERATORS: usize = 1000;

/// Rejects inputs whose expression trees would be deep enough to overflow
/// the stack, before anything recursive sees them. Walks the token tree
/// with an explicit stack.
fn check_size(tokens: &TokenStream) -> syn::Result<()> {
    let mut operators = 0usize;
    let mut stack: Vec<(proc_macro2::token_stream::IntoIter, usize)> =
        vec![(tokens.clone().into_iter(), 0)];
    while let Some((mut iter, depth)) = stack.pop() {
        let Some(tree) = iter.next() else { continue };
        stack.push((iter, depth));
        match tree {
            proc_macro2::TokenTree::Group(g) => {
                if depth + 1 > MAX_NESTING {
                    return Err(syn::Error::new(
                        g.span(),
                        format!("this expression nests more than {MAX_NESTING} levels deep: split it, or let shared subexpressions repeat (they are computed once)"),
                    ));
                }
                stack.push((g.stream().into_iter(), depth + 1));
            }
            proc_macro2::TokenTree::Punct(p) if matches!(p.as_char(), '+' | '-' | '*' | '/') => {
                operators += 1;
                if operators > MAX_OPERATORS {
                    return Err(syn::Error::new(
                        p.span(),
                        format!("this `loss!` holds more than {MAX_OPERATORS} arithmetic operators: split it into several losses"),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn declaration(item: ItemFn, errors: &Errors) -> Option<Declaration> {
    let sig = &item.sig;
    if let Some(t) = &sig.constness {
        errors.error(t, "a loss cannot be `const`: remove it");
    }
    if let Some(t) = &sig.asyncness {
        errors.error(t, "a loss cannot be `async`: remove it");
    }
    match &sig.safety {
        syn::Safety::Unsafe(t) => errors.error(t, "a loss cannot be `unsafe`: remove it"),
        syn::Safety::Safe(t) => errors.error(t, "a loss cannot be `safe`: remove it"),
        syn::Safety::Default => {}
    }
    if let Some(abi) = &sig.abi {
        errors.error(abi, "a loss cannot have an ABI: remove it");
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.error(
            clause,
            "a loss takes no `where` clause: the float type is chosen by the caller of the generated functions, and dims are named in the input types (`Vector<C>`)",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.error(
            &sig.generics,
            "a loss takes no generic parameters: the float type is chosen by the caller of the generated functions, and dims are named in the input types (`Vector<C>`)",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.error(v, "a loss cannot be variadic");
    }
    if let syn::ReturnType::Type(arrow, ty) = &sig.output {
        errors.error_spanned(
            quote::quote!(#arrow #ty),
            "remove the return type: a loss body is one number per sample, and the generated functions return `Result<F, LossError>`",
        );
    }

    let mut docs = Vec::new();
    let mut reduce = None;
    for attr in &item.attrs {
        if attr.path().is_ident("doc") {
            docs.push(attr.clone());
        } else if attr.path().is_ident("reduce") {
            if reduce.is_some() {
                errors.error(attr, "`#[reduce(...)]` is given twice");
            }
            match parse_reduce(attr) {
                Ok(r) => reduce = Some(r),
                Err(e) => errors.push(e),
            }
        } else {
            errors.error(
                attr.path(),
                format!(
                    "unknown attribute `#[{}]` on a loss: expected `#[reduce(mean)]`, `#[reduce(sum)]`, `#[reduce(none)]`, `#[reduce(mean, denominator = EXPR)]`, or doc comments",
                    path_text(attr.path())
                ),
            );
        }
    }

    let params = sig
        .inputs
        .iter()
        .filter_map(|arg| param(arg, errors))
        .collect::<Vec<_>>();
    let mut seen: Vec<&Ident> = Vec::new();
    for p in &params {
        if seen.contains(&&p.name) {
            errors.error(&p.name, format!("input `{}` is declared twice", p.name));
        }
        seen.push(&p.name);
    }
    check_generated_names(&params, reduce.as_ref(), errors);

    let body = body_expr(&item.block, errors)?;
    Some(Declaration {
        docs,
        vis: item.vis,
        name: sig.ident.clone(),
        params,
        reduce: reduce.unwrap_or(Reduce::Mean),
        body,
    })
}

/// The generated functions' parameter holding `label`'s ignore index.
pub fn ignore_index_ident(label: &Ident) -> Ident {
    quote::format_ident!("{}_ignore_index", label)
}

/// Rejects input names that the generated functions use for parameters of
/// their own: `losses` and `upstream` (with `#[reduce(none)]`), `<label>_ignore_index`
/// (for a label with `#[ignore_index]`), and names starting with `__`.
fn check_generated_names(params: &[Param], reduce: Option<&Reduce>, errors: &Errors) {
    let per_sample = matches!(reduce, Some(Reduce::None));
    for p in params {
        let name = p.name.to_string();
        if per_sample && (name == "losses" || name == "upstream") {
            errors.error(
                &p.name,
                format!("`{name}` is a parameter of the generated functions with `#[reduce(none)]`: rename this input"),
            );
        } else if name.starts_with("__") {
            errors.error(
                &p.name,
                format!("`{name}`: names starting with `__` are kept for the generated code; rename this input"),
            );
        } else if let Some(label) = params
            .iter()
            .find(|l| l.ignore_index && p.name == ignore_index_ident(&l.name))
        {
            errors.error(
                &p.name,
                format!("`{name}` is the generated parameter that holds `{}`'s ignore index: rename this input", label.name),
            );
        }
    }
}

fn body_expr(block: &syn::Block, errors: &Errors) -> Option<Expr> {
    match block.stmts.as_slice() {
        [syn::Stmt::Expr(expr, None)] => Some(expr.clone()),
        [] => {
            errors.error(
                block,
                "a loss body is one expression, e.g. `{ cross_entropy(z, y) }`; this one is empty",
            );
            None
        }
        [syn::Stmt::Expr(expr, Some(semi))] => {
            errors.error_spanned(
                quote::quote!(#expr #semi),
                "remove the trailing `;`: the body's expression is the loss",
            );
            None
        }
        [first, ..] => {
            errors.error(
                first,
                "a loss body is a single expression: `let` bindings and statements are not supported (write the expression inline; shared subexpressions are computed once anyway)",
            );
            None
        }
    }
}

fn parse_reduce(attr: &Attribute) -> syn::Result<Reduce> {
    let list = attr.meta.require_list().map_err(|_| {
        syn::Error::new_spanned(attr, "expected `#[reduce(mean)]`, `#[reduce(sum)]`, `#[reduce(none)]` or `#[reduce(mean, denominator = EXPR)]`")
    })?;
    list.parse_args_with(|input: ParseStream| {
        if input.peek(syn::LitStr) {
            let quoted: syn::LitStr = input.parse()?;
            return Err(syn::Error::new_spanned(
                &quoted,
                format!(
                    "write the reduction as a name, without quotes: `#[reduce({})]`",
                    quoted.value()
                ),
            ));
        }
        let kind: Ident = input.parse().map_err(|_| {
            input.error("expected a reduction: `mean`, `sum`, `none`, or `mean, denominator = EXPR`")
        })?;
        let reduce = match kind.to_string().as_str() {
            "mean" if input.peek(syn::Token![,]) => {
                input.parse::<syn::Token![,]>()?;
                let key: Ident = input.parse().map_err(|_| {
                    input.error("expected `denominator = EXPR` after `mean,`, the per-sample weight whose batch sum divides the summed loss")
                })?;
                if key != "denominator" {
                    return Err(syn::Error::new_spanned(
                        key,
                        "expected `denominator = EXPR`, the per-sample weight whose batch sum divides the summed loss",
                    ));
                }
                input.parse::<syn::Token![=]>()?;
                Reduce::WeightedMean(input.parse()?)
            }
            "mean" => Reduce::Mean,
            "sum" => Reduce::Sum,
            "none" => Reduce::None,
            "batchmean" => {
                return Err(syn::Error::new_spanned(
                    kind,
                    "unknown reduction `batchmean`: a loss here is already per sample, so PyTorch's `batchmean` is `#[reduce(mean)]` of the summed row",
                ))
            }
            other => {
                return Err(syn::Error::new_spanned(
                    &kind,
                    format!("unknown reduction `{other}`: expected `mean`, `sum`, `none`, or `mean, denominator = EXPR`"),
                ))
            }
        };
        if input.peek(syn::Token![,]) && matches!(reduce, Reduce::Sum | Reduce::None) {
            return Err(input.error(format!(
                "only `mean` takes a denominator: write `#[reduce(mean, denominator = EXPR)]`, or `#[reduce({kind})]` alone"
            )));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the reduction"));
        }
        Ok(reduce)
    })
}

fn param(arg: &FnArg, errors: &Errors) -> Option<Param> {
    let typed = match arg {
        FnArg::Typed(t) => t,
        FnArg::Receiver(r) => {
            errors.error(
                r,
                "a loss takes no `self`: declare its inputs, e.g. `z: Vector<C>`",
            );
            return None;
        }
    };
    let name = match &*typed.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
            p.ident.clone()
        }
        other => {
            errors.error(other, "an input is a plain name, e.g. `z: Vector<C>`");
            return None;
        }
    };
    let mut grad = None;
    let mut ignore_attr = None;
    for attr in &typed.attrs {
        if attr.path().is_ident("grad") {
            if grad.is_some() {
                errors.error(attr, "`#[grad]` is given twice");
            }
            if let Err(e) = attr.meta.require_path_only() {
                errors.push(syn::Error::new(e.span(), "`#[grad]` takes no arguments"));
            }
            grad = Some(attr.clone());
        } else if attr.path().is_ident("ignore_index") {
            if ignore_attr.is_some() {
                errors.error(attr, "`#[ignore_index]` is given twice");
            }
            if let Err(e) = attr.meta.require_path_only() {
                errors.push(syn::Error::new(
                    e.span(),
                    "`#[ignore_index]` takes no value: the index to ignore is an argument of the generated functions",
                ));
            }
            ignore_attr = Some(attr.clone());
        } else {
            errors.error(
                attr.path(),
                format!(
                    "unknown attribute `#[{}]` on an input: expected `#[grad]`, or `#[ignore_index]` on a label",
                    path_text(attr.path())
                ),
            );
        }
    }
    let kind = match param_kind(&typed.ty) {
        Ok(kind) => kind,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    if let (Some(attr), ParamKind::Class(_)) = (&grad, &kind) {
        errors.push(syn::Error::new_spanned(
            attr,
            format!(
                "`{name}` is a class label (an integer), which has no gradient: remove `#[grad]`"
            ),
        ));
        grad = None;
    }
    if let (Some(attr), false) = (&ignore_attr, matches!(kind, ParamKind::Class(_))) {
        errors.error(
            attr,
            format!(
                "`#[ignore_index]` applies to a class label (`Class<D>`), and `{name}` is not one"
            ),
        );
    }
    Some(Param {
        name,
        kind,
        grad,
        ignore_index: ignore_attr.is_some(),
    })
}

const TYPES_HELP: &str = "expected one of `Vector<D>` (a float row per sample), `Class<D>` (a label in 0..D per sample), `PerSample` (a float per sample), `Scalar` (a float for the whole batch), `Weights<D>` (a float row for the whole batch)";

fn param_kind(ty: &Type) -> syn::Result<ParamKind> {
    let path = match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => &p.path.segments[0],
        _ => {
            return Err(syn::Error::new_spanned(
                ty,
                format!("unsupported input type: {TYPES_HELP}"),
            ))
        }
    };
    let dim = || -> syn::Result<Ident> {
        let args = match &path.arguments {
            PathArguments::AngleBracketed(a) if a.args.len() == 1 => &a.args[0],
            _ => {
                return Err(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{}` needs one dim name, e.g. `{}<C>`",
                        path.ident, path.ident
                    ),
                ))
            }
        };
        match args {
            GenericArgument::Type(Type::Path(p)) if p.qself.is_none() => p
                .path
                .get_ident()
                .cloned()
                .ok_or_else(|| syn::Error::new_spanned(p, "a dim is a plain name, e.g. `C`")),
            other => Err(syn::Error::new_spanned(
                other,
                "a dim is a plain name, e.g. `C`",
            )),
        }
    };
    let no_args = |kind: ParamKind| -> syn::Result<ParamKind> {
        if path.arguments.is_empty() {
            Ok(kind)
        } else {
            Err(syn::Error::new_spanned(
                &path.arguments,
                format!("`{}` takes no dim", path.ident),
            ))
        }
    };
    match path.ident.to_string().as_str() {
        "Vector" => Ok(ParamKind::Vector(dim()?)),
        "Class" => Ok(ParamKind::Class(dim()?)),
        "Weights" => Ok(ParamKind::Weights(dim()?)),
        "PerSample" => no_args(ParamKind::PerSample),
        "Scalar" => no_args(ParamKind::Scalar),
        "f32" | "f64" => Err(syn::Error::new_spanned(
            ty,
            "write `Scalar` (one number for the batch) or `PerSample` (one per sample): the float type is the caller's choice",
        )),
        other => Err(syn::Error::new_spanned(ty, format!("unknown input type `{other}`: {TYPES_HELP}"))),
    }
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_a_declaration_with_every_input_kind() {
        let decls = parse(quote! {
            /// Docs.
            #[reduce(sum)]
            pub fn l(#[grad] z: Vector<C>, y: Class<C>, w: PerSample, #[grad] t: Scalar, cw: Weights<C>) {
                w * cw[y] * cross_entropy(z / t, y)
            }
            fn m(x: Vector<D>) { sum(x) }
        })
        .unwrap();
        assert_eq!(decls.items.len(), 2);
        let l = &decls.items[0];
        assert_eq!(l.name, "l");
        assert_eq!(l.docs.len(), 1);
        assert!(matches!(l.reduce, Reduce::Sum));
        let grads: Vec<_> = l.params.iter().map(|p| p.grad.is_some()).collect();
        assert_eq!(grads, [true, false, false, true, false]);
        assert!(
            matches!(decls.items[1].reduce, Reduce::Mean),
            "mean is the default"
        );
    }

    #[test]
    fn weighted_mean_keeps_its_denominator() {
        let decls = parse(quote! {
            #[reduce(mean, denominator = w[y])]
            fn l(#[grad] z: Vector<C>, y: Class<C>, w: Weights<C>) { w[y] * cross_entropy(z, y) }
        })
        .unwrap();
        assert!(matches!(decls.items[0].reduce, Reduce::WeightedMean(_)));
    }

    fn error_of(tokens: TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn reports_every_mistake_of_a_declaration() {
        let msg = error_of(quote! {
            #[reduce(median)]
            fn l(#[grad] y: Class<C>, z: Matrix<C>) -> f64 { z }
        });
        assert!(msg.contains("unknown reduction `median`"), "{msg}");
        assert!(msg.contains("class label"), "{msg}");
        assert!(msg.contains("unknown input type `Matrix`"), "{msg}");
        assert!(msg.contains("remove the return type"), "{msg}");
    }

    #[test]
    fn statements_in_the_body_are_rejected() {
        let msg = error_of(quote! { fn l(z: Vector<C>) { let a = 1.0; sum(z) } });
        assert!(msg.contains("single expression"), "{msg}");
    }
}
