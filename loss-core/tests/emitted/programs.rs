// The random programs of `emitted_programs.rs`, drawn by
// `loss-macros/src/interp.rs` (`emitted_program_fixtures_are_the_interpreters`):
// do not edit; `LOSS_WRITE_FIXTURES=1 cargo test -p loss-macros --lib emitted`
// writes them again.

loss_core::loss! {
    #[reduce(sum)]
    pub fn p00(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        (1.175) + (t.powi(2) * kl_div(softmax((b * onehot(y)) / 2.0), softmax((2.0 * b - b - b) / 2.0))) + sum(softmax(v + a) * b) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(mean)]
    pub fn p01(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        (0.579) + cross_entropy(binary_cross_entropy_with_logits(a, sigmoid(b)), y) + sum(v * (a - b[y])) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(none)]
    pub fn p02(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        entropy(softmax((2.0 * (2.0 * b)))) + (v[y] * cross_entropy(b, y)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(mean)]
    pub fn p03(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        ((s + (0.324)) * log_softmax(a)[y]) + cross_entropy(softmax(exp(tanh((a[y] * b)))), y) + (v[y] * (1.0 + tanh(b[y]) - exp(tanh(b[y])))) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(none)]
    pub fn p04(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        b[y] + cross_entropy(binary_cross_entropy_with_logits(b, sigmoid(b)), y) + sum(v * softplus(a)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(mean, denominator = q[y])]
    pub fn p05(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        poly1_cross_entropy(((b - a) / 2.0), y, 0.5) + (v[y] * ln(sigmoid(2.0 * tanh(s)) + 1.0)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(none)]
    pub fn p06(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        (ln(1.0 - sigmoid(2.0 * tanh((-1.412)))) / (1.5 + sigmoid((exp(tanh(a[y])) - 1.0 - 2.0 * tanh(a[y]))))) + logsumexp(log_softmax(log_softmax(exp(tanh(a))))) + sum(softmax(v + a) * b) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(mean, denominator = q[y])]
    pub fn p07(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        log_softmax(a)[y] + sum((log_softmax(a) - (expm1(tanh(b[y])) - tanh(b[y])))) + (v[y] * cross_entropy(b, y)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(sum)]
    pub fn p08(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        softplus(cross_entropy(b, softmax(((a - a) - (b - a))))) + (v[y] * softplus((-0.097))) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
    #[reduce(mean, denominator = q[y])]
    pub fn p09(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>, #[grad] v: Weights<C>, q: Weights<C>) {
        sqrt(a[y].powi(2) + 0.5) + (t.powi(2) * kl_div(softmax((((a) / (1.0 + a[y].powi(2))) - tanh(b)) / 2.0), softmax(exp(tanh((a * a))) / 2.0))) + (v[y] * cross_entropy(b, y)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])
    }
}

/// Their bodies, in order.
pub const BODIES: [&str; 10] = [
    "(1.175) + (t.powi(2) * kl_div(softmax((b * onehot(y)) / 2.0), softmax((2.0 * b - b - b) / 2.0))) + sum(softmax(v + a) * b) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "(0.579) + cross_entropy(binary_cross_entropy_with_logits(a, sigmoid(b)), y) + sum(v * (a - b[y])) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "entropy(softmax((2.0 * (2.0 * b)))) + (v[y] * cross_entropy(b, y)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "((s + (0.324)) * log_softmax(a)[y]) + cross_entropy(softmax(exp(tanh((a[y] * b)))), y) + (v[y] * (1.0 + tanh(b[y]) - exp(tanh(b[y])))) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "b[y] + cross_entropy(binary_cross_entropy_with_logits(b, sigmoid(b)), y) + sum(v * softplus(a)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "poly1_cross_entropy(((b - a) / 2.0), y, 0.5) + (v[y] * ln(sigmoid(2.0 * tanh(s)) + 1.0)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "(ln(1.0 - sigmoid(2.0 * tanh((-1.412)))) / (1.5 + sigmoid((exp(tanh(a[y])) - 1.0 - 2.0 * tanh(a[y]))))) + logsumexp(log_softmax(log_softmax(exp(tanh(a))))) + sum(softmax(v + a) * b) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "log_softmax(a)[y] + sum((log_softmax(a) - (expm1(tanh(b[y])) - tanh(b[y])))) + (v[y] * cross_entropy(b, y)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "softplus(cross_entropy(b, softmax(((a - a) - (b - a))))) + (v[y] * softplus((-0.097))) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
    "sqrt(a[y].powi(2) + 0.5) + (t.powi(2) * kl_div(softmax((((a) / (1.0 + a[y].powi(2))) - tanh(b)) / 2.0), softmax(exp(tanh((a * a))) / 2.0))) + (v[y] * cross_entropy(b, y)) + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])",
];

/// Program `k`'s value at `x`.
pub fn value<F: loss_core::Float>(k: usize, x: &Point<F>) -> Result<F, loss_core::LossError> {
    match k {
        0 => p00::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        1 => p01::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        2 => {
            let mut losses = vec![F::ZERO; x.n];
            p02::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut losses)?;
            Ok(weighted(&losses, &x.w))
        }
        3 => p03::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        4 => {
            let mut losses = vec![F::ZERO; x.n];
            p04::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut losses)?;
            Ok(weighted(&losses, &x.w))
        }
        5 => p05::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        6 => {
            let mut losses = vec![F::ZERO; x.n];
            p06::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut losses)?;
            Ok(weighted(&losses, &x.w))
        }
        7 => p07::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        8 => p08::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        9 => p09::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q),
        _ => unreachable!("10 programs"),
    }
}

/// Program `k`'s value at `x`, and its gradient into `g`.
pub fn value_and_grad<F: loss_core::Float>(
    k: usize,
    x: &Point<F>,
    g: &mut Grads<F>,
) -> Result<F, loss_core::LossError> {
    match k {
        0 => p00::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        1 => p01::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        2 => {
            let mut losses = vec![F::ZERO; x.n];
            p02::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut losses, &x.w, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v)?;
            Ok(weighted(&losses, &x.w))
        }
        3 => p03::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        4 => {
            let mut losses = vec![F::ZERO; x.n];
            p04::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut losses, &x.w, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v)?;
            Ok(weighted(&losses, &x.w))
        }
        5 => p05::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        6 => {
            let mut losses = vec![F::ZERO; x.n];
            p06::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut losses, &x.w, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v)?;
            Ok(weighted(&losses, &x.w))
        }
        7 => p07::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        8 => p08::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        9 => p09::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v),
        _ => unreachable!("10 programs"),
    }
}
