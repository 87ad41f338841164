// The random programs of `emitted_programs.rs`, drawn by
// `loss-macros/src/interp.rs` (`emitted_program_fixtures_are_the_interpreters`):
// do not edit; `LOSS_WRITE_FIXTURES=1 cargo test -p loss-macros --lib emitted`
// writes them again.

loss_core::loss! {
    #[reduce(sum)]
    pub fn p00(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        (1.175) + (t.powi(2) * kl_div(softmax((b * onehot(y)) / 2.0), softmax((2.0 * b - b - b) / 2.0))) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(mean)]
    pub fn p01(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        (0.579) + cross_entropy((s * a), y) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(none)]
    pub fn p02(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        ((s * multi_margin(((2.0 * b) + (a / 2.0)), y, 1.0)) * softplus(log_softmax(((2.0 * a) / 2.0))[y])) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(mean)]
    pub fn p03(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        ((0.082) + t) + logsumexp(((a * a) * (b[y] * a))) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(none)]
    pub fn p04(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        cross_entropy((a * onehot(y)), y) + logsumexp(((sum(a) * (b * a)) - sum(u * log_softmax(a)[y]))) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(sum)]
    pub fn p05(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        (sum(smooth_l1(((b - a) - a), (((b - a) - a) / 2.0 + ((b - a) - a) / 2.0), 0.5)) * cross_entropy(log_softmax((b + (2.0 * b))) * softmax(((b - a) - a)), y)) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(none)]
    pub fn p06(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        tanh(log_softmax(b)[y]) + logsumexp((((a + b) - sqrt((1.733).powi(2) + 0.5)) + softmax((2.0 * a - a - a)))) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(sum)]
    pub fn p07(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        (b[y] - t) + cross_entropy((softmax(a) + (b * onehot(y))), y) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(mean)]
    pub fn p08(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        multi_margin((2.0 * a), y, 1.0) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
    #[reduce(sum)]
    pub fn p09(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>) {
        t + sum(log_softmax(a)) + 0.0 * (s + t + a[y] + b[y] + sum(u))
    }
}

/// Their bodies, in order.
pub const BODIES: [&str; 10] = [
    "(1.175) + (t.powi(2) * kl_div(softmax((b * onehot(y)) / 2.0), softmax((2.0 * b - b - b) / 2.0))) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "(0.579) + cross_entropy((s * a), y) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "((s * multi_margin(((2.0 * b) + (a / 2.0)), y, 1.0)) * softplus(log_softmax(((2.0 * a) / 2.0))[y])) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "((0.082) + t) + logsumexp(((a * a) * (b[y] * a))) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "cross_entropy((a * onehot(y)), y) + logsumexp(((sum(a) * (b * a)) - sum(u * log_softmax(a)[y]))) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "(sum(smooth_l1(((b - a) - a), (((b - a) - a) / 2.0 + ((b - a) - a) / 2.0), 0.5)) * cross_entropy(log_softmax((b + (2.0 * b))) * softmax(((b - a) - a)), y)) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "tanh(log_softmax(b)[y]) + logsumexp((((a + b) - sqrt((1.733).powi(2) + 0.5)) + softmax((2.0 * a - a - a)))) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "(b[y] - t) + cross_entropy((softmax(a) + (b * onehot(y))), y) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "multi_margin((2.0 * a), y, 1.0) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
    "t + sum(log_softmax(a)) + 0.0 * (s + t + a[y] + b[y] + sum(u))",
];

/// Program `k`'s value at `x`.
pub fn value<F: loss_core::Float>(k: usize, x: &Point<F>) -> Result<F, loss_core::LossError> {
    match k {
        0 => p00::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
        1 => p01::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
        2 => {
            let mut losses = vec![F::ZERO; x.n];
            p02::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut losses)?;
            Ok(weighted(&losses, &x.w))
        }
        3 => p03::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
        4 => {
            let mut losses = vec![F::ZERO; x.n];
            p04::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut losses)?;
            Ok(weighted(&losses, &x.w))
        }
        5 => p05::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
        6 => {
            let mut losses = vec![F::ZERO; x.n];
            p06::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut losses)?;
            Ok(weighted(&losses, &x.w))
        }
        7 => p07::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
        8 => p08::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
        9 => p09::value(x.a(), x.b(), &x.y, &x.s, x.t, x.u()),
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
        0 => p00::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        1 => p01::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        2 => {
            let mut losses = vec![F::ZERO; x.n];
            p02::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut losses, &x.w, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u)?;
            Ok(weighted(&losses, &x.w))
        }
        3 => p03::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        4 => {
            let mut losses = vec![F::ZERO; x.n];
            p04::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut losses, &x.w, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u)?;
            Ok(weighted(&losses, &x.w))
        }
        5 => p05::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        6 => {
            let mut losses = vec![F::ZERO; x.n];
            p06::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut losses, &x.w, &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u)?;
            Ok(weighted(&losses, &x.w))
        }
        7 => p07::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        8 => p08::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        9 => p09::value_and_grad(x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u),
        _ => unreachable!("10 programs"),
    }
}
