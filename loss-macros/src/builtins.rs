//! Builtin losses written in the `loss!` language itself.
//!
//! Each template is a function of the DSL: its parameters are bound to the
//! caller's arguments (numbers, vectors or labels) and its body is lowered
//! in their place, so a template composes like any expression and its
//! gradient is derived like the user's. The ready-made losses of
//! `loss_core::losses` call the same builtins, so there is one definition
//! of each formula.
//!
//! A body may use every builtin (including other templates declared
//! earlier in the list) and `if`/`else`; it must not refer to names other
//! than its parameters.

/// A builtin defined by a DSL expression.
pub struct Template {
    /// The name callers use.
    pub name: &'static str,
    /// The parameters, in call order.
    pub params: &'static [&'static str],
    /// What each argument is, for the arity error message.
    pub help: &'static str,
    /// The body, in the `loss!` language.
    pub body: &'static str,
}

/// Every template builtin.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "huber",
        params: &["x", "y", "delta"],
        help: "input, target and delta",
        // 0.5 d² where |d| <= delta, else delta (|d| - delta/2), written with
        // min so that the two pieces join without a branch: with
        // a = min(|d|, delta), it is 0.5 a² + delta (|d| - a).
        body:
            "0.5 * min(abs(x - y), delta).powi(2) + delta * (abs(x - y) - min(abs(x - y), delta))",
    },
    Template {
        name: "log_cosh",
        params: &["x", "y"],
        help: "input and target",
        // ln(cosh(d)) = |d| + softplus(-2|d|) - ln 2: no overflow for any d.
        body: "abs(x - y) + softplus(-2.0 * abs(x - y)) - 0.6931471805599453",
    },
];

/// The template called `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_names_are_unique() {
        for (k, t) in TEMPLATES.iter().enumerate() {
            let body: syn::Expr =
                syn::parse_str(t.body).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            drop(body);
            assert!(
                TEMPLATES[..k].iter().all(|u| u.name != t.name),
                "{} is declared twice",
                t.name
            );
        }
    }
}
