use loss_core::loss;

loss! {
    #[reduce(mean, denominator = w[y])]
    pub fn f(#[grad] z: Vector<C>, y: Class<C>, #[grad] w: Weights<C>) {
        w[y] * cross_entropy(z, y)
    }
}

fn main() {}
